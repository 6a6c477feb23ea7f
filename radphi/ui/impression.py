"""Impression tab: findings in, a streamed impression out.

A whole pasted report works too: its FINDINGS section is found with
`radphi.reports.find_findings` and shown, so the user sees exactly what the model
was given. The draft is editable and has a copy button.
"""

from __future__ import annotations

from typing import Any, Iterator

import gradio as gr

from radphi import reports
from radphi.errors import InputError, RadphiError
from radphi.ui import check_view, common
from radphi.ui.context import AppContext
from radphi.ui.render import status_html
from radphi.ui.streaming import check_fields, failed, kept, stream_task

EXAMPLE_REPORT = (
    "EXAMINATION: Chest (PA and lateral)\n"
    "INDICATION: Cough and fever.\n"
    "FINDINGS: There is a small left pleural effusion with adjacent atelectasis. No pneumothorax. "
    "The endotracheal tube terminates 3.4 cm above the carina. Heart size is normal.\n"
    "IMPRESSION: Small left pleural effusion."
)


def findings_of(text: str) -> tuple[str, str]:
    """(findings to send, a note on where they came from); InputError if none are found."""
    found = reports.find_findings(text)
    if not found.strip():
        raise InputError("No FINDINGS section was found in the pasted text: paste the findings, "
                         "or a report with a FINDINGS: section.")
    sections = reports.split_sections(text)
    if "findings" in sections:
        note = f"Using the FINDINGS section of the pasted report ({len(found):,} characters)."
    elif "full report" in sections:
        note = "Using the pasted text as the findings."
    else:
        note = "No FINDINGS header found; using the report's last paragraph."
    return found, note


def draft(ctx: AppContext, text: str, model: str | None, max_new_tokens: Any, temperature: Any,
          fmt: str | None, keep: dict | None = None, seed: Any = 0, new_seed: Any = False
          ) -> Iterator[tuple[str, str, str, str]]:
    """Yields (findings sent to the model, draft impression, status HTML, checker HTML);
    the finished answer's generation id goes into `keep["uid"]`, the status as data into
    `keep["data"]`."""
    try:
        text = check_fields({"findings": text}, {"findings": "The findings"}, ctx.settings.max_chars)["findings"]
        findings, note = findings_of(text)
    except RadphiError as exc:
        step = failed(str(exc))
        kept(keep, step.data)
        yield "", "", step.status, ""
        return
    for step in stream_task(ctx, model, "impression_prediction", {"findings": findings}, max_new_tokens,
                            temperature, fmt, seed=seed, new_seed=new_seed):
        status, checked = step.status, check_view.PENDING if not step.error else ""
        if step.generation is not None:
            # Where the findings came from, before the latency line and the answer's notes
            # (a cut-off, the prompt format, a lowered max new tokens).
            status = status_html(note) + step.status
            checked = recheck(findings, step.text)
            if keep is not None:
                keep["uid"] = step.uid
        kept(keep, step.data)
        yield findings, step.text, status, checked


def recheck(findings: str, impression: str) -> str:
    """The checker's panel for an impression (the model's, or the user's edit of it) on FINDINGS."""
    if not (findings or "").strip() or not (impression or "").strip():
        return ""
    return check_view.check_html(check_view.run("impression_prediction", {"findings": findings}, impression))


def build(ctx: AppContext) -> None:
    with gr.Tab("Impression", id="impression"):
        controls = common.model_controls(ctx, "impression")
        text = gr.Textbox(label="Findings or full report", lines=8, elem_id="impression-input",
                          info=f"paste the findings, or a whole report (its FINDINGS section is used); "
                               f"up to {ctx.settings.max_chars:,} characters")
        gr.Examples([[EXAMPLE_REPORT]], inputs=[text], label="Example (synthetic)")
        run, stop = common.run_stop("impression", "Draft impression")
        with gr.Row():
            used = gr.Textbox(label="Findings sent to the model", lines=6, interactive=False,
                              elem_id="impression-findings")
            out = gr.Textbox(label="Draft impression (editable)", lines=6, interactive=True, buttons=["copy"],
                             elem_id="impression-draft")
        status = common.status_line("impression")
        data = common.status_data("impression")
        checked = gr.HTML("", elem_id="impression-check", js_on_load=None)
        again = gr.Button("Check the edited draft", size="sm", elem_id="impression-recheck")
        generation = gr.State(None)  # server-side: the id of the answer last produced here

        @common.api_doc("Draft an impression from the findings, streamed.",
                        "the findings sent to the model, the draft impression, the status line (HTML), the "
                        "checker's panel (HTML), and the status as data (state, finish_reason, token counts, seed).",
                        text="the findings, or a whole report (its FINDINGS section is used).")
        def impression(text: str, model: str, max_new_tokens: int, temperature: float, fmt: str,
                       seed: int = 0, new_seed: bool = True) -> Iterator[tuple[Any, ...]]:
            keep: dict = {}
            for update in draft(ctx, text, model, max_new_tokens, temperature, fmt, keep, seed, new_seed):
                yield (*update, keep.get("data"), keep.get("uid"))

        common.wire(run, stop, impression, [text, *controls.inputs], [used, out, status, checked, data, generation],
                    api_name="impression", status=status, data=data)
        again.click(recheck, inputs=[used, out], outputs=checked, api_name="impression_check")
        common.send_to_review(ctx, "impression", "impression_prediction", out, generation)
