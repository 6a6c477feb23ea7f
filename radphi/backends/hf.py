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
start-up so that the first user does not wait for the compile. Finding and loading
the tokenizer, model and adapter is hf_load.py's (HFLoader); this file decides when.

A `chat` prompt is put through `tokenizer.apply_chat_template(...,
add_generation_prompt=True)` and stops on the template's end-of-turn token as well;
structured tasks decode under their answer shape (`constraints`) through a logits
processor (hf_constrain.py) unless `GenParams.constrained` is off.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Iterator

from radphi import tasks
from radphi.backends import constraints
from radphi.backends.base import Generation, GenParams, Request, StopScanner, Stream, fit_request, timed_generation
from radphi.backends.chat import end_of_turn, render_request
from radphi.backends.hf_compile import ModelThread, TokenClock, run_generate
from radphi.backends.hf_load import HFLoader
from radphi.errors import GenerationError, InputError, ModelLoadError, RadphiError

log = logging.getLogger(__name__)

# The model's own text, as llama.cpp gives it: no " ." -> "." clean-up.
_DECODE = {"skip_special_tokens": True, "clean_up_tokenization_spaces": False}


@dataclass(frozen=True)
class _Stops:
    # End generation on these tokens: eos, and any stop string that is one added token
    # (`<instruct>` is special: it vanishes from decoded text, so it must stop as a token).
    ids: tuple[int, ...]
    texts: tuple[str, ...]    # other stop strings, for transformers' StopStringCriteria
    all: tuple[str, ...]      # every stop string, to cut the decoded text


