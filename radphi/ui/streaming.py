"""Streaming a backend's answer into the page, with Stop, errors and a latency line.

Why a pump thread: gradio runs each `next()` of a sync generator handler on whatever
worker thread is free, and closes the generator (Stop) from its event-loop thread.
The llama.cpp backend holds a `threading.RLock` inside its stream for the whole
answer; released from another thread it raises "cannot release un-acquired lock"
and stays locked for good, and a reused worker thread could re-enter it and
interleave two answers. So every `Stream` here is opened, iterated and closed on
one dedicated thread, and the handler only reads a queue. A side effect that suits
the latency goal: decoding never waits for the UI. The first piece goes out at once;
after it, pieces are sent together, at most 20 updates a second.

Every Step also carries the status as structured data (`Step.data`: state, finish
reason, token counts, seed, notices), which each tab returns beside its HTML status
line for API clients, and which Stop reads to tell whether it stopped anything.

Logs record lengths and short hashes of patient text, never the text.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

from radphi import tasks
from radphi.backends import Generation, GenParams, Request, Stream, format_warning
from radphi.errors import InputError, RadphiError
from radphi.ui import check_view
from radphi.ui.context import AppContext
from radphi.ui.gen_settings import MAX_NEW_TOKENS_LIMIT, cut_off_text, fit_new_tokens, gen_params, resolve_seed
from radphi.ui.render import latency_text, status_html

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 0.25  # how often a waiting handler hands control back (keeps Stop responsive)
# At most this many page updates a second after the first piece: each update costs the
# server CPU (diff, JSON, SSE) that a small CPU box would rather spend decoding.
UPDATE_SECONDS = 0.05
__all__ = ["MAX_NEW_TOKENS_LIMIT", "gen_params", "stream_task", "stream_tasks", "check_fields", "failed", "Step"]

# `Step.data["state"]`: while these, Stop has something to stop.
RUNNING_STATES = ("waiting", "generating")

_PIECE, _END, _RESTART = "piece", "end", "restart"


def fingerprint(text: str) -> str:
    """What the logs may say about patient text: its length and a short hash."""
    text = text or ""
    return f"{len(text)} chars sha256:{hashlib.sha256(text.encode('utf-8', 'replace')).hexdigest()[:12]}"


def error_message(exc: BaseException) -> str:
    """A message for the page: ours as they are; anything else by type only (no stack trace)."""
    if isinstance(exc, RadphiError):
        return str(exc)
    # The message of a foreign exception may quote patient text; log frames and type only.
    frames = " <- ".join(f"{f.filename}:{f.lineno} {f.name}" for f in reversed(traceback.extract_tb(exc.__traceback__)))
    log.error("unexpected %s at %s", type(exc).__name__, frames)
    return f"Unexpected error ({type(exc).__name__}); the app is still running and the server log has details."


def check_fields(fields: Mapping[str, Any], labels: Mapping[str, str], max_chars: int) -> dict[str, str]:
    """Each field as text, or InputError naming the empty box or the size limit. LABELS
    name the boxes as the page does ("The findings" -> "The findings box is empty")."""
    out = {}
    for name, value in fields.items():
        text = "" if value is None else str(value)
        label = labels.get(name, f"The {name.replace('_', ' ')}")
        if not text.strip():
            raise InputError(f"{label} box is empty: type or paste some text first.")
        if len(text) > max_chars:
            raise InputError(f"{label} box holds {len(text):,} characters; "
                             f"the limit is {max_chars:,} characters per box.")
        out[name] = text
    return out


class StreamPump:
    """Runs `open_stream()` and iterates the Stream on one thread; hands pieces over a queue."""

    def __init__(self, open_stream: Callable[[], Stream]):
        self._open = open_stream
        self._queue: queue.Queue[tuple[str, str]] = queue.Queue()
        self._cancel = threading.Event()
        self.generation: Generation | None = None
        self.error: BaseException | None = None
        self.restarts = 0  # counted by `chunks()` as the reader reaches each restart
        self._thread = threading.Thread(target=self._run, name="radphi-stream", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            stream = self._open()
            restarts = 0
            try:
                for piece in stream:
                    if stream.restarts != restarts:  # the answer starts again (another form of the model)
                        restarts = stream.restarts
                        self._queue.put((_RESTART, ""))
                    self._queue.put((_PIECE, piece))
                    if self._cancel.is_set():
                        break
            finally:
                if stream.generation is None:
                    stream.close()  # on this thread, the one that holds the model's lock
            self.generation = stream.generation
        except BaseException as exc:  # handed to the reader, which shows it in the page
            self.error = exc
        finally:
            self._queue.put((_END, ""))

    def cancel(self) -> None:
        """Stop after the current token; the model is released by the pump thread."""
        self._cancel.set()

    def chunks(self, heartbeat: float = HEARTBEAT_SECONDS, interval: float = UPDATE_SECONDS) -> Iterator[str]:
        """Text as it arrives: the first piece at once, then what came in each `interval`
        joined into one update; "" when nothing came for `heartbeat` seconds. When the
        answer starts again, `restarts` counts up before the "" yielded for it: the reader
        drops what it has. Raises the stream's error, if any, at the end."""
        last_update = 0.0
        while True:
            try:
                kind, piece = self._queue.get(timeout=heartbeat)
            except queue.Empty:
                yield ""
                continue
            if kind == _RESTART:
                self.restarts += 1
                yield ""
                continue
            parts = []
            while kind == _PIECE:
                parts.append(piece)
                wait = last_update + interval - time.monotonic()
                try:
                    kind, piece = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
            if parts:
                last_update = time.monotonic()
                yield "".join(parts)
            if kind == _RESTART:
                self.restarts += 1
                yield ""
                continue
            if kind == _END:
                if self.error is not None:
                    raise self.error
                return


