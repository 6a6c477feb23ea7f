"""HTML for the Compare tab: one row per finding, coloured by its change (new red,
worsened amber, improved or resolved green, unchanged grey), the sentence it comes from
in each report beside it, and what the model's answers said of it.

The rows are read from the two reports (radphi.comparison); the model's added/removed
and progression answers are shown against them, and what the model names that neither
report shows as a change is listed apart, so no finding appears twice.
"""

from __future__ import annotations

from typing import Any

from radphi.comparison import IMPROVED, NEW, RESOLVED, UNCHANGED, WORSENED, compare_reports
from radphi.verify.temporal import finding_label
from radphi.ui.render import esc

COLOURS = {  # change -> (border, background, text)
    NEW: ("#b91c1c", "#fee2e2", "#7f1d1d"),
    WORSENED: ("#b45309", "#fef3c7", "#78350f"),
    IMPROVED: ("#15803d", "#dcfce7", "#14532d"),
    RESOLVED: ("#15803d", "#dcfce7", "#14532d"),
    UNCHANGED: ("#6b7280", "#f3f4f6", "#374151"),
}
ORDER = (NEW, WORSENED, IMPROVED, RESOLVED, UNCHANGED)
_CELL = "padding:4px 8px;border-top:1px solid #e5e7eb;vertical-align:top;"


def _badge(change: str) -> str:
    border, bg, fg = COLOURS[change]
    return (f'<span class="rp-change-badge" style="display:inline-block;padding:1px 8px;border-radius:10px;'
            f'border:1px solid {border};background:{bg};color:{fg};font-weight:600;">{esc(change)}</span>')


def _model_said(findings: dict[str, list[str]] | None, progression: list[dict[str, str]] | None
                ) -> tuple[dict[str, list[str]], list[str]]:
    """label -> what the model's answers said of it; and the items naming no known finding."""
    said: dict[str, list[str]] = {}
    loose: list[str] = []

    def add(item: str, word: str) -> None:
        label = finding_label(item)
        if label is None:
            text = f"{item}: {word}"
            if text not in loose:
                loose.append(text)
        elif word not in said.setdefault(label, []):
            said[label].append(word)

    for key, word in (("added", "added"), ("removed", "removed")):
        for item in (findings or {}).get(key, []):
            add(item, word)
    for item in progression or []:
        add(item.get("finding", ""), item.get("change", ""))
    return said, loose


def comparison_view(current: str, prior: str, findings: dict[str, list[str]] | None = None,
                    progression: list[dict[str, str]] | None = None) -> str:
    """The page's comparison of PRIOR to CURRENT, with the model's answers (None: not yet)."""
    if not (current or "").strip() or not (prior or "").strip():
        return ('<div class="rp-compare"><span style="color:#6b7280;">Paste both reports and press Compare.'
                "</span></div>")
    changes = sorted(compare_reports(current, prior), key=lambda c: ORDER.index(c.change))
    said, loose = _model_said(findings, progression)
    waiting = findings is None and progression is None
    rows = []
    for c in changes:
        border = COLOURS[c.change][0]
        model = "…" if waiting else ", ".join(said.pop(c.finding, [])) or "not named"
        rows.append(
            f'<tr class="rp-change rp-change-{esc(c.change)}" data-change="{esc(c.change)}" '
            f'data-finding="{esc(c.finding)}" style="border-left:6px solid {border};">'
            f'<td style="{_CELL}font-weight:600;">{esc(c.finding)}</td><td style="{_CELL}">{_badge(c.change)}</td>'
            f'<td class="rp-current" style="{_CELL}">{esc(c.current or "not named")}</td>'
            f'<td class="rp-prior" style="{_CELL}">{esc(c.prior or "not named")}</td>'
            f'<td class="rp-model" style="{_CELL}color:#374151;">{esc(model)}</td></tr>')
    head = "".join(f'<th style="{_CELL}text-align:left;">{h}</th>' for h in
                   ("Finding", "Change", "Current report", "Prior report", "The model said"))
    body = "".join(rows) or (f'<tr><td colspan="5" style="{_CELL}color:#6b7280;">Neither report names a finding '
                             "the reader knows.</td></tr>")
    extra = [f"{label}: {', '.join(words)}" for label, words in said.items()] + loose
    apart = ""
    if extra:
        items = "".join(f'<li class="rp-model-only">{esc(x)}</li>' for x in extra)
        apart = (f'<div class="rp-group rp-model-only-group" style="margin:6px 0;color:#6b7280;font-style:italic;">'
                 f"Named by the model, but not a change either report shows:<ul>{items}</ul></div>")
    legend = " ".join(_badge(c) for c in ORDER)
    return (f'<div class="rp-compare"><div style="margin-bottom:4px;font-size:0.9em;">{legend}</div>'
            f'<table class="rp-compare-table" style="border-collapse:collapse;width:100%;">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{apart}</div>")


def render_for(current: str, prior: str) -> Any:
    """The `render` callback `stream_tasks` calls with the two tasks' parsed answers."""

    def render(findings: dict[str, list[str]] | None, progression: list[dict[str, str]] | None) -> str:
        return comparison_view(current, prior, findings, progression)

    return render
