"""The evaluation report: one self-contained HTML page (plotly's JS inlined, readable offline).

Per task:
- a table shaped like the paper's (models x metrics, "34.86 [30.26, 39.59]"), the best
  value per column in bold;
- grouped bars per metric, one colour per model, the CI as error bars;
- with --by: a heat map of model x stratum for one metric, and the per-stratum table
  (the paper's Table 7 shape, the best value per row in bold);
- the paired differences ("A − B") with their CIs; per-label scores for label tasks.

Scores on the 0-1 scale are shown x100, as in the paper; judge scores on their 1-10 scale;
the checker's flags (`flags_*`) per 100 records as the table holds them, in their own bar
chart, and there the lowest value is the one in bold.
Every text that comes from records (model names, strata, labels) is HTML-escaped.
"""

from __future__ import annotations

import html
import logging
import math
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from radphi.evaluation.aggregate import PAIR_SEP
from radphi import tasks
from radphi.files import write_private_text

log = logging.getLogger(__name__)

METRIC_TITLES = {
    "f1": "F1-Score", "precision": "Precision", "recall": "Recall", "bleu1": "BLEU-1", "rougeL": "RougeL",
    "radgraph_f1": "RadGraph F1", "label_precision": "Precision", "label_recall": "Recall", "label_f1": "F1-Score",
    "label_micro_precision": "Micro precision", "label_micro_recall": "Micro recall", "label_micro_f1": "Micro F1",
    "judge_relevance": "Relevance (max 10)", "judge_accuracy": "Accuracy (max 10)",
    "added_precision": "Added precision", "added_recall": "Added recall", "added_f1": "Added F1",
    "removed_precision": "Removed precision", "removed_recall": "Removed recall", "removed_f1": "Removed F1",
    "progression_accuracy": "Progression accuracy",
    "flags_missed_finding": "Missed findings per 100 records", "flags_false_finding": "False findings per 100 records",
    "flags_position": "Position errors per 100 records", "flags_severity": "Severity errors per 100 records",
    "flags_significant": "Significant flags per 100 records",
}
FLAG_PREFIX = "flags_"  # the checker's flags: per 100 records in the table, lower is better
_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1em 0;font-size:14px}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
caption{caption-side:top;text-align:left;font-weight:600;padding:4px 0}
.ci{color:#666;font-size:12px}
.note{background:#fff7e0;border-left:4px solid #e0a800;padding:6px 10px;margin:4px 0}
.sig{color:#0a6}
"""


def scale(metric: str) -> float:
    """x100 for 0-1 scores (as the paper prints them), x1 for judge scores and for the
    checker's flags (already per 100 records in the table)."""
    return 1.0 if metric.startswith(("judge_", FLAG_PREFIX)) else 100.0


def is_flag(metric: str) -> bool:
    return metric.startswith(FLAG_PREFIX)


def lower_is_better(metric: str) -> bool:
    return is_flag(metric)


def title(metric: str) -> str:
    base, _, label = metric.partition(":")
    return METRIC_TITLES.get(base, base) + (f" ({label})" if label else "")


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _fmt(value: float) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"


def _cell(row: pd.Series, bold: bool = False) -> str:
    k = scale(row["metric"])
    if pd.isna(row["value"]):
        return f'<td title="n = {int(row["n"])}">missing</td>'
    value = _fmt(row["value"] * k)
    value = f"<b>{value}</b>" if bold else value
    ci = f' <span class="ci">[{_fmt(row["ci_low"] * k)}, {_fmt(row["ci_high"] * k)}]</span>'
    return f'<td title="n = {int(row["n"])}">{value}{ci}</td>'


def _best(values: Iterable[float], metric: str = "") -> float | None:
    """The best of VALUES for METRIC: the highest, or the lowest for flag counts."""
    clean = [v for v in values if v is not None and not math.isnan(v)]
    if not clean:
        return None
    return min(clean) if lower_is_better(metric) else max(clean)


def display_metrics(table: pd.DataFrame, task: str) -> list[str]:
    """The task's metrics in table order: the task's own, then the extras, then the checker's
    flags (no per-label rows)."""
    present = list(dict.fromkeys(m for m in table["metric"] if ":" not in m))
    own = [m for m in tasks.TASKS[task].metrics if m in present] if task in tasks.TASKS else []
    extras = [m for m in present if m not in own]
    return own + [m for m in extras if not is_flag(m)] + [m for m in extras if is_flag(m)]


def paper_table(table: pd.DataFrame, task: str, models: Sequence[str]) -> str:
    """Models x metrics for stratum "all"; the best value per column in bold."""
    metrics = display_metrics(table, task)
    cell = {(r.model, r.metric): r for r in table[table["stratum"] == "all"].itertuples(index=False)}
    best = {m: _best((cell[(mo, m)].value for mo in models if (mo, m) in cell), m) for m in metrics}
    head = "".join(f"<th>{_esc(title(m))}</th>" for m in metrics)
    body = []
    for model in models:
        tds = []
        for m in metrics:
            r = cell.get((model, m))
            tds.append("<td></td>" if r is None else _cell(pd.Series(r._asdict()), r.value == best[m] and best[m] is not None))
        body.append(f"<tr><td>{_esc(model)}</td>{''.join(tds)}</tr>")
    return (f"<table><caption>{_esc(tasks.TASKS[task].title if task in tasks.TASKS else task)}</caption>"
            f"<tr><th>Model</th>{head}</tr>{''.join(body)}</table>")


def strata_table(table: pd.DataFrame, task: str, models: Sequence[str]) -> str:
    """The paper's per-system shape: stratum x metric rows, model columns; best per row in bold."""
    metrics = display_metrics(table, task)
    strata = [s for s in dict.fromkeys(table["stratum"]) if s != "all"]
    cell = {(r.model, r.stratum, r.metric): r for r in table.itertuples(index=False)}
    body = []
    for s in strata:
        for i, m in enumerate(metrics):
            rows = [cell.get((mo, s, m)) for mo in models]
            best = _best((r.value for r in rows if r is not None), m)
            tds = "".join("<td></td>" if r is None else _cell(pd.Series(r._asdict()), r.value == best and best is not None)
                          for r in rows)
            first = f'<td rowspan="{len(metrics)}">{_esc(s)}</td>' if i == 0 else ""
            body.append(f"<tr>{first}<td>{_esc(title(m))}</td>{tds}</tr>")
    head = "".join(f"<th>{_esc(m)}</th>" for m in models)
    return f"<table><tr><th>Stratum</th><th>Metric</th>{head}</tr>{''.join(body)}</table>"


def pairs_table(table: pd.DataFrame, task: str, pairs: Sequence[str]) -> str:
    metrics = display_metrics(table, task)
    cell = {(r.model, r.metric): r for r in table[table["stratum"] == "all"].itertuples(index=False)}
    body = []
    for pair in pairs:
        tds = []
        for m in metrics:
            r = cell.get((pair, m))
            if r is None:
                tds.append("<td></td>")
                continue
            html_cell = _cell(pd.Series(r._asdict()))
            if not pd.isna(r.ci_low) and (r.ci_low > 0 or r.ci_high < 0):
                html_cell = html_cell.replace("<td", '<td class="sig"', 1)
            tds.append(html_cell)
        body.append(f"<tr><td>{_esc(pair)}</td>{''.join(tds)}</tr>")
    head = "".join(f"<th>{_esc(title(m))}</th>" for m in metrics)
    return (f"<table><caption>Paired differences on shared ids (green: the CI excludes 0)</caption>"
            f"<tr><th>Models</th>{head}</tr>{''.join(body)}</table>")


def label_table(table: pd.DataFrame, model: str) -> str:
    rows = table[(table["model"] == model) & (table["stratum"] == "all") & table["metric"].str.contains(":")]
    if rows.empty:
        return ""
    by_label: dict[str, dict[str, pd.Series]] = {}
    for _, r in rows.iterrows():
        metric, _, label = r["metric"].partition(":")
        by_label.setdefault(label, {})[metric] = r
    body = []
    for label, cells in by_label.items():
        support = int(next(iter(cells.values()))["n"])
        tds = "".join(_cell(cells[m]) if m in cells else "<td></td>" for m in ("label_precision", "label_recall", "label_f1"))
        body.append(f"<tr><td>{_esc(label)}</td>{tds}<td>{support}</td></tr>")
    return (f"<details><summary>Per-label scores: {_esc(model)}</summary><table><tr><th>Label</th><th>Precision</th>"
            f"<th>Recall</th><th>F1</th><th>Support</th></tr>{''.join(body)}</table></details>")


def bar_figure(table: pd.DataFrame, task: str, models: Sequence[str], colors: dict[str, str],
               flags: bool = False):
    """Grouped bars with CI error bars: the scores, or (`flags`) the checker's flags per 100 records."""
    import plotly.graph_objects as go

    metrics = [m for m in display_metrics(table, task) if is_flag(m) == flags]
    fig = go.Figure()
    allrows = table[table["stratum"] == "all"]
    for model in models:
        mrows = allrows[allrows["model"] == model].set_index("metric")
        xs, ys, up, down = [], [], [], []
        for m in metrics:
            if m not in mrows.index:
                continue
            r, k = mrows.loc[m], scale(m)
            xs.append(_esc(title(m)))
            ys.append(None if pd.isna(r["value"]) else r["value"] * k)
            up.append(None if pd.isna(r["ci_high"]) else (r["ci_high"] - r["value"]) * k)
            down.append(None if pd.isna(r["ci_low"]) else (r["value"] - r["ci_low"]) * k)
        fig.add_trace(go.Bar(name=_esc(model), x=xs, y=ys, marker_color=colors[model],
                             error_y=dict(type="data", array=up, arrayminus=down, visible=True)))
    heading = _esc(tasks.TASKS[task].title if task in tasks.TASKS else task)
    if flags:
        heading += ": checker flags (radphi.verify; lower is better)"
    fig.update_layout(barmode="group", title=heading,
                      yaxis_title="flags per 100 records" if flags else "score (x100; judge: 1-10)", height=420,
                      legend_title="model")
    return fig


def heatmap_figure(table: pd.DataFrame, task: str, models: Sequence[str], metric: str):
    import plotly.graph_objects as go

    rows = table[(table["metric"] == metric) & (table["stratum"] != "all")]
    strata = list(dict.fromkeys(rows["stratum"]))
    cell = {(r.model, r.stratum): r.value * scale(metric) for r in rows.itertuples(index=False)}
    z = [[cell.get((m, s)) for s in strata] for m in models]
    text = [["missing" if v is None or math.isnan(v) else f"{v:.1f}" for v in row] for row in z]
    fig = go.Figure(go.Heatmap(z=z, x=[_esc(s) for s in strata], y=[_esc(m) for m in models], text=text,
                               texttemplate="%{text}", colorscale="Viridis", colorbar_title=_esc(title(metric))))
    fig.update_layout(title=f"{_esc(title(metric))} by stratum", height=120 + 40 * len(models))
    return fig


def write_report(table: pd.DataFrame, path: str | Path, *, heading: str = "radphi evaluation",
                 heatmap_metric: str | None = None, notes: Sequence[str] = (), by: str | None = None,
                 plotlyjs: str | None = None) -> Path:
    """Write the HTML report of a metrics table; returns its path.

    Self-contained (plotly's JS inlined, ~4.6 MB) unless `plotlyjs` names a script to load
    instead, e.g. "../plotly.min.js" for reports that share one copy (see `write_plotlyjs`).
    """
    from plotly.colors import qualitative

    path = Path(path)
    all_models = [m for m in dict.fromkeys(table["model"]) if PAIR_SEP not in m]
    palette = qualitative.Plotly
    colors = {m: palette[i % len(palette)] for i, m in enumerate(all_models)}
    parts = [f"<h1>{_esc(heading)}</h1>"]
    parts += [f'<div class="note">{_esc(n)}</div>' for n in notes]
    js_done = False

    def fig_html(fig) -> str:
        nonlocal js_done
        first = plotlyjs if plotlyjs else True
        out = fig.to_html(full_html=False, include_plotlyjs=False if js_done else first, config={"responsive": True})
        js_done = True
        return out

    for task in dict.fromkeys(table["task"]):
        tt = table[table["task"] == task]
        models = [m for m in all_models if m in set(tt["model"])]
        pairs = [m for m in dict.fromkeys(tt["model"]) if PAIR_SEP in m]
        parts.append(f"<h2>{_esc(tasks.TASKS[task].title if task in tasks.TASKS else task)}</h2>")
        parts.append(paper_table(tt, task, models))
        metrics = display_metrics(tt, task)
        if any(not is_flag(m) for m in metrics):
            parts.append(fig_html(bar_figure(tt, task, models, colors)))
        if any(is_flag(m) for m in metrics):
            parts.append(fig_html(bar_figure(tt, task, models, colors, flags=True)))
        if (tt["stratum"] != "all").any():
            metric = heatmap_metric if heatmap_metric in set(tt["metric"]) else display_metrics(tt, task)[0]
            parts.append(f"<h3>By {_esc(by or 'stratum')}</h3>")
            parts.append(fig_html(heatmap_figure(tt, task, models, metric)))
            parts.append(strata_table(tt[tt["model"].isin(models)], task, models))
        if pairs:
            parts.append(pairs_table(tt, task, pairs))
        parts += [label_table(tt, m) for m in models]
    page = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{_esc(heading)}</title>'
            f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>")
    # Owner-only: model names, strata and labels come from the records (radphi.files).
    return write_private_text(path, page)


def write_plotlyjs(directory: str | Path) -> Path:
    """plotly.min.js (the installed plotly's, offline) into DIRECTORY, for `write_report(plotlyjs=...)`."""
    from plotly.offline import get_plotlyjs

    path = Path(directory) / "plotly.min.js"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(get_plotlyjs(), encoding="utf-8")
    return path
