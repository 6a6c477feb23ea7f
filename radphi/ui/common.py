"""Controls every tab has: the model picker with its facts line, the generation
settings accordion (max new tokens up to the model's context, temperature, seed, prompt
format with a warning when it is not the model's own), the Run/Stop pair with a status
line and its structured twin for API clients (`status_data`), and the one-click
"Send to review set" button for a tab's answer (`send_to_review`).

Builders here create gradio components inside the caller's Blocks context; the
handlers they wire (`model_changed`) are plain functions of the context and values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

import gradio as gr

from radphi import tasks
from radphi.backends import format_warning
from radphi.errors import InputError, ModelLoadError, RadphiError
from radphi.ui.context import AppContext
from radphi.ui.gen_settings import SEED_LIMIT, slider_maximum
from radphi.ui.render import model_info_html, status_html
from radphi.ui.streaming import RUNNING_STATES
from radphi.ui.token_slider import TokenSlider

log = logging.getLogger(__name__)

DEFAULT_MAX_NEW_TOKENS = 256

# What each generation setting means, for the API description of every endpoint that takes it.
SETTINGS_DOCS = {
    "model": "a model name from the picker (None: the default model).",
    "max_new_tokens": "the most tokens the answer may have; lowered to what the model's context leaves after "
                      "the prompt (the status says so).",
    "temperature": "0 decodes greedily (the same answer every time); above 0 samples.",
    "fmt": "the prompt format, 'token' or 'chat'; the model's own is the default (another one gets a warning).",
    "constrained": "decode structured answers under their answer shape (a grammar); a broken shape is marked "
                   "either way.",
    "seed": "the sampling seed, used when the temperature is above 0 and new_seed is False.",
    "new_seed": "above temperature 0, sample with a fresh seed; the seed used is in the status data.",
    # Server-side state (gr.State): the page's, never an API parameter.
    "session": "(the page's state, kept by the server)",
    "uid": "(the page's state, kept by the server)",
}


def api_doc(summary: str, returns: str, **params: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give an endpoint's function the docstring its API page shows (gradio reads the
    Args/Returns layout): SUMMARY, each parameter from PARAMS or `SETTINGS_DOCS`, RETURNS."""
    import inspect

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        names = [p for p in inspect.signature(fn).parameters if p != "request"]
        missing = [n for n in names if n not in params and n not in SETTINGS_DOCS]
        if missing:  # a programming error: every parameter of an endpoint is described
            raise ValueError(f"{fn.__name__}: no description for {', '.join(missing)}")
        args = "\n".join(f"    {n}: {params.get(n) or SETTINGS_DOCS[n]}" for n in names)
        fn.__doc__ = f"{summary}\n\nArgs:\n{args}\n\nReturns:\n    {returns}\n"
        return fn

    return decorate


def model_info(ctx: AppContext, model: str | None) -> str:
    """The facts line under the picker (backend, device, quantization, context, destination)."""
    try:
        return model_info_html(ctx.backends.info(model))
    except ModelLoadError as exc:
        return model_info_html(None, str(exc))
    except Exception as exc:  # a broken header must not take the page down
        log.warning("model info for %s failed: %s", model, type(exc).__name__)
        return model_info_html(None, f"could not read the model's details ({type(exc).__name__})")


def context_of(ctx: AppContext, model: str | None) -> int:
    """The max-new-tokens slider's maximum for MODEL: its context length (`slider_maximum`)."""
    try:
        return slider_maximum(ctx.backends.info(model))
    except Exception as exc:  # noqa: BLE001 - a model that cannot say keeps the default maximum
        log.info("context length of %s unknown: %s", model, type(exc).__name__)
        return slider_maximum(None)


def model_changed(ctx: AppContext, model: str | None, max_new_tokens: Any = None) -> tuple[Any, ...]:
    """Picker change: the new facts line, the model's own prompt format, no format warning,
    and the max-new-tokens slider bounded by the model's context (its value lowered to fit)."""
    fmt = ctx.backends.format_of(model)
    top = context_of(ctx, model)
    try:
        value = min(int(float(max_new_tokens)), top)
    except (TypeError, ValueError):
        value = None
    slider = gr.update(maximum=top, value=value) if value is not None else gr.update(maximum=top)
    return model_info(ctx, model), fmt, format_note(ctx, model, fmt), slider


