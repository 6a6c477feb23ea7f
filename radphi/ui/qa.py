"""Radiology Q&A tab: a question in, a streamed answer out.

The body-system selector is record metadata (`meta.system`) for review and
stratified evaluation; it never enters the prompt, as the task defines. The record
shown under the answer is in `radphi run`'s shape.
"""

from __future__ import annotations

from typing import Any, Iterator

import gradio as gr

from radphi import runner
from radphi.errors import RadphiError
from radphi.ui import check_view, common
from radphi.ui.context import AppContext
from radphi.ui.streaming import check_fields, failed, kept, stream_task

SYSTEMS = ["(none)", "chest", "cardiac", "abdominal", "neuro", "musculoskeletal", "breast",
           "vascular", "head and neck", "genitourinary", "pediatric", "general"]
EXAMPLES = [
    "What is the silhouette sign on a chest radiograph?",
    "What are the radiographic signs of a tension pneumothorax?",
    "How is an endotracheal tube position assessed on a chest X-ray?",
    "What distinguishes cardiogenic from non-cardiogenic pulmonary edema on a radiograph?",
]


def answer(ctx: AppContext, question: str, system: str | None, model: str | None, max_new_tokens: Any,
           temperature: Any, fmt: str | None, keep: dict | None = None, seed: Any = 0, new_seed: Any = False
           ) -> Iterator[tuple[str, str, dict, str]]:
    """Yields (answer text, status HTML, record, checker HTML: this task has no source to check
    against); the finished answer's generation id goes into `keep["uid"]`, the status as
    data into `keep["data"]`."""
    try:
        fields = check_fields({"question": question}, {"question": "The question"}, ctx.settings.max_chars)
    except RadphiError as exc:
        step = failed(str(exc))
        kept(keep, step.data)
        yield "", step.status, {}, ""
        return
    for step in stream_task(ctx, model, "radiology_qa", fields, max_new_tokens, temperature, fmt,
                            seed=seed, new_seed=new_seed):
        record: dict = {}
        if step.generation is not None:
            record = _record(ctx, fields["question"], system, model, step, fmt)
            if keep is not None:
                keep["uid"] = step.uid
        kept(keep, step.data)
        yield step.text, step.status, record, check_view.NO_SOURCE if step.generation is not None else ""


def _record(ctx: AppContext, question: str, system: str | None, model: str | None, step: Any,
            fmt: str | None) -> dict:
    """The answer in `radphi run`'s record shape, with the parameters it was decoded with."""
    record: dict[str, Any] = {"task": "radiology_qa", "question": question.strip()}
    if system and system != "(none)":
        record["meta"] = {"system": system}
    backend = ctx.backends.backend(model)
    info = runner.model_info(backend, fmt or ctx.backends.format_of(model), step.params)
    return runner.output_record(record, "radiology_qa", step.generation, str(model), info)


def build(ctx: AppContext) -> None:
    with gr.Tab("Radiology Q&A", id="qa"):
        controls = common.model_controls(ctx, "qa")
        with gr.Row():
            question = gr.Textbox(label="Question", lines=3, scale=3, elem_id="qa-question",
                                  info=f"up to {ctx.settings.max_chars:,} characters")
            system = gr.Dropdown(SYSTEMS, value="(none)", label="Body system", scale=1, elem_id="qa-system",
                                 info="kept with the record for review; not sent to the model")
        gr.Examples(EXAMPLES, inputs=[question], label="Example questions")
        run, stop = common.run_stop("qa", "Answer")
        out = gr.Textbox(label="Answer", lines=6, interactive=False, buttons=["copy"], elem_id="qa-answer")
        status = common.status_line("qa")
        data = common.status_data("qa")
        checked = gr.HTML("", elem_id="qa-check", js_on_load=None)
        with gr.Accordion("Record (for review and evaluation)", open=False):
            record = gr.JSON(label="Record", elem_id="qa-record")
        generation = gr.State(None)  # server-side: the id of the answer last produced here

        @common.api_doc("Answer a radiology question, streamed.",
                        "the answer, the status line (HTML), the record in radphi run's shape, the checker's "
                        "panel (HTML), and the status as data (state, finish_reason, token counts, seed, notices).",
                        question="the question, as a radiologist would ask it.",
                        system="the body system, kept with the record for review ('(none)' for none); never "
                               "sent to the model.")
        def qa(question: str, system: str, model: str, max_new_tokens: int, temperature: float, fmt: str,
               seed: int = 0, new_seed: bool = True) -> Iterator[tuple[Any, ...]]:
            keep: dict = {}
            for update in answer(ctx, question, system, model, max_new_tokens, temperature, fmt, keep, seed,
                                 new_seed):
                yield (*update, keep.get("data"), keep.get("uid"))

        common.wire(run, stop, qa, [question, system, *controls.inputs],
                    [out, status, record, checked, data, generation], api_name="qa", status=status, data=data)
        common.send_to_review(ctx, "qa", "radiology_qa", out, generation)
