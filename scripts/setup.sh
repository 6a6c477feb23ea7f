#!/usr/bin/env bash
# Creates .venv and installs radphi with everything the tests need. Idempotent; one command.
#
# llama-cpp-python compiles llama.cpp for this CPU (-march=native) the first time (see the
# README, "CPU speed", for how long it takes). The build flags are decided here:
# - A CPU that reports AMX (amx_tile/amx_int8 in /proc/cpuinfo) gets llama.cpp's AMX
#   kernels from a patched source: as released, those kernels die with SIGILL at the
#   first matrix product (their tile configuration is built on the stack and the
#   compiler drops it; ggml-org/llama.cpp#20824), so scripts/patches/*.patch is applied
#   to the llama-cpp-python sdist before it is built. With the fix, Q4_0 and Q8_0 models
#   decode much faster here (README, "CPU speed"). RADPHI_LLAMA_AMX=0 builds without the
#   AMX kernels instead (-mno-amx-*, the previous default); the crash probe in
#   radphi/backends/llamacpp_load.py stays as the safety net either way.
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
patches=""
if [ -n "${CMAKE_ARGS:-}" ]; then
  llama_flags=$CMAKE_ARGS
elif grep -qw amx_int8 "${RADPHI_CPUINFO:-/proc/cpuinfo}" 2>/dev/null; then
  if [ "${RADPHI_LLAMA_AMX:-1}" = 0 ]; then
    noamx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"  # gcc: explicit -mno-* win over -march=native
    llama_flags="-DGGML_NATIVE=ON -DCMAKE_C_FLAGS='$noamx' -DCMAKE_CXX_FLAGS='$noamx'"
  else
    llama_flags="-DGGML_NATIVE=ON"
    patches=$(ls scripts/patches/llama-cpp-*.patch)
  fi
else
  llama_flags=""
fi
if [ "${1:-}" = --print-llama-flags ]; then
  echo "$llama_flags"
  [ -z "$patches" ] || echo "patches: $patches"
  exit 0
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
patch_sum=$( [ -z "$patches" ] || cat $patches | sha256sum | cut -c1-12 )
build_id=$(printf '%s|%s|%s|%s' "$llama_version" "$llama_flags" "$(uname -m)" "$patch_sum" | sha256sum | cut -c1-12)
if [ "$(cat .venv/.llama_build 2>/dev/null)" != "$build_id" ]; then
  pip install -q --upgrade pip
  wheels=${RADPHI_WHEEL_DIR:-$HOME/.cache/radphi/wheels}/$build_id
  if ! ls "$wheels"/llama_cpp_python-"$llama_version"-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python $llama_version (${llama_flags:-default flags}); this takes minutes"
    mkdir -p "$wheels"
    source="llama-cpp-python==$llama_version"
    if [ -n "$patches" ]; then
      # the source release, patched (pip cannot patch what it builds)
      src=$(mktemp -d)
      trap 'rm -rf "$src"' EXIT
      pip download -q --no-deps --no-binary :all: --no-cache-dir -d "$src" "llama-cpp-python==$llama_version"
      tar xzf "$src"/llama_cpp_python-"$llama_version".tar.gz -C "$src"
      source="$src/llama_cpp_python-$llama_version"
      for p in $patches; do
        echo "applying $p"
        patch -s -p1 -d "$source" < "$p"
      done
    fi
    CMAKE_ARGS="$llama_flags" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
      pip wheel -q --no-deps --no-cache-dir -w "$wheels" "$source"
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
