"""A backend for OpenAI-compatible servers, through the official `openai` client.

    openai:MODEL@http://127.0.0.1:8080/v1        completions endpoint: the raw prompt, with
                                                 the <instruct>/<output> tokens (our own models
                                                 behind llama.cpp's or vLLM's server)
    openai-chat:MODEL@https://api.openai.com/v1  chat endpoint: the task's bare instruction as
                                                 the user message (the paper's GPT-4 baselines)

The URL may be left out (`openai:MODEL`) when OPENAI_BASE_URL is set; the key comes
from the argument or OPENAI_API_KEY, and a loopback server that needs none gets a
placeholder. Every request passes `radphi.privacy.prepare_for_remote` before it leaves
the process: a non-loopback server gets report text only with the user's opt-in, and
then PHI-scrubbed.

Token counts come from the server's `usage`. A streamed answer asks for it with
`stream_options={"include_usage": True}`; servers that send none (llama-cpp-python's
server) are counted instead: the prompt with `count_tokens`, the answer as the number
of streamed pieces that carried text (one per token on llama.cpp servers).

`count_tokens` asks a loopback llama.cpp server for an exact count (llama-cpp-python's
`/extras/tokenize/count`, or llama.cpp's own `/tokenize`); otherwise, and for any
remote server (report text must not leave for a mere count), it estimates
ceil(len(text) / 4): the OpenAI API has no tokenizer endpoint.

Structured tasks (`constraints`) send their answer shape in the request, as a GBNF
`grammar` (llama.cpp's and llama-cpp-python's servers) and as vLLM's
`structured_outputs` grammar; openai.com gets none (it takes neither). Servers may
ignore a constraint silently, so every answer is checked when it comes back, and
one that breaks the shape is marked `constraint_violated` (fail closed).

The SPEC, URL and stop-string helpers and the translation of client errors live in
openai_support.py; the public ones are importable from here too.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import httpx2
import openai

from radphi import privacy, tasks
from radphi.backends import constraints, openai_slots
from radphi.backends.base import Generation, GenParams, Request, StopScanner, Stream, fit_request, timed_generation
from radphi.backends.openai_support import (
    MAX_STOP_STRINGS, QA_CHAT_SUFFIX, Pieces, chat_messages, close_quietly, cut_at_stops, estimate_tokens,
    normalize_base_url, parse_spec, server_message, stops_to_send, transport_errors, unavailable,
)
from radphi.errors import BackendUnavailable, InputError, ModelLoadError

__all__ = [
    "DEFAULT_CONTEXT_LENGTH", "MAX_STOP_STRINGS", "NO_KEY", "QA_CHAT_SUFFIX", "OpenAIBackend", "chat_messages",
    "cut_at_stops", "estimate_tokens", "normalize_base_url", "parse_spec", "stops_to_send",
]

log = logging.getLogger(__name__)

NO_KEY = "sk-no-key"  # for loopback servers that check no key; the client insists on one
DEFAULT_CONTEXT_LENGTH = 4096

# Probed in order on loopback servers: (path, JSON body, how to read the count).
_TOKENIZE_ROUTES: tuple[tuple[str, Callable[[str], dict], Callable[[Any], int]], ...] = (
    ("/extras/tokenize/count", lambda t: {"input": t}, lambda j: int(j["count"])),
    ("/tokenize", lambda t: {"content": t}, lambda j: len(j["tokens"])),
    # vLLM's and SGLang's: {"prompt": ...} -> {"count": n, "tokens": [...]} (no special tokens added,
    # as our own count is of the text alone).
    ("/tokenize", lambda t: {"prompt": t, "add_special_tokens": False}, lambda j: int(j["count"])),
)


class OpenAIBackend:
    """Generation through an OpenAI-compatible server; the client is created lazily."""

    def __init__(
        self,
        spec: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        allow_remote: bool | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        context_length: int | None = None,
        http_client: Any = None,
        batch_workers: int | None = None,
        server_extras: bool | None = None,
    ):
        """`allow_remote=None` reads RADPHI_ALLOW_REMOTE at each request. `http_client` (an
        httpx2 or httpx Client) is handed to the openai client, e.g. a MockTransport one in
        tests. `server_extras` sends llama.cpp's sampling fields (repeat_penalty=1, min_p=0,
        top_k): its server's defaults (1.1, 0.05, 40) would make "greedy" differ from
        in-process llama.cpp; by default on for the completions endpoint, off for openai.com.
        """
        self.spec = spec
        self.endpoint, self.model, spec_url = parse_spec(spec)
        url = base_url or spec_url or os.environ.get("OPENAI_BASE_URL")
        if not url:
            raise ModelLoadError(
                f"no server URL for {spec!r}: write it into the SPEC "
                f"(openai:{self.model}@http://127.0.0.1:8080/v1) or set OPENAI_BASE_URL"
            )
        self.base_url = normalize_base_url(url)
        self.loopback = privacy.is_loopback_url(self.base_url)
        self.allow_remote = allow_remote
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self._context_length = int(context_length or DEFAULT_CONTEXT_LENGTH)
        self._api_key = api_key
        self._http_client = http_client
        self._batch_workers = batch_workers  # None: asked of the server at first use (openai_slots)
        host = (urlsplit(self.base_url).hostname or "").lower()
        self._openai_com = host.endswith("openai.com")
        self.server_extras = (
            server_extras if server_extras is not None
            else self.endpoint == "completions" and not self._openai_com
        )
        self._client: openai.OpenAI | None = None
        self._lock = threading.Lock()
        self._stream_usage = True  # ask for usage in streams until a server refuses
        self._tokenize_route: int | None | bool = None  # None: not probed; False: none works
        self._token_cache: dict[str, int] = {}
        self._plain_http: Any = None

    # ------------------------------------------------------------------ facts

    @property
    def batch_workers(self) -> int:
        """Requests to keep in flight at once (generate_batch, `radphi run`, the judge): as
        given, else decided once from what the server advertises (openai_slots.py)."""
        if self._batch_workers is None:
            found = openai_slots.suggested_workers(self._http(), self.base_url, loopback=self.loopback,
                                                   timeout=self.timeout)
            with self._lock:
                if self._batch_workers is None:
                    self._batch_workers = found
        return self._batch_workers

    @batch_workers.setter
    def batch_workers(self, n: int) -> None:
        self._batch_workers = max(1, int(n))

    @property
    def context_length(self) -> int:
        return self._context_length

    def info(self) -> dict[str, Any]:
        return {
            "spec": self.spec, "backend": "openai_api", "model": self.model,
            "device": "local server" if self.loopback else "remote",
            "quantization": "unknown", "context_length": self._context_length, "model_hash": None,
            "endpoint": self.endpoint, "base_url": self.base_url,
        }

    def native_format(self) -> str:
        """`chat` on the chat endpoint (the server applies the model's template); `token`
        on the completions endpoint, which gets the raw prompt (our own models)."""
        return tasks.CHAT_FORMAT if self.endpoint == "chat" else tasks.DEFAULT_FORMAT

    def render(self, request: Request, user: str | None = None) -> str:
        """What is sent: the raw prompt, or the chat endpoint's messages as text (the
        server puts them through the model's template)."""
        if self.endpoint == "chat":
            return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in chat_messages(request))
        return request.prompt if user is None else user

    def count_tokens(self, text: str) -> int:
        if text in self._token_cache:
            return self._token_cache[text]
        n = self._server_count(text) if self.loopback else None
        if n is None:
            return estimate_tokens(text)
        if len(self._token_cache) > 256:
            self._token_cache.clear()
        self._token_cache[text] = n
        return n

    def _server_count(self, text: str) -> int | None:
        if self._tokenize_route is False:
            return None
        root = self.base_url[: -len("/v1")] if self.base_url.endswith("/v1") else self.base_url
        routes = range(len(_TOKENIZE_ROUTES)) if self._tokenize_route is None else (self._tokenize_route,)
        for i in routes:
            path, body, read = _TOKENIZE_ROUTES[i]
            try:
                resp = self._http().post(root + path, json=body(text), timeout=self.timeout)
            except transport_errors() as exc:  # down: estimate now, ask again next time
                log.debug("token count at %s failed: %s", root + path, exc)
                return None
            try:
                n = read(resp.json()) if resp.status_code == 200 else None
            except (ValueError, KeyError, TypeError):
                n = None  # another server's route of that name: try the next
            if n is not None:
                self._tokenize_route = i
                return n
        self._tokenize_route = False
        log.info("%s offers no tokenizer endpoint; token counts are estimates", self.base_url)
        return None

    def _http(self) -> Any:
        if self._http_client is not None:
            return self._http_client
        with self._lock:
            if self._plain_http is None:
                self._plain_http = httpx2.Client(timeout=self.timeout)
            return self._plain_http

    def _get_client(self) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                key = self._api_key or os.environ.get("OPENAI_API_KEY")
                if not key:
                    if not self.loopback:
                        raise ModelLoadError(f"no API key for {self.base_url}: set OPENAI_API_KEY")
                    key = NO_KEY
                self._client = openai.OpenAI(
                    base_url=self.base_url, api_key=key, timeout=self.timeout,
                    max_retries=self.max_retries, http_client=self._http_client,
                )
            return self._client

    # ------------------------------------------------------------------ requests

    def _prepare(self, request: Request, params: GenParams) -> Request:
        # Privacy first: nothing, not even a token count, goes out before this check.
        request = privacy.prepare_for_remote(request, self.base_url, self.allow_remote)
        if request.chat and self.endpoint != "chat":
            raise InputError("the chat prompt format needs the chat endpoint: use openai-chat:MODEL@URL, "
                             "whose server applies the model's chat template")
        return fit_request(request, params, self._context_length, self.count_tokens)

    def _all_stops(self, request: Request, params: GenParams) -> tuple[str, ...]:
        # The format's stop strings belong to the raw prompt; a chat model never sees them.
        if self.endpoint == "chat":
            return tuple(dict.fromkeys(s for s in params.stop if s))
        return request.stop_strings(params)

    def _kwargs(self, request: Request, params: GenParams, stops: tuple[str, ...]) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "model": self.model,
            "max_tokens": params.max_new_tokens,
            "temperature": max(0.0, params.temperature),
            "top_p": params.top_p,
            "seed": params.seed,
        }
        sent = stops_to_send(stops)
        if sent:
            kw["stop"] = sent
        if self.endpoint == "chat":
            kw["messages"] = chat_messages(request)
        else:
            kw["prompt"] = request.prompt
        extra: dict[str, Any] = {}
        if self.server_extras:
            extra.update(repeat_penalty=1.0, min_p=0.0, top_k=params.top_k)
        shape = constraints.shape(request.task) if constraints.applies(request.task, params.constrained) else None
        if shape is not None and not self._openai_com:
            # llama.cpp's servers read `grammar`; vLLM reads `structured_outputs` (and warns
            # about, then ignores, the other's field).
            extra.update(grammar=shape.gbnf, structured_outputs={"grammar": shape.gbnf})
        if extra:
            kw["extra_body"] = extra
        return kw

    def _create(self, kw: dict[str, Any]) -> Any:
        client = self._get_client()
        api = client.chat.completions if self.endpoint == "chat" else client.completions
        try:
            try:
                return api.create(**kw)
            except openai.APIStatusError as exc:
                if not ("stream_options" in kw and exc.status_code in (400, 422)
                        and "stream_options" in server_message(exc)):
                    raise
                # An older server that rejects stream_options: stream without, count ourselves.
                log.info("%s refused stream_options; counting streamed tokens instead", self.base_url)
                self._stream_usage = False
                return api.create(**{k: v for k, v in kw.items() if k != "stream_options"})
        except transport_errors() as exc:
            raise self._unavailable(exc) from exc

    def generate(self, request: Request, params: GenParams) -> Generation:
        request = self._prepare(request, params)
        stops = self._all_stops(request, params)
        start = time.perf_counter()
        resp = self._create(self._kwargs(request, params, stops))
        choice = resp.choices[0] if resp.choices else None
        raw = "" if choice is None else (
            (choice.message.content or "") if self.endpoint == "chat" else (choice.text or "")
        )
        text, cut = cut_at_stops(raw, stops)
        usage = getattr(resp, "usage", None)
        prompt_tokens, completion_tokens = self._counts(request, text, usage, None)
        reason = "length" if choice is not None and choice.finish_reason == "length" and not cut else "stop"
        return timed_generation(text, start=start, first=None, prompt_tokens=prompt_tokens,
                                completion_tokens=completion_tokens, finish_reason=reason, request=request,
                                params=params)

    def stream(self, request: Request, params: GenParams) -> Stream:
        request = self._prepare(request, params)
        stops = self._all_stops(request, params)
        kw = self._kwargs(request, params, stops)
        kw["stream"] = True
        if self._stream_usage:
            kw["stream_options"] = {"include_usage": True}
        start = time.perf_counter()
        raw = self._create(kw)  # connection errors surface here, not at the first next()
        state: dict[str, Any] = {"first": None, "usage": None, "pieces": 0, "finish": None}

        def pieces() -> Iterator[str]:
            scanner = StopScanner(stops)
            try:
                for chunk in raw:
                    if getattr(chunk, "usage", None):
                        state["usage"] = chunk.usage
                    for choice in chunk.choices[:1]:
                        text = (choice.delta.content if self.endpoint == "chat" else choice.text) or ""
                        if choice.finish_reason:
                            state["finish"] = choice.finish_reason
                        # A completions server sends one chunk per token, some with no
                        # text (a piece of a UTF-8 character); chat chunks may carry a role only.
                        if text or (self.endpoint == "completions" and not choice.finish_reason):
                            state["pieces"] += 1
                        if not text:
                            continue
                        if state["first"] is None:
                            state["first"] = time.perf_counter()
                        out = scanner.feed(text)
                        if out:
                            yield out
                    if scanner.stopped:
                        state["finish"] = "stop"
                        return  # closing the response (finally) stops the server too
                tail = scanner.flush()
                if tail:
                    yield tail
            except transport_errors() as exc:
                raise self._unavailable(exc) from exc
            finally:
                close_quietly(raw)

        def finish(text: str) -> Generation:
            prompt_tokens, completion_tokens = self._counts(request, text, state["usage"], state["pieces"])
            return timed_generation(text, start=start, first=state["first"], prompt_tokens=prompt_tokens,
                                    completion_tokens=completion_tokens,
                                    finish_reason="length" if state["finish"] == "length" else "stop",
                                    request=request, params=params)

        return Stream(Pieces(pieces(), raw), finish)

    def generate_batch(self, requests: list[Request], params: GenParams) -> list[Generation]:
        """In order, `batch_workers` at a time (openai_slots.py: many toward a loopback vLLM or
        SGLang, a few toward remote APIs, one toward a server that decodes one at a time)."""
        if self.batch_workers <= 1 or len(requests) <= 1:
            return [self.generate(r, params) for r in requests]
        with ThreadPoolExecutor(max_workers=self.batch_workers) as pool:
            return list(pool.map(lambda r: self.generate(r, params), requests))

    # ------------------------------------------------------------------ helpers

    def _counts(self, request: Request, text: str, usage: Any, pieces: int | None) -> tuple[int, int]:
        if usage is not None and getattr(usage, "completion_tokens", None) is not None:
            return int(usage.prompt_tokens or 0), int(usage.completion_tokens)
        sent = chat_messages(request)[0]["content"] if self.endpoint == "chat" else request.prompt
        return self.count_tokens(sent), (pieces if pieces is not None else self.count_tokens(text))

    def _unavailable(self, exc: BaseException) -> BackendUnavailable | ModelLoadError:
        """A user-facing error naming the server, for anything the client or transport raised."""
        return unavailable(exc, base_url=self.base_url, model=self.model, timeout=self.timeout)
