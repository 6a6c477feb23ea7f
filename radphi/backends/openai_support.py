"""What the OpenAI-compatible backend (openai_api.py) needs besides the backend itself.

- Specs and requests: reading `openai:MODEL@URL` / `openai-chat:MODEL@URL`, normalizing
  the server URL, the chat endpoint's messages, which stop strings to send (the API
  takes four) and cutting an answer at them, and the token estimate for servers
  without a tokenizer endpoint.
- Errors: what the openai client and the transport under it may raise, and their
  translation into a user-facing BackendUnavailable that names the server; closing a
  streamed response quietly, also one never iterated (`Pieces`).

Nothing here sends a request.
"""

from __future__ import annotations

import math
import re
import sys
from typing import Any, Iterator
from urllib.parse import urlsplit, urlunsplit

import httpx2
import openai

from radphi import tasks
from radphi.backends.base import Request
from radphi.errors import BackendUnavailable, InputError, ModelLoadError

MAX_STOP_STRINGS = 4  # the OpenAI API's limit on `stop`
# The paper's GPT-4 baseline for Radiology Q&A asked for short answers.
QA_CHAT_SUFFIX = " Answer in less than 50 words."

_SPEC = re.compile(r"^(?P<kind>openai|openai-chat):(?P<model>.*?)(?:@(?P<url>[A-Za-z][A-Za-z0-9+.\-]*://.*))?$")


# --- specs and requests --------------------------------------------------------


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
    return tasks.chat_messages(content, request.system)


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


# --- errors and responses ------------------------------------------------------


# Statuses that concern one request, not the server: 400 Bad Request, 413 Payload Too
# Large, 422 Unprocessable (vLLM's over-long prompt, a rejected grammar).
PER_RECORD_STATUS = (400, 413, 422)


def unavailable(exc: BaseException, *, base_url: str, model: str,
                timeout: float) -> BackendUnavailable | ModelLoadError | InputError:
    """A user-facing error naming the server, for anything the client or transport raised."""
    if isinstance(exc, (BackendUnavailable, ModelLoadError)):
        return exc
    url = base_url
    if isinstance(exc, openai.APITimeoutError) or is_timeout(exc):
        return BackendUnavailable(
            f"the model server at {url} did not answer within {timeout:g} s (timed out). "
            f"Is it overloaded, or is the timeout too short?"
        )
    if isinstance(exc, openai.APIConnectionError):
        return BackendUnavailable(
            f"could not reach the model server at {url}: {connection_reason(exc)}. Is it running?"
        )
    if isinstance(exc, openai.APIStatusError) and exc.status_code in PER_RECORD_STATUS:
        # The server refused this request (a prompt over its context, a grammar it cannot
        # take): one record's failure, so a run goes on with the others.
        return InputError(f"the model server at {url} refused this request (HTTP {exc.status_code}): "
                          f"{server_message(exc)}")
    if isinstance(exc, openai.APIStatusError):
        hint = {401: " Check OPENAI_API_KEY.", 403: " Check OPENAI_API_KEY.",
                404: f" Check the model name ({model}) and that the URL ends in /v1."}
        return BackendUnavailable(
            f"the model server at {url} answered HTTP {exc.status_code}: "
            f"{server_message(exc)}{hint.get(exc.status_code, '')}"
        )
    if isinstance(exc, openai.OpenAIError):
        return BackendUnavailable(f"the model server at {url} failed: {exc}")
    return BackendUnavailable(f"the connection to the model server at {url} broke: {exc or type(exc).__name__}")


class Pieces:
    """The pieces generator, with a `close` that also closes a response never iterated
    (a generator's `finally` does not run if it never started)."""

    def __init__(self, gen: Iterator[str], raw: Any):
        self._gen, self._raw = gen, raw

    def __iter__(self) -> "Pieces":
        return self

    def __next__(self) -> str:
        return next(self._gen)

    def close(self) -> None:
        self._gen.close()
        close_quietly(self._raw)


def close_quietly(raw: Any) -> None:
    try:
        raw.close()
    except Exception:  # already broken: nothing left to release
        pass


def transport_errors() -> tuple[type[BaseException], ...]:
    """What the client and the transport under it may raise (never programming errors)."""
    errors: tuple[type[BaseException], ...] = (openai.OpenAIError, httpx2.HTTPError, httpx2.StreamError, OSError)
    legacy = sys.modules.get("httpx")  # an httpx.Client handed in raises its own errors
    if legacy is not None:
        errors += (legacy.HTTPError, legacy.StreamError)
    return errors


def is_timeout(exc: BaseException) -> bool:
    legacy = sys.modules.get("httpx")
    return isinstance(exc, httpx2.TimeoutException) or (legacy is not None and isinstance(exc, legacy.TimeoutException))


def connection_reason(exc: BaseException) -> str:
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


def server_message(exc: openai.APIStatusError) -> str:
    """The server's error message from an HTTP error, at most 500 characters."""
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
