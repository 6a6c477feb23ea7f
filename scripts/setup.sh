#!/usr/bin/env bash
# Creates .venv and installs radphi with everything the tests need. Idempotent; one command.
#
# llama-cpp-python compiles llama.cpp for this CPU (-march=native) the first time (see the
# README, "CPU speed", for how long it takes). The build flags are decided here:
# - A CPU that reports AMX (amx_tile/amx_int8 in /proc/cpuinfo) gets a build without
#   llama.cpp's AMX kernels: with them, weight repacking into the AMX buffer segfaults
#   on such machines (ggml_backend_amx_mul_mat, ggml-org/llama.cpp#20824; seen here on a
#   Firecracker VM whose AMX instructions themselves run), and the crash probe in
#   radphi/backends/llamacpp_load.py then has to turn all repacking off. Without the AMX
#   kernels the other repacked layouts run, and decode is faster (README, "CPU speed").
#   RADPHI_LLAMA_AMX=1 keeps the AMX kernels; the crash probe stays as the safety net.
# - CMAKE_ARGS set by the caller (e.g. -DGGML_CUDA=on) is used as it is.
# GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS is not used: llama-cpp-python 0.3.36 loads
# libggml-cpu.so by name and cannot find the per-CPU variants (abetlen/llama-cpp-python#2069).
#
# pip's wheel cache does not know CMAKE_ARGS, so the wheel is built into a folder named
# after its flags (RADPHI_WHEEL_DIR, default ~/.cache/radphi/wheels) and installed from
# there: a later run, or a second clone on the same machine, takes seconds.
#
#   bash scripts/setup.sh                      # install (or bring .venv up to date)
#   bash scripts/setup.sh --print-llama-flags  # only print the llama.cpp build flags it would use
set -euo pipefail
cd "$(dirname "$0")/.."

llama_version=$(sed -n 's/^llama-cpp-python\(\[[a-z,]*\]\)\{0,1\}==\([0-9.]*\).*/\2/p' requirements.txt)
if [ -n "${CMAKE_ARGS:-}" ]; then
  llama_flags=$CMAKE_ARGS
elif grep -qw amx_int8 "${RADPHI_CPUINFO:-/proc/cpuinfo}" 2>/dev/null && [ "${RADPHI_LLAMA_AMX:-0}" != 1 ]; then
  noamx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"  # gcc: explicit -mno-* win over -march=native
  llama_flags="-DGGML_NATIVE=ON -DCMAKE_C_FLAGS='$noamx' -DCMAKE_CXX_FLAGS='$noamx'"
else
  llama_flags=""
fi
if [ "${1:-}" = --print-llama-flags ]; then
  echo "$llama_flags"
  exit 0
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
build_id=$(printf '%s|%s|%s' "$llama_version" "$llama_flags" "$(uname -m)" | sha256sum | cut -c1-12)
if [ "$(cat .venv/.llama_build 2>/dev/null)" != "$build_id" ]; then
  pip install -q --upgrade pip
  wheels=${RADPHI_WHEEL_DIR:-$HOME/.cache/radphi/wheels}/$build_id
  if ! ls "$wheels"/llama_cpp_python-"$llama_version"-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python $llama_version (${llama_flags:-default flags}); this takes minutes"
    mkdir -p "$wheels"
    CMAKE_ARGS="$llama_flags" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
      pip wheel -q --no-deps --no-cache-dir -w "$wheels" "llama-cpp-python==$llama_version"
  fi
  pip install -q --force-reinstall --no-deps "$wheels"/llama_cpp_python-"$llama_version"-*.whl
  echo "$build_id" > .venv/.llama_build
fi

if ! python -c "import llama_cpp, torch, transformers, peft, gguf, openai, pytest, gradio, playwright, plotly, pandas, rouge_score, nltk" 2>/dev/null \
   || [ requirements.txt -nt .venv/.installed ]; then
  pip install -q --upgrade pip
  pip install -q -r requirements.txt
  touch .venv/.installed
fi
pip install -q --no-deps --no-build-isolation -e . 2>/dev/null || pip install -q --no-deps -e .
python -c "import llama_cpp; print('llama.cpp build:', llama_cpp.llama_print_system_info().decode().strip())"
