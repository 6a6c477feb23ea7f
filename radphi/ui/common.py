"""Controls every tab has: the model picker with its facts line, the generation
settings accordion, the Run/Stop pair with a status line, and the one-click
"Send to review set" button for a tab's answer (`send_to_review`).

Builders here create gradio components inside the caller's Blocks context; the
handlers they wire (`model_changed`) are plain functions of the context and values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

import gradio as gr

from radphi import runner, tasks
from radphi.errors import InputError, ModelLoadError, RadphiError
from radphi.ui.context import AppContext
from radphi.ui.render import model_info_html, status_html
from radphi.ui.streaming import MAX_NEW_TOKENS_LIMIT, check_fields, gen_params

log = logging.getLogger(__name__)

DEFAULT_MAX_NEW_TOKENS = 256


def model_info(ctx: AppContext, model: str | None) -> str:
    """The facts line under the picker (backend, device, quantization, context, destination)."""
    try:
        return model_info_html(ctx.backends.info(model))
    except ModelLoadError as exc:
        return model_info_html(None, str(exc))
    except Exception as exc:  # a broken header must not take the page down
        log.warning("model info for %s failed: %s", model, type(exc).__name__)
        return model_info_html(None, f"could not read the model's details ({type(exc).__name__})")


def model_changed(ctx: AppContext, model: str | None) -> tuple[str, str]:
    """Picker change: the new facts line, and the model's own prompt format."""
    return model_info(ctx, model), ctx.backends.format_of(model)


@dataclass
class ModelControls:
    picker: gr.Dropdown
    info: gr.HTML
    max_new_tokens: gr.Slider
    temperature: gr.Slider
    fmt: gr.Radio

    @property
    def inputs(self) -> list[Any]:
        """In the order the handlers take them: model, max_new_tokens, temperature, fmt."""
        return [self.picker, self.max_new_tokens, self.temperature, self.fmt]


def model_controls(ctx: AppContext, key: str, *, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> ModelControls:
    """The picker, its facts line and the generation accordion, for one tab."""
    reg = ctx.backends
    with gr.Row():
        picker = gr.Dropdown(
            choices=reg.names(), value=reg.default, label="Model", scale=1,
            info="from the models file; the demo model is the default",
            elem_id=f"{key}-model", interactive=bool(reg.names()),
        )
        info = gr.HTML(model_info(ctx, reg.default), elem_id=f"{key}-model-info", js_on_load=None)
    with gr.Accordion("Generation settings", open=False):
        with gr.Row():
            n = gr.Slider(1, MAX_NEW_TOKENS_LIMIT, value=max_new_tokens, step=1, label="Max new tokens",
                          elem_id=f"{key}-max-new-tokens")
            temp = gr.Slider(0.0, 2.0, value=0.0, step=0.05, label="Temperature",
                             info="0 decodes greedily (the same answer every time)", elem_id=f"{key}-temperature")
            fmt = gr.Radio(list(tasks.FORMATS), value=reg.format_of(reg.default), label="Prompt format",
                           info="token: the paper's <instruct>/<output> format", elem_id=f"{key}-format")
    picker.change(lambda m: model_changed(ctx, m), inputs=picker, outputs=[info, fmt], api_visibility="private",
                  queue=False)
    return ModelControls(picker, info, n, temp, fmt)


def run_stop(key: str, label: str) -> tuple[gr.Button, gr.Button]:
    with gr.Row():
        run = gr.Button(label, variant="primary", elem_id=f"{key}-run")
        stop = gr.Button("Stop", variant="stop", elem_id=f"{key}-stop")
    return run, stop


def status_line(key: str) -> gr.HTML:
    return gr.HTML(status_html(""), elem_id=f"{key}-status", js_on_load=None)


STOPPED = "Stopped. The partial answer above is kept."


def stopped() -> str:
    return status_html(STOPPED)


def wire_stop(stop: gr.Button, events: list[Any], status: gr.HTML) -> None:
    """Stop cancels the running event: gradio closes the handler's generator, which stops
    the model after its current token. The status line says so (the closed handler cannot)."""
    # The status is set after the cancel has gone through: set at once, a last streamed
    # update already on its way would overwrite it.
    stop.click(None, cancels=events, api_visibility="private", queue=False).then(
        stopped, outputs=[status], api_visibility="private", queue=False)


def wire(run: gr.Button, stop: gr.Button, fn: Callable[..., Any], inputs: list[Any], outputs: list[Any],
         api_name: str, status: gr.HTML) -> Any:
    """Run streams into outputs; Stop cancels it."""
    event = run.click(fn, inputs=inputs, outputs=outputs, api_name=api_name, show_progress="minimal")
    wire_stop(stop, [event], status)
    return event


# ---------------------------------------------------------------- send to a review set

def send_generation(ctx: AppContext, task: str, field_names: list[str], set_name: str | None, *values: Any,
                    request: Any = None) -> str:
    """Put the answer on the page into a review set (created if new), with its model, prompt
    hash and parameters in the audit log. `values`: the task's fields, the answer, then the
    model controls (model, max new tokens, temperature, format)."""
    fields_in, answer = values[:len(field_names)], values[len(field_names)]
    model, max_new_tokens, temperature, fmt = values[len(field_names) + 1:]
    if ctx.store is None:
        return status_html("The review store is not available in this app.", "error")
    try:
        if not (answer or "").strip():
            raise InputError("There is no answer to send yet: generate one first.")
        fields = check_fields(dict(zip(field_names, fields_in)), {}, ctx.settings.max_chars)
        fmt = fmt or ctx.backends.format_of(model)
        info = runner.model_info(ctx.backends.backend(model), fmt, gen_params(max_new_tokens, temperature))
        user = getattr(request, "username", None)
        item = ctx.store.add_generation(
            (set_name or "").strip() or f"live-{task}", task=task, fields=fields, prediction=answer, model=str(model),
            actor=user or "app user (not signed in)", authenticated=bool(user), model_info=info,
            prompt=tasks.render_prompt(task, fields, fmt))
        cases = len(ctx.store.cases(item.set_id))
    except RadphiError as exc:
        return status_html(str(exc), "error")
    return status_html(f"Sent to review set {ctx.store.get_set(item.set_id).name} ({cases} case"
                       f"{'s' if cases != 1 else ''} in the set).")


def send_to_review(ctx: AppContext, key: str, task: str, fields: dict[str, Any], answer: Any,
                   controls: ModelControls) -> None:
    """The one-click "Send to review set" button under a tab's answer (one line in the tab)."""
    with gr.Row():
        set_name = gr.Textbox(value=f"live-{task}", label="Review set", scale=3, max_lines=1,
                              elem_id=f"{key}-review-set", info="the answer as shown goes to this set, blinded")
        button = gr.Button("Send to review set", scale=1, elem_id=f"{key}-send-review")
    note = gr.HTML(status_html(""), elem_id=f"{key}-review-note", js_on_load=None)
    names = list(fields)

    # A closure, not a partial: gradio finds the gr.Request parameter by its type hint.
    def send(request: gr.Request, set_value: str, *values: Any) -> str:
        return send_generation(ctx, task, names, set_value, *values, request=request)

    button.click(send, inputs=[set_name, *fields.values(), answer, *controls.inputs], outputs=note,
                 api_name=f"{key}_send_to_review")
