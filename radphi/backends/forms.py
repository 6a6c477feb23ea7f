"""One model in two forms: the fine-tune on the GPU (transformers [+ peft], bf16) when the
machine can hold it, its quantized GGUF on the CPU (llama.cpp) otherwise, and at run time
after the GPU fails.

    [models.rad-phi2]                       # in the models file (radphi.models_file)
    gpu = "/models/rad-phi2"
    adapter = "/models/rad-phi2-lora"
    cpu = "/models/rad-phi2-q4_k_m.gguf"    # radphi export-gguf --fallback-for rad-phi2 fills this in

- `radphi.backends.machine` probes the machine (CUDA and its free memory, llama.cpp) and
  picks the form, saying why in words for the page and the log: "GPU: NVIDIA H200,
  139.2 GB free -> bf16"; "no CUDA -> Q4_K_M GGUF on 16 CPU threads".
- `TwoFormBackend` is a Backend that answers with the chosen form. A CUDA out-of-memory or
  device error switches the model to its GGUF for the rest of the session and retries the
  request once; a stream that had begun restarts (`Stream.restarts`), and the Generation
  says so (`extra["fallback"]`). Every Generation says which form answered
  (`extra["model_info"]`: form, spec, backend, quantization, model hash), and so does the
  record `radphi run` writes.
- `pair_check()` compares the GGUF's `radphi.source_checkpoint_sha256` (written by
  `radphi export-gguf`) with the GPU form's weights, so a GGUF of another checkpoint is
  named in a warning instead of silently answering as the same model.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from radphi.backends.base import Generation, GenParams, Request, Stream
from radphi.backends.machine import Choice, Machine, choose_form, gpu_bytes_needed, probe_machine
from radphi.errors import ModelLoadError

log = logging.getLogger(__name__)

_DEVICE_ERROR = re.compile(r"\bCUDA\b|\bcuDNN\b|CUBLAS|NCCL|device-side assert|out of memory|\bHIP\b", re.I)


def is_device_error(exc: BaseException) -> bool:
    """A CUDA out-of-memory or device failure (also wrapped in our ModelLoadError), as
    opposed to a bad input or a bug, which falling back would not mend."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        name = type(e).__name__
        if name in ("OutOfMemoryError", "AcceleratorError", "CudaError", "CUDAError"):
            return True
        if isinstance(e, RuntimeError) and _DEVICE_ERROR.search(str(e)):
            return True
        e = e.__cause__ or e.__context__
    return False


def pair_check(gpu_dir: str | None, adapter: str | None, gguf_path: str | None) -> tuple[bool | None, str]:
    """(match, message): True when the GGUF records the GPU form's checkpoint hash, False
    when it records another, None when it cannot be told (no hash in the file: exported by
    something else)."""
    if not gpu_dir or not gguf_path:
        return None, ""
    from radphi import hashing
    from radphi.backends.llamacpp import LlamaCppBackend

    recorded = LlamaCppBackend(gguf_path).file_metadata().get(hashing.GGUF_SOURCE_KEY)
    if not recorded:
        return None, (f"{Path(gguf_path).name} does not say which checkpoint it was made from (not written by "
                      f"radphi export-gguf): it is taken on trust to be the same model as {gpu_dir}.")
    try:
        actual = hashing.checkpoint_sha256(gpu_dir, adapter)
    except OSError as exc:
        return None, f"cannot hash the GPU form's weights ({exc}); the pair is not checked."
    if recorded == actual:
        return True, ""
    return False, (f"The GGUF {Path(gguf_path).name} was made from another checkpoint than {gpu_dir}"
                   f"{' + ' + adapter if adapter else ''}: the GPU and CPU forms are different models. Re-export it: "
                   f"radphi export-gguf --fallback-for NAME --models FILE")


Loader = Callable[[str, str], Any]  # (form, spec) -> Backend


