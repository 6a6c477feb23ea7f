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
"""

from __future__ import annotations

import logging
import math
import os
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import httpx2
import openai

from radphi import privacy
from radphi.backends.base import Generation, GenParams, Request, StopScanner, Stream, fit_request, timed_generation
from radphi.errors import BackendUnavailable, ModelLoadError

log = logging.getLogger(__name__)

MAX_STOP_STRINGS = 4  # the OpenAI API's limit on `stop`
NO_KEY = "sk-no-key"  # for loopback servers that check no key; the client insists on one
DEFAULT_CONTEXT_LENGTH = 4096
# The paper's GPT-4 baseline for Radiology Q&A asked for short answers.
QA_CHAT_SUFFIX = " Answer in less than 50 words."

_SPEC = re.compile(r"^(?P<kind>openai|openai-chat):(?P<model>.*?)(?:@(?P<url>[A-Za-z][A-Za-z0-9+.\-]*://.*))?$")
# Probed in order on loopback servers: (path, JSON body, how to read the count).
_TOKENIZE_ROUTES: tuple[tuple[str, Callable[[str], dict], Callable[[Any], int]], ...] = (
    ("/extras/tokenize/count", lambda t: {"input": t}, lambda j: int(j["count"])),
    ("/tokenize", lambda t: {"content": t}, lambda j: len(j["tokens"])),
)


def parse_spec(spec: str) -> tuple[str, str, str | None]:
    """(endpoint, model, url or None) from `openai:MODEL@URL` or `openai-chat:MODEL@URL`."""
    m = _SPEC.match(spec.strip())
    if not m or not m.group("model").strip():
        raise ModelLoadError(
            f"cannot read model SPEC {spec!r}: write openai:MODEL@http://127.0.0.1:8080/v1 "
            f"(completions endpoint) or openai-chat:MODEL@URL (chat endpoint)"
        )
    endpoint = "chat" if m.group("kind") == "openai-chat" else "completions"
    return endpoint, m.group("model").strip(), m.group("url")


def normalize_base_url(url: str) -> str:
    """Strip a trailing slash; a bare host gets `/v1`, where OpenAI-compatible servers listen."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        raise ModelLoadError(f"not a server URL: {url!r} (expected e.g. http://127.0.0.1:8080/v1)")
    path = parts.path.rstrip("/") or "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def estimate_tokens(text: str) -> int:
    """About four characters a token, rounded up: English text on BPE vocabularies."""
    return math.ceil(len(text) / 4)


def chat_messages(request: Request) -> list[dict[str, str]]:
    """The chat endpoint's messages: the bare instruction, without the format's tokens."""
    content = request.instruction
    if request.task == "radiology_qa":
        content += QA_CHAT_SUFFIX
    return [{"role": "user", "content": content}]


def stops_to_send(stops: tuple[str, ...]) -> list[str]:
    """At most four stop strings for the server, in order of importance (the format's first).

    A stop that contains another is dropped first: the shorter one already stops there.
    Every stop, sent or not, is applied again to the answer here, so none is lost.
    """
    uniq = [s for s in dict.fromkeys(stops) if s]
    kept = [s for s in uniq if not any(o != s and o in s for o in uniq)]
    return kept[:MAX_STOP_STRINGS]


def cut_at_stops(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    hits = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return (text[: min(hits)], True) if hits else (text, False)


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
        self.batch_workers = batch_workers or (1 if self.loopback else 4)
        host = (urlsplit(self.base_url).hostname or "").lower()
        self.server_extras = (
            server_extras if server_extras is not None
            else self.endpoint == "completions" and not host.endswith("openai.com")
        )
        self._client: openai.OpenAI | None = None
        self._lock = threading.Lock()
        self._stream_usage = True  # ask for usage in streams until a server refuses
        self._tokenize_route: int | None | bool = None  # None: not probed; False: none works
        self._token_cache: dict[str, int] = {}
        self._plain_http: Any = None

    # ------------------------------------------------------------------ facts

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
            except _transport_errors() as exc:  # down: estimate now, ask again next time
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
        if self.server_extras:
            kw["extra_body"] = {"repeat_penalty": 1.0, "min_p": 0.0, "top_k": params.top_k}
        return kw

    def _create(self, kw: dict[str, Any]) -> Any:
        client = self._get_client()
        api = client.chat.completions if self.endpoint == "chat" else client.completions
        try:
            try:
                return api.create(**kw)
            except openai.APIStatusError as exc:
                if not ("stream_options" in kw and exc.status_code in (400, 422)
                        and "stream_options" in _server_message(exc)):
                    raise
                # An older server that rejects stream_options: stream without, count ourselves.
                log.info("%s refused stream_options; counting streamed tokens instead", self.base_url)
                self._stream_usage = False
                return api.create(**{k: v for k, v in kw.items() if k != "stream_options"})
        except _transport_errors() as exc:
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
                                completion_tokens=completion_tokens, finish_reason=reason, request=request)

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
            except _transport_errors() as exc:
                raise self._unavailable(exc) from exc
            finally:
                _close_quietly(raw)

        def finish(text: str) -> Generation:
            prompt_tokens, completion_tokens = self._counts(request, text, state["usage"], state["pieces"])
            return timed_generation(text, start=start, first=state["first"], prompt_tokens=prompt_tokens,
                                    completion_tokens=completion_tokens,
                                    finish_reason="length" if state["finish"] == "length" else "stop",
                                    request=request)

        return Stream(_Pieces(pieces(), raw), finish)

    def generate_batch(self, requests: list[Request], params: GenParams) -> list[Generation]:
        """In order; a few at a time toward remote APIs, one at a time toward a local server
        (llama.cpp's serves one request at a time anyway)."""
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
        if isinstance(exc, (BackendUnavailable, ModelLoadError)):
            return exc
        url = self.base_url
        if isinstance(exc, openai.APITimeoutError) or _is_timeout(exc):
            return BackendUnavailable(
                f"the model server at {url} did not answer within {self.timeout:g} s (timed out). "
                f"Is it overloaded, or is the timeout too short?"
            )
        if isinstance(exc, openai.APIConnectionError):
            return BackendUnavailable(f"could not reach the model server at {url}: {_reason(exc)}. Is it running?")
        if isinstance(exc, openai.APIStatusError):
            hint = {401: " Check OPENAI_API_KEY.", 403: " Check OPENAI_API_KEY.",
                    404: f" Check the model name ({self.model}) and that the URL ends in /v1."}
            return BackendUnavailable(
                f"the model server at {url} answered HTTP {exc.status_code}: "
                f"{_server_message(exc)}{hint.get(exc.status_code, '')}"
            )
        if isinstance(exc, openai.OpenAIError):
            return BackendUnavailable(f"the model server at {url} failed: {exc}")
        return BackendUnavailable(f"the connection to the model server at {url} broke: {exc or type(exc).__name__}")


class _Pieces:
    """The pieces generator, with a `close` that also closes a response never iterated
    (a generator's `finally` does not run if it never started)."""

    def __init__(self, gen: Iterator[str], raw: Any):
        self._gen, self._raw = gen, raw

    def __iter__(self) -> "_Pieces":
        return self

    def __next__(self) -> str:
        return next(self._gen)

    def close(self) -> None:
        self._gen.close()
        _close_quietly(self._raw)


def _close_quietly(raw: Any) -> None:
    try:
        raw.close()
    except Exception:  # already broken: nothing left to release
        pass


def _transport_errors() -> tuple[type[BaseException], ...]:
    """What the client and the transport under it may raise (never programming errors)."""
    errors: tuple[type[BaseException], ...] = (openai.OpenAIError, httpx2.HTTPError, httpx2.StreamError, OSError)
    legacy = sys.modules.get("httpx")  # an httpx.Client handed in raises its own errors
    if legacy is not None:
        errors += (legacy.HTTPError, legacy.StreamError)
    return errors


def _is_timeout(exc: BaseException) -> bool:
    legacy = sys.modules.get("httpx")
    return isinstance(exc, httpx2.TimeoutException) or (legacy is not None and isinstance(exc, legacy.TimeoutException))


def _reason(exc: BaseException) -> str:
    """Why a connection failed, in a few words, from the transport error underneath."""
    cause: BaseException | None = exc
    while cause is not None and cause.__cause__ is not None:
        cause = cause.__cause__
    text = str(cause or exc)
    low = text.lower()
    if "refused" in low:
        return "connection refused"
    if "name or service not known" in low or "nodename nor servname" in low or "getaddrinfo" in low:
        return "host name not found"
    if "unreachable" in low:
        return "network unreachable"
    return text or type(cause or exc).__name__


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    msg: Any = None
    if isinstance(body, dict):
        msg = body.get("message") or body.get("detail") or body
    elif body:
        msg = body
    if not msg:
        try:
            msg = exc.response.text
        except Exception:
            msg = exc.message
    text = str(msg).strip() or "(no message)"
    return text if len(text) <= 500 else text[:500] + "..."
