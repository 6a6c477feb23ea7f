#!/usr/bin/env bash
# Train the demo model's GPU recipe on a lent GPU machine and pack the result for the trip back.
#
#   bash lab/demo/experiments/device_train.sh OUT [TRAIN_UNTIL_SECONDS]
#
# Run from the repository root. If .whl/ holds wheels (this project's versions of
# transformers, trl, peft, datasets, ... for a machine that lacks them), they are installed
# into /tmp/site first. Training ends TRAIN_UNTIL_SECONDS (default 470) after lab.demo.train
# starts: radphi.training.step_budget times early steps and fixes the step count; the summary in
# OUT says how many, so that `python -m lab.demo.train --config gpu --set max_steps=N` repeats
# the run anywhere. The trained model comes back as an fp16 copy of OUT/sft/final in
# 15 MiB pieces (OUT/final16.tar.part-*): rejoin with `cat final16.tar.part-* | tar x`,
# then export here with `python -m radphi.training.export_gguf`.
set -uo pipefail
out=${1:?usage: device_train.sh OUT [TRAIN_UNTIL_SECONDS]}
until=${2:-470}
mkdir -p "$out"
# A warm machine keeps runs/ from the last call: start again rather than resume from it,
# unless RESUME=1.
[ "${RESUME:-0}" = 1 ] || rm -rf runs/gpu
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=true
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, transformers, trl, datasets, peft, pyarrow
print('torch', torch.__version__, 'transformers', transformers.__version__, 'trl', trl.__version__,
      'datasets', datasets.__version__, 'peft', peft.__version__, 'pyarrow', pyarrow.__version__,
      'cuda', torch.cuda.is_available() and torch.cuda.get_device_name())" || exit 1
python3 -m lab.demo.train --config gpu --out runs/gpu --no-export --train-until "$until" 2>&1 \
    | grep --line-buffered -v "Warning\|warn(" | tee "$out/train.log"
status=${PIPESTATUS[0]}
cp runs/gpu/demo_summary.json runs/gpu/sft/run_summary.json "$out/" 2>/dev/null
[ "$status" -eq 0 ] || exit "$status"
python3 - runs/gpu/sft/final runs/gpu/final16 <<'EOF'
import shutil, sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

src, dst = Path(sys.argv[1]), Path(sys.argv[2])
shutil.copytree(src, dst, dirs_exist_ok=True)
weights = load_file(src / "model.safetensors")
save_file({k: v.to(torch.float16).contiguous() for k, v in weights.items()}, dst / "model.safetensors",
          metadata={"format": "pt"})
print("fp16 copy:", sum(v.numel() for v in weights.values()), "parameters")
EOF
tar cf - -C runs/gpu final16 | split -b 15m - "$out/final16.tar.part-"
ls -la "$out"
