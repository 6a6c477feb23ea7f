"""Dashboard tab: the review set's errors per model and category (the paper's table) with
bootstrap CIs, a chart, the per-reviewer breakdown, the automatic checker's flags beside
the reviewers' counts (per category, so still blinded), inter-rater agreement and the
blinded A/B result; downloads as CSV and as an HTML report. The Reviewer tab never shows
the checker's flags: they would steer the reviewers it is compared with.

Who sees what (checked in every handler, not only by hiding controls):
- An open blinded study: only a signed-in admin sees its dashboard, per-model results
  and all; without --auth nobody can, so reviewers cannot watch the counts move.
- A practice set, or any closed set: everyone who can open the page, model names
  hidden ("Model 1", ...) until the set is closed or an admin unblinds them; each
  unblinding is written to the audit log.
- Without --auth reviewer names were typed, not verified, and the page says so.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import gradio as gr
import pandas as pd

from radphi.review import checker as review_checker
from radphi.errors import RadphiError
from radphi.files import write_private_text
from radphi.review.report import figure, summary_line, write_report
from radphi.review.stats import Dashboard, dashboard, dashboard_csv
from radphi.review.model import ReviewError
from radphi.ui import common
from radphi.ui.context import AppContext
from radphi.ui.render import status_html
from radphi.ui.streaming import error_message

log = logging.getLogger(__name__)

NO_AUTH_NOTE = ("Sign-in is off: this page shows practice sets and closed sets only (an open blinded study needs "
                "a signed-in admin); reviewer names were typed, not verified, and model names stay hidden until "
                "the set is closed.")
CLOSED_STUDY = ("Set {name} is an open blinded study: its results are shown only to a signed-in admin until it is "
                "closed (radphi review close SET).")


def access(ctx: AppContext, request: Any) -> tuple[str, bool]:
    """(who, is a signed-in admin) for this request."""
    if ctx.settings.auth_file is None:
        return "app user (not signed in)", False
    user = getattr(request, "username", None) or ""
    return user, ctx.store is not None and ctx.store.is_admin(user, True)


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.round(3) if len(frame) else frame


def _build(ctx: AppContext, set_name: str | None, unblind: bool, request: Any) -> tuple[Dashboard, str, str]:
    """The dashboard for this request, or ReviewError saying why not; (d, who, summary HTML)."""
    if ctx.store is None:
        raise ReviewError("The review store is not available in this app.")
    who, admin = access(ctx, request)
    if not set_name:
        raise ReviewError("Choose a review set.")
    rs = ctx.store.get_set(set_name)
    if rs.study and not rs.closed and not admin:
        raise ReviewError(CLOSED_STUDY.format(name=rs.name))
    if unblind and not admin:
        raise ReviewError("Only a signed-in admin can unblind model names; or close the set "
                          "(radphi review close SET) to show them to everyone who can see the dashboard.")
    d = dashboard(ctx.store, rs.id, unblind=unblind)
    if unblind and not d.review_set.closed:
        ctx.store.log_event("unblind", who, True, set_id=d.review_set.id, detail={"via": "dashboard"})
    lines = [status_html(summary_line(d))] + [status_html(n) for n in d.notes]
    return d, who, "".join(lines)


def show(ctx: AppContext, set_name: str | None, unblind: bool, request: Any = None) -> list[Any]:
    """(summary HTML, paper table, chart, per reviewer, checker vs reviewers, agreement, A/B,
    preference, preference agreement)."""
    empty = pd.DataFrame()
    try:
        d, _, summary = _build(ctx, set_name, unblind, request)
    except RadphiError as exc:
        return [status_html(str(exc), "error"), empty, None, *[empty] * 6]
    except Exception as exc:  # a broken set must not take the page down
        return [status_html(error_message(exc), "error"), empty, None, *[empty] * 6]
    fig = figure(d) if len(d.errors) else None
    models = len(d.paper.columns) - 1
    # Fixed widths let the long cells wrap instead of running off the page.
    widths = ["16%", *[f"{84 / models:.1f}%"] * models] if models else None
    paper = gr.update(value=d.paper, column_widths=widths)
    return [summary, paper, fig, _rounded(d.per_reviewer), review_checker.display(d.checker), _rounded(d.agreement),
            _rounded(d.ab), _rounded(d.preference), _rounded(d.preference_agreement)]


def download(ctx: AppContext, set_name: str | None, unblind: bool, request: Any = None) -> list[Any]:
    """(CSV file, HTML report file, status) in the app's private directory; logged as an export."""
    try:
        d, who, _ = _build(ctx, set_name, unblind, request)
    except RadphiError as exc:
        return [None, None, status_html(str(exc), "error")]
    out = ctx.private_dir("dashboard-")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", d.review_set.name)[:60] or "set"
    csv_path = out / f"review-{stem}.csv"
    write_private_text(csv_path, dashboard_csv(d))
    html_path = write_report(d, out / f"review-{stem}.html")
    ctx.store.log_event("export", who, ctx.settings.auth_file is not None, set_id=d.review_set.id,
                        detail={"format": "dashboard csv+html", "unblinded": d.unblinded})
    return [str(csv_path), str(html_path), status_html(f"Dashboard of {d.review_set.name} ready to download.")]