def format_note(ctx: AppContext, model: str | None, fmt: str | None) -> str:
    """A warning under the format choice when it is not the model's own (`format_warning`)."""
    if not fmt:
        return ""
    try:
        warning = format_warning(ctx.backends.backend(model), fmt)
    except RadphiError:
        return ""
    return status_html(warning, "warning") if warning else ""


@dataclass
class ModelControls:
    picker: gr.Dropdown
    info: gr.HTML
    max_new_tokens: TokenSlider
    temperature: gr.Slider
    fmt: gr.Radio
    seed: gr.Number
    new_seed: gr.Checkbox
    constrained: gr.Checkbox | None = None

    @property
    def inputs(self) -> list[Any]:
        """In the order the handlers take them: model, max_new_tokens, temperature, fmt,
        (constrained, on the tabs of structured tasks,) seed, new_seed."""
        return [self.picker, self.max_new_tokens, self.temperature, self.fmt] + (
            [self.constrained] if self.constrained is not None else []) + [self.seed, self.new_seed]


def model_controls(ctx: AppContext, key: str, *, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
                   constrained: bool = False) -> ModelControls:
    """The picker, its facts line and the generation accordion, for one tab; CONSTRAINED
    adds the "Constrained answers" box (tabs of structured tasks)."""
    reg = ctx.backends
    with gr.Row():
        picker = gr.Dropdown(
            choices=reg.names(), value=reg.default, label="Model", scale=1,
            info="from the models file; the demo model is the default",
            elem_id=f"{key}-model", interactive=bool(reg.names()),
        )
        info = gr.HTML(model_info(ctx, reg.default), elem_id=f"{key}-model-info", js_on_load=None)
    top = context_of(ctx, reg.default)
    with gr.Accordion("Generation settings", open=False):
        with gr.Row():
            n = TokenSlider(1, top, value=min(max_new_tokens, top), step=1, label="Max new tokens",
                          info="up to the model's context; lowered to what the prompt leaves, and the page says so",
                          elem_id=f"{key}-max-new-tokens")
            temp = gr.Slider(0.0, 2.0, value=0.0, step=0.05, label="Temperature",
                             info="0 decodes greedily (the same answer every time)", elem_id=f"{key}-temperature")
        with gr.Row():
            seed = gr.Number(value=0, precision=0, minimum=0, maximum=SEED_LIMIT, label="Seed",
                             elem_id=f"{key}-seed",
                             info="used when the temperature is above 0 and 'New seed per click' is off")
            new_seed = gr.Checkbox(value=True, label="New seed per click", elem_id=f"{key}-new-seed",
                                   info="above temperature 0, each click samples anew; the seed used is shown "
                                        "after the answer, to repeat it")
            fmt = gr.Radio(list(tasks.FORMATS), value=reg.format_of(reg.default), label="Prompt format",
                           info="token: the paper's <instruct>/<output> format; chat: the model's own chat "
                                "template; the model's own is chosen", elem_id=f"{key}-format")
        box = None
        if constrained:
            box = gr.Checkbox(value=True, label="Constrained answers", elem_id=f"{key}-constrained",
                              info="labels from the vocabulary, in the task's answer shape (a grammar); an answer "
                                   "that breaks it is marked either way")
        note = gr.HTML("", elem_id=f"{key}-format-note", js_on_load=None)
    picker.change(lambda m, v: model_changed(ctx, m, v), inputs=[picker, n], outputs=[info, fmt, note, n],
                  api_visibility="private", queue=False)
    fmt.change(lambda m, f: format_note(ctx, m, f), inputs=[picker, fmt], outputs=note, api_visibility="private",
               queue=False)
    return ModelControls(picker, info, n, temp, fmt, seed, new_seed, box)


def run_stop(key: str, label: str) -> tuple[gr.Button, gr.Button]:
    with gr.Row():
        run = gr.Button(label, variant="primary", elem_id=f"{key}-run")
        stop = gr.Button("Stop", variant="stop", elem_id=f"{key}-stop")
    return run, stop


def status_line(key: str) -> gr.HTML:
    return gr.HTML(status_html(""), label="Status line", elem_id=f"{key}-status", js_on_load=None)


def status_data(key: str) -> gr.JSON:
    """The status line as structured data (`Step.data`: state, finish_reason, token counts,
    seed, notices): hidden in the page, returned to API clients beside the HTML line, and
    read by Stop to tell whether anything is running."""
    return gr.JSON(value={"state": "idle"}, visible=False, label="Status", elem_id=f"{key}-status-data")


STOPPED = "Stopped. The partial answer above is kept."


