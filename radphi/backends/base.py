"""The Backend protocol and the value types every backend shares.

A `Request` carries the task, its input fields and the prompt rendered for the
model's format; a backend may render differently (a chat model takes the bare
instruction), PHI scrubbing works on the fields, and an over-long report is cut in
its middle by `fit_request` rather than at the end of the prompt.

`stream()` returns a `Stream`: iterate it for text pieces; once it is exhausted its
`generation` holds the token counts and timings of the whole answer.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Iterator, Mapping, Protocol, runtime_checkable

from radphi import reports, tasks
from radphi.errors import InputError
from radphi.grounding import GroundingSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenParams:
    """Decoding parameters. Greedy unless the caller asks otherwise."""

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int = 0
    stop: tuple[str, ...] = ()
    # Extractive tasks copy sentences of their input (`radphi.grounding`); False lets
    # the model write freely. Backends that cannot ground (no `grounds = True`: an
    # OpenAI-compatible server) ignore it.
    grounded: bool = True
    # How grounded decoding chooses (`radphi.grounding.GroundingSettings`): set per call,
    # never by overwriting module globals.
    grounding: GroundingSettings = GroundingSettings()
    # Structured tasks (labels, temporal findings and progression) decode under their
    # answer shape (`constraints`): a grammar in llama.cpp and transformers, a grammar
    # or regex in the request to a server. Every such answer is checked either way.
    constrained: bool = True

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stop"] = list(self.stop)
        return d


@dataclass(frozen=True)
class Request:
    task: str
    fields: Mapping[str, str]
    prompt: str
    format: str = tasks.DEFAULT_FORMAT
    truncated: bool = False
    # The `chat` format's optional system message (above the task's instruction).
    system: str | None = None

    @classmethod
    def build(cls, task: str, fields: Mapping[str, Any], fmt: str = tasks.DEFAULT_FORMAT,
              system: str | None = None) -> "Request":
        """Validate the fields (InputError on an empty one) and render the prompt.

        In the `chat` format the prompt is the user message; the backend renders it
        through the model's chat template (`chat_messages`)."""
        t = tasks.get_task(task)
        clean = tasks.validate_fields(t, fields)
        return cls(task=task, fields=clean, prompt=tasks.render_prompt(task, clean, fmt), format=fmt,
                   system=system)

    @property
    def chat(self) -> bool:
        return self.format == tasks.CHAT_FORMAT

    def chat_messages(self, user: str | None = None) -> list[dict[str, str]]:
        """The conversation a chat template renders: the prompt (or USER) as the user message."""
        return tasks.chat_messages(self.prompt if user is None else user, self.system)

    @property
    def instruction(self) -> str:
        return tasks.render_instruction(self.task, self.fields)

    def with_fields(self, fields: Mapping[str, str], truncated: bool | None = None) -> "Request":
        return replace(
            self,
            fields=dict(fields),
            prompt=tasks.render_prompt(self.task, fields, self.format),
            truncated=self.truncated if truncated is None else truncated,
        )

    def grounding_source(self, params: GenParams) -> str | None:
        """The text an extractive task's answer must copy from, when grounding applies."""
        field_name = tasks.get_task(self.task).copies_from
        return self.fields.get(field_name) if params.grounded and field_name else None

    def stop_strings(self, params: GenParams) -> tuple[str, ...]:
        return tuple(dict.fromkeys(tasks.STOP_STRINGS[self.format] + tuple(params.stop)))


@dataclass
class Generation:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    first_token_seconds: float | None = None
    finish_reason: str = "stop"  # "stop" (end of text or a stop string) or "length"
    truncated_input: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    # None: the answer was not under a constraint (a free-text task, or constrained=False).
    # True: it breaks its task's answer shape (`constraints.check`), whatever the decoder
    # or server was asked to enforce; `extra["constraint"]` says why.
    constraint_violated: bool | None = None

    @property
    def tokens_per_second(self) -> float | None:
        decode = self.seconds - (self.first_token_seconds or 0.0)
        if self.completion_tokens > 1 and decode > 0:
            return (self.completion_tokens - 1) / decode
        return None


class Stream:
    """An iterator of text pieces whose `generation` is set once it is exhausted.

    `close()` stops the underlying generation early (the UI's Stop button); the
    backend's lock is released either way.
    """

    def __init__(self, pieces: Iterator[str], finish: Callable[[str], Generation]):
        self._pieces = pieces
        self._finish = finish
        self._text: list[str] = []
        self.generation: Generation | None = None
        # Times the answer started again from nothing (a model's GPU form failed midway and
        # its GGUF took over: radphi.backends.forms); a reader drops what it showed.
        self.restarts = 0

    def __iter__(self) -> "Stream":
        return self

    def __next__(self) -> str:
        try:
            piece = next(self._pieces)
        except StopIteration:
            if self.generation is None:
                self.generation = self._finish("".join(self._text))
            raise
        self._text.append(piece)
        return piece

    def close(self) -> None:
        close = getattr(self._pieces, "close", None)
        if close:
            close()
        if self.generation is None:
            self.generation = self._finish("".join(self._text))
            self.generation.finish_reason = "cancelled"

    def text(self) -> str:
        """Drain the stream and return the whole answer."""
        for _ in self:
            pass
        return "".join(self._text)


