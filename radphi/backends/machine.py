"""Which form of a two-form model answers on this machine, and why: the machine's probe
(CUDA and its free memory, llama.cpp, CPU threads), the GPU memory a checkpoint needs in
bf16, and the choice in words for the page and the log (radphi.backends.forms runs it).

    choose_form(gpu="/models/rad-phi2", cpu="/models/rad-phi2-q4_k_m.gguf", machine=probe_machine(),
                needed=gpu_bytes_needed("/models/rad-phi2"), quantization="Q4_K_M")
    -> Choice(form="gpu", reason="GPU: NVIDIA H200, 139.2 GB free -> bf16")
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

from radphi.errors import ModelLoadError

log = logging.getLogger(__name__)

FORMS = ("auto", "gpu", "cpu")
GiB = 1024**3
# bf16 weights plus room for the KV cache, activations and CUDA's own context.
OVERHEAD_FACTOR, OVERHEAD_BYTES = 1.2, 1 * GiB


@dataclass(frozen=True)
class Machine:
    """What the machine offers a model (probed once at start)."""

    cuda: bool = False
    gpu_name: str | None = None
    gpu_free_bytes: int | None = None
    cpu_threads: int = 1
    llama_cpp: bool = False
    no_cuda_why: str = "no CUDA"


def probe_machine(*, want_gpu: bool = True) -> Machine:
    """CUDA (device 0's name and free memory), llama.cpp's presence and the CPU threads.
    With `want_gpu` False, or without torch installed, torch is never imported."""
    from radphi.backends.llamacpp import physical_cores

    llama = importlib.util.find_spec("llama_cpp") is not None
    threads = physical_cores()
    if not want_gpu:
        return Machine(cpu_threads=threads, llama_cpp=llama, no_cuda_why="no GPU form")
    if importlib.util.find_spec("torch") is None:
        return Machine(cpu_threads=threads, llama_cpp=llama, no_cuda_why="no torch installed")
    try:
        import torch

        if not torch.cuda.is_available():
            return Machine(cpu_threads=threads, llama_cpp=llama, no_cuda_why="no CUDA")
        free, _total = torch.cuda.mem_get_info(0)
        return Machine(cuda=True, gpu_name=torch.cuda.get_device_name(0), gpu_free_bytes=int(free),
                       cpu_threads=threads, llama_cpp=llama)
    except Exception as exc:  # a broken driver is a reason to use the CPU, not to stop
        return Machine(cpu_threads=threads, llama_cpp=llama, no_cuda_why=f"CUDA unusable ({type(exc).__name__})")


def bf16_bytes(model_dir: str | Path) -> int | None:
    """Bytes of the model's weights in bf16, from the safetensors headers (shapes only; no
    tensor is read), or from the weight files' sizes; None when neither is there."""
    root = Path(model_dir).expanduser()
    if not root.is_dir():
        return None
    files = sorted(root.glob("*.safetensors"))
    if files:
        try:
            from safetensors import safe_open

            n = 0
            for f in files:
                with safe_open(str(f), framework="numpy") as st:
                    for key in st.keys():
                        shape = st.get_slice(key).get_shape()
                        count = 1
                        for d in shape:
                            count *= int(d)
                        n += count
            return 2 * n
        except Exception as exc:  # an odd file: fall back on sizes
            log.debug("could not read safetensors headers in %s: %s", root, type(exc).__name__)
    sizes = [p.stat().st_size for p in root.glob("*") if p.suffix in (".safetensors", ".bin")]
    return sum(sizes) // 2 if sizes else None  # checkpoints are saved in fp32 or 16-bit: assume fp32


def gpu_bytes_needed(model_dir: str | Path) -> int | None:
    weights = bf16_bytes(model_dir)
    return None if weights is None else int(weights * OVERHEAD_FACTOR) + OVERHEAD_BYTES


def _gb(n: int | None) -> str:
    return "?" if n is None else f"{n / 1e9:.1f} GB"


@dataclass(frozen=True)
class Choice:
    form: str  # "gpu" or "cpu"
    reason: str


def choose_form(*, gpu: str | None, cpu: str | None, machine: Machine, requested: str = "auto",
                needed: int | None = None, quantization: str = "GGUF") -> Choice:
    """The form to answer with, and why. `requested` gpu or cpu is obeyed when that form
    exists (a GPU form without CUDA then runs on the CPU in fp32, and says so)."""
    if requested not in FORMS:
        raise ModelLoadError(f"--form must be one of {', '.join(FORMS)}, not {requested!r}")
    cpu_text = f"{quantization} GGUF on {machine.cpu_threads} CPU thread{'s' if machine.cpu_threads != 1 else ''}"
    if requested == "cpu" or (requested == "auto" and gpu is None):
        if cpu is None:
            raise ModelLoadError("this model has no CPU (GGUF) form; add `cpu = \"...gguf\"` to its entry, or make one "
                                 "with: radphi export-gguf --fallback-for NAME --models FILE")
        return Choice("cpu", f"{'asked for the CPU form' if requested == 'cpu' else 'only a GGUF form'} -> {cpu_text}")
    if requested == "gpu":
        if gpu is None:
            raise ModelLoadError("this model has no GPU form; add `gpu = \"/path/to/hf-dir\"` to its entry")
        if machine.cuda:
            return Choice("gpu", f"asked for the GPU form: GPU {machine.gpu_name}, {_gb(machine.gpu_free_bytes)} free "
                                 f"-> bf16")
        return Choice("gpu", f"asked for the GPU form, but {machine.no_cuda_why} -> transformers on the CPU in fp32 "
                             f"(slow, about 4 bytes a parameter)")
    # auto, with a GPU form
    if machine.cuda:
        fits = needed is None or machine.gpu_free_bytes is None or machine.gpu_free_bytes >= needed
        if fits:
            return Choice("gpu", f"GPU: {machine.gpu_name}, {_gb(machine.gpu_free_bytes)} free -> bf16")
        if cpu is not None and machine.llama_cpp:
            return Choice("cpu", f"GPU: {machine.gpu_name}, {_gb(machine.gpu_free_bytes)} free, {_gb(needed)} "
                                 f"needed -> {cpu_text}")
        return Choice("gpu", f"GPU: {machine.gpu_name}, {_gb(machine.gpu_free_bytes)} free, {_gb(needed)} needed, "
                             f"and no GGUF form -> bf16, which may run out of memory")
    if cpu is not None and machine.llama_cpp:
        return Choice("cpu", f"{machine.no_cuda_why} -> {cpu_text}")
    why = "llama.cpp is not installed" if cpu is not None else "no GGUF form"
    return Choice("gpu", f"{machine.no_cuda_why} and {why} -> transformers on the CPU in fp32 (slow)")
