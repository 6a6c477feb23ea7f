"""Loading a GGUF into llama-cpp-python: with llama.cpp's weight repacking where it pays,
safely on CPUs where it crashes, and with llama.cpp's threads sleeping rather than
spinning while they wait.

llama.cpp repacks quantized weights into "extra buffer types" (AMX tiles, interleaved
AVX layouts) for speed. As released, llama.cpp's AMX kernels die on the first
multi-token evaluation of a repacked model (SIGILL in ggml_backend_amx_mul_mat,
ggml-org/llama.cpp#20824: their tile configuration is built on the stack and the
compiler drops it); scripts/setup.sh builds them with that fixed
(scripts/patches/llama-cpp-amx-tile-config.patch). f32/f16 files do not repack.

Whether a quantized file is repacked by default is measured per quantization and per
kind of build (`REPACK_QUANTIZED`, bench/bench_cpu_levers.py --levers file). Where it
is, on a CPU that reports AMX, the first load of that quantization on a machine is
tried in a child process: if the child dies on a signal (an unpatched build), extra
buffer types are turned off for such files from then on (the verdict is cached in
$RADPHI_HOME/cache/llama_cpu_probe.json, keyed by llama-cpp-python version, the
build's CPU features, the CPU and quantization). RADPHI_LLAMA_EXTRA_BUFTS=0 or 1 skips
the probe and decides.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from radphi.settings import radphi_home

log = logging.getLogger(__name__)

_patch_lock = threading.Lock()
_verdicts: dict[str, bool] = {}  # the crash probe's verdicts known to this process, by key
UNQUANTIZED = {"F32", "F16", "BF16"}

# llama.cpp's threads wait for each other between operations through OpenMP. Spinning
# (OpenMP's default) is no faster on a quiet machine, and where other work holds a core
# it is ruinous: measured with bench/bench_cpu_levers.py (README, "CPU speed"), 2 threads
# beside one busy process answered the 400-token request in 69.6 s spinning against
# 36.5 s sleeping (quiet: 17.3 against 16.9 s). libgomp reads this when llama.cpp is
# loaded, so it is set on importing this module, before any `import llama_cpp` here;
# a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

_PROBE = """
import sys
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=64, n_threads=1, verbose=False)
llm.eval(llm.tokenize(b"chest x-ray", add_bos=True)[:4] or [0, 0])
print("ok")
"""


def _cpu_key() -> tuple[str, bool]:
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown", False
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "unknown")
    return model, "amx" in info


# Which quantized files are repacked by default, by whether the build has llama.cpp's
# AMX kernels. Measured with bench/bench_cpu_levers.py --levers file (README, "CPU
# speed"): a Phi-2-shaped model, 2 cores, a question on a ~400-token report + 60 new
# tokens, medians of 3 alternating runs (seconds for the whole request, repack off -> on):
#   AMX build:    Q4_K_M 17.65 -> 16.81, Q4_0 29.82 -> 13.58, Q8_0 30.77 -> 14.56
#   no-AMX build: Q4_K_M 16.27 -> 19.11, Q4_0 29.69 -> 22.11, Q8_0 29.94 -> 33.93
# (a follow-up question on the same report: 0.76 -> 0.46, 1.12 -> 0.40, 1.07 -> 0.39 s
# with the AMX build).
# Other quantizations are not repacked until measured (`repack=True` asks for it).
REPACK_QUANTIZED = {
    "amx": frozenset({"Q4_K_M", "Q4_0", "Q8_0"}),
    "no-amx": frozenset({"Q4_0"}),
}


def build_has_amx() -> bool:
    """Whether the installed llama.cpp was built with its AMX kernels."""
    import llama_cpp

    return "AMX_INT8 = 1" in llama_cpp.llama_print_system_info().decode(errors="replace")


def repack_by_default(quantization: str) -> bool:
    """Whether a file of this quantization is repacked unless the caller says otherwise."""
    q = quantization.upper()
    return q in UNQUANTIZED or q in REPACK_QUANTIZED["amx" if build_has_amx() else "no-amx"]


def use_repack(path: str | Path, quantization: str, wanted: bool | None = None) -> bool:
    """Whether to load this file with llama.cpp's extra buffer types (weight repacking):
    RADPHI_LLAMA_EXTRA_BUFTS=0/1 if set; else WANTED (None: `repack_by_default`), and
    then, for a quantized file, only where the crash probe (`extra_bufts_ok`) passes."""
    env = os.environ.get("RADPHI_LLAMA_EXTRA_BUFTS")
    if env in ("0", "1"):
        return env == "1"
    if quantization.upper() in UNQUANTIZED:
        return True
    if not (repack_by_default(quantization) if wanted is None else wanted):
        return False
    return extra_bufts_ok(path, quantization)


@functools.lru_cache(maxsize=1)
def _cpu_library_hash() -> str:
    """A short hash of the installed llama.cpp CPU library (what a rebuild changes)."""
    import llama_cpp

    libs = sorted((Path(llama_cpp.__file__).parent / "lib").glob("libggml-cpu.so*"))
    if not libs:
        return "unknown"
    digest = hashlib.sha256()
    with open(libs[0].resolve(), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def extra_bufts_ok(path: str | Path, quantization: str) -> bool:
    """Whether llama.cpp may repack this file's weights on this CPU."""
    env = os.environ.get("RADPHI_LLAMA_EXTRA_BUFTS")
    if env in ("0", "1"):
        return env == "1"
    cpu, has_amx = _cpu_key()
    if quantization.upper() in UNQUANTIZED or not has_amx:
        return True
    import llama_cpp

    # The build is in the key (its CPU features and the CPU library's own hash): a rebuild
    # of the same version (without the AMX kernels, or with them patched: the same
    # features) must be probed afresh, not inherit the old verdict.
    features = llama_cpp.llama_print_system_info().decode(errors="replace").strip()
    key = f"{llama_cpp.__version__}|{features}|{_cpu_library_hash()}|{cpu}|{quantization.upper()}"
    if key in _verdicts:  # this process already knows (same build, same CPU)
        return _verdicts[key]
    cache_file = radphi_home() / "cache" / "llama_cpu_probe.json"
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    if key not in cache:
        try:
            proc = subprocess.run([sys.executable, "-c", _PROBE, str(path)], capture_output=True, timeout=300)
            cache[key] = not (proc.returncode < 0)  # killed by a signal (SIGILL): repacking is unsafe here
        except subprocess.TimeoutExpired:
            cache[key] = True
        if not cache[key]:
            log.warning("llama.cpp's weight repacking crashes on this CPU (%s); loading without it", cpu)
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            cache_file.write_text(json.dumps(cache))
        except OSError:
            pass
    _verdicts[key] = bool(cache[key])
    return _verdicts[key]


def load_llama(path: str | Path, *, use_extra_bufts: bool = True, **kwargs: Any) -> Any:
    """`llama_cpp.Llama(model_path=path, **kwargs)`, with extra buffer types off if asked.

    `Llama()` has no argument for `use_extra_bufts`; it reads the model defaults from
    `llama_model_default_params()` at construction, so that function is swapped for
    the duration of the load (under a lock, as two loads could race).
    """
    import llama_cpp

    if use_extra_bufts:
        return llama_cpp.Llama(model_path=str(path), **kwargs)
    with _patch_lock:
        defaults = llama_cpp.llama_cpp.llama_model_default_params

        def without_extra_bufts():
            params = defaults()
            params.use_extra_bufts = False
            return params

        llama_cpp.llama_cpp.llama_model_default_params = without_extra_bufts
        try:
            return llama_cpp.Llama(model_path=str(path), **kwargs)
        finally:
            llama_cpp.llama_cpp.llama_model_default_params = defaults
