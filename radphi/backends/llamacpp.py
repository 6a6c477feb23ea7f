"""GGUF models on the CPU through llama-cpp-python. Imports neither torch nor transformers.

The model is loaded on first use and shared by every caller of this backend object
(`radphi.backends.load_backend` hands out one per SPEC); a lock keeps two callers
from interleaving on the one llama.cpp context.

Decoding runs through `Llama.generate` directly rather than `create_completion`:
it gives us exact token counts, our own stop handling on token ids, and keeps the
per-token overhead at what raw llama-cpp-python costs. `Llama.generate` evaluates
only the part of a prompt past the longest prefix it has already evaluated, so a
second question about the same report costs only the question's tokens.

Prompt formats: `token` and `default` prompts are tokenized as they are; a `chat`
prompt is first put through the GGUF's own `tokenizer.chat_template` with
llama-cpp-python's `Jinja2ChatFormatter` (`render`), and the answer stops on the
template's end-of-turn token. Structured tasks decode under a GBNF grammar
(`LlamaGrammar`, from `constraints`) unless `GenParams.constrained` is off.
"""

from __future__ import annotations

import codecs
import functools
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from radphi import hashing, tasks
from radphi.backends import constraints
from radphi.backends.base import (Generation, GenParams, Request, StopScanner, Stream, StreamingBackend, fit_request,
                                  timed_generation)
from radphi.backends.chat import answer_tail, render_request
from radphi.backends.llamacpp_scoring import option_scorer
from radphi.errors import InputError, ModelLoadError

log = logging.getLogger(__name__)


def physical_cores() -> int:
    """Physical cores (llama.cpp decodes fastest with one thread per core, not per hyper-thread)."""
    try:
        pairs = set()
        phys = core = None
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "physical id":
                phys = value.strip()
            elif key == "core id":
                core = value.strip()
            elif not line.strip() and core is not None:
                pairs.add((phys, core))
                phys = core = None
        if core is not None:
            pairs.add((phys, core))
        if pairs:
            return len(pairs)
    except OSError:
        pass
    return max(1, os.cpu_count() or 1)


@functools.lru_cache(maxsize=64)
def _gguf_metadata(path: str, size: int, mtime_ns: int) -> dict[str, Any]:
    """The header fields `LlamaCppBackend.file_metadata` returns, for one version of a file
    (size and mtime are in the key, so a replaced file is read again)."""
    try:
        import gguf

        reader = gguf.GGUFReader(path)
        fields = {}
        for name in ("general.architecture", "general.name", "general.file_type", "radphi.prompt_format",
                     hashing.GGUF_SOURCE_KEY):
            field = reader.get_field(name)
            if field is not None:
                fields[name] = field.contents()
        arch = fields.get("general.architecture")
        ctx = reader.get_field(f"{arch}.context_length") if arch else None
        if ctx is not None:
            fields["context_length"] = int(ctx.contents())
        if "general.file_type" in fields:
            try:
                fields["quantization"] = gguf.LlamaFileType(int(fields["general.file_type"])).name.removeprefix(
                    "MOSTLY_").removeprefix("ALL_")
            except ValueError:
                fields["quantization"] = str(fields["general.file_type"])
        return fields
    except Exception as exc:  # a corrupt header: say so in info(), fail properly on load
        return {"error": str(exc)}


