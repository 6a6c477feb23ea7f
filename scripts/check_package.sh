#!/usr/bin/env bash
# Proves the package installs as a user installs it: a fresh venv, `pip install .` (not
# editable, no repository on the path), then `radphi serve --help`, `radphi run` on the
# embedded demo model (package data) and `radphi eval` on its output. Run by .ci/run after
# the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PY=${PYTHON:-python3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$PY" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q --upgrade pip 2>/dev/null
# The llama-cpp-python wheel scripts/setup.sh built for this machine (its build id in
# .venv/.llama_build), so nothing compiles twice.
links=()
if [ -f .venv/.llama_build ]; then
  links=(--find-links "${RADPHI_WHEEL_DIR:-$HOME/.cache/radphi/wheels}/$(cat .venv/.llama_build)")
fi
"$WORK/venv/bin/pip" install -q "${links[@]}" "$REPO" 2>&1 | grep -v "^WARNING: Location" || true
"$WORK/venv/bin/python" -c "import radphi" || { echo "check_package: radphi did not install" >&2; exit 1; }

# Away from the checkout, so only the installed package can answer.
cd "$WORK"
RADPHI_HOME="$WORK/home" venv/bin/radphi serve --help > /dev/null
cat > in.jsonl <<'JSONL'
{"id": "p1", "findings": "Small left pleural effusion. No pneumothorax.", "reference": "Small left pleural effusion."}
{"id": "p2", "findings": "Lungs are clear. Heart size is normal.", "reference": "No acute cardiopulmonary process."}
JSONL
RADPHI_HOME="$WORK/home" venv/bin/radphi run impression_prediction --input in.jsonl --output out.jsonl \
    --max-new-tokens 16 --no-progress
RADPHI_HOME="$WORK/home" venv/bin/radphi eval out.jsonl --out eval --bootstrap 20 --no-progress
test -s eval/metrics.csv && test -s eval/report.html
venv/bin/python - <<'PY'
import json
import radphi
from pathlib import Path

import radphi.settings as s

assert "site-packages" in radphi.__file__, f"not the installed copy: {radphi.__file__}"
assert s.DEMO_MODEL.is_file() and "site-packages" in str(s.DEMO_MODEL), s.DEMO_MODEL
rows = [json.loads(line) for line in open("out.jsonl")]
assert len(rows) == 2 and all(r["model"] == "radphi-demo" and r["prediction"] for r in rows)
print(f"check_package: installed radphi {radphi.__file__}; serve --help, run on the embedded model "
      f"({s.DEMO_MODEL.name}) and eval passed")
PY
