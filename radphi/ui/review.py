"""Reviewer tab: blinded scoring of model outputs in the error categories.

- Sign-in: with --auth the reviewer is the login, and only the login. A blinded study
  set needs it; a practice set also takes a typed name, recorded as unauthenticated (the
  dashboard says so). Changing the typed name and pressing Start switches reviewer.
- A case shows the input, the indication, the prior report and the full report when the
  record has them, the reference when the set has one, and each model's output as
  "Output A", "Output B", ... in the order drawn in secret for this reviewer and case and
  stored (radphi.review.blinding). Which item is behind which label lives only in the
  store and the session's server-side state: nothing sent to the page, and no API
  answer, names a model.
- Per output: a count of clinically significant and of not significant errors for each
  category of the set's taxonomy, a comment and an optional corrected text; per case,
  which output is better (or equal). Type the numbers (Tab between them) and press
  Enter, or click Submit: the case is stored in one transaction, with the seconds spent
  on it, and the next one opens.
- Finished cases can be reopened and revised (a new version; the old one stays).
- API clients (gradio_client) get the shown case as data (`case_data`: the labels and
  texts, no model names) beside the page's outputs, and `/review_submit` takes one
  object (`values_from_object`) instead of the panel's 56 boxes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import gradio as gr

from radphi.errors import RadphiError
from radphi.review.model import Case, ErrorCategory, ErrorCount, ReviewDraft, ReviewError, check_name
from radphi.ui import common
from radphi.ui.context import AppContext
from radphi.ui.render import status_html
from radphi.ui.review_state import (CATEGORIES, EQUAL, LABELS, MAX_OUTPUTS, NUMBERS_PER_SLOT, REVIEW_OBJECT, Session,
                                    _number, values_from_object)

log = logging.getLogger(__name__)

SLOT_OUTPUTS = 3 + NUMBERS_PER_SLOT + 2  # group, output, extras row, the numbers, corrected text, comment
NO_STORE = "The review store is not available in this app."


def identity(ctx: AppContext, typed: str | None, request: Any) -> tuple[str, bool]:
    """(reviewer, authenticated): the login with --auth (a typed name is ignored), else the typed name."""
    if ctx.settings.auth_file is not None:
        user = getattr(request, "username", None)
        if not user:
            raise ReviewError("Sign in first: this app requires a login to review.")
        return user, True
    return check_name(typed), False


CONTEXT_LABELS = {"indication": "INDICATION", "prior_report": "PRIOR REPORT", "report": "FULL REPORT"}


def _text_of(inputs: dict[str, Any]) -> tuple[str, str, str]:
    """(label, text) of a case's task input, and its clinical context (indication, prior
    report, full report) as one text ("" when the record has none)."""
    fields = [k for k, v in inputs.items() if isinstance(v, str) and v and k not in CONTEXT_LABELS]
    context = "\n\n".join(f"{CONTEXT_LABELS[k]}:\n{inputs[k]}" for k in CONTEXT_LABELS
                           if isinstance(inputs.get(k), str) and inputs[k].strip())
    if len(fields) == 1:
        return f"Input ({fields[0].replace('_', ' ')})", inputs[fields[0]], context
    return "Input", "\n\n".join(f"{k.replace('_', ' ').upper()}:\n{inputs[k]}" for k in fields), context


def case_data(session: Session, message: str, kind: str, case: Case | None = None, *, text: str = "",
              label: str = "", context: str = "", reference: str | None = None, outputs: dict[str, str] | None = None,
              position: str = "", categories: list[str] | None = None) -> dict[str, Any]:
    """The panel as data for API clients: who reviews, the status message, and the shown
    case (its input, context, reference and outputs by label). Never a model's name."""
    data: dict[str, Any] = {"state": kind, "message": message, "reviewer": session.reviewer or None,
                            "authenticated": session.authenticated, "set": session.set_name, "progress": position,
                            "case": None}
    if case is not None:
        data["case"] = {"input_label": label, "input": text, "context": context or None, "reference": reference,
                        "outputs": outputs or {}, "categories": categories or []}
    return data


