"""The llama.cpp build scripts/setup.sh chooses for the CPU, and the repacking crash probe
(radphi.backends.llamacpp_load) that stays as the safety net under any build."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def setup_flags(tmp_path: Path, cpu_flags: str, **env: str) -> str:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: {cpu_flags}\n")
    clean = {k: v for k, v in os.environ.items() if k not in ("CMAKE_ARGS", "RADPHI_LLAMA_AMX")}
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh"), "--print-llama-flags"], capture_output=True,
                          text=True, env={**clean, "RADPHI_CPUINFO": str(cpuinfo), **env}, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_setup_builds_the_patched_amx_kernels_where_the_cpu_reports_amx(tmp_path):
    out = setup_flags(tmp_path, "fpu avx2 avx512f avx512_vnni amx_bf16 amx_tile amx_int8").splitlines()
    assert out[0] == "-DGGML_NATIVE=ON"
    assert out[1] == "patches: scripts/patches/llama-cpp-amx-tile-config.patch"
    assert (ROOT / "scripts" / "patches" / "llama-cpp-amx-tile-config.patch").is_file()


def test_setup_leaves_amx_kernels_out_when_asked(tmp_path):
    flags = setup_flags(tmp_path, "fpu avx2 avx512f avx512_vnni amx_bf16 amx_tile amx_int8", RADPHI_LLAMA_AMX="0")
    assert "-DGGML_NATIVE=ON" in flags and "patches" not in flags
    for feature in ("amx-tile", "amx-int8", "amx-bf16"):
        assert flags.count(f"-mno-{feature}") == 2  # C and C++


def test_setup_builds_natively_without_amx_or_as_the_caller_says(tmp_path):
    assert setup_flags(tmp_path, "fpu avx2 avx512f") == ""
    assert setup_flags(tmp_path, "fpu amx_int8", CMAKE_ARGS="-DGGML_CUDA=on") == "-DGGML_CUDA=on"


def test_the_amx_patch_is_for_the_pinned_llama_cpp_python():
    """The patch's context is the vendored llama.cpp of one llama-cpp-python release: a
    bump of the pin must come with a patch checked against the new source (or dropped)."""
    patch = (ROOT / "scripts" / "patches" / "llama-cpp-amx-tile-config.patch").read_text()
    assert "_tile_loadconfig(&tc);" in patch and "static const tile_config_t tc" in patch
    assert "-    done = true;" in patch  # no latch: loaded on every call
    pinned = next(line for line in (ROOT / "requirements.txt").read_text().splitlines()
                  if line.startswith("llama-cpp-python"))
    version = pinned.split("==")[1].split()[0]
    assert patch.splitlines()[0] == f"For llama-cpp-python {version}."


@pytest.fixture
def amx_cpu(monkeypatch):
    pytest.importorskip("llama_cpp")
    from radphi.backends import llamacpp_load

    monkeypatch.delenv("RADPHI_LLAMA_EXTRA_BUFTS", raising=False)
    monkeypatch.setattr(llamacpp_load, "_cpu_key", lambda: ("Test CPU", True))
    monkeypatch.setattr(llamacpp_load, "_verdicts", {})
    return llamacpp_load


def test_probe_verdict_is_cached_per_build(amx_cpu, monkeypatch, radphi_home, tmp_path):
    """A crash (killed by a signal) turns repacking off; the verdict is reused for the same
    build, and a rebuild with other CPU features is probed afresh."""
    calls = []

    def crashed(*args, **kwargs):
        calls.append(args[0])
        return subprocess.CompletedProcess(args[0], -11, b"", b"")

    monkeypatch.setattr(amx_cpu.subprocess, "run", crashed)
    model = tmp_path / "m.gguf"
    assert amx_cpu.extra_bufts_ok(model, "Q4_K_M") is False
    assert amx_cpu.extra_bufts_ok(model, "Q4_K_M") is False
    assert len(calls) == 1
    cache_file = radphi_home / "cache" / "llama_cpu_probe.json"
    (key,) = json.loads(cache_file.read_text())
    import llama_cpp

    assert llama_cpp.llama_print_system_info().decode().strip() in key
    cache_file.unlink()  # another RADPHI_HOME, same process: the verdict is known already
    assert amx_cpu.extra_bufts_ok(model, "Q4_K_M") is False and len(calls) == 1

    # Another build of the same version (e.g. without the AMX kernels) has other features.
    monkeypatch.setattr(amx_cpu.subprocess, "run",
                        lambda *a, **k: calls.append(a[0]) or subprocess.CompletedProcess(a[0], 0, b"ok", b""))
    monkeypatch.setattr(llama_cpp, "llama_print_system_info", lambda: b"CPU : AVX512 = 1 | REPACK = 1 |")
    assert amx_cpu.extra_bufts_ok(model, "Q4_K_M") is True
    assert len(calls) == 2 and len(json.loads(cache_file.read_text())) == 1
    # A rebuild with the same features (the AMX kernels patched, scripts/patches) differs
    # in its library: probed afresh too.
    monkeypatch.setattr(amx_cpu, "_cpu_library_hash", lambda: "another-build")
    assert amx_cpu.extra_bufts_ok(model, "Q4_K_M") is True
    assert len(calls) == 3


def test_unquantized_files_and_the_environment_skip_the_probe(amx_cpu, monkeypatch, tmp_path):
    monkeypatch.setattr(amx_cpu.subprocess, "run", lambda *a, **k: pytest.fail("probed"))
    assert amx_cpu.extra_bufts_ok(tmp_path / "m.gguf", "F16") is True
    monkeypatch.setenv("RADPHI_LLAMA_EXTRA_BUFTS", "0")
    assert amx_cpu.extra_bufts_ok(tmp_path / "m.gguf", "Q4_K_M") is False


def test_repacking_follows_the_measured_table_per_build_and_is_probed(amx_cpu, monkeypatch, radphi_home, tmp_path):
    """bench/bench_cpu_levers.py --levers file measured, per quantization and kind of build,
    whether repacking pays for a whole request; where it is on, the crash probe guards it."""
    calls = []
    verdict = {"rc": 0}
    monkeypatch.setattr(amx_cpu.subprocess, "run",
                        lambda *a, **k: calls.append(a[0]) or subprocess.CompletedProcess(a[0], verdict["rc"], b"", b""))
    model = tmp_path / "m.gguf"
    monkeypatch.setattr(amx_cpu, "build_has_amx", lambda: True)
    assert amx_cpu.use_repack(model, "Q4_K_M") is True and len(calls) == 1  # probed, passed
    assert amx_cpu.use_repack(model, "q8_0") is True and amx_cpu.use_repack(model, "Q4_0") is True
    assert amx_cpu.use_repack(model, "Q5_K_M") is False  # not measured: off
    assert amx_cpu.use_repack(model, "F16") is True
    monkeypatch.setattr(amx_cpu, "build_has_amx", lambda: False)
    n = len(calls)
    assert amx_cpu.use_repack(model, "Q4_K_M") is False and amx_cpu.use_repack(model, "Q8_0") is False
    assert len(calls) == n  # off without a probe
    assert amx_cpu.use_repack(model, "Q4_0") is True
    assert amx_cpu.use_repack(model, "Q8_0", wanted=True) is True
    # An unpatched AMX build: the probe's child dies (SIGILL) and repacking stays off.
    monkeypatch.setattr(amx_cpu, "build_has_amx", lambda: True)
    monkeypatch.setattr(llama_cpp_module(), "llama_print_system_info", lambda: b"CPU : AMX_INT8 = 1 | unpatched")
    verdict["rc"] = -4
    assert amx_cpu.use_repack(model, "Q4_K_M") is False
    monkeypatch.setenv("RADPHI_LLAMA_EXTRA_BUFTS", "1")
    assert amx_cpu.use_repack(model, "Q4_K_M") is True


def llama_cpp_module():
    import llama_cpp

    return llama_cpp


def test_the_installed_build_says_whether_it_has_the_amx_kernels():
    pytest.importorskip("llama_cpp")
    from radphi.backends import llamacpp_load

    info = llama_cpp_module().llama_print_system_info().decode()
    assert llamacpp_load.build_has_amx() == ("AMX_INT8 = 1" in info)


def test_llama_threads_sleep_while_waiting_unless_the_user_says_otherwise():
    import sys

    code = "import os, radphi.backends.llamacpp_load; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = str(ROOT)
    run = lambda e: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e,  # noqa: E731
                                   timeout=60).stdout.strip()
    assert run(env) == "passive"
    assert run({**env, "OMP_WAIT_POLICY": "active"}) == "active"


# ---------------------------------------------------------------- repacked kernels compute the same model
_COMPARE = r"""
import json, os, sys
import numpy as np
from radphi.backends.llamacpp_load import load_llama
path, repack = sys.argv[1], sys.argv[2] == "1"
# llama.cpp reports the buffers it loaded into on stderr (fd 2) while verbose
llm = load_llama(path, use_extra_bufts=repack, n_ctx=256, n_threads=2, n_batch=64, verbose=True, logits_all=True)
ids = llm.tokenize(b"FINDINGS: small left pleural effusion with basilar atelectasis. No pneumothorax.", add_bos=True)
llm.eval(ids)  # a multi-token batch: the matrix-matrix kernels
batch = np.array(llm.scores[: len(ids)]).tolist()
step = [llm.scores[len(ids) - 1].tolist()]
for _ in range(3):  # single tokens: the matrix-vector kernels
    nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
    llm.eval([nxt])
    step.append(llm.scores[llm.n_tokens - 1].tolist())