def close_set(ctx: AppContext, set_name: str | None, request: Any = None) -> str:
    """Close a set (admins, with --auth): it takes no more reviews and its model names show."""
    who, admin = access(ctx, request)
    if ctx.store is None or not admin:
        return status_html("Only a signed-in admin can close a set here (or use: radphi review close SET).", "error")
    try:
        rs = ctx.store.close_set(set_name or "", actor=who, authenticated=True)
    except RadphiError as exc:
        return status_html(str(exc), "error")
    return status_html(f"Set {rs.name} is closed.")


def all_sets(ctx: AppContext) -> Any:
    """Every set's name; none chosen unless there is only one (a download must never
    silently take a set the user did not pick)."""
    names = [s.name for s in ctx.store.sets()] if ctx.store is not None else []
    return gr.update(choices=names, value=names[0] if len(names) == 1 else None)


def build(ctx: AppContext) -> None:
    auth = ctx.settings.auth_file is not None
    with gr.Tab("Dashboard", id="dashboard") as tab:
        gr.HTML(status_html("Open blinded studies: admins only. Practice and closed sets: everyone signed in."
                            if auth else NO_AUTH_NOTE),
                elem_id="dashboard-access", js_on_load=None)
        with gr.Row():
            sets = all_sets(ctx)
            set_pick = gr.Dropdown(choices=sets["choices"], value=sets["value"], label="Review set",
                                   elem_id="dashboard-set", scale=3, allow_custom_value=True)
            unblind = gr.Checkbox(value=False, label="Show model names (admins)", elem_id="dashboard-unblind",
                                  interactive=auth, scale=1)
            refresh = gr.Button("Show", variant="primary", elem_id="dashboard-show", scale=1)
        summary = gr.HTML(status_html(""), elem_id="dashboard-summary", js_on_load=None)
        paper = gr.Dataframe(label="Errors per model and category: errors (significant) in reviews · per case [95% CI] · "
                                   "per finding [95% CI]", interactive=False, wrap=True, elem_id="dashboard-table")
        plot = gr.Plot(label="Errors per case", elem_id="dashboard-plot")
        reviewers = gr.Dataframe(label="Per reviewer", interactive=False, elem_id="dashboard-reviewers")
        checker = gr.Dataframe(label="Automatic checker beside the reviewers, per category", interactive=False,
                               wrap=True, elem_id="dashboard-checker")
        gr.Markdown(review_checker.NOTE, elem_id="dashboard-checker-note")
        agreement = gr.Dataframe(label="Inter-rater agreement (outputs scored by two or more reviewers)",
                                 interactive=False, wrap=True, elem_id="dashboard-agreement")
        ab = gr.Dataframe(label="Blinded A/B: which model had fewer errors", interactive=False, elem_id="dashboard-ab")
        preference = gr.Dataframe(label="Which output is better: reviewers' answers per pair of models "
                                        "(Wilson 95% interval of A's share of decisive answers)",
                                  interactive=False, elem_id="dashboard-preference")
        preference_agreement = gr.Dataframe(label="Agreement on the preferred output", interactive=False,
                                            elem_id="dashboard-preference-agreement")
        with gr.Row():
            get = gr.Button("Prepare downloads (CSV, HTML report)", elem_id="dashboard-download")
            csv_file = gr.File(label="CSV", interactive=False, elem_id="dashboard-csv")
            html_file = gr.File(label="HTML report", interactive=False, elem_id="dashboard-html")
        with gr.Row(visible=auth):
            close = gr.Button("Close this set (no more reviews; names shown)", variant="stop",
                              elem_id="dashboard-close")
        note = gr.HTML(status_html(""), elem_id="dashboard-note", js_on_load=None)

        set_doc = "the review set's name."
        blind_doc = "show model names (admins of an open study only; anyone for a practice or closed set)."

        @common.api_doc("A review set's dashboard: errors per model and category with intervals, per reviewer, "
                        "the checker beside the reviewers, agreement and preferences.",
                        "the summary (HTML), then the tables and the plot.", set_name=set_doc, blind_off=blind_doc)
        def _show(request: gr.Request, set_name: str, blind_off: bool) -> list[Any]:
            return show(ctx, set_name, blind_off, request)

        @common.api_doc("A review set's results as a CSV file and an HTML report.",
                        "the CSV file, the HTML report, and a status line (HTML).", set_name=set_doc,
                        blind_off=blind_doc)
        def _download(request: gr.Request, set_name: str, blind_off: bool) -> list[Any]:
            return download(ctx, set_name, blind_off, request)

        @common.api_doc("Close a review set (admins): it takes no more reviews, and its model names can be shown.",
                        "a status line (HTML).", set_name=set_doc)
        def _close(request: gr.Request, set_name: str) -> str:
            return close_set(ctx, set_name, request)

        refresh.click(_show, inputs=[set_pick, unblind],
                      outputs=[summary, paper, plot, reviewers, checker, agreement, ab, preference,
                               preference_agreement],
                      api_name="dashboard")
        get.click(_download, inputs=[set_pick, unblind], outputs=[csv_file, html_file, note],
                  api_name="dashboard_download")
        close.click(_close, inputs=[set_pick], outputs=[note], api_name="dashboard_close")
        tab.select(lambda: all_sets(ctx), outputs=set_pick, api_visibility="private", queue=False)