def stopped(status: Any = None, data: Any = None) -> tuple[Any, Any]:
    """After Stop's cancel: "Stopped" only when an answer was still coming (DATA's state is
    waiting or generating). A finished answer's status, and an error, stay as they are."""
    if not isinstance(data, dict) or data.get("state") not in RUNNING_STATES:
        return gr.update(), gr.update()
    return status_html(STOPPED), {**data, "state": "stopped"}


def wire_stop(stop: gr.Button, events: list[Any], status: gr.HTML, data: gr.JSON) -> None:
    """Stop cancels the running event: gradio closes the handler's generator, which stops
    the model after its current token. The status line says so (the closed handler cannot),
    but only when something was running."""
    # The status is set after the cancel has gone through: set at once, a last streamed
    # update already on its way would overwrite it.
    stop.click(None, cancels=events, api_visibility="private", queue=False).then(
        stopped, inputs=[status, data], outputs=[status, data], api_visibility="private", queue=False)


def wire(run: gr.Button, stop: gr.Button, fn: Callable[..., Any], inputs: list[Any], outputs: list[Any],
         api_name: str, status: gr.HTML, data: gr.JSON) -> Any:
    """Run streams into outputs (DATA, the status as data, among them); Stop cancels it."""
    event = run.click(fn, inputs=inputs, outputs=outputs, api_name=api_name, show_progress="minimal")
    wire_stop(stop, [event], status, data)
    return event


# ---------------------------------------------------------------- send to a review set

def send_generation(ctx: AppContext, uid: str | None, set_name: str | None, shown: Any, request: Any = None) -> str:
    """Put the app's generation `uid` into a review set (a new set is a practice set):
    the model's own output with its SPEC, model hash, format and parameters, and the text
    on the page kept apart as the user's edit when it differs. The model's name and the
    output come from the app's generation log, never from the page."""
    if ctx.store is None:
        return status_html("The review store is not available in this app.", "error")
    try:
        gen = ctx.generations.get(uid)
        if gen is None:
            raise InputError("There is no answer of this app to send yet: generate one first. (Only answers this "
                             "app produced, in this session, can be sent to a review set.)")
        shown = "" if shown is None else str(shown)
        if len(shown) > ctx.settings.max_chars:
            raise InputError(f"The edited answer holds {len(shown):,} characters; the limit is "
                             f"{ctx.settings.max_chars:,} characters.")
        user = getattr(request, "username", None)
        task = tasks.get_task(gen.task)
        item = ctx.store.add_generation(
            (set_name or "").strip() or f"live-{task.name}", gen, fields=dict(gen.fields), model=gen.model,
            actor=user or "app user (not signed in)", authenticated=bool(user),
            edited_text=shown if shown.strip() and shown != gen.output else None)
        cases = len(ctx.store.cases(item.set_id))
    except RadphiError as exc:
        return status_html(str(exc), "error")
    edited = " The answer is stored as the model generated it; your edit is kept beside it." if item.edited else ""
    return status_html(f"Sent the answer of {item.model} to review set {ctx.store.get_set(item.set_id).name} "
                       f"({cases} case{'s' if cases != 1 else ''} in the set).{edited}")


def send_to_review(ctx: AppContext, key: str, task: str, answer: Any, generation: gr.State) -> None:
    """The one-click "Send to review set" button under a tab's answer (one line in the tab).
    `generation` is the server-side state holding the id of the answer last produced."""
    with gr.Row():
        set_name = gr.Textbox(value=f"live-{task}", label="Review set", scale=3, max_lines=1,
                              elem_id=f"{key}-review-set",
                              info="the model's answer as generated goes to this practice set; an edit is kept apart")
        button = gr.Button("Send to review set", scale=1, elem_id=f"{key}-send-review")
    note = gr.HTML(status_html(""), elem_id=f"{key}-review-note", js_on_load=None)

    # A closure, not a partial: gradio finds the gr.Request parameter by its type hint.
    @api_doc(f"Send this session's last {tasks.get_task(task).title} answer to a review set (a new set is a "
             "practice set), with its model, prompt hash and parameters.",
             "a status line (HTML) saying where it went.",
             set_value="the review set's name.",
             shown="the answer as shown in the page; an edit is kept beside the model's own answer.")
    def send(request: gr.Request, set_value: str, uid: str | None, shown: str) -> str:
        return send_generation(ctx, uid, set_value, shown, request=request)

    button.click(send, inputs=[set_name, generation, answer], outputs=note, api_name=f"{key}_send_to_review")