@dataclass
class TwoFormBackend:
    """A Backend over a model's GPU form and its GGUF, answering with the chosen one."""

    name: str
    gpu: str | None = None
    cpu: str | None = None
    adapter: str | None = None
    requested: str = "auto"
    machine: Machine | None = None
    load: Loader | None = None
    options: dict[str, Any] = field(default_factory=dict)  # llama.cpp's n_ctx, n_threads
    grounds = True

    def __post_init__(self) -> None:
        if self.gpu is None and self.cpu is None:
            raise ModelLoadError(f"model {self.name} has neither a GPU nor a CPU form")
        if self.machine is None:
            self.machine = probe_machine(want_gpu=self.gpu is not None)
        quant = "GGUF"
        if self.cpu is not None:
            from radphi.backends.llamacpp import LlamaCppBackend

            quant = LlamaCppBackend(self.cpu).file_metadata().get("quantization") or "GGUF"
        needed = gpu_bytes_needed(self.gpu) if self.gpu and self.machine.cuda else None
        self.choice = choose_form(gpu=self.gpu, cpu=self.cpu, machine=self.machine, requested=self.requested,
                                  needed=needed, quantization=quant)
        self._quant = quant
        self._lock = threading.Lock()
        self._backends: dict[str, Any] = {}
        self.fallback: str | None = None  # what the page says after a switch
        self._pair: tuple[bool | None, str] | None = None
        self._form_info: dict[str, dict[str, Any]] = {}
        log.info("model %s: %s", self.name, self.choice.reason)

    # ------------------------------------------------------------------ forms
    @property
    def form(self) -> str:
        return self.choice.form

    @property
    def spec(self) -> str:
        return str(self.gpu if self.form == "gpu" else self.cpu)

    def backend_for(self, form: str) -> Any:
        with self._lock:
            if form not in self._backends:
                spec = self.gpu if form == "gpu" else self.cpu
                assert spec is not None
                self._backends[form] = (self.load or self._default_load)(form, spec)
            return self._backends[form]

    def _default_load(self, form: str, spec: str) -> Any:
        from radphi.backends import load_backend

        if form == "gpu":
            opts = {"device": "cuda", "dtype": "bfloat16"} if self.machine and self.machine.cuda else {}
            return load_backend(spec, adapter=self.adapter, **opts)
        return load_backend(spec, **self.options)

    def active(self) -> Any:
        return self.backend_for(self.form)

    def can_fall_back(self, form: str, exc: BaseException) -> bool:
        return form == "gpu" and self.cpu is not None and is_device_error(exc)

    def fall_back(self, exc: BaseException) -> str:
        """Switch to the GGUF for the rest of the session; the notice for the page."""
        with self._lock:
            if self.choice.form == "gpu":
                what = "out of memory" if "memory" in f"{type(exc).__name__} {exc}".lower() else type(exc).__name__
                reason = (f"the GPU failed ({what}) -> {self._quant} GGUF on {self.machine.cpu_threads} CPU "
                          f"threads for the rest of this session")
                self.choice = Choice("cpu", reason)
                self.fallback = (f"The GPU form of {self.name} failed ({what}); this model now answers from its "
                                 f"{self._quant} GGUF on the CPU for the rest of this session, and the request was "
                                 f"sent again.")
                log.warning("model %s: %s", self.name, reason)
                gpu = self._backends.pop("gpu", None)
            else:
                gpu = None
        if gpu is not None:
            _free_cuda()
        return self.fallback or ""

    # ------------------------------------------------------------------ Backend protocol
    @property
    def context_length(self) -> int:
        return int(self.active().context_length)

    def count_tokens(self, text: str) -> int:
        return self.active().count_tokens(text)

    def native_format(self) -> str:
        from radphi.backends import native_format

        return native_format(self.active())

    def render(self, request: Request, user: str | None = None) -> str:
        from radphi.backends import rendered_prompt

        return rendered_prompt(self.active(), request) if user is None else self.active().render(request, user)

    def prompt_tokens(self, request: Request, user: str | None = None) -> list[int]:
        return self.active().prompt_tokens(request, user)

    def pair_check(self) -> tuple[bool | None, str]:
        """Whether the two forms come from one checkpoint (computed once; the hash of a
        large checkpoint is cached by radphi.hashing)."""
        if self._pair is None:
            self._pair = pair_check(self.gpu, self.adapter, self.cpu)
            if self._pair[0] is False:
                log.warning("model %s: %s", self.name, self._pair[1])
        return self._pair

    def info(self) -> dict[str, Any]:
        out = dict(self.active().info())
        out.update(form=self.form, form_reason=self.choice.reason, name=self.name,
                   forms={"gpu": self.gpu, "cpu": self.cpu, "adapter": self.adapter})
        match, message = self.pair_check()
        out["same_checkpoint"] = match
        if message:
            out["warning"] = message
        if self.fallback:
            out["fallback"] = self.fallback
        return out

    def form_info(self, form: str) -> dict[str, Any]:
        """What a record says of the form that answered (read once per form: it is stamped
        on every answer, and these facts do not change while the process runs)."""
        if form not in self._form_info:
            info = self.backend_for(form).info()
            self._form_info[form] = {"form": form, "spec": info.get("spec"), "backend": info.get("backend"),
                                     "quantization": info.get("quantization"), "model_hash": info.get("model_hash")}
        return dict(self._form_info[form])

    def _stamp(self, gen: Generation, form: str, notice: str | None) -> Generation:
        gen.extra["form"] = form
        gen.extra["model_info"] = self.form_info(form)
        if notice:
            gen.extra["fallback"] = notice
        return gen

    def generate(self, request: Request, params: GenParams) -> Generation:
        form = self.form
        try:
            return self._stamp(self.backend_for(form).generate(request, params), form, None)
        except Exception as exc:
            if not self.can_fall_back(form, exc):
                raise
            notice = self.fall_back(exc)
        return self._stamp(self.backend_for("cpu").generate(request, params), "cpu", notice)

    def generate_batch(self, requests: list[Request], params: GenParams) -> list[Generation]:
        form = self.form
        try:
            gens = self.backend_for(form).generate_batch(requests, params)
            return [self._stamp(g, form, None) for g in gens]
        except Exception as exc:
            if not self.can_fall_back(form, exc):
                raise
            notice = self.fall_back(exc)
        return [self._stamp(g, "cpu", notice) for g in self.backend_for("cpu").generate_batch(requests, params)]

    def stream(self, request: Request, params: GenParams) -> Stream:
        form = self.form
        if form != "gpu" or self.cpu is None:
            inner = self.backend_for(form).stream(request, params)
            return Stream(iter(inner), lambda text: self._stamp(_finished(inner, text), form, None))
        return _FallbackStream(self, request, params)


