"""The review dashboard as a chart and a self-contained HTML page (plotly's JS inlined,
readable offline), or as a fragment that `radphi eval`'s report can include.

    html = report_html(dashboard(store, "pilot"))      # a whole page
    part = report_section(d, include_plotlyjs=False)     # for a page that already has plotly

Every text that comes from the store (set, model and reviewer names) is HTML-escaped.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from radphi.review import checker as review_checker
from radphi.review.stats import ALL, Dashboard, category_title

log = logging.getLogger(__name__)

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1em 0;font-size:14px}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
caption{caption-side:top;text-align:left;font-weight:600;padding:4px 0}
.note{background:#fff7e0;border-left:4px solid #e0a800;padding:6px 10px;margin:4px 0}
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return "–" if np.isnan(value) else f"{value:.3f}"
    return _esc(value)


def table_html(frame: pd.DataFrame, caption: str) -> str:
    if frame.empty:
        return f"<p><b>{_esc(caption)}</b>: nothing to show yet.</p>"
    head = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><caption>{_esc(caption)}</caption><tr>{head}</tr>{body}</table>"


def figure(d: Dashboard):
    """Grouped bars: errors per case by category, one colour per model, CIs as error bars."""
    import plotly.graph_objects as go

    fig = go.Figure()
    e = d.errors[d.errors["category"] != ALL]
    for model, g in e.groupby("model", sort=True):
        fig.add_trace(go.Bar(
            name=_esc(model), x=[_esc(category_title(c)) for c in g["category"]], y=g["per_case"],
            error_y=dict(type="data", array=(g["per_case_high"] - g["per_case"]).tolist(),
                         arrayminus=(g["per_case"] - g["per_case_low"]).tolist(), visible=True)))
    fig.update_layout(barmode="group", title=f"Errors per case: {_esc(d.review_set.name)}",
                      yaxis_title="errors per case (95% CI over cases)", height=420, legend_title="model")
    return fig


def summary_line(d: Dashboard) -> str:
    return (f"{d.reviews} reviews by {d.reviewers} reviewer{'s' if d.reviewers != 1 else ''} of {d.cases} cases; "
            f"taxonomy {d.review_set.taxonomy.value}; set {'closed' if d.review_set.closed else 'open'}; "
            f"models {'unblinded' if d.unblinded else 'blinded'}.")


def report_section(d: Dashboard, *, include_plotlyjs: bool | str = False) -> str:
    """The dashboard as an HTML fragment (tables, notes and the chart)."""
    parts = [f"<h2>Human review: {_esc(d.review_set.name)}</h2>", f"<p>{_esc(summary_line(d))}</p>"]
    parts += [f'<div class="note">{_esc(n)}</div>' for n in d.notes]
    parts.append(table_html(d.paper, "Errors per model and category (counted over every review; rates per case "
                                     "use each case's mean over its reviewers, with 95% bootstrap CIs over cases)"))
    if len(d.errors):
        parts.append(figure(d).to_html(full_html=False, include_plotlyjs=include_plotlyjs))
    parts.append(table_html(d.per_reviewer, "Per reviewer"))
    parts.append(table_html(review_checker.display(d.checker), "Automatic checker beside the reviewers, per category"))
    parts.append(f"<p>{_esc(review_checker.NOTE)}</p>")
    parts.append(table_html(d.agreement, "Inter-rater agreement on outputs scored by two or more reviewers"))
    parts.append(table_html(d.ab, "Blinded A/B: per pair of models, which had fewer errors"))
    parts.append(table_html(d.preference, "Which output is better: reviewers' answers per pair of models "
                                          "(Wilson 95% interval of A's share of decisive answers)"))
    parts.append(table_html(d.preference_agreement, "Agreement on the preferred output (cases answered by two or "
                                                    "more reviewers)"))
    return "\n".join(parts)


def report_html(d: Dashboard) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Review: {_esc(d.review_set.name)}</title>"
            f"<style>{_STYLE}</style></head><body>{report_section(d, include_plotlyjs=True)}</body></html>")


def write_report(d: Dashboard, path: str | Path) -> Path:
    from radphi.files import write_private_text

    return write_private_text(Path(path), report_html(d))
