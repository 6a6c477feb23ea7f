"""Batch tab: upload a CSV or JSONL, choose a task and a model, and get the results in
the page (a table, row by row as they finish) and as a file in `radphi run`'s format.

Runs through `radphi.runner.run_file` on a thread of its own, so a bad row is reported
and the run goes on, and Stop ends the run after the row being answered: the finished
rows stay in the table and in the results file. One progress bar (ours, in the summary
line; gradio's is off for this event). Toward a server it keeps as many requests in
flight as `radphi run` does by default (the model's `batch_workers`: 64 toward a
loopback vLLM), and rows come back in order.

Uploads and results live in the app's private work directory (removed at exit).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import gradio as gr

from radphi import runner, tasks
from radphi.errors import BackendUnavailable, ModelLoadError, RadphiError
from radphi.ui import common
from radphi.ui.batch_files import PreparedBatch, prepare_batch
from radphi.ui.context import AppContext
from radphi.ui.gen_settings import gen_params
from radphi.ui.render import esc, status_html
from radphi.ui.streaming import error_message

log = logging.getLogger(__name__)

MAX_LISTED_PROBLEMS = 50
TABLE_COLUMNS = ["id", "answer", "finish", "seconds"]
POLL_SECONDS = 0.25  # how often the page hears from a running batch (and Stop can act)
STOP_WAIT_SECONDS = 120  # how long Stop waits for the row being answered to finish


@dataclass
class BatchRun:
    """One running batch: its thread, its stop switch, and where its results go."""

    output: Path
    prepared: PreparedBatch
    task: str
    model: str
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    summary: runner.RunSummary | None = None
    error: BaseException | None = None
    finished: bool = False  # the handler has shown the final result
    records: list[dict[str, Any]] = field(default_factory=list)  # read so far from `output`
    _read_to: int = 0  # the byte offset `records` covers
    # The polling handler and Stop's handler read from two threads: without this they
    # both read the same new line and the table shows a row twice.
    _read_lock: threading.Lock = field(default_factory=threading.Lock)

    def read_new(self) -> list[dict[str, Any]]:
        """The records written so far (a copy): only what was added since the last call is
        read (the page polls a long batch every POLL_SECONDS), and whole lines only (the
        runner may be writing the next)."""
        with self._read_lock:
            if self.output.exists():
                with self.output.open("rb") as fh:
                    fh.seek(self._read_to)
                    for line in fh:
                        if not line.endswith(b"\n"):
                            break
                        self._read_to += len(line)
                        if line.strip():
                            self.records.append(json.loads(line))
            return list(self.records)


_RUNS: dict[str, BatchRun] = {}  # session -> its batch (one per page; Stop finds it here)
_RUNS_LOCK = threading.Lock()


def _session(request: Any) -> str:
    return getattr(request, "session_hash", None) or f"direct-{uuid.uuid4().hex}"


def finish_text(record: dict[str, Any]) -> str:
    if record.get("finish_reason") == "length":
        return f"cut off at {record.get('completion_tokens', '?')} tokens"
    return str(record.get("finish_reason") or "stop")


def table_rows(records: list[dict[str, Any]]) -> list[list[Any]]:
    return [[r.get("id"), r.get("prediction", ""), finish_text(r), r.get("seconds")] for r in records]


def _problems_html(problems: list[str]) -> str:
    if not problems:
        return ""
    shown = problems[:MAX_LISTED_PROBLEMS]
    more = len(problems) - len(shown)
    items = "".join(f"<li>{esc(p)}</li>" for p in shown)
    if more:
        items += f"<li>{more} more…</li>"
    return (f'<div class="rp-batch-problems" style="margin-top:6px;"><div style="font-weight:600;">'
            f'Rows not done</div><ul style="margin:2px 0 0 18px;">{items}</ul></div>')


def _summary_html(headline: str, problems: list[str], kind: str = "info") -> str:
    return status_html(headline, kind) + _problems_html(problems)


def _progress_html(title: str, done: int, total: int, unit: str) -> str:
    return (f'<div class="rp-batch-running"><progress class="rp-batch-progress" max="{max(total, 1)}" '
            f'value="{done}" style="width:100%;"></progress>'
            + status_html(f"Running {title}: {done} of {total} {unit}{'s' if total != 1 else ''} done…") + "</div>")


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}{'s' if n != 1 else ''}"


def _final(run: BatchRun, stopped: bool) -> tuple[Any, ...]:
    """(results file, summary HTML, table, status data) once the run has ended."""
    records = run.read_new()
    prepared, summary = run.prepared, run.summary
    problems = prepared.problems + ([prepared.describe(m) for m in summary.failed] if summary else [])
    file = str(run.output) if records else None
    data: dict[str, Any] = {"state": "stopped" if stopped else "done", "task": run.task, "model": run.model,
                            "done": len(records), "total": prepared.rows, "not_done": problems,
                            "results_file": bool(records)}
    kept = ("in the table below and in the results file" if records else "")
    if run.error is not None:
        if isinstance(run.error, (ModelLoadError, BackendUnavailable)):
            message = f"The run stopped: {run.error}"
        else:
            message = f"The run failed: {error_message(run.error)}"
        data.update(state="error", message=message)
        done = f" {_plural(len(records), prepared.unit)} finished before it stopped, {kept}." if records else \
            " Nothing was finished, so there is no results file."
        return file, _summary_html(message + done, problems, "error"), table_rows(records), data
    if stopped:
        left = prepared.rows - len(records) - len(summary.failed if summary else [])
        headline = (f"Stopped: {_plural(len(records), prepared.unit)} done and kept {kept}; "
                    f"{_plural(max(left, 0), prepared.unit)} not run." if records else
                    f"Stopped before any {prepared.unit} was done; there is no results file.")
        return file, _summary_html(headline, problems, "warning"), table_rows(records), data
    at_once = f" ({summary.concurrency} requests at a time)" if summary and summary.concurrency > 1 else ""
    if records:
        not_done = f", {len(problems)} not done (listed below)" if problems else ""
        headline = (f"{_plural(len(records), prepared.unit)} done{not_done}{at_once}. "
                    f"The results file is in radphi run's format.")
        cut = sum(r.get("finish_reason") == "length" for r in records)
        if cut:
            headline += (f" {_plural(cut, prepared.unit)} cut off by the max new tokens limit (see the finish "
                         f"column): those answers are incomplete.")
        return file, _summary_html(headline, problems, "warning" if cut else "info"), table_rows(records), data
    data["state"] = "error"
    return None, _summary_html(f"No {prepared.unit} was done, so there is no results file; the problems are "
                               f"listed below.", problems, "error"), [], data


def stream_batch(ctx: AppContext, upload: Any, task: str, model: str | None, max_new_tokens: Any,
                 temperature: Any, fmt: str | None, seed: Any = 0, new_seed: Any = False, *,
                 session: str | None = None, poll: float = POLL_SECONDS) -> Iterator[tuple[Any, ...]]:
    """Yields (results file or None, summary HTML, table rows, status data) as the rows
    finish; the last one is the whole result. Closing the generator (Stop) stops the run
    after the row being answered; `stopped` then shows what was kept."""
    path = upload if isinstance(upload, (str, Path)) or upload is None else getattr(upload, "name", None)

    def refused(message: str) -> tuple[Any, ...]:
        return None, status_html(message, "error"), [], {"state": "error", "message": message}

    if not path:
        yield refused("Upload a CSV or JSONL file first.")
        return
    try:
        params = gen_params(max_new_tokens, temperature, True, True, seed, new_seed)
        backend = ctx.backends.backend(model)
        fmt = fmt or ctx.backends.format_of(model)
        out_dir = ctx.private_dir("batch-")
        prepared = prepare_batch(path, task, out_dir, ctx.settings.max_chars)
    except RadphiError as exc:
        yield refused(str(exc))
        return
    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{task}-{model}")[:80]
    run = BatchRun(out_dir / f"{safe_name}.jsonl", prepared, task, str(model))

    def work() -> None:
        try:
            run.summary = runner.run_file(task, backend, prepared.input_path, run.output, name=str(model),
                                          params=params, fmt=fmt, progress=False, stop=run.stop)
        except BaseException as exc:  # shown in the page by the handler
            run.error = exc

    run.thread = threading.Thread(target=work, name="radphi-batch", daemon=True)
    key = session or _session(None)
    with _RUNS_LOCK:
        _RUNS[key] = run
    title = tasks.TASKS[task].title
    run.thread.start()
    shown = -1
    try:
        while run.thread.is_alive():
            records = run.read_new()
            if len(records) != shown:
                shown = len(records)
                yield (None, _progress_html(title, shown, prepared.rows, prepared.unit), table_rows(records),
                       {"state": "running", "task": task, "model": str(model), "done": shown,
                        "total": prepared.rows, "seed": params.seed})
            else:
                yield gr.skip(), gr.skip(), gr.skip(), gr.skip()  # hands control back, so Stop can act
            run.thread.join(poll)
        log.info("batch %s on %s: %s", task, model, run.summary or type(run.error).__name__)
        with _RUNS_LOCK:
            run.finished = True
        yield _final(run, stopped=bool(run.summary and run.summary.stopped))
    finally:
        run.stop.set()  # a no-op after the end; on Stop (GeneratorExit) the runner stops after this row
        with _RUNS_LOCK:
            if run.finished and _RUNS.get(key) is run:
                del _RUNS[key]  # shown in full: Stop has nothing left to do (a stopped one is `stopped`'s)


def stopped(session: str, wait: float = STOP_WAIT_SECONDS) -> tuple[Any, ...]:
    """After Stop's cancel: wait for the row being answered, then show what the run kept
    (table, results file, summary). Nothing changes when no batch was running."""
    with _RUNS_LOCK:
        run = _RUNS.get(session)
        if run is None or run.finished:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        run.finished = True
        del _RUNS[session]
    run.stop.set()
    if run.thread is not None:
        run.thread.join(wait)
    return _final(run, stopped=True)


def run_batch(ctx: AppContext, upload: Any, task: str, model: str | None, max_new_tokens: Any, temperature: Any,
              fmt: str | None, seed: Any = 0, new_seed: Any = False) -> tuple[str | None, str]:
    """The whole batch at once: (results file or None, summary HTML)."""
    last: tuple[Any, ...] = ()
    for last in stream_batch(ctx, upload, task, model, max_new_tokens, temperature, fmt, seed, new_seed):
        pass
    return last[0], last[1]


def build(ctx: AppContext) -> None:
    with gr.Tab("Batch", id="batch"):
        controls = common.model_controls(ctx, "batch")
        with gr.Row():
            upload = gr.File(label="CSV or JSONL file", file_types=[".csv", ".jsonl", ".json", ".ndjson"],
                             elem_id="batch-upload")
            task = gr.Dropdown([(tasks.TASKS[t].title, t) for t in tasks.RADIOLOGY_TASKS], value="impression_prediction",
                               label="Task", elem_id="batch-task",
                               info="the file needs a column (CSV) or key (JSONL) for each of the task's fields")
        with gr.Row():
            run = gr.Button("Run batch", variant="primary", elem_id="batch-run")
            stop = gr.Button("Stop", variant="stop", elem_id="batch-stop")
        summary = gr.HTML(status_html(""), elem_id="batch-summary", js_on_load=None)
        data = common.status_data("batch")
        table = gr.Dataframe(headers=TABLE_COLUMNS, value=[], interactive=False, wrap=True, label="Results",
                             elem_id="batch-table")
        result = gr.File(label="Results file (JSONL, radphi run format)", interactive=False, elem_id="batch-result")

        @common.api_doc("Run one task over every row of a CSV or JSONL file; rows come back as they finish.",
                        "the results file (JSONL, radphi run's format; None when no row was done), the summary "
                        "(HTML), the results table (id, answer, finish, seconds), and the status as data (state, "
                        "done, total, the rows not done).",
                        upload="a CSV (a column per task field) or JSONL (a key per task field) file, UTF-8, or "
                               "UTF-16/32 with a byte-order mark.",
                        task="the task's name (e.g. impression_prediction).")
        def batch(request: gr.Request, upload: Any, task: str, model: str, max_new_tokens: int, temperature: float,
                  fmt: str, seed: int = 0, new_seed: bool = True) -> Iterator[tuple[Any, ...]]:
            for file, html, rows, status in stream_batch(ctx, upload, task, model, max_new_tokens, temperature,
                                                         fmt, seed, new_seed, session=_session(request)):
                yield file, html, rows, status

        def stop_batch(request: gr.Request) -> tuple[Any, ...]:
            return stopped(_session(request))

        event = run.click(batch, inputs=[upload, task, *controls.inputs], outputs=[result, summary, table, data],
                          api_name="batch", show_progress="hidden")
        stop.click(None, cancels=[event], api_visibility="private", queue=False).then(
            stop_batch, outputs=[result, summary, table, data], api_visibility="private", queue=False)
