"""Batch tab: upload a CSV or JSONL, choose a task and a model, and download the
results in `radphi run`'s format. Runs through `radphi.runner.run_file`, so a bad row
is reported and the run goes on; gradio's progress bar follows the runner's tqdm. Toward
a server it keeps as many requests in flight as `radphi run` does by default (the
model's `batch_workers`: 64 toward a loopback vLLM), and rows come back in order.

Uploads and results live in the app's private work directory (removed at exit).
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path
from typing import Any, Callable

import gradio as gr

from radphi import runner, tasks
from radphi.errors import BackendUnavailable, ModelLoadError, RadphiError
from radphi.ui import common
from radphi.ui.batch_files import prepare_batch
from radphi.ui.context import AppContext
from radphi.ui.render import esc, status_html
from radphi.ui.streaming import error_message, gen_params

log = logging.getLogger(__name__)

MAX_LISTED_PROBLEMS = 50


def _summary_html(headline: str, problems: list[str], kind: str = "info") -> str:
    html = status_html(headline, kind)
    if problems:
        shown = problems[:MAX_LISTED_PROBLEMS]
        more = len(problems) - len(shown)
        items = "".join(f"<li>{esc(p)}</li>" for p in shown)
        if more:
            items += f"<li>{more} more…</li>"
        html += (f'<div class="rp-batch-problems" style="margin-top:6px;"><div style="font-weight:600;">'
                 f'Rows not done</div><ul style="margin:2px 0 0 18px;">{items}</ul></div>')
    return html


def run_batch(ctx: AppContext, upload: Any, task: str, model: str | None, max_new_tokens: Any, temperature: Any,
              fmt: str | None, progress: Callable[..., Any] | None = gr.Progress(track_tqdm=True)
              ) -> tuple[str | None, str]:
    """Returns (results file or None, summary HTML)."""
    path = upload if isinstance(upload, (str, Path)) or upload is None else getattr(upload, "name", None)
    if not path:
        return None, status_html("Upload a CSV or JSONL file first.", "error")
    try:
        params = gen_params(max_new_tokens, temperature)
        backend = ctx.backends.backend(model)
        fmt = fmt or ctx.backends.format_of(model)
        out_dir = ctx.private_dir("batch-")
        prepared = prepare_batch(path, task, out_dir, ctx.settings.max_chars)
    except RadphiError as exc:
        return None, status_html(str(exc), "error")
    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{task}-{model}")[:80]
    output = out_dir / f"{safe_name}.jsonl"
    if progress is not None:
        progress(0.0, desc=f"Running {tasks.TASKS[task].title} on {prepared.rows} {prepared.unit}s")
    try:
        summary = runner.run_file(task, backend, prepared.input_path, output, name=str(model), params=params,
                                  fmt=fmt, progress=progress is not None)
    except (ModelLoadError, BackendUnavailable) as exc:
        # The runner stops on these rather than failing every row; what was written is kept.
        written = sum(1 for _ in output.open(encoding="utf-8")) if output.exists() else 0
        return (str(output) if written else None,
                _summary_html(f"The run stopped: {exc} ({written} {prepared.unit}s were done before it stopped.)",
                              prepared.problems, "error"))
    except Exception as exc:
        return None, status_html(error_message(exc), "error")
    problems = prepared.problems + [prepared.describe(m) for m in summary.failed]
    log.info("batch %s on %s: %d written, %d not done", task, model, summary.written, len(problems))
    headline = (f"{summary.written} {prepared.unit}{'s' if summary.written != 1 else ''} done"
                f"{f', {len(problems)} not done (listed below)' if problems else ''}"
                f"{f' ({summary.concurrency} requests at a time)' if summary.concurrency > 1 else ''}. "
                f"The results file is in radphi run's format.")
    return (str(output) if summary.written else None,
            _summary_html(headline, problems, "info" if summary.written else "error"))


def build(ctx: AppContext) -> None:
    with gr.Tab("Batch", id="batch"):
        controls = common.model_controls(ctx, "batch")
        with gr.Row():
            upload = gr.File(label="CSV or JSONL file", file_types=[".csv", ".jsonl", ".json", ".ndjson"],
                             elem_id="batch-upload")
            task = gr.Dropdown([(t.title, t.name) for t in tasks.TASKS.values()], value="impression_prediction",
                               label="Task", elem_id="batch-task",
                               info="the file needs a column (CSV) or key (JSONL) for each of the task's fields")
        run = gr.Button("Run batch", variant="primary", elem_id="batch-run")
        result = gr.File(label="Results (JSONL, radphi run format)", interactive=False, elem_id="batch-result")
        summary = gr.HTML(status_html(""), elem_id="batch-summary", js_on_load=None)
        run.click(functools.partial(run_batch, ctx), inputs=[upload, task, *controls.inputs],
                  outputs=[result, summary], api_name="batch")