class HFBackend:
    grounds = True  # extractive tasks can copy the input's sentences (radphi.grounding)

    def __init__(self, spec: str, *, adapter: str | None = None, device: str | None = None,
                 dtype: str | None = None, compile: bool | None = None, context_length: int | None = None,
                 batch_size: int = 8):
        self.spec = spec
        self.adapter = adapter
        self.batch_size = max(1, int(batch_size))
        self._loader = HFLoader(spec, adapter, device, dtype)  # how; this backend decides when
        self._compile_opt = compile
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
        self._added: dict[str, int] = {}

    # --- loading --------------------------------------------------------------

    def _ensure_tokenizer(self) -> Any:
        if self._tokenizer is None:
            with self._load_lock:
                if self._tokenizer is None:
                    self._load_tokenizer()
        return self._tokenizer

    def _load_tokenizer(self) -> None:
        config, tok = self._loader.load_tokenizer()
        self._added = dict(tok.get_added_vocab())
        self._config = config
        self._tokenizer = tok

    def _ensure_loaded(self) -> Any:
        tok = self._ensure_tokenizer()
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._load_model(tok)
        return self._model

    def _load_model(self, tok: Any) -> None:
        model, device, dtype_name = self._loader.load_model(tok)
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
        directory (see hf_load.files_hash), None for a hub id. Loads the config, not the model."""
        out: dict[str, Any] = {"spec": self.spec, "backend": "hf", "adapter": self.adapter}
        try:
            context = self.context_length
        except ModelLoadError as exc:
            context, out["error"] = None, str(exc)
        if self._model is not None:
            device, quant = self._device, self._dtype_name
        else:  # not loaded yet: what loading would choose
            device, _, quant = self._loader.placement()
        out.update(device=device, quantization=quant, context_length=context, loaded=self._model is not None)
        if device.startswith("cuda"):
            import torch
            out["gpu"] = torch.cuda.get_device_name(torch.device(device))
            out["compiled"] = self._static if self._model is not None else self._compile_opt is not False
        out["model_hash"] = self._loader.model_hash()
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
        prompt = self.prompt_tokens(request)
        stops = self._stops(request, params)
        if request.grounding_source(params):
            stream = self._grounded_stream(request, params, prompt, stops)
            stream.text()
            assert stream.generation is not None
            return stream.generation
        clock = TokenClock()
        start = time.perf_counter()
        with self._lock:
            new = self._result(self._submit([prompt], params, stops, clock, task=request.task))
        text, count, stopped = self._decode(new[0], stops, cut_pad=False)
        reason = "stop" if stopped or count < params.max_new_tokens else "length"
        return timed_generation(text, start=start, first=clock.first, prompt_tokens=len(prompt),
                                completion_tokens=count, finish_reason=reason, request=request, params=params)

    def stream(self, request: Request, params: GenParams) -> Stream:
        request = self._fit(request, params)
        self._ensure_loaded()
        prompt = self.prompt_tokens(request)
        stops = self._stops(request, params)
        if request.grounding_source(params):
            return self._grounded_stream(request, params, prompt, stops)
        scanner = StopScanner(stops.all)
        cancel = threading.Event()
        state: dict[str, Any] = {"start": time.perf_counter(), "clock": None, "new": None}
        return Stream(self._pieces(prompt, params, stops, scanner, cancel, state, request.task),
                      functools.partial(self._finish_stream, request, params, stops, prompt, scanner, state))

    def _pieces(self, prompt: list[int], params: GenParams, stops: _Stops, scanner: StopScanner,
                cancel: threading.Event, state: dict[str, Any], task: str) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        text = TextIteratorStreamer(self._tokenizer, skip_prompt=True, **_DECODE)
        state["clock"] = clock = TokenClock(text)
        self._lock.acquire()
        state["start"] = time.perf_counter()
        try:
            fut = self._submit([prompt], params, stops, clock, cancel, task=task)
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
                                request=request, params=params)

    def _grounded_stream(self, request: Request, params: GenParams, prompt: list[int], stops: _Stops) -> Stream:
        """An extractive task's answer, copied a sentence at a time (radphi.grounding)."""
        from radphi.backends.hf_scoring import option_scores
        from radphi.grounding import answer

        tok = self._tokenizer
        state: dict[str, Any] = {"start": time.perf_counter(), "completion_tokens": 0, "finish_reason": "stop"}

        def score(answer: str, options: Any, n_tokens: int) -> Any:
            base = prompt + (tok(answer, add_special_tokens=False)["input_ids"] if answer else [])
            room = max(0, min(n_tokens, self.context_length - len(base)))  # never past the context
            opts = [tok(o, add_special_tokens=False)["input_ids"][:room] for o in options]
            return self._result(self._thread.submit(option_scores, self._model, base, opts, stops.ids,
                                                    self._device, tok.pad_token_id or 0))

        def pieces() -> Iterator[str]:
            with self._lock:
                state["start"] = time.perf_counter()
                yield from answer(request.grounding_source(params) or "", score, self.count_tokens, state,
                                  max_new_tokens=params.max_new_tokens, temperature=params.temperature,
                                  seed=params.seed, task=request.task, settings=params.grounding)

        def finish(text: str) -> Generation:
            return timed_generation(text, start=state["start"], first=state.get("first"), prompt_tokens=len(prompt),
                                    completion_tokens=state["completion_tokens"], finish_reason=state["finish_reason"],
                                    request=request, params=params)

        return Stream(pieces(), finish)

    def generate_batch(self, requests: list[Request], params: GenParams) -> list[Generation]:
        fitted = [self._fit(r, params) for r in requests]
        self._ensure_loaded()
        results: list[Generation | None] = [None] * len(fitted)
        # Rows batched together share their stop rules, so that no row stops on another's.
        # Grounded answers are built a sentence at a time, one request after another.
        groups: dict[tuple[_Stops, str], list[int]] = {}
        for i, r in enumerate(fitted):
            if r.grounding_source(params):
                results[i] = self.generate(r, params)
                continue
            # A constrained row shares its batch with rows of the same task (one grammar).
            task = r.task if constraints.applies(r.task, params.constrained) else ""
            groups.setdefault((self._stops(r, params), task), []).append(i)
        for (stops, task), indices in groups.items():
            for j in range(0, len(indices), self.batch_size):
                chunk = indices[j:j + self.batch_size]
                prompts = [self.prompt_tokens(fitted[i]) for i in chunk]
                start = time.perf_counter()
                with self._lock:
                    new = self._result(self._submit(prompts, params, stops, task=task))
                for row, i, prompt in zip(new, chunk, prompts):
                    text, count, stopped = self._decode(row, stops, cut_pad=True)
                    reason = "stop" if stopped or count < params.max_new_tokens else "length"
                    results[i] = timed_generation(text, start=start, first=None, prompt_tokens=len(prompt),
                                                  completion_tokens=count, finish_reason=reason,
                                                  request=fitted[i], params=params)
        return [g for g in results if g is not None]

    # --- helpers --------------------------------------------------------------

    def _fit(self, request: Request, params: GenParams) -> Request:
        self._ensure_tokenizer()
        return fit_request(request, params, self.context_length, lambda user: len(self.prompt_tokens(request, user)))

    def _encode(self, prompt: str) -> list[int]:
        return list(self._tokenizer(prompt)["input_ids"])

    # --- prompt formats -------------------------------------------------------

    def native_format(self) -> str:
        """The model's own prompt format (`tasks.choose_format`): `token` when the vocabulary
        has <instruct> and <output>, `chat` when the tokenizer has a chat template."""
        tok = self._ensure_tokenizer()
        return tasks.choose_format(
            has_prompt_tokens={tasks.INSTRUCT_TOKEN, tasks.OUTPUT_TOKEN} <= set(self._added),
            has_chat_template=bool(getattr(tok, "chat_template", None)))

    def _render_messages(self, messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
        tok = self._ensure_tokenizer()
        if not getattr(tok, "chat_template", None):
            raise InputError(f"{self.spec} has no chat template: use the token or default prompt format")
        return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)

    def render(self, request: Request, user: str | None = None) -> str:
        """The exact text the model receives for REQUEST (`chat.render_request`)."""
        return render_request(self._render_messages, request, user)

    def prompt_tokens(self, request: Request, user: str | None = None) -> list[int]:
        """The prompt's token ids as the model gets them. A chat template writes its own
        special tokens (BOS included), so its text is encoded without adding any."""
        tok = self._ensure_tokenizer()
        if not request.chat:
            return self._encode(request.prompt if user is None else user)
        return list(tok(self.render(request, user), add_special_tokens=False)["input_ids"])

    def _stops(self, request: Request, params: GenParams) -> _Stops:
        tok = self._tokenizer
        ids = [tok.eos_token_id]
        extra = getattr(self._model.generation_config, "eos_token_id", None)
        ids += extra if isinstance(extra, list) else [extra] if isinstance(extra, int) else []
        texts = []
        every = request.stop_strings(params)
        if request.chat:
            every += end_of_turn(self._render_messages, list(self._added) + list(tok.all_special_tokens))
        for s in every:
            if s in self._added:
                ids.append(self._added[s])
            else:
                texts.append(s)
        return _Stops(tuple(dict.fromkeys(ids)), tuple(texts), every)

    def _submit(self, prompts: list[list[int]], params: GenParams, stops: _Stops, streamer: Any = None,
                cancel: threading.Event | None = None, *, task: str = "") -> Future:
        processor = None
        if task and constraints.applies(task, params.constrained):
            from radphi.backends.hf_constrain import shape_processor

            processor = shape_processor(self._tokenizer, task, self._model.config.vocab_size, stops.ids)
        return self._thread.submit(run_generate, self._model, self._tokenizer, prompts, params, device=self._device,
                                   eos_ids=stops.ids, stop_texts=stops.texts,
                                   static_length=self.context_length if self._static else None,
                                   streamer=streamer, cancel=cancel, logits_processor=processor)

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
