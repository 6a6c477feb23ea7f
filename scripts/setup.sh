#!/usr/bin/env bash
# Creates .venv and installs radphi with everything the tests need. Idempotent.
# llama-cpp-python compiles llama.cpp from source the first time (about 9 minutes on
# 2 cores); pip caches the wheel, so later runs take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
if ! python -c "import llama_cpp, torch, transformers, peft, gguf, openai, pytest, gradio, playwright, plotly, pandas, rouge_score, nltk" 2>/dev/null \
   || [ requirements.txt -nt .venv/.installed ]; then
  pip install -q --upgrade pip
  CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} pip install -q -r requirements.txt
  touch .venv/.installed
fi
pip install -q --no-deps --no-build-isolation -e . 2>/dev/null || pip install -q --no-deps -e .
