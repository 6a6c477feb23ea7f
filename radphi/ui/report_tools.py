"""Report tools tab: extract the findings, extract the impression, clean up the text,
and ask questions about the report.

`qa_comprehension` puts the report before the question, so on the llama.cpp backend a
follow-up question about the same report reuses the evaluated prefix and costs only
its own tokens (the latency line's first-token time shows it).
"""

from __future__ import annotations

import functools
from typing import Any, Iterator

import gradio as gr

from radphi.errors import RadphiError
from radphi.ui import check_view, common
from radphi.ui.context import AppContext
from radphi.ui.streaming import check_fields, failed, stream_task

# tool -> (task, the task's report field)
TOOLS = {
    "extract_findings": ("extract_findings", "report"),
    "extract_impression": ("extract_impression", "report"),
    "cleanup": ("cleanup_report_text", "text"),
    "ask": ("qa_comprehension", "report"),
}
EXAMPLE_REPORT = (
    "EXAMINATION: Chest, portable AP.\nCOMPARISON: Prior study from yesterday.\n"
    "FINDINGS: Interval increase in the small left pleural effusion. Right PICC terminates in the low SVC. "
    "No pneumothorax.\nIMPRESSION: Slightly larger left effusion. Findings discussed with the team; "
    "recommend follow-up radiograph."
)


def run_tool(ctx: AppContext, tool: str, report: str, question: str, model: str | None, max_new_tokens: Any,
             temperature: Any, fmt: str | None, grounded: Any = True) -> Iterator[tuple[str, str, str]]:
    """Yields (answer, status HTML, checker HTML). GROUNDED: extract findings and clean-up copy the
    input's own sentences (radphi.grounding); False lets the model write freely."""
    task, report_field = TOOLS[tool]
    try:
        values = {"report": report}
        labels = {"report": "The report", "question": "The question"}
        if tool == "ask":
            values["question"] = question
        fields = check_fields(values, labels, ctx.settings.max_chars)
    except RadphiError as exc:
        yield "", failed(str(exc)).status, ""
        return
    if report_field != "report":
        fields[report_field] = fields.pop("report")
    for step in stream_task(ctx, model, task, fields, max_new_tokens, temperature, fmt, grounded=grounded):
        checked = check_view.PENDING if not step.done else ""
        if step.generation is not None:
            checked = check_view.check_html(check_view.run(task, fields, step.text))
        yield step.text, step.status, checked


def build(ctx: AppContext) -> None:
    with gr.Tab("Report tools", id="tools"):
        controls = common.model_controls(ctx, "tools")
        report = gr.Textbox(label="Report", lines=8, elem_id="tools-report",
                            info=f"up to {ctx.settings.max_chars:,} characters")
        gr.Examples([[EXAMPLE_REPORT]], inputs=[report], label="Example (synthetic)")
        with gr.Row():
            b_findings = gr.Button("Extract findings", elem_id="tools-extract-findings")
            b_impression = gr.Button("Extract impression", elem_id="tools-extract-impression")
            b_cleanup = gr.Button("Clean up text", elem_id="tools-cleanup")
        with gr.Row():
            question = gr.Textbox(label="Question about the report", scale=4, elem_id="tools-question",
                                  info="follow-up questions on the same report reuse its evaluated prefix")
            b_ask = gr.Button("Ask", variant="primary", scale=1, elem_id="tools-ask")
        grounded = gr.Checkbox(value=True, label="Copy the report's own sentences", elem_id="tools-grounded",
                               info="Extract findings and Clean up answer with whole sentences of the input, "
                                    "chosen by the model, so nothing is reworded. Untick to let the model "
                                    "write freely.")
        stop = gr.Button("Stop", variant="stop", elem_id="tools-stop")
        out = gr.Textbox(label="Answer", lines=6, interactive=False, buttons=["copy"], elem_id="tools-answer")
        status = common.status_line("tools")
        checked = gr.HTML("", elem_id="tools-check", js_on_load=None)
        inputs = [report, question, *controls.inputs, grounded]
        events = []
        for button, tool in ((b_findings, "extract_findings"), (b_impression, "extract_impression"),
                             (b_cleanup, "cleanup"), (b_ask, "ask")):
            events.append(button.click(functools.partial(run_tool, ctx, tool), inputs=inputs, outputs=[out, status, checked],
                                       api_name=tool, show_progress="minimal"))
        common.wire_stop(stop, events, status)
