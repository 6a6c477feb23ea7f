"""Labels tab: a report in; abnormality labels and tubes/lines/devices labels out, as
two groups of chips. Names the model gave that are not in the vocabulary are shown
apart; the raw answers are in a collapsed panel.

Two generations, one per label task, in order on the same model.
"""

from __future__ import annotations

from typing import Any, Iterator

import gradio as gr

from radphi.errors import RadphiError
from radphi.tasks import LABEL_TASKS
from radphi.ui import common
from radphi.ui.context import AppContext
from radphi.ui.render import label_chips
from radphi.ui.streaming import check_fields, failed, kept, stream_tasks

EXAMPLE_REPORT = (
    "FINDINGS: Endotracheal tube terminates 4 cm above the carina. A nasogastric tube courses below the "
    "diaphragm. Moderate cardiomegaly. Small bilateral pleural effusions with bibasilar atelectasis.\n"
    "IMPRESSION: Support devices as above. Cardiomegaly and small effusions."
)


def tag(ctx: AppContext, report: str, model: str | None, max_new_tokens: Any, temperature: Any,
        fmt: str | None, constrained: Any = True, seed: Any = 0, new_seed: Any = False,
        keep: dict | None = None) -> Iterator[tuple[str, str, str, str]]:
    """Yields (chips HTML, raw answers, status HTML, checker HTML); KEEP["data"] holds the
    status as data. A list cut by the token limit is marked above the chips (`stream_tasks`)."""
    try:
        fields = check_fields({"report": report}, {"report": "The report"}, ctx.settings.max_chars)
    except RadphiError as exc:
        step = failed(str(exc))
        kept(keep, step.data)
        yield label_chips(None, None), "", step.status, ""
        return
    yield from stream_tasks(ctx, model, LABEL_TASKS, fields, max_new_tokens, temperature, fmt, label_chips,
                            constrained, seed, new_seed, keep)


def build(ctx: AppContext) -> None:
    with gr.Tab("Labels", id="labels"):
        controls = common.model_controls(ctx, "labels", max_new_tokens=96, constrained=True)
        report = gr.Textbox(label="Report", lines=8, elem_id="labels-input",
                            info=f"up to {ctx.settings.max_chars:,} characters")
        gr.Examples([[EXAMPLE_REPORT]], inputs=[report], label="Example (synthetic)")
        run, stop = common.run_stop("labels", "Tag labels")
        chips = gr.HTML(label_chips({"labels": [], "unknown": []}, {"labels": [], "unknown": []}),
                        elem_id="labels-chips", js_on_load=None)
        status = common.status_line("labels")
        data = common.status_data("labels")
        checked = gr.HTML("", elem_id="labels-check", js_on_load=None)
        with gr.Accordion("Raw model answers", open=False):
            raw = gr.Textbox(label="Raw answers", lines=6, interactive=False, elem_id="labels-raw")
        @common.api_doc("Tag a report with abnormality labels and tubes/lines/devices labels (two answers, "
                        "in order).",
                        "the label chips (HTML), the raw answers, the status line (HTML), the checker's panel "
                        "(HTML), and the status as data (state, and per task finish_reason, token counts, seed).",
                        report="the report text.")
        def labels(report: str, model: str, max_new_tokens: int, temperature: float, fmt: str,
                   constrained: bool = True, seed: int = 0, new_seed: bool = True) -> Iterator[tuple[Any, ...]]:
            keep: dict = {}
            for update in tag(ctx, report, model, max_new_tokens, temperature, fmt, constrained, seed, new_seed, keep):
                yield (*update, keep.get("data"))

        common.wire(run, stop, labels, [report, *controls.inputs], [chips, raw, status, checked, data],
                    api_name="labels", status=status, data=data)