@dataclass
class Step:
    """One update of a streamed answer, for a tab's handler to turn into its outputs."""

    text: str = ""
    status: str = ""  # HTML of the status line
    generation: Generation | None = None
    error: str | None = None
    uid: str | None = None  # the finished answer's id in the app's generation log
    note: str = ""  # HTML after the answer: the prompt format used, a broken answer shape, a cut-off
    params: GenParams | None = None  # what the answer was decoded with (max new tokens capped, the seed drawn)
    data: dict[str, Any] = field(default_factory=dict)  # the status as structured data (module docstring)

    @property
    def done(self) -> bool:
        return self.generation is not None or self.error is not None


def failed(message: str, text: str = "", data: Mapping[str, Any] | None = None) -> Step:
    return Step(text=text, status=status_html(message, "error"), error=message,
                data={**(data or {}), "state": "error", "message": message})


def generation_data(gen: Generation) -> dict[str, Any]:
    """The facts of a finished answer, for `Step.data`."""
    return {"finish_reason": gen.finish_reason, "cut_off": gen.finish_reason == "length",
            "prompt_tokens": gen.prompt_tokens, "completion_tokens": gen.completion_tokens,
            "seconds": round(gen.seconds, 4),
            "first_token_seconds": None if gen.first_token_seconds is None else round(gen.first_token_seconds, 4),
            "truncated_input": gen.truncated_input, "constraint_violated": gen.constraint_violated}


def record_generation(ctx: AppContext, model: str | None, backend: Any, request: Request, params: Any,
                      gen: Any, text: str) -> str | None:
    """Keep a finished answer in the app's generation log (what "Send to review set"
    sends) and record it in the review store's audit log: id, model, prompt hash and
    parameters, never the text. Returns the generation's id.

    A store that cannot write must not cost the user their answer, so failures are
    logged and dropped."""
    from radphi import runner

    log_ = getattr(ctx, "generations", None)
    if log_ is None:
        return None
    info = runner.answered_by(runner.model_info(backend, request.format, params), gen)
    entry = log_.add(task=request.task, fields=request.fields, output=text, model=str(model or ctx.backends.default),
                     model_info=info, prompt=request.prompt,
                     stats={"prompt_tokens": gen.prompt_tokens, "completion_tokens": gen.completion_tokens,
                            "finish_reason": gen.finish_reason})
    store = getattr(ctx, "store", None)
    if store is not None:
        try:
            store.log_generation(entry, "app")
        except Exception as exc:  # noqa: BLE001 - see the docstring
            log.warning("could not write the generation to the audit log: %s", type(exc).__name__)
    return entry.uid


