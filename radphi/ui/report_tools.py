"""Report tools tab: extract the findings, extract the impression, clean up the text,
and ask questions about the report.

Extract findings/impression copy the report's own section when it has one, and
clean-up follows its instruction's rules with every removal shown struck through
(radphi.extraction); the model answers what no section or rule settles.

`qa_comprehension` puts the report before the question, so on the llama.cpp backend a
follow-up question about the same report reuses the evaluated prefix and costs only
its own tokens (the latency line's first-token time shows it).
"""

from __future__ import annotations

from typing import Any, Iterator

import gradio as gr

from radphi import extraction
from radphi.errors import RadphiError
from radphi.ui import check_view, common
from radphi.ui.context import AppContext
from radphi.ui.removed_view import removed_html
from radphi.ui.render import status_html
from radphi.ui.streaming import check_fields, failed, kept, stream_task

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


# tool -> the section the report's own text answers, when the report has it
OWN_SECTION = {"extract_findings": extraction.FINDINGS, "extract_impression": extraction.IMPRESSION}


def run_tool(ctx: AppContext, tool: str, report: str, question: str, model: str | None, max_new_tokens: Any,
             temperature: Any, fmt: str | None, grounded: Any = True, seed: Any = 0, new_seed: Any = False,
             keep: dict | None = None) -> Iterator[tuple[str, str, str, str]]:
    """Yields (answer, status HTML, checker HTML, removed HTML); KEEP["data"] holds the
    status as data (`Step.data`) at each step.

    Extract findings and extract impression answer with the report's own section when
    the parser finds it (no model runs); only a report without one goes to the model.
    Clean-up applies the clean-up instruction's rules (radphi.extraction) and shows what
    it removed. GROUNDED: a model's extract answer copies the input's own sentences
    (radphi.grounding); False lets the model write freely."""
    task, report_field = TOOLS[tool]
    try:
        values = {"report": report}
        labels = {"report": "The report", "question": "The question"}
        if tool == "ask":
            values["question"] = question
        fields = check_fields(values, labels, ctx.settings.max_chars)
    except RadphiError as exc:
        step = failed(str(exc))
        kept(keep, step.data)
        yield "", step.status, "", removed_html(None)
        return
    if report_field != "report":
        fields[report_field] = fields.pop("report")
    if tool == "cleanup":
        text, pieces = extraction.clean_up(fields["text"])
        removed = sum(p.removed for p in pieces)
        said = (f"Cleaned by the clean-up instruction's rules, no model run: {removed} piece(s) removed, "
                "struck through beside the result." if removed else
                "Cleaned by the clean-up instruction's rules, no model run: nothing needed removing.")
        kept(keep, {"state": "done", "model_run": False, "message": said, "removed": removed})
        yield text, status_html(said), check_view.check_html(check_view.run(task, fields, text)), removed_html(pieces)
        return
    section = OWN_SECTION.get(tool)
    own = extraction.own_section(fields["report"], section) if section else None
    if own is not None:
        said = f"The report's own {section.upper()} section, copied as written; no model run."
        kept(keep, {"state": "done", "model_run": False, "message": said, "section": section})
        yield own, status_html(said), check_view.check_html(check_view.run(task, fields, own)), removed_html(None)
        return
    note = (f"The report has no {section.upper()} section, so the model chose what to copy." if section else "")
    for step in stream_task(ctx, model, task, fields, max_new_tokens, temperature, fmt, grounded=grounded,
                            seed=seed, new_seed=new_seed):
        checked = check_view.PENDING if not step.done else ""
        if step.generation is not None:
            checked = check_view.check_html(check_view.run(task, fields, step.text))
        kept(keep, {**step.data, "model_run": True})
        yield step.text, step.status, checked, removed_html(None, note)


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
                               info="A report with a FINDINGS or IMPRESSION section is answered with that "
                                    "section as written. Without one, the model answers with whole sentences "
                                    "of the report, never dropping a finding, so nothing is reworded. Untick "
                                    "to let the model write freely.")
        stop = gr.Button("Stop", variant="stop", elem_id="tools-stop")
        with gr.Row():
            out = gr.Textbox(label="Answer", lines=6, interactive=False, buttons=["copy"], elem_id="tools-answer")
            removed = gr.HTML(removed_html(None), elem_id="tools-removed", js_on_load=None)
        status = common.status_line("tools")
        data = common.status_data("tools")
        checked = gr.HTML("", elem_id="tools-check", js_on_load=None)
        outputs = [out, status, checked, removed, data]
        c = controls
        extract_inputs = [report, c.picker, c.max_new_tokens, c.temperature, c.fmt, grounded, c.seed, c.new_seed]
        events = [b_findings.click(_endpoint(ctx, "extract_findings"), inputs=extract_inputs,
                                   outputs=outputs, api_name="extract_findings", show_progress="minimal"),
                  b_impression.click(_endpoint(ctx, "extract_impression"), inputs=extract_inputs, outputs=outputs,
                                     api_name="extract_impression", show_progress="minimal"),
                  b_cleanup.click(_endpoint(ctx, "cleanup"), inputs=[report], outputs=outputs, api_name="cleanup",
                                  show_progress="minimal"),
                  b_ask.click(_endpoint(ctx, "ask"), inputs=[report, question, *controls.inputs], outputs=outputs,
                              api_name="ask", show_progress="minimal")]
        common.wire_stop(stop, events, status, data)