class LlamaCppBackend(StreamingBackend):
    """One llama.cpp context decodes one sequence at a time: `generate_batch` runs the
    requests in order (batching would only reorder the same work on a CPU)."""

    grounds = True  # extractive tasks can copy the input's sentences (radphi.grounding)

    def __init__(self, spec: str, *, n_ctx: int = 0, n_threads: int | None = None, n_batch: int = 512,
                 n_ubatch: int = 128, n_gpu_layers: int = 0, repack: bool | None = None):
        self.spec = spec
        self.path = Path(spec).expanduser()
        self.n_ctx = n_ctx  # 0: the model's own training context
        self.n_threads = n_threads or physical_cores()
        self.n_batch = n_batch
        # 128 rather than llama.cpp's 512: with the repacked (AMX) kernels a whole request
        # was faster in 8 of 8 alternating pairs (bench/bench_cpu_levers.py --levers batch,
        # Phi-2-shaped Q8_0: 15.94 against 16.45 s, medians of 5; README, "CPU speed").
        self.n_ubatch = n_ubatch
        self.n_gpu_layers = n_gpu_layers
        self.repack = repack  # None: llamacpp_load.use_repack's default (measured in bench/bench_cpu_levers.py)
        self._llm: Any = None
        self._load_lock = threading.Lock()
        # A plain Lock, not an RLock: a web server may advance a stream on one worker
        # thread and close it from another, and only a Lock may be released by a thread
        # other than the one that took it.
        self._lock = threading.Lock()
        self._stop_ids: dict[tuple[str, ...], set[int]] = {}
        self._native_format: str | None = None
        self._chat: dict[bool, Any] = {}  # add_generation_prompt -> Jinja2ChatFormatter
        self._chat_end: tuple[set[int], tuple[str, ...]] | None = None
        self._grammars: dict[str, Any] = {}

    # ------------------------------------------------------------------ loading
    def _ensure_loaded(self) -> Any:
        if self._llm is not None:
            return self._llm
        with self._load_lock:
            if self._llm is None:
                if not self.path.is_file():
                    raise ModelLoadError(f"model file not found: {self.path}")
                try:
                    from radphi.backends.llamacpp_load import load_llama
                except ImportError as exc:  # pragma: no cover - depends on the install
                    raise ModelLoadError("llama-cpp-python is not installed: pip install llama-cpp-python") from exc
                t0 = time.perf_counter()
                meta = self.file_metadata()
                if "error" in meta:
                    raise ModelLoadError(
                        f"could not load GGUF model {self.path}: {meta['error']}. "
                        "The file may be truncated or not a GGUF model; re-export it with `radphi export-gguf`."
                    )
                try:
                    self._llm = load_llama(self.path, **self.load_kwargs(meta))
                except Exception as exc:  # llama.cpp reports every load failure as ValueError/RuntimeError
                    raise ModelLoadError(
                        f"could not load GGUF model {self.path}: {exc}. "
                        "The file may be truncated or not a GGUF model; re-export it with `radphi export-gguf`."
                    ) from exc
                log.info("loaded %s in %.1f s (%d threads, context %d)", self.path, time.perf_counter() - t0,
                         self.n_threads, self._llm.n_ctx())
        return self._llm

    def load_kwargs(self, meta: dict[str, Any] | None = None) -> dict[str, Any]:
        """What `load_llama` is called with (bench/bench_cpu_decode.py loads raw llama.cpp alike)."""
        from radphi.backends.llamacpp_load import use_repack

        meta = self.file_metadata() if meta is None else meta
        return dict(use_extra_bufts=use_repack(self.path, meta.get("quantization", ""), self.repack), n_ctx=self.n_ctx,
                    n_threads=self.n_threads, n_threads_batch=self.n_threads, n_batch=self.n_batch,
                    n_ubatch=self.n_ubatch, n_gpu_layers=self.n_gpu_layers, verbose=False)

    @property
    def context_length(self) -> int:
        return int(self._ensure_loaded().n_ctx())

    def file_metadata(self) -> dict[str, Any]:
        """Header fields read with the `gguf` package, without loading the model (read once
        per file version: info() runs on every page update and every record)."""
        try:
            st = self.path.stat()
        except OSError as exc:
            return {"error": str(exc)}
        return dict(_gguf_metadata(str(self.path.resolve()), st.st_size, st.st_mtime_ns))

    def info(self) -> dict[str, Any]:
        meta = self.file_metadata()
        return {
            "spec": self.spec,
            "backend": "llamacpp",
            "device": "gpu" if self.n_gpu_layers else "cpu",
            "threads": self.n_threads,
            "quantization": meta.get("quantization", "unknown"),
            "context_length": self._llm.n_ctx() if self._llm is not None else (self.n_ctx or meta.get("context_length")),
            "architecture": meta.get("general.architecture"),
            "model_hash": hashing.file_sha256(self.path) if self.path.is_file() else None,
        }

    # ------------------------------------------------------------------ prompt format
    def native_format(self) -> str:
        """The model's own prompt format (`tasks.choose_format`), read from the GGUF header
        without loading the model: `radphi.prompt_format`, the vocabulary, the chat template."""
        if self._native_format is None:
            declared, has_tokens, has_template = None, False, False
            try:
                import gguf

                reader = gguf.GGUFReader(str(self.path))
                field = reader.get_field("radphi.prompt_format")
                declared = field.contents() if field is not None else None
                has_template = reader.get_field("tokenizer.chat_template") is not None
                field = reader.get_field("tokenizer.ggml.tokens")
                vocab = set(field.contents()) if field is not None else set()
                has_tokens = {tasks.INSTRUCT_TOKEN, tasks.OUTPUT_TOKEN} <= vocab
            except Exception as exc:  # a broken header fails properly on load; guess the default here
                log.debug("could not read the prompt format of %s: %s", self.path, exc)
            self._native_format = tasks.choose_format(has_prompt_tokens=has_tokens, has_chat_template=has_template,
                                                      declared=declared)
        return self._native_format

    def _chat_formatter(self, add_generation_prompt: bool) -> Any:
        if add_generation_prompt not in self._chat:
            llm = self._ensure_loaded()
            template = llm.metadata.get("tokenizer.chat_template")
            if not template:
                raise InputError(f"{self.path.name} has no chat template (tokenizer.chat_template): "
                                 f"use the token or default prompt format")
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            def text_of(key: str) -> str:
                tid = int(llm.metadata.get(key, -1))
                return llm._model.token_get_text(tid) if tid >= 0 else ""

            # As llama-cpp-python builds its own chat handler from the GGUF's metadata.
            self._chat[add_generation_prompt] = Jinja2ChatFormatter(
                template=template, eos_token=text_of("tokenizer.ggml.eos_token_id"),
                bos_token=text_of("tokenizer.ggml.bos_token_id"), add_generation_prompt=add_generation_prompt)
        return self._chat[add_generation_prompt]

    def _render_messages(self, messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
        return self._chat_formatter(add_generation_prompt)(messages=messages).prompt

    def render(self, request: Request, user: str | None = None) -> str:
        """The exact text the model receives for REQUEST (`chat.render_request`)."""
        return render_request(self._render_messages, request, user)

    def prompt_tokens(self, request: Request, user: str | None = None) -> list[int]:
        """The prompt's token ids, as `stream` evaluates them."""
        if not request.chat:
            return self.tokenize(request.prompt if user is None else user)
        llm = self._ensure_loaded()
        # No BOS added: a template writes its own (`bos_token`), as llama-cpp-python's chat
        # handler assumes for every Jinja2 template (`added_special`).
        return llm.tokenize(self.render(request, user).encode("utf-8"), add_bos=False, special=True)

    def _chat_stops(self) -> tuple[set[int], tuple[str, ...]]:
        """The chat template's end-of-turn: as a token id when it is one control token,
        else as a stop string."""
        if self._chat_end is None:
            llm = self._ensure_loaded()
            tail = answer_tail(self._render_messages)
            ids: set[int] = set()
            texts: tuple[str, ...] = ()
            if tail:
                toks = llm.tokenize(tail.encode("utf-8"), add_bos=False, special=True)
                if toks and llm.detokenize(toks[:1]) == b"":
                    ids.add(toks[0])
                elif toks:
                    texts = (tail.splitlines()[0],)
            self._chat_end = (ids, texts)
        return self._chat_end

    def _grammar(self, task: str) -> Any:
        if task not in self._grammars:
            from llama_cpp import LlamaGrammar

            shape = constraints.shape(task)
            assert shape is not None
            self._grammars[task] = LlamaGrammar.from_string(shape.gbnf, verbose=False)
        return self._grammars[task]

    # ------------------------------------------------------------------ tokens
    def tokenize(self, text: str) -> list[int]:
        # special=True: `<instruct>` and `<output>` in the prompt become their control tokens;
        # add_bos follows the model's own metadata (Phi-2: none, Llama/Mistral: BOS).
        return self._ensure_loaded().tokenize(text.encode("utf-8"), add_bos=True, special=True)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def _stop_token_ids(self, stops: tuple[str, ...]) -> set[int]:
        """Token ids to stop at: end-of-generation tokens, and stop strings that are one control token.

        Control tokens detokenize to nothing, so a text scan would never see them.
        """
        if stops not in self._stop_ids:
            llm = self._ensure_loaded()
            ids = {llm.token_eos()} | self._eog_ids(llm)
            for s in stops:
                toks = llm.tokenize(s.encode("utf-8"), add_bos=False, special=True)
                if len(toks) == 1 and llm.detokenize(toks) == b"":
                    ids.add(toks[0])
            self._stop_ids[stops] = ids
        return self._stop_ids[stops]

    @staticmethod
    def _eog_ids(llm: Any) -> set[int]:
        """Every end-of-generation token the model's vocabulary declares (EOS, EOT, ...)."""
        import llama_cpp

        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        return {t for t in range(llm.n_vocab()) if llama_cpp.llama_vocab_is_eog(vocab, t)}

    def _grounded_pieces(self, llm: Any, params: GenParams, source: str, prompt: list[int], stop_ids: set[int],
                         state: dict[str, Any], task: str) -> Iterator[str]:
        from radphi.grounding import answer

        def count(piece: str) -> int:
            return len(llm.tokenize(piece.encode("utf-8"), add_bos=False, special=False))

        yield from answer(source, option_scorer(llm, prompt, stop_ids), count, state,
                          max_new_tokens=params.max_new_tokens, temperature=params.temperature, seed=params.seed,
                          task=task, settings=params.grounding)

    # ------------------------------------------------------------------ generation
    def _pieces(self, request: Request, params: GenParams, state: dict[str, Any]) -> Iterator[str]:
        """Text pieces of the answer; holds the model lock until exhausted or closed."""
        llm = self._ensure_loaded()
        stops = request.stop_strings(params)
        with self._lock:
            stop_ids = self._stop_token_ids(stops)
            if request.chat:
                chat_ids, chat_texts = self._chat_stops()
                stop_ids = stop_ids | chat_ids
                stops = stops + chat_texts
            tokens = self.prompt_tokens(request)
            state["prompt_tokens"] = len(tokens)
            if len(tokens) + params.max_new_tokens > llm.n_ctx():
                raise InputError(f"input too long: {len(tokens)} prompt tokens + {params.max_new_tokens} new "
                                 f"tokens exceed the context of {llm.n_ctx()}")
            if not params.greedy:
                llm.set_seed(params.seed)
            # Tokens can split a UTF-8 character; the incremental decoder waits for the rest.
            # Invalid bytes are dropped, as llama-cpp-python's own completion text does.
            decoder = codecs.getincrementaldecoder("utf-8")(errors="ignore")
            source = request.grounding_source(params)
            if source:
                state["start"] = time.perf_counter()
                yield from self._grounded_pieces(llm, params, source, tokens, stop_ids, state, request.task)
                return
            scanner = StopScanner(stops)
            grammar = self._grammar(request.task) if constraints.applies(request.task, params.constrained) else None
            state["start"] = time.perf_counter()
            n = 0
            for tok in llm.generate(
                tokens,
                temp=params.temperature if not params.greedy else 0.0,
                top_k=params.top_k if params.top_k > 0 else 0,
                top_p=params.top_p, min_p=0.0, repeat_penalty=1.0, reset=True, grammar=grammar,
            ):
                # Time to first token: the first sampled token, shown or not (a token can
                # be half a UTF-8 character, or the end of text).
                state.setdefault("first", time.perf_counter())
                if tok in stop_ids:
                    state["finish_reason"] = "stop"
                    break
                n += 1
                state["completion_tokens"] = n
                text = scanner.feed(decoder.decode(llm.detokenize([tok])))
                if text:
                    yield text
                if scanner.stopped:
                    state["finish_reason"] = "stop"
                    break
                if n >= params.max_new_tokens:
                    state["finish_reason"] = "length"
                    break
            tail = scanner.feed(decoder.decode(b"", final=True)) + scanner.flush()
            if tail:
                yield tail

    def stream(self, request: Request, params: GenParams) -> Stream:
        self._ensure_loaded()
        request = fit_request(request, params, self.context_length,
                              lambda user: len(self.prompt_tokens(request, user)))
        state: dict[str, Any] = {"prompt_tokens": 0, "completion_tokens": 0, "finish_reason": "stop"}
        submitted = time.perf_counter()

        def finish(text: str) -> Generation:
            return timed_generation(
                text, start=submitted, first=state.get("first"), prompt_tokens=state["prompt_tokens"],
                completion_tokens=state["completion_tokens"], finish_reason=state["finish_reason"], request=request,
                params=params,
            )

        return Stream(self._pieces(request, params, state), finish)