def answer_note(request: Request, gen: Generation, params: GenParams | None = None) -> str:
    """What the page says after an answer besides its latency: the prompt format used (and
    the seed, when sampling), an answer cut by the token limit, and an answer that breaks
    its task's shape; neither is ever shown as if it were complete and valid."""
    checked = " · answer shape checked" if gen.constraint_violated is False else ""
    seed = f" · sampled with seed {params.seed}" if params is not None and not params.greedy else ""
    note = status_html(f"prompt format {request.format}{checked}{seed}")
    if gen.finish_reason == "length":
        tokens = params.max_new_tokens if params is not None else gen.completion_tokens
        note += cut_off_mark(tokens, cut_off_text(tokens))
    if gen.constraint_violated:
        note += status_html(f"{tasks.get_task(request.task).title}: this answer breaks the task's answer shape "
                            f"(constraint_violated: {gen.extra.get('constraint', '')}); do not read it as complete.",
                            "error")
    return note


def cut_off_mark(tokens: int, text: str) -> str:
    """The page's mark on an answer cut by the token limit (a warning line; `data-tokens`
    holds the limit)."""
    return f'<div class="rp-cut-off" data-tokens="{int(tokens)}">{status_html(text, "warning")}</div>'


def _format_warning(backend: Any, fmt: str) -> str | None:
    try:
        return format_warning(backend, fmt)
    except Exception as exc:  # noqa: BLE001 - a model that cannot say its format gets no warning
        log.info("could not read the model's own format: %s", type(exc).__name__)
        return None


def stream_task(ctx: AppContext, model: str | None, task: str, fields: Mapping[str, str],
                max_new_tokens: Any, temperature: Any, fmt: str | None, *, grounded: Any = True,
                constrained: Any = True, seed: Any = 0, new_seed: Any = False,
                heartbeat: float = HEARTBEAT_SECONDS) -> Iterator[Step]:
    """Stream one task's answer as Steps; the last one has `generation` or `error`.

    Fields must already be checked (`check_fields`). Max new tokens is capped by the
    model's context minus the prompt (the page says so); with a temperature above 0 and
    NEW_SEED, a fresh seed is drawn. Closing this generator (gradio's Stop) stops the
    model after its current token.
    """
    try:
        params = gen_params(max_new_tokens, temperature, grounded, constrained, seed, new_seed)
        backend = ctx.backends.backend(model)
        request = Request.build(task, fields, fmt or ctx.backends.format_of(model))
    except RadphiError as exc:
        yield failed(str(exc))
        return
    params, lowered = fit_new_tokens(backend, request, params)
    fmt_warning = _format_warning(backend, request.format)
    notices = [n for n in (lowered, fmt_warning) if n]
    shown_notices = "".join(status_html(n, "warning") for n in notices)
    base: dict[str, Any] = {"task": task, "model": model, "format": request.format, "format_warning": fmt_warning,
                            "max_new_tokens": params.max_new_tokens, "temperature": params.temperature,
                            "seed": params.seed, "notices": notices}
    log.info("%s on %s: input %s", task, model,
             ", ".join(f"{k} {fingerprint(v)}" for k, v in request.fields.items()))
    pump = StreamPump(lambda: backend.stream(request, params))
    text = ""
    restarts = 0
    try:
        for chunk in pump.chunks(heartbeat):
            if pump.restarts != restarts:  # the GPU form failed midway: its GGUF answers from the start
                restarts, text = pump.restarts, ""
            text += chunk
            waiting = "Generating…" if text else "Waiting for the model…"
            if restarts:
                waiting = "The GPU failed; answering again from the model's GGUF on the CPU…"
            yield Step(text=text, status=status_html(waiting, "warning" if restarts else "info") + shown_notices,
                       params=params, data={**base, "state": "generating" if text else "waiting"})
    except Exception as exc:
        message = error_message(exc)
        log.info("%s on %s failed: %s", task, model, type(exc).__name__)
        yield failed(message, text, base)
        return
    finally:
        pump.cancel()  # a no-op after the end; on Stop (GeneratorExit) it frees the model
    gen = pump.generation
    assert gen is not None
    log.info("%s on %s: answer %s, %d tokens, %.2f s (%s)", task, model, fingerprint(text),
             gen.completion_tokens, gen.seconds, gen.finish_reason)
    uid = record_generation(ctx, model, backend, request, params, gen, text)
    notice = gen.extra.get("fallback")
    status = status_html(f"{notice} {latency_text(gen)}", "warning") if notice else status_html(latency_text(gen))
    note = shown_notices + answer_note(request, gen, params)
    data = {**base, **generation_data(gen), "state": "done", "generation_id": uid}
    if notice:
        data["notices"] = [*notices, notice]
    yield Step(text=text, status=status + note, generation=gen, uid=uid, note=note, params=params, data=data)