def _hidden_slot() -> list[Any]:
    return [gr.update(visible=False), gr.update(value="", label="Output"), gr.update(visible=False),
            *([gr.update(value=0)] * NUMBERS_PER_SLOT), gr.update(value=""), gr.update(value="")]


def view(ctx: AppContext, session: Session, case: Case | None, message: str = "", kind: str = "info") -> list[Any]:
    """Every output of the tab, in `outputs_of` order, for a session showing `case` (or
    none), MESSAGE in its status line (KIND: info or error), and last the panel as data."""
    store = ctx.store
    status = status_html(message, kind)
    who = ("" if not session.reviewer else
           f"Reviewing as {session.reviewer} (signed in, role {store.role(session.reviewer)})." if session.authenticated
           else f"Reviewing as {session.reviewer}: not signed in, so the name is recorded as typed and the "
                f"dashboard marks these reviews unauthenticated.")
    no_context = gr.update(value="", visible=False)
    no_preference = gr.update(choices=[], value=None, visible=False)
    if session.set_name is None:
        return [session, status_html(who), status_html(""), gr.update(value="", label="Input"), no_context, "",
                no_preference, gr.update(choices=[], value=None), status, *(_hidden_slot() * MAX_OUTPUTS),
                case_data(session, message, kind)]
    rs = store.get_set(session.set_name)
    cases = store.cases(rs.id)
    finished = store.reviewed_inputs(rs.id, session.reviewer, session.authenticated)
    position = {c.input_id: n for n, c in enumerate(cases, start=1)}
    done_choices = [(f"Case {position[c.input_id]}", c.input_id) for c in cases if c.input_id in finished]
    if case is None:
        progress = f"Set {rs.name}: all {len(cases)} cases done ({len(finished)} finished). Thank you."
        session = replace(session, input_id=None, slots=[], assignment_id=None)
        return [session, status_html(who), status_html(progress), gr.update(value="", label="Input"), no_context, "",
                no_preference, gr.update(choices=done_choices, value=None), status, *(_hidden_slot() * MAX_OUTPUTS),
                case_data(session, message, kind, position=progress)]
    assignment_id, ordered = store.assignment(rs.id, case.input_id, session.reviewer, session.authenticated)
    order = [i.id for i in ordered]
    by_id = {i.id: i for i in ordered}
    session = replace(session, input_id=case.input_id, slots=list(zip(LABELS, order)), assignment_id=assignment_id,
                      shown_at=time.monotonic())
    progress = (f"Set {rs.name} · case {position[case.input_id]} of {len(cases)} · {len(finished)} finished"
                f"{' · revising your review' if case.input_id in finished else ''}")
    label, text, context = _text_of(case.inputs)
    past_case = next((c for c in store.case_reviews(rs.id) if c.input_id == case.input_id
                      and (c.reviewer, c.authenticated) == (session.reviewer, session.authenticated)), None)
    choices = [f"Output {LABELS[n]}" for n in range(len(order))] + [EQUAL]
    chosen = None
    if past_case is not None and past_case.preference == "equal":
        chosen = EQUAL
    elif past_case is not None and past_case.preferred_item_id in order:
        chosen = f"Output {LABELS[order.index(past_case.preferred_item_id)]}"
    preference = gr.update(choices=choices, value=chosen, visible=len(order) >= 2)
    slots: list[Any] = []
    for n in range(MAX_OUTPUTS):
        if n >= len(order):
            slots += _hidden_slot()
            continue
        item = by_id[order[n]]
        past = store.history(item.id, session.reviewer, session.authenticated)
        last = past[-1] if past else None
        numbers = []
        for c in CATEGORIES:
            count = last.count(c) if last else ErrorCount()
            numbers += [gr.update(value=count.significant), gr.update(value=count.insignificant)]
        slots += [gr.update(visible=True), gr.update(value=item.prediction, label=f"Output {LABELS[n]}"),
                  gr.update(visible=len(rs.taxonomy.categories) > 4), *numbers,
                  gr.update(value=(last.corrected_text or "") if last else ""),
                  gr.update(value=last.comment if last else "")]
    data = case_data(session, message, kind, case, text=text, label=label, context=context, reference=case.reference,
                     outputs={f"{lab}": by_id[i].prediction for lab, i in session.slots}, position=progress,
                     categories=[c.value for c in rs.taxonomy.categories])
    return [session, status_html(who), status_html(progress), gr.update(value=text, label=label),
            gr.update(value=context, visible=bool(context)), case.reference or "(this set has no reference text)",
            preference, gr.update(choices=done_choices, value=None), status, *slots, data]


