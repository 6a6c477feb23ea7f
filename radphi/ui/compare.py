"""Compare-with-prior tab: current and prior reports side by side; out comes one row per
finding, read from the two reports (radphi.comparison): new (red), worsened (amber),
improved or resolved (green), unchanged (grey), with the sentence it comes from in each
report and what the model's answers said of it (radphi.ui.compare_view).

Two generations in order: `qa_temporal_findings`, then `qa_temporal_progression`.
"""

from __future__ import annotations

from typing import Any, Iterator

import gradio as gr

from radphi.errors import RadphiError
from radphi.ui import common
from radphi.ui.context import AppContext
from radphi.ui.compare_view import comparison_view, render_for
from radphi.ui.streaming import check_fields, failed, kept, stream_tasks

COMPARE_TASKS = ("qa_temporal_findings", "qa_temporal_progression")
EXAMPLE_CURRENT = ("FINDINGS: Moderate left pleural effusion, increased. New right lower lobe opacity. "
                   "The endotracheal tube has been removed.")
EXAMPLE_PRIOR = ("FINDINGS: Small left pleural effusion. Endotracheal tube terminates 4 cm above the carina. "
                 "Lungs otherwise clear.")


def compare(ctx: AppContext, current: str, prior: str, model: str | None, max_new_tokens: Any,
            temperature: Any, fmt: str | None, constrained: Any = True, seed: Any = 0, new_seed: Any = False,
            keep: dict | None = None) -> Iterator[tuple[str, str, str, str]]:
    """Yields (comparison HTML, raw answers, status HTML, checker HTML); KEEP["data"] holds
    the status as data."""
    try:
        fields = check_fields({"report": current, "prior_report": prior},
                              {"report": "The current report", "prior_report": "The prior report"},
                              ctx.settings.max_chars)
    except RadphiError as exc:
        step = failed(str(exc))
        kept(keep, step.data)
        yield comparison_view("", ""), "", step.status, ""
        return
    yield from stream_tasks(ctx, model, COMPARE_TASKS, fields, max_new_tokens, temperature, fmt,
                            render_for(fields["report"], fields["prior_report"]),
                            constrained, seed, new_seed, keep)


def build(ctx: AppContext) -> None:
    with gr.Tab("Compare with prior", id="compare"):
        controls = common.model_controls(ctx, "compare", max_new_tokens=128, constrained=True)
        limit = f"up to {ctx.settings.max_chars:,} characters"
        with gr.Row():
            current = gr.Textbox(label="Current report", lines=8, elem_id="compare-current", info=limit)
            prior = gr.Textbox(label="Prior report", lines=8, elem_id="compare-prior", info=limit)
        gr.Examples([[EXAMPLE_CURRENT, EXAMPLE_PRIOR]], inputs=[current, prior], label="Example (synthetic)")
        run, stop = common.run_stop("compare", "Compare")
        view = gr.HTML(comparison_view("", ""), elem_id="compare-result", js_on_load=None)
        status = common.status_line("compare")
        data = common.status_data("compare")
        checked = gr.HTML("", elem_id="compare-check", js_on_load=None)
        with gr.Accordion("Raw model answers", open=False):
            raw = gr.Textbox(label="Raw answers", lines=6, interactive=False, elem_id="compare-raw")

        @common.api_doc("Compare a current report with a prior one: one row per finding (new, worsened, improved, "
                        "resolved, unchanged) with the model's temporal-findings and progression answers.",
                        "the comparison (HTML), the raw answers, the status line (HTML), the checker's panel "
                        "(HTML), and the status as data (state, and per task finish_reason, token counts, seed).",
                        current="the current report.", prior="the prior report.")
        def compare_reports(current: str, prior: str, model: str, max_new_tokens: int, temperature: float,
                            fmt: str, constrained: bool = True, seed: int = 0,
                            new_seed: bool = True) -> Iterator[tuple[Any, ...]]:
            keep: dict = {}
            for update in compare(ctx, current, prior, model, max_new_tokens, temperature, fmt, constrained, seed,
                                  new_seed, keep):
                yield (*update, keep.get("data"))

        common.wire(run, stop, compare_reports, [current, prior, *controls.inputs],
                    [view, raw, status, checked, data], api_name="compare", status=status, data=data)