RETURNS = ("the answer, the status line (HTML), the checker's panel (HTML), what was removed (HTML), and the "
           "status as data (state; model_run; for a model's answer finish_reason, token counts, seed).")
GROUNDED = ("without a section to copy, the model answers with whole sentences of the report (True) or writes "
            "freely (False).")


def _endpoint(ctx: AppContext, tool: str) -> Any:
    """The API function of one tool: its own name, docstring and parameters (no question
    where the tool takes none, no model settings for the rule-based clean-up)."""

    def drive(report: str, question: str, *settings: Any, grounded: Any = True) -> Iterator[tuple[Any, ...]]:
        keep: dict = {}
        for update in run_tool(ctx, tool, report, question, *settings[:4], grounded, *settings[4:], keep=keep):
            yield (*update, keep.get("data", {}))

    if tool == "cleanup":
        @common.api_doc("Clean up a report by the clean-up instruction's rules (no model): change wording, "
                        "follow-up advice, names and noise are removed, every finding, hedge and header kept.",
                        RETURNS, report="the report text.")
        def cleanup(report: str) -> Iterator[tuple[Any, ...]]:
            yield from drive(report, "", None, 1, 0.0, None)
        return cleanup
    if tool == "ask":
        @common.api_doc("Answer a question about a report, streamed.", RETURNS, report="the report text.",
                        question="the question about the report.")
        def ask(report: str, question: str, model: str, max_new_tokens: int, temperature: float, fmt: str,
                seed: int = 0, new_seed: bool = True) -> Iterator[tuple[Any, ...]]:
            yield from drive(report, question, model, max_new_tokens, temperature, fmt, seed, new_seed)
        return ask
    section = OWN_SECTION[tool].upper()
    summary = (f"Extract the report's {section} section: copied as written when the report has one (no model "
               f"runs); otherwise the model chooses what to copy, streamed.")

    @common.api_doc(summary, RETURNS, report="the report text.", grounded=GROUNDED)
    def extract(report: str, model: str, max_new_tokens: int, temperature: float, fmt: str, grounded: bool = True,
                seed: int = 0, new_seed: bool = True) -> Iterator[tuple[Any, ...]]:
        yield from drive(report, "", model, max_new_tokens, temperature, fmt, seed, new_seed, grounded=grounded)

    extract.__name__ = extract.__qualname__ = tool
    return extract