def start(ctx: AppContext, typed: str | None, set_name: str | None, session: Session | None,
          request: gr.Request = None) -> list[Any]:
    """Sign in (once per session without --auth) and open the set's next unfinished case."""
    session = session or Session()
    if ctx.store is None:
        return view(ctx, session, None, NO_STORE, "error")
    try:
        reviewer, authenticated = identity(ctx, typed, request)
        if (reviewer, authenticated) != (session.reviewer, session.authenticated):
            session = Session(reviewer=reviewer, authenticated=authenticated)  # a new name is a new reviewer
        if not set_name:
            raise ReviewError("Choose a review set.")
        rs = ctx.store.get_set(set_name)
        if rs.closed:
            raise ReviewError(f"Set {rs.name} is closed: it takes no more reviews.")
        if rs.study and not authenticated:
            raise ReviewError(f"Set {rs.name} is a blinded study: reviewers must sign in. Start the app with "
                              f"--auth FILE (python -m radphi.ui.auth add USER --file FILE).")
        cases = ctx.store.cases(rs.id)
        if any(len(c.items) > MAX_OUTPUTS for c in cases):
            raise ReviewError(f"Set {rs.name} has cases with more than {MAX_OUTPUTS} outputs; this panel shows "
                              f"at most {MAX_OUTPUTS}.")
        session = replace(session, set_name=rs.name)
        case = ctx.store.next_case(rs.id, session.reviewer, session.authenticated)
        return view(ctx, session, case)
    except RadphiError as exc:
        return view(ctx, replace(session, set_name=None), None, str(exc), "error")


def _unchanged(session: Session, message: str) -> list[Any]:
    """A refused submission: the page as it was, the reason in the status line."""
    return [session, *([gr.update()] * 7), status_html(message, "error"),
            *([gr.update()] * (SLOT_OUTPUTS * MAX_OUTPUTS)), case_data(session, message, "error")]


def submit(ctx: AppContext, session: Session | None, preference: str | None, *values: Any,
           request: gr.Request = None) -> list[Any]:
    """Store the shown case's reviews and its case answer (preference, seconds spent) in one
    transaction and open the next unfinished case. `values` are, per slot, the category
    numbers (significant, not significant) then the corrected text and the comment. A
    refused submission changes nothing and keeps the page."""
    session = session or Session()
    if ctx.store is None or not session.slots:
        message = NO_STORE if ctx.store is None else "Start reviewing first: choose a set and click Start."
        return _unchanged(session, message)
    per_slot = NUMBERS_PER_SLOT + 2
    case_seconds = max(0.0, time.monotonic() - session.shown_at)
    elapsed = case_seconds / len(session.slots)
    try:
        if ctx.settings.auth_file is not None and getattr(request, "username", None) != session.reviewer:
            raise ReviewError("The signed-in user changed; reload the page.")
        labels = {f"Output {label}": item_id for label, item_id in session.slots}
        if preference not in (None, "", EQUAL) and preference not in labels:
            raise ReviewError(f"Unknown choice {preference!r} for the better output.")
        preferred = None if not preference else "equal" if preference == EQUAL else labels[preference]
        drafts = []
        for n, (label, item_id) in enumerate(session.slots):
            v = values[n * per_slot:(n + 1) * per_slot]
            counts = {c: (_number(v[2 * k]), _number(v[2 * k + 1])) for k, c in enumerate(CATEGORIES)}
            drafts.append(ReviewDraft(item_id=item_id, reviewer=session.reviewer, authenticated=session.authenticated,
                                      counts=_taxonomy_counts(ctx, session, counts), corrected_text=v[-2] or None,
                                      comment=v[-1] or "", seconds=elapsed, label=label))
        ctx.store.submit_case(drafts, preference=preferred, case_seconds=case_seconds,
                              assignment_id=session.assignment_id)
    except RadphiError as exc:
        return _unchanged(session, f"Not saved: {exc}")
    done = session.input_id
    case = ctx.store.next_case(session.set_name, session.reviewer, session.authenticated)
    return view(ctx, session, case, f"Saved ({len(drafts)} output{'s' if len(drafts) != 1 else ''})."
                if case is None or case.input_id != done else "Saved.")