def stream_tasks(ctx: AppContext, model: str | None, task_names: tuple[str, ...], fields: Mapping[str, str],
                 max_new_tokens: Any, temperature: Any, fmt: str | None,
                 render: Callable[..., str], constrained: Any = True, seed: Any = 0,
                 new_seed: Any = False, keep: dict | None = None) -> Iterator[tuple[str, str, str, str]]:
    """Several tasks on the same input, one after the other, as (view HTML, raw answers,
    status HTML, checker HTML) updates, KEEP["data"] the status as data (the state, and
    each task's `Step.data`); `render` gets each task's parsed answer so far (None until done). A list cut by the token limit is marked above the
    view, so it never looks complete. The checker's panel covers every finished answer.
    One seed serves every task of a click. Stops at the first error, keeping what was shown."""

    raws: dict[str, str] = {}
    parsed: dict[str, Any] = {}
    lines: list[str] = []
    checks: list[Any] = []
    notes: list[str] = []
    cuts: list[str] = []
    finished: list[dict[str, Any]] = []
    try:
        seed = resolve_seed(seed, new_seed, temperature)
    except RadphiError as exc:
        step = failed(str(exc))
        kept(keep, step.data)
        yield render(*(None for _ in task_names)), "", step.status, ""
        return

    def raw_text() -> str:
        return "\n\n".join(f"{tasks.TASKS[t].title}:\n{raws[t]}" for t in task_names if t in raws)

    for n, task in enumerate(task_names):
        title = tasks.TASKS[task].title
        for step in stream_task(ctx, model, task, fields, max_new_tokens, temperature, fmt, constrained=constrained,
                                seed=seed):
            raws[task] = step.text
            if step.generation is not None:
                parsed[task] = tasks.TASKS[task].parse(step.text)
                checks.append(check_view.run(task, fields, step.text))
                lines.append(f"{title}: {latency_text(step.generation)}")
                notes.append(step.note)
                finished.append(step.data)
                if step.generation.finish_reason == "length" and step.params is not None:
                    tokens = step.params.max_new_tokens
                    cuts.append(cut_off_mark(tokens, cut_off_text(tokens, f"{title}: this list may be incomplete")))
            view = "".join(cuts) + render(*(parsed.get(t) for t in task_names))
            checked = check_view.check_many(checks) if checks else ""
            data = {"state": step.data.get("state"), "tasks": [*finished]}
            if step.error is not None:
                data["tasks"].append(step.data)
                data["message"] = step.error
                kept(keep, data)
                yield view, raw_text(), step.status, checked
                return
            if step.generation is not None:
                status = status_html(" | ".join(lines)) + "".join(notes)
                # Between two tasks the click is still running: Stop has something to stop.
                data["state"] = "done" if n == len(task_names) - 1 else "generating"
            else:
                status = step.status
                data["tasks"].append(step.data)
            kept(keep, data)
            yield view, raw_text(), status, checked


def kept(keep: dict | None, data: dict[str, Any]) -> None:
    """Hand the status data to the endpoint (`keep["data"]`), beside a handler's outputs."""
    if keep is not None:
        keep["data"] = data