def _finished(inner: Stream, text: str) -> Generation:
    if inner.generation is None:
        inner.close()
    assert inner.generation is not None
    return inner.generation


class _FallbackStream(Stream):
    """A GPU stream that, on a device error, starts again on the GGUF: the text so far is
    dropped and `restarts` counts up, so a reader (the app's pump) can clear what it showed."""

    def __init__(self, owner: TwoFormBackend, request: Request, params: GenParams):
        self._owner, self._request, self._params = owner, request, params
        self._inner: Stream | None = None
        self._form = "gpu"
        self._notice: str | None = None
        super().__init__(self._run(), self._finish)

    def restart(self) -> None:
        self._text.clear()
        self.restarts += 1

    def _drain(self, form: str) -> Iterator[str]:
        self._form = form
        self._inner = self._owner.backend_for(form).stream(self._request, self._params)
        try:
            yield from self._inner
        finally:
            if self._inner.generation is None:
                self._inner.close()  # stopped early (Stop) or failed: release the model

    def _run(self) -> Iterator[str]:
        try:
            yield from self._drain("gpu")
            return
        except Exception as exc:
            if not self._owner.can_fall_back("gpu", exc):
                raise
            self._notice = self._owner.fall_back(exc)
        if self._text:
            self.restart()
            yield ""  # the reader sees the restart before the CPU form's first piece
        yield from self._drain("cpu")

    def _finish(self, text: str) -> Generation:
        assert self._inner is not None and self._inner.generation is not None
        return self._owner._stamp(self._inner.generation, self._form, self._notice)


def _free_cuda() -> None:
    """Give the failed GPU form's memory back, as far as the process can."""
    try:
        import gc

        import torch

        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception as exc:  # best effort only
        log.debug("could not empty the CUDA cache: %s", type(exc).__name__)