def _taxonomy_counts(ctx: AppContext, session: Session, counts: dict[ErrorCategory, Any]) -> dict[ErrorCategory, Any]:
    # Hidden category boxes (a paper-taxonomy set) are not the reviewer's input.
    scored = ctx.store.get_set(session.set_name).taxonomy.categories
    return {c: v for c, v in counts.items() if c in scored}


def reopen(ctx: AppContext, session: Session | None, input_id: str | None) -> list[Any]:
    """Open one of this reviewer's finished cases again, with their latest answers filled in."""
    session = session or Session()
    if ctx.store is None or not session.set_name:
        return view(ctx, session, None, "Start reviewing first: choose a set and click Start.", "error")
    try:
        if not input_id:
            raise ReviewError("Choose one of your finished cases.")
        if input_id not in ctx.store.reviewed_inputs(session.set_name, session.reviewer, session.authenticated):
            raise ReviewError("You can reopen only cases you have finished.")
        return view(ctx, session, ctx.store.case(session.set_name, input_id))
    except RadphiError as exc:
        return view(ctx, session, None, str(exc), "error")


def open_sets(ctx: AppContext) -> Any:
    names = [s.name for s in ctx.store.sets(include_closed=False)] if ctx.store is not None else []
    return gr.update(choices=names, value=names[0] if len(names) == 1 else None)


