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


def test_setup_leaves_amx_kernels_out_where_the_cpu_reports_amx(tmp_path):
    flags = setup_flags(tmp_path, "fpu avx2 avx512f avx512_vnni amx_bf16 amx_tile amx_int8")
    assert "-DGGML_NATIVE=ON" in flags
    for feature in ("amx-tile", "amx-int8", "amx-bf16"):
        assert flags.count(f"-mno-{feature}") == 2  # C and C++


def test_setup_builds_natively_without_amx_or_when_asked(tmp_path):
    assert setup_flags(tmp_path, "fpu avx2 avx512f") == ""
    assert setup_flags(tmp_path, "fpu avx2 amx_tile amx_int8", RADPHI_LLAMA_AMX="1") == ""
    assert setup_flags(tmp_path, "fpu amx_int8", CMAKE_ARGS="-DGGML_CUDA=on") == "-DGGML_CUDA=on"


@pytest.fixture
def amx_cpu(monkeypatch):
    pytest.importorskip("llama_cpp")
    from radphi.backends import llamacpp_load

    monkeypatch.delenv("RADPHI_LLAMA_EXTRA_BUFTS", raising=False)
    monkeypatch.setattr(llamacpp_load, "_cpu_key", lambda: ("Test CPU", True))
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

    # Another build of the same version (e.g. without the AMX kernels) has other features.
    monkeypatch.setattr(amx_cpu.subprocess, "run",
                        lambda *a, **k: calls.append(a[0]) or subprocess.CompletedProcess(a[0], 0, b"ok", b""))
    monkeypatch.setattr(llama_cpp, "llama_print_system_info", lambda: b"CPU : AVX512 = 1 | REPACK = 1 |")
    assert amx_cpu.extra_bufts_ok(model, "Q4_K_M") is True
    assert len(calls) == 2 and len(json.loads(cache_file.read_text())) == 2


def test_unquantized_files_and_the_environment_skip_the_probe(amx_cpu, monkeypatch, tmp_path):
    monkeypatch.setattr(amx_cpu.subprocess, "run", lambda *a, **k: pytest.fail("probed"))
    assert amx_cpu.extra_bufts_ok(tmp_path / "m.gguf", "F16") is True
    monkeypatch.setenv("RADPHI_LLAMA_EXTRA_BUFTS", "0")
    assert amx_cpu.extra_bufts_ok(tmp_path / "m.gguf", "Q4_K_M") is False


def test_repacking_is_off_by_default_for_quantized_files_and_probed_when_asked(amx_cpu, monkeypatch, tmp_path):
    """bench/bench_cpu_levers.py measured that repacking does not pay for a whole request;
    asked for, it is still guarded by the crash probe."""
    calls = []
    monkeypatch.setattr(amx_cpu.subprocess, "run",
                        lambda *a, **k: calls.append(a[0]) or subprocess.CompletedProcess(a[0], -4, b"", b""))
    model = tmp_path / "m.gguf"
    assert amx_cpu.REPACK_QUANTIZED is False
    assert amx_cpu.use_repack(model, "Q4_K_M") is False and not calls
    assert amx_cpu.use_repack(model, "F16") is True
    assert amx_cpu.use_repack(model, "Q4_K_M", wanted=True) is False and len(calls) == 1  # SIGILL in the probe
    monkeypatch.setenv("RADPHI_LLAMA_EXTRA_BUFTS", "1")
    assert amx_cpu.use_repack(model, "Q4_K_M") is True


def test_llama_threads_sleep_while_waiting_unless_the_user_says_otherwise():
    import sys

    code = "import os, radphi.backends.llamacpp_load; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = str(ROOT)
    run = lambda e: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e,  # noqa: E731
                                   timeout=60).stdout.strip()
    assert run(env) == "passive"
    assert run({**env, "OMP_WAIT_POLICY": "active"}) == "active"
