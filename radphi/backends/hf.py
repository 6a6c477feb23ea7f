"""The transformers backend: an HF model directory or hub id, with an optional peft adapter.

    from radphi.backends.hf import HFBackend
    backend = HFBackend("models/phi-2", adapter="runs/rad-lora")
    backend.generate(Request.build("impression_prediction", {"findings": "..."}), GenParams())

Nothing is imported or loaded until first use: the tokenizer (and config) on the
first `count_tokens`, the model on the first generation. torch, transformers and
peft are imported inside functions, so importing this module costs nothing.

Every model call runs on one thread per backend (hf_compile.ModelThread, which the
GPU's CUDA graphs need); the caller holds the backend's lock for the whole
generation, also while a `Stream` is being read, and closing a Stream stops the
generation at the next token. On CUDA, single-stream calls use a static cache
compiled into CUDA graphs (hf_compile.py); call `warmup()` in the background at
start-up so that the first user does not wait for the compile.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from radphi.backends.base import Generation, GenParams, Request, StopScanner, Stream, fit_request, timed_generation
from radphi.backends.hf_compile import ModelThread, TokenClock, run_generate
from radphi.errors import GenerationError, ModelLoadError, RadphiError

log = logging.getLogger(__name__)

_HUB_ID = re.compile(r"^[A-Za-z0-9_][\w.-]*(/[\w.-]+)?$")
_WEIGHT_SUFFIXES = (".safetensors", ".bin")
# The model's own text, as llama.cpp gives it: no " ." -> "." clean-up.
_DECODE = {"skip_special_tokens": True, "clean_up_tokenization_spaces": False}


@dataclass(frozen=True)
class _Stops:
    # End generation on these tokens: eos, and any stop string that is one added token
    # (`<instruct>` is special: it vanishes from decoded text, so it must stop as a token).
    ids: tuple[int, ...]
    texts: tuple[str, ...]    # other stop strings, for transformers' StopStringCriteria
    all: tuple[str, ...]      # every stop string, to cut the decoded text


def _offline() -> bool:
    flags = (os.environ.get(v, "").lower() for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
    return any(f in ("1", "true", "yes", "on") for f in flags)


def _has_tokenizer(path: Path) -> bool:
    return any((path / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json", "tokenizer.model"))


def _files_hash(dirs: list[tuple[str, Path]]) -> str | None:
    """A short sha256 over the weight files' names, sizes and mtimes (not their bytes).

    Cheap enough for every run record (Phi-2 is 5.6 GB); it changes when a file is
    replaced, and also when the directory is copied (new mtimes).
    """
    h = hashlib.sha256()
    found = False
    for label, d in dirs:
        for f in sorted(p for p in d.iterdir() if p.suffix in _WEIGHT_SUFFIXES and p.is_file()):
            st = f.stat()
            h.update(f"{label}/{f.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            found = True
    return "meta-sha256:" + h.hexdigest()[:16] if found else None


class HFBackend:
    def __init__(self, spec: str, *, adapter: str | None = None, device: str | None = None,
                 dtype: str | None = None, compile: bool | None = None, context_length: int | None = None,
                 batch_size: int = 8):
        self.spec = spec
        self.adapter = adapter
        self.batch_size = max(1, int(batch_size))
        self._device_opt, self._dtype_opt, self._compile_opt = device, dtype, compile
        self._context_length_opt = context_length
        self._lock = threading.Lock()       # the model: held for a whole generation
        self._load_lock = threading.Lock()  # loading, once
        self._tokenizer: Any = None
        self._config: Any = None
        self._model: Any = None
        self._thread: Any = None
        self._device = ""
        self._dtype_name = ""
        self._static = False
        self._n_special = 0
        self._added: dict[str, int] = {}

    # --- loading --------------------------------------------------------------

    def _source(self) -> tuple[str, bool]:
        """(what to pass to from_pretrained, local_files_only)."""
        path = Path(self.spec).expanduser()
        if path.is_dir():
            if not (path / "config.json").is_file():
                raise ModelLoadError(f"could not load model {self.spec!r}: the directory has no config.json "
                                     f"(is it a saved transformers model?)")
            return str(path), True
        if path.exists():
            raise ModelLoadError(f"could not load model {self.spec!r}: it is a file, not a model directory "
                                 f"(a .gguf file loads with the llama.cpp backend)")
        if not _HUB_ID.match(self.spec):
            raise ModelLoadError(f"could not load model {self.spec!r}: no such directory")
        return self.spec, _offline()

    def _load_error(self, exc: BaseException, what: str = "model") -> ModelLoadError:
        name = self.spec if what == "model" else self.adapter
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        if not Path(str(name)).expanduser().exists():
            where = "it is not a cached hub model (offline)" if _offline() else f"the hub could not provide it: {first}"
            return ModelLoadError(f"could not load {what} {name!r}: no such directory, and {where}")
        return ModelLoadError(f"could not load {what} {name!r}: {type(exc).__name__}: {first}")

    def _ensure_tokenizer(self) -> Any:
        if self._tokenizer is None:
            with self._load_lock:
                if self._tokenizer is None:
                    self._load_tokenizer()
        return self._tokenizer

    def _load_tokenizer(self) -> None:
        source, local_only = self._source()
        adapter_dir = self._adapter_dir()
        try:
            from transformers import AutoConfig, AutoTokenizer
        except ImportError as exc:
            raise ModelLoadError(f"the transformers backend needs {exc.name}; pip install -r requirements.txt") from exc
        try:
            config = AutoConfig.from_pretrained(source, local_files_only=local_only)
            if adapter_dir is not None and _has_tokenizer(adapter_dir):
                tok = AutoTokenizer.from_pretrained(str(adapter_dir))  # the adapter's added tokens
            else:
                tok = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
        except Exception as exc:
            raise self._load_error(exc) from exc
        if tok.eos_token_id is None:
            raise ModelLoadError(f"could not load model {self.spec!r}: its tokenizer has no end-of-text token")
        tok.padding_side = "left"  # batches: every prompt ends where generation starts
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        self._n_special = len(tok("")["input_ids"])  # e.g. a BOS that every encoded prompt carries
        self._added = dict(tok.get_added_vocab())
        self._config = config
        self._tokenizer = tok

    def _adapter_dir(self) -> Path | None:
        if not self.adapter:
            return None
        path = Path(self.adapter).expanduser()
        if path.is_dir():
            if not (path / "adapter_config.json").is_file():
                raise ModelLoadError(f"could not load adapter {self.adapter!r}: not a peft adapter directory "
                                     f"(no adapter_config.json)")
            return path
        if not _HUB_ID.match(self.adapter) or _offline():
            raise ModelLoadError(f"could not load adapter {self.adapter!r}: no such directory")
        return None  # a hub id: peft fetches it

    def _ensure_loaded(self) -> Any:
        tok = self._ensure_tokenizer()
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._load_model(tok)
        return self._model

    def _load_model(self, tok: Any) -> None:
        from transformers import AutoModelForCausalLM

        source, local_only = self._source()
        device, dtype, dtype_name = self._placement()
        try:
            model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, local_files_only=local_only)
        except Exception as exc:
            raise self._load_error(exc) from exc
        if self.adapter:
            model = self._apply_adapter(model, tok)
        try:
            model.to(device)
        except Exception as exc:
            raise ModelLoadError(f"could not put model {self.spec!r} on {device}: {exc}") from exc
        model.eval()
        self._device = device
        self._dtype_name = dtype_name
        cuda = device.startswith("cuda")
        self._static = cuda if self._compile_opt is None else (bool(self._compile_opt) and cuda)
        if self._compile_opt and not cuda:
            log.info("compile applies to CUDA only; %s runs uncompiled on %s", self.spec, device)
        self._thread = ModelThread()
        self._model = model
        log.info("loaded %s%s on %s (%s)", self.spec, f" + {self.adapter}" if self.adapter else "", device,
                 self._dtype_name)

    def _placement(self) -> tuple[str, Any, str]:
        """(device, torch dtype, the dtype's short name) that loading uses."""
        import torch

        device = self._device_opt or ("cuda:0" if torch.cuda.is_available() else "cpu")
        device = "cuda:0" if device == "cuda" else device
        name = (self._dtype_opt or "auto").lower()
        if name == "auto":
            # bf16 on CUDA, never fp16: Phi-2's activations overflow fp16's range (inf, then NaN logits).
            name = "bf16" if device.startswith("cuda") and torch.cuda.is_bf16_supported() else "fp32"
        name = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}.get(name, name)
        dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
        if name not in dtypes:
            raise ModelLoadError(f"unknown dtype {self._dtype_opt!r}; use bf16, fp16 or fp32")
        return device, dtypes[name], name

    def _apply_adapter(self, model: Any, tok: Any) -> Any:
        try:
            from peft import PeftModel
        except ImportError as exc:
            raise ModelLoadError("--adapter needs the peft package; pip install -r requirements.txt") from exc
        rows = max(len(tok), self._adapter_vocab_rows())
        # Only ever grow: Phi-2's embedding has 51,200 rows for 50,295 tokens, and the
        # spare rows already hold the adapter's added tokens.
        if rows > model.get_input_embeddings().num_embeddings:
            model.resize_token_embeddings(rows)
        try:
            model = PeftModel.from_pretrained(model, self.adapter, is_trainable=False)
            # Merged: plain-model speed, and the static-cache compile sees no peft wrappers.
            return model.merge_and_unload()
        except Exception as exc:
            raise self._load_error(exc, "adapter") from exc

    def _adapter_vocab_rows(self) -> int:
        """Rows of a full embedding or head the adapter saved (modules_to_save), else 0."""
        path = self._adapter_dir()
        weights = path / "adapter_model.safetensors" if path else None
        if weights is None or not weights.is_file():
            return 0
        try:
            from safetensors import safe_open

            with safe_open(str(weights), framework="pt") as f:
                shapes = [f.get_slice(k).get_shape() for k in f.keys()
                          if "lora_" not in k and re.search(r"embed|wte|lm_head", k)]
        except Exception:  # a corrupt file is reported by peft with a better message
            return 0
        return max((s[0] for s in shapes if len(s) == 2), default=0)

    # --- the Backend protocol -------------------------------------------------

    @property
    def context_length(self) -> int:
        if self._context_length_opt:
            return int(self._context_length_opt)
        self._ensure_tokenizer()
        for attr in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
            value = getattr(self._config, attr, None)
            if isinstance(value, int) and value > 0:
                return value
        return 2048

    def count_tokens(self, text: str) -> int:
        return len(self._ensure_tokenizer()(text, add_special_tokens=False)["input_ids"])

    def info(self) -> dict[str, Any]:
        """spec, backend, adapter, device (+ gpu, compiled on CUDA), quantization, context_length,
        loaded, and model_hash: a short hash of the weight files' names, sizes and mtimes for a
        directory (see _files_hash), None for a hub id. Loads the config, not the model."""
        out: dict[str, Any] = {"spec": self.spec, "backend": "hf", "adapter": self.adapter}
        try:
            context = self.context_length
        except ModelLoadError as exc:
            context, out["error"] = None, str(exc)
        if self._model is not None:
            device, quant = self._device, self._dtype_name
        else:  # not loaded yet: what loading would choose
            device, _, quant = self._placement()
        out.update(device=device, quantization=quant, context_length=context, loaded=self._model is not None)
        if device.startswith("cuda"):
            import torch
            out["gpu"] = torch.cuda.get_device_name(torch.device(device))
            out["compiled"] = self._static if self._model is not None else self._compile_opt is not False
        path = Path(self.spec).expanduser()
        dirs = [("model", path)] + ([("adapter", Path(self.adapter).expanduser())]
                                    if self.adapter and Path(self.adapter).expanduser().is_dir() else [])
        out["model_hash"] = _files_hash(dirs) if path.is_dir() else None
        return out

    def warmup(self, max_new_tokens: int = 8) -> float:
        """Load the model and run one short generation; returns its seconds.

        On CUDA this compiles the static-cache decode step (about 44 s for Phi-2 on an
        H200): run it in a background thread at start-up.
        """
        start = time.perf_counter()
        self.generate(Request.build("radiology_qa", {"question": "Is the heart size normal?"}),
                      GenParams(max_new_tokens=max_new_tokens))
        return time.perf_counter() - start

    def generate(self, request: Request, params: GenParams) -> Generation:
        request = self._fit(request, params)
        self._ensure_loaded()
        prompt = self._encode(request.prompt)
        stops = self._stops(request, params)
        clock = TokenClock()
        start = time.perf_counter()
        with self._lock:
            new = self._result(self._submit([prompt], params, stops, clock))
        text, count, stopped = self._decode(new[0], stops, cut_pad=False)
        reason = "stop" if stopped or count < params.max_new_tokens else "length"
        return timed_generation(text, start=start, first=clock.first, prompt_tokens=len(prompt),
                                completion_tokens=count, finish_reason=reason, request=request)

    def stream(self, request: Request, params: GenParams) -> Stream:
        request = self._fit(request, params)
        self._ensure_loaded()
        prompt = self._encode(request.prompt)
        stops = self._stops(request, params)
        scanner = StopScanner(stops.all)
        cancel = threading.Event()
        state: dict[str, Any] = {"start": time.perf_counter(), "clock": None, "new": None}
        return Stream(self._pieces(prompt, params, stops, scanner, cancel, state),
                      functools.partial(self._finish_stream, request, params, stops, prompt, scanner, state))

    def _pieces(self, prompt: list[int], params: GenParams, stops: _Stops, scanner: StopScanner,
                cancel: threading.Event, state: dict[str, Any]) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        text = TextIteratorStreamer(self._tokenizer, skip_prompt=True, **_DECODE)
        state["clock"] = clock = TokenClock(text)
        self._lock.acquire()
        state["start"] = time.perf_counter()
        try:
            fut = self._submit([prompt], params, stops, clock, cancel)
        except BaseException:
            self._lock.release()
            raise
        # Released by the model thread as the generation ends, however the reader leaves.
        fut.add_done_callback(lambda _: self._lock.release())
        finished = False
        try:
            for piece in text:
                out = scanner.feed(piece)
                if out:
                    yield out
                if scanner.stopped:
                    break
            else:
                tail = scanner.flush()
                if tail:
                    yield tail
            finished = True
        finally:
            cancel.set()  # a no-op once generation has ended; otherwise stops it at the next token
            try:
                state["new"] = self._result(fut)
            except RadphiError:
                if finished:
                    raise
                log.warning("generation failed after the stream was closed", exc_info=True)

    def _finish_stream(self, request: Request, params: GenParams, stops: _Stops, prompt: list[int],
                       scanner: StopScanner, state: dict[str, Any], text: str) -> Generation:
        count, stopped = 0, scanner.stopped
        if state["new"] is not None:
            _, count, hit = self._decode(state["new"][0], stops, cut_pad=False)
            stopped = stopped or hit
        clock = state["clock"]
        reason = "stop" if stopped or count < params.max_new_tokens else "length"
        return timed_generation(text, start=state["start"], first=clock.first if clock else None,
                                prompt_tokens=len(prompt), completion_tokens=count, finish_reason=reason,
                                request=request)

    def generate_batch(self, requests: list[Request], params: GenParams) -> list[Generation]:
        fitted = [self._fit(r, params) for r in requests]
        self._ensure_loaded()
        results: list[Generation | None] = [None] * len(fitted)
        # Rows batched together share their stop rules, so that no row stops on another's.
        groups: dict[_Stops, list[int]] = {}
        for i, r in enumerate(fitted):
            groups.setdefault(self._stops(r, params), []).append(i)
        for stops, indices in groups.items():
            for j in range(0, len(indices), self.batch_size):
                chunk = indices[j:j + self.batch_size]
                prompts = [self._encode(fitted[i].prompt) for i in chunk]
                start = time.perf_counter()
                with self._lock:
                    new = self._result(self._submit(prompts, params, stops))
                for row, i, prompt in zip(new, chunk, prompts):
                    text, count, stopped = self._decode(row, stops, cut_pad=True)
                    reason = "stop" if stopped or count < params.max_new_tokens else "length"
                    results[i] = timed_generation(text, start=start, first=None, prompt_tokens=len(prompt),
                                                  completion_tokens=count, finish_reason=reason,
                                                  request=fitted[i])
        return [g for g in results if g is not None]

    # --- helpers --------------------------------------------------------------

    def _fit(self, request: Request, params: GenParams) -> Request:
        self._ensure_tokenizer()
        extra = self._n_special
        return fit_request(request, params, self.context_length, lambda t: self.count_tokens(t) + extra)

    def _encode(self, prompt: str) -> list[int]:
        return list(self._tokenizer(prompt)["input_ids"])

    def _stops(self, request: Request, params: GenParams) -> _Stops:
        tok = self._tokenizer
        ids = [tok.eos_token_id]
        extra = getattr(self._model.generation_config, "eos_token_id", None)
        ids += extra if isinstance(extra, list) else [extra] if isinstance(extra, int) else []
        texts = []
        every = request.stop_strings(params)
        for s in every:
            if s in self._added:
                ids.append(self._added[s])
            else:
                texts.append(s)
        return _Stops(tuple(dict.fromkeys(ids)), tuple(texts), every)

    def _submit(self, prompts: list[list[int]], params: GenParams, stops: _Stops, streamer: Any = None,
                cancel: threading.Event | None = None) -> Future:
        return self._thread.submit(run_generate, self._model, self._tokenizer, prompts, params, device=self._device,
                                   eos_ids=stops.ids, stop_texts=stops.texts,
                                   static_length=self.context_length if self._static else None,
                                   streamer=streamer, cancel=cancel)

    def _result(self, fut: Future) -> Any:
        try:
            return fut.result()
        except RadphiError:
            raise
        except Exception as exc:
            if "OutOfMemory" in type(exc).__name__:
                raise GenerationError("the GPU ran out of memory while generating: shorten the input, or lower "
                                      "max_new_tokens or the batch size") from exc
            raise GenerationError(f"generation failed ({type(exc).__name__}: {exc})") from exc

    def _decode(self, row: Any, stops: _Stops, *, cut_pad: bool) -> tuple[str, int, bool]:
        """(text, completion tokens, stopped) for one row of new ids.

        The count is the tokens generated before the end token (as llama.cpp counts);
        in a batch, the padding after a finished row is not counted either.
        """
        ids = row.tolist()
        ends = set(stops.ids) | ({self._tokenizer.pad_token_id} if cut_pad else set())
        stopped = False
        for i, t in enumerate(ids):
            if t in ends:
                ids, stopped = ids[:i], True
                break
        text = self._tokenizer.decode(ids, **_DECODE)
        hits = [i for i in (text.find(s) for s in stops.all if s) if i >= 0]
        if hits:
            text, stopped = text[:min(hits)], True
        return text, len(ids), stopped