import llama_cpp
print(json.dumps({"batch": batch, "step": step, "system": llama_cpp.llama_print_system_info().decode()}))
"""


@pytest.fixture(scope="module")
def repackable_ggufs(tmp_path_factory):
    """A tiny Phi with 256-wide matrices (what the repacked kernels accept), as q8_0 and q4_0."""
    pytest.importorskip("llama_cpp")
    from radphi.training.export_gguf import export_gguf
    from tests.tinymodels import build_tiny_phi

    root = tmp_path_factory.mktemp("repack")
    src = build_tiny_phi(root / "hf", hidden_size=256, intermediate_size=512)
    return {q: export_gguf(src, root / f"tiny-{q}.gguf", quant=q) for q in ("q8_0", "q4_0")}


def _compare_run(path: Path, repack: bool) -> tuple[dict, str]:
    import sys

    proc = subprocess.run([sys.executable, "-c", _COMPARE, str(path), "1" if repack else "0"], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


@pytest.mark.parametrize("quant", ["q8_0", "q4_0"])
def test_repacked_weights_compute_what_the_plain_weights_compute(repackable_ggufs, quant):
    """With repacking, llama.cpp runs other kernels on the same weights (AMX tiles where the
    build has them, interleaved AVX layouts otherwise). The patched AMX kernels must run (no
    SIGILL, the crash scripts/patches fixes) and agree with the plain ones, batch and step."""
    import numpy as np

    plain, _ = _compare_run(repackable_ggufs[quant], False)
    packed, log = _compare_run(repackable_ggufs[quant], True)
    if "AMX_INT8 = 1" in packed["system"]:
        assert "AMX model buffer size" in log  # the AMX kernels were used, not skipped
    else:
        assert "CPU_REPACK model buffer size" in log
    other, _ = _compare_run(repackable_ggufs["q4_0" if quant == "q8_0" else "q8_0"], False)
    for key in ("batch", "step"):
        a, b = np.array(plain[key]), np.array(packed[key])
        assert a.shape == b.shape
        # Both quantize the activations to 8 bits the same way and sum exact integer dot
        # products; only the order of the float sums differs (measured: ~2e-7 here).
        tol = 1e-3 * np.abs(a).max()
        assert np.abs(a - b).max() <= tol, (key, np.abs(a - b).max(), tol)
        # ... while a different computation (the other quantization of the same weights)
        # lies well outside that tolerance: it would catch a kernel that computes otherwise.
        assert np.abs(a - np.array(other[key])).max() > 10 * tol


_AFTER_TORCH = r"""
import sys
import torch
from radphi.backends.llamacpp_load import load_llama
llm = load_llama(sys.argv[1], use_extra_bufts=True, n_ctx=256, n_threads=2, n_batch=64, verbose=False)
ids = llm.tokenize(b"FINDINGS: small left pleural effusion with basilar atelectasis. No pneumothorax.", add_bos=True)
llm.eval(ids)
llm.reset()
# PyTorch's oneDNN runs bf16 products on AMX where the CPU has it, on this same thread,
# with its own tile configuration (and releases the tiles after)
a = torch.randn(256, 256, dtype=torch.bfloat16)
(a @ a).float().sum().item()
torch.nn.functional.conv2d(torch.randn(1, 64, 32, 32).bfloat16(), torch.randn(64, 64, 3, 3).bfloat16())
llm.eval(ids)
print("ok")
"""


def test_the_amx_kernels_survive_pytorch_on_the_same_thread(repackable_ggufs):
    """The app and `radphi run` load transformers models beside GGUFs: a bf16 product in
    PyTorch between two llama.cpp evaluations used to leave llama.cpp's AMX kernels without
    their tile configuration (SIGILL; found by the full suite). The patch reloads it."""
    import sys

    pytest.importorskip("torch")
    proc = subprocess.run([sys.executable, "-c", _AFTER_TORCH, str(repackable_ggufs["q8_0"])], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", f"exit {proc.returncode}: {proc.stderr[-1500:]}"