def build(ctx: AppContext) -> None:
    auth = ctx.settings.auth_file is not None
    with gr.Tab("Reviewer", id="review") as tab:
        state = gr.State(Session())
        with gr.Row():
            name = gr.Textbox(label="Your name", visible=not auth, elem_id="review-name", scale=2,
                              info="asked once per session; without sign-in it is recorded as typed")
            sets = open_sets(ctx)
            set_pick = gr.Dropdown(choices=sets["choices"], value=sets["value"], label="Review set",
                                   elem_id="review-set", scale=2,
                                   # New sets appear after the page was built; the handler checks the name.
                                   allow_custom_value=True)
            go = gr.Button("Start reviewing", variant="primary", elem_id="review-start", scale=1)
        who = gr.HTML(status_html(""), elem_id="review-who", js_on_load=None)
        progress = gr.HTML(status_html(""), elem_id="review-progress", js_on_load=None)
        with gr.Row():
            source = gr.Textbox(label="Input", lines=6, interactive=False, elem_id="review-input")
            reference = gr.Textbox(label="Reference", lines=6, interactive=False, elem_id="review-reference")
        context = gr.Textbox(label="Indication, prior report and full report", lines=6, interactive=False,
                             visible=False, elem_id="review-context")
        slot_components: list[Any] = []
        enter_targets: list[Any] = []
        slot_inputs: list[Any] = []
        for n in range(MAX_OUTPUTS):
            key = LABELS[n].lower()
            with gr.Group(visible=False, elem_id=f"review-slot-{key}") as group:
                output = gr.Textbox(label=f"Output {LABELS[n]}", lines=4, interactive=False,
                                    elem_id=f"review-output-{key}")
                numbers: list[Any] = []
                with gr.Row():
                    for c in CATEGORIES[:4]:
                        numbers += _category_inputs(key, c)
                with gr.Row(visible=False) as extras:
                    for c in CATEGORIES[4:]:
                        numbers += _category_inputs(key, c)
                with gr.Row():
                    comment = gr.Textbox(label="Comment", lines=1, max_lines=1, elem_id=f"review-comment-{key}",
                                         scale=2, info="Enter submits the case")
                    corrected = gr.Textbox(label="Corrected text (optional)", lines=2,
                                           elem_id=f"review-corrected-{key}", scale=3)
            slot_components += [group, output, extras, *numbers, corrected, comment]
            slot_inputs += [*numbers, corrected, comment]
            enter_targets += [*numbers, comment]
        preference = gr.Radio(choices=[], label="Which output is better overall?", visible=False,
                              elem_id="review-preference", info="optional; A, B, ... as shown above")
        with gr.Row():
            send = gr.Button("Submit and next case", variant="primary", elem_id="review-submit")
            finished = gr.Dropdown(choices=[], label="Your finished cases", elem_id="review-finished", scale=2,
                                   allow_custom_value=True)  # filled per session; `reopen` checks ownership
            again = gr.Button("Reopen", elem_id="review-reopen", scale=1)
        status = gr.HTML(status_html(""), elem_id="review-status", js_on_load=None)
        panel = gr.JSON(visible=False, label="Review panel", elem_id="review-data")  # the panel as data (API)
        outputs = [state, who, progress, source, context, reference, preference, finished, status, *slot_components,
                   panel]
        focus = "() => { setTimeout(() => document.querySelector('#review-slot-a input[type=number]')?.focus(), 50); }"
        # Closures, not functools.partial: gradio finds the gr.Request parameter by its type hint,
        # which a partial object hides.
        def _start(request: gr.Request, typed: str, set_name: str, session: Session) -> list[Any]:
            return start(ctx, typed, set_name, session, request)

        _start.__doc__ = ("Start (or switch) reviewing a set: the next unfinished case. Returns the panel's "
                          "outputs, the last of them the panel as data (reviewer, progress, the case's input, "
                          "reference and outputs by label, its categories, the status message).\n\nArgs:\n"
                          "    typed: your name (ignored when the app requires sign-in).\n"
                          "    set_name: the review set's name.")

        def _submit(request: gr.Request, session: Session, better: str | None, *values: Any) -> list[Any]:
            return submit(ctx, session, better, *values, request=request)

        @common.api_doc("Store the shown case's review and open the next case.",
                        "the panel as data: the status message ('Saved.' or why not), the progress, and the "
                        "next case (input, reference, outputs by label) or None when the set is done.",
                        review=f"one object: {REVIEW_OBJECT}. Counts not given are 0.")
        def review_submit(request: gr.Request, session: Session, review: dict) -> tuple[Any, Any]:
            try:
                better, values = values_from_object(session or Session(), review)
            except RadphiError as exc:
                out = _unchanged(session or Session(), f"Not saved: {exc}")
            else:
                out = submit(ctx, session, better, *values, request=request)
            return out[0], out[-1]

        @common.api_doc("Reopen one of your finished cases to revise it.",
                        "the panel's outputs, the last of them the panel as data.",
                        input_id="the case's id, from your finished cases.")
        def review_reopen(session: Session, input_id: str) -> list[Any]:
            return reopen(ctx, session, input_id)

        go.click(_start, inputs=[name, set_pick, state], outputs=outputs, api_name="review_start").then(None, js=focus)
        # The page's 56 boxes are not an API: clients call /review_submit with one object.
        gr.on([send.click, *[t.submit for t in enter_targets]], _submit, inputs=[state, preference, *slot_inputs],
              outputs=outputs, api_visibility="private").then(None, js=focus)
        review_in = gr.JSON(visible=False, label="Review")
        api_submit = gr.Button(visible=False, elem_id="review-api-submit")
        api_submit.click(review_submit, inputs=[state, review_in], outputs=[state, panel], api_name="review_submit")
        again.click(review_reopen, inputs=[state, finished], outputs=outputs,
                    api_name="review_reopen").then(None, js=focus)
        tab.select(lambda: open_sets(ctx), outputs=set_pick, api_visibility="private", queue=False)


def _category_inputs(key: str, c: ErrorCategory) -> list[Any]:
    with gr.Column(min_width=150):
        sig = gr.Number(value=0, precision=0, label=f"{c.title}: significant", elem_id=f"review-{key}-{c.value}-sig")
        insig = gr.Number(value=0, precision=0, label="not significant", elem_id=f"review-{key}-{c.value}-insig")
    return [sig, insig]
