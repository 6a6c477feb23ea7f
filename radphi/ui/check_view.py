"""The checker in the page: each answer sentence with its source (hover or click),
flagged sentences highlighted with the reason, a "possibly missed" list, and a
critical-findings banner that is hard to miss and claims no diagnosis.

Shown on every task tab once an answer has finished; never on the Reviewer tab, where
it would bias a blinded review.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Mapping

from radphi.ui.render import esc
from radphi.verify import Check, Critical, check

log = logging.getLogger(__name__)

PENDING = '<div class="rp-check rp-check-pending" style="color:#6b7280;font-size:0.9em;">' \
          'The checker reads the answer against its source once it is complete.</div>'
NO_SOURCE = ('<div class="rp-check rp-check-none" style="color:#6b7280;font-size:0.9em;">'
             'Nothing to check against: a radiology question has no report as its source. '
             'Check the answer against a reference you trust.</div>')
_CATEGORY = {"missed_finding": "Missed finding", "false_finding": "False finding", "position": "Position",
             "severity": "Severity"}
_FLAG_BG, _FLAG_BORDER = "#fee2e2", "#dc2626"
_MINOR_BG, _MINOR_BORDER = "#fef9c3", "#ca8a04"


def run(task: str, fields: Mapping[str, Any], answer: str) -> Check | None:
    """The check of one finished answer; None (logged by type only) if the checker fails."""
    try:
        return check(task, fields, answer or "")
    except Exception as exc:  # the answer must reach the user even if the checker breaks
        log.warning("checker failed on %s: %s", task, type(exc).__name__)
        return None


def critical_html(items: Iterable[Critical]) -> str:
    items = list(items)
    if not items:
        return ""
    rows = "".join(
        f'<li><b>{esc(c.name)}</b>, named in the {"input" if c.where == "input" else "draft"}: '
        f'<q>{esc(c.sentence)}</q></li>' for c in items)
    return ('<div class="rp-critical" role="alert" style="margin:6px 0;padding:10px 14px;border-radius:6px;'
            'background:#fef2f2;color:#7f1d1d;border:3px solid #dc2626;border-left:12px solid #dc2626;'
            'font-size:1.05em;">'
            '<div style="font-weight:700;font-size:1.15em;color:#991b1b;">&#9888; Possible urgent finding in the text</div>'
            f'<ul style="margin:4px 0 4px 20px;">{rows}</ul>'
            '<div>Urgent findings need prompt communication to the referring clinician. This banner matches words '
            'in the text; it is not a diagnosis, and it cannot see the image.</div></div>')


def _flag_line(flag: Any) -> str:
    kind = "significant" if flag.significant else "minor"
    return (f'<div class="rp-flag-why rp-flag-{esc(flag.category.value)}" style="margin-top:2px;">'
            f'<b>{esc(_CATEGORY[flag.category.value])}</b> ({kind}, {esc(flag.finding)}): {esc(flag.why)}</div>')


def _sentence_html(unit: Any) -> str:
    flagged = bool(unit.flags)
    significant = any(f.significant for f in unit.flags)
    bg, border = (_FLAG_BG, _FLAG_BORDER) if significant else (_MINOR_BG, _MINOR_BORDER) if flagged else \
        ("#f0fdf4" if unit.evidence else "#f9fafb", "#86efac" if unit.evidence else "#e5e7eb")
    source = " | ".join(unit.evidence) if unit.evidence else "no supporting sentence found in the source"
    title = f"Source: {source}"
    if flagged:
        title += " — " + " ".join(f"{_CATEGORY[f.category.value]}: {f.why}" for f in unit.flags)
    classes = "rp-sent" + (" rp-flagged" if flagged else "") + (" rp-significant" if significant else "")
    body = "".join(f'<div class="rp-evidence" style="color:#374151;">Source: <q>{esc(e)}</q></div>'
                   for e in unit.evidence) or '<div class="rp-evidence" style="color:#6b7280;">' \
                                              'No supporting sentence found in the source.</div>'
    body += "".join(_flag_line(f) for f in unit.flags)
    return (f'<details class="{classes}" title="{esc(title)}" style="margin:3px 0;padding:3px 8px;border-radius:4px;'
            f'background:{bg};border-left:4px solid {border};"><summary style="cursor:pointer;">'
            f'{esc(unit.text)}</summary>{body}</details>')


def check_html(result: Check | None, *, has_source: bool = True) -> str:
    """The whole panel for one or more finished answers' checks."""
    if not has_source:
        return NO_SOURCE
    if result is None:
        return ('<div class="rp-check rp-check-failed" style="color:#991b1b;">The checker could not read this '
                'answer; check it by hand.</div>')
    return check_many([result])


def check_many(results: Iterable[Check | None]) -> str:
    results = [r for r in results if r is not None]
    flags = [f for r in results for f in r.flags]
    critical = []
    for r in results:
        critical.extend(c for c in r.critical if (c.name, c.where) not in {(x.name, x.where) for x in critical})
    significant = sum(f.significant for f in flags)
    summary = (f"Checker: {len(flags)} flag{'s' if len(flags) != 1 else ''} ({significant} significant). "
               if flags else "Checker: no flags. ")
    summary += "Hover over or click a sentence to see the source sentence behind it."
    parts = [critical_html(critical),
             f'<div class="rp-check-summary" style="font-weight:600;margin:4px 0;">{esc(summary)}</div>']
    units = [u for r in results for u in r.sentences]
    parts.append('<div class="rp-sentences">' + "".join(_sentence_html(u) for u in units) + "</div>")
    missed = [f for r in results for f in r.missed]
    if missed:
        rows = "".join(
            f'<li class="rp-missed-item">{"<b>" if f.significant else ""}{esc(f.finding)}'
            f'{" (significant)" if f.significant else ""}{"</b>" if f.significant else ""}: {esc(f.why)}'
            f'{" Source: <q>" + esc(f.evidence) + "</q>" if f.evidence else ""}</li>' for f in missed)
        parts.append('<div class="rp-missed" style="margin-top:6px;padding:6px 10px;border:1px solid #f59e0b;'
                     'border-radius:6px;background:#fffbeb;"><div style="font-weight:600;">Possibly missed</div>'
                     f'<ul style="margin:2px 0 0 18px;">{rows}</ul></div>')
    parts.append('<div style="color:#6b7280;font-size:0.8em;margin-top:4px;">The checker compares words with the '
                 'source (findings, negation, hedges, side, lobe, severity, size, device position); it cannot see '
                 'the image, and where the words do not decide it says nothing.</div>')
    return '<div class="rp-check">' + "".join(parts) + "</div>"