@runtime_checkable
class Backend(Protocol):
    """What every model backend offers. Implementations load their model lazily."""

    spec: str

    @property
    def context_length(self) -> int: ...

    def info(self) -> dict[str, Any]: ...

    def count_tokens(self, text: str) -> int: ...

    def generate(self, request: Request, params: GenParams) -> Generation: ...

    def stream(self, request: Request, params: GenParams) -> Stream: ...

    def generate_batch(self, requests: list[Request], params: GenParams) -> list[Generation]: ...


class StreamingBackend:
    """`generate` and `generate_batch` in terms of `stream`, for backends that decode one
    sequence at a time (llama.cpp on a CPU, the fake backend)."""

    def stream(self, request: Request, params: GenParams) -> Stream:  # pragma: no cover - abstract
        raise NotImplementedError

    def generate(self, request: Request, params: GenParams) -> Generation:
        stream = self.stream(request, params)
        stream.text()
        assert stream.generation is not None
        return stream.generation

    def generate_batch(self, requests: list[Request], params: GenParams) -> list[Generation]:
        return [self.generate(r, params) for r in requests]


class StopScanner:
    """Finds stop strings in streamed text, holding back a tail that may start one.

    Hand-written: llama-cpp-python's and transformers' stop handling each live inside
    their own generate loops, and this one is shared by our streaming paths.
    """

    def __init__(self, stops: tuple[str, ...]):
        self.stops = tuple(s for s in stops if s)
        self._hold = max((len(s) for s in self.stops), default=1) - 1
        self._buf = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        """Text that is safe to emit now. After a stop string, `stopped` is True."""
        if self.stopped:
            return ""
        self._buf += piece
        hits = [i for i in (self._buf.find(s) for s in self.stops) if i >= 0]
        if hits:
            self.stopped = True
            out, self._buf = self._buf[: min(hits)], ""
            return out
        cut = len(self._buf) - self._hold
        if cut <= 0:
            return ""
        out, self._buf = self._buf[:cut], self._buf[cut:]
        return out

    def flush(self) -> str:
        out, self._buf = ("" if self.stopped else self._buf), ""
        return out


def fit_request(
    request: Request,
    params: GenParams,
    context_length: int,
    count_tokens: Callable[[str], int],
) -> Request:
    """Make the prompt fit the context, leaving room for `max_new_tokens`.

    COUNT_TOKENS counts a prompt as the model receives it: a chat backend passes one
    that renders the user message through its template first.

    The longest report-like field is cut in its middle (its head and tail are kept:
    a report's indication and impression are at its ends); a question is never cut.
    Raises InputError, saying what the limit is, when no cut can make it fit.
    """
    budget = context_length - params.max_new_tokens
    total = count_tokens(request.prompt)
    if total <= budget:
        return request
    fields = dict(request.fields)
    cuttable = sorted((f for f in fields if f in tasks.LONG_TEXT_FIELDS), key=lambda f: -len(fields[f]))
    for name in cuttable:
        over = count_tokens(tasks.render_prompt(request.task, fields, request.format)) - budget
        if over <= 0:
            break
        keep = count_tokens(fields[name]) - over - 8  # a margin: tokens merge across the cut
        if keep < 16:
            continue
        fields[name], _ = reports.truncate_middle(fields[name], keep, count_tokens)
    if cuttable and fields != dict(request.fields):
        fitted = request.with_fields(fields, truncated=True)
        if count_tokens(fitted.prompt) <= budget:
            log.warning(
                "%s: input shortened in the middle to fit the context of %d tokens (%d were needed)",
                request.task, context_length, total + params.max_new_tokens,
            )
            return fitted
    raise InputError(
        f"input too long: the prompt needs {total} tokens, plus {params.max_new_tokens} to answer, "
        f"but the model's context holds {context_length} tokens"
    )


def timed_generation(text: str, *, start: float, first: float | None, prompt_tokens: int,
                     completion_tokens: int, finish_reason: str, request: Request,
                     params: GenParams | None = None) -> Generation:
    """The Generation of a finished answer; with PARAMS, a constrained answer is checked
    against its task's shape (fail closed: see `constraints.check`)."""
    from radphi.backends import constraints

    now = time.perf_counter()
    gen = Generation(
        text=text,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        seconds=now - start,
        first_token_seconds=None if first is None else first - start,
        finish_reason=finish_reason,
        truncated_input=request.truncated,
    )
    if params is not None and constraints.applies(request.task, params.constrained):
        why = constraints.check(request.task, text, finish_reason)
        gen.constraint_violated = why is not None
        if why:
            gen.extra["constraint"] = why
    return gen
