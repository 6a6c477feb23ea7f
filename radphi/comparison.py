"""What changed between a prior report and the current one, read from the two texts:
one row per finding, with its change and the sentence it comes from in each report.

- new: named as present now, not in the prior (absent there, or not named);
- resolved: present in the prior, absent or not named now;
- worsened / improved / unchanged: present in both, read from the change wording of
  the current report ("increased", "new", "decreased", "resolving", "unchanged"...),
  else from the two reports' severity words ("small" then "moderate"), else unchanged.

A finding present now whose current sentence words it as better or stable is read as
that, even when the prior does not name it. Mentions are read by the checker's reader
(radphi.verify.reading), so the page and the checker agree; each finding appears once.
Swapping the reports swaps new and resolved.
"""

from __future__ import annotations

from dataclasses import dataclass

from radphi import reports
from radphi.verify.reading import ACUTE_PROCESS, ANY_DEVICE, BETTER, STABLE, WORSE, Mention, Reading, read

NEW, WORSENED, IMPROVED, RESOLVED, UNCHANGED = "new", "worsened", "improved", "resolved", "unchanged"
# What the progression task calls each (answers.CHANGES).
PROGRESSION_WORD = {WORSENED: "worsened", NEW: "worsened", IMPROVED: "improved", RESOLVED: "improved",
                    UNCHANGED: "no change"}


@dataclass(frozen=True)
class Change:
    """One finding's change: its label, how it changed, and the sentence naming it in each
    report (None where that report does not name it)."""

    finding: str
    change: str
    current: str | None
    prior: str | None


def _sentence(reading: Reading, mention: Mention | None) -> str | None:
    return reading.sentences[mention.sentence] if mention is not None else None


def _best(mentions: list[Mention]) -> Mention | None:
    """The mention that speaks for a finding in one report: a positive one with change
    wording, else a positive one, else any."""
    positive = [m for m in mentions if m.positive]
    return next((m for m in positive if m.change), None) or (positive[0] if positive else None) or \
        (mentions[0] if mentions else None)


def _change(now: list[Mention], before: list[Mention]) -> str | None:
    now_pos = [m for m in now if m.positive]
    before_pos = [m for m in before if m.positive]
    worded = next((m.change for m in now_pos if m.change), None)
    if now_pos and not before_pos:
        return {BETTER: IMPROVED, STABLE: UNCHANGED}.get(worded or "", NEW)
    if before_pos and not now_pos:
        return RESOLVED
    if not now_pos:
        return None  # absent in both: nothing changed worth a row
    if worded is not None:
        return {WORSE: WORSENED, BETTER: IMPROVED, STABLE: UNCHANGED}[worded]
    levels_now = {lv for m in now_pos for lv in m.severity}
    levels_before = {lv for m in before_pos for lv in m.severity}
    if levels_now and levels_before and max(levels_now) != max(levels_before):
        return WORSENED if max(levels_now) > max(levels_before) else IMPROVED
    return UNCHANGED


def compare_reports(current: str, prior: str) -> list[Change]:
    """The changes from PRIOR to CURRENT, in the order the findings are first named (the
    current report first, then what only the prior names)."""
    now_r, before_r = read(reports.clinical_text(current)), read(reports.clinical_text(prior))
    order: list[str] = []
    for m in now_r.mentions + before_r.mentions:
        if m.label not in (ACUTE_PROCESS, ANY_DEVICE) and m.label not in order:
            order.append(m.label)
    out = []
    for label in order:
        now = [m for m in now_r.mentions if m.label == label]
        before = [m for m in before_r.mentions if m.label == label]
        change = _change(now, before)
        if change is not None:
            out.append(Change(label, change, _sentence(now_r, _best(now)), _sentence(before_r, _best(before))))
    return out

