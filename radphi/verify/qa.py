"""The checks of an answer to a question on a report (qa_comprehension): a yes or no, a
place asked about, a list the question asks for in full, and what the answer says of
the findings it names (radphi.verify.compare).
"""

from __future__ import annotations

import re

from radphi import labels, reports
from radphi.verify import findings as fx
from radphi.verify.compare import check_answer, compare_mention, missed_findings, negated, positive, supporting
from radphi.verify.flags import FALSE, MISSED, POSITION, Flag
from radphi.verify.flags import sentence_of as _sentence
from radphi.verify.reading import ABSENT, ACUTE_PROCESS, ANY_DEVICE, Mention, Reading, describe, read


def _yes_no(answer: str) -> str | None:
    match = re.match(r"\s*(yes|no)\b", answer, re.I)
    return match.group(1).lower() if match else None


_ASKS_ALL = re.compile(r"\b(?:what|which)\s+(?:abnormalities|abnormal\s+findings|findings|diseases)\b"
                       r"|\blist\s+(?:all\s+)?(?:the\s+)?(?:abnormalities|findings)\b", re.I)


_ASKS_FRACTURES = re.compile(r"\b(?:any|all|which|what)\b[^?]*\bfractures?\b|\bfractures?\b[^?]*\b(?:present|seen|described)\b", re.I)
_ASKS_DEVICES = re.compile(r"\b(?:any|all|which|what)\b[^?]*\b(?:tubes|lines|devices|catheters|support\s+devices)\b", re.I)


def _asked_kind(question: str) -> set[str] | None:
    """The labels a question asks to be listed in full, or None for a question about one
    finding: all abnormalities, all fractures, or all tubes, lines and devices."""
    if _ASKS_ALL.search(question):
        return set(labels.VOCABULARIES["abnormality"])
    if _ASKS_FRACTURES.search(question):
        return {label for label in labels.VOCABULARIES["abnormality"] if "fracture" in label}
    if _ASKS_DEVICES.search(question):
        return set(labels.VOCABULARIES["tubes_lines_devices"])
    return None


def _elsewhere(asked: Mention, support: list[Mention]) -> list[Mention]:
    """The report's mentions of an asked finding when the question names a side or lung
    zone none of them has; [] when the question names no place or one of them is there."""
    if not support or not (asked.sides or asked.zones):
        return []
    here = [m for m in support if (not asked.sides or not m.sides or asked.sides & m.sides)
            and (not asked.zones or not m.zones or asked.zones & m.zones)]
    return [] if here else support


def check_qa(report: str, question: str, prediction: str) -> list[Flag]:
    src_r, out_r = read(reports.clinical_text(report)), read(prediction)
    flags = check_answer(out_r, src_r, missed=False)
    reply = _yes_no(prediction)
    asked_labels = [m.label for m in read(question).mentions if m.label not in (ACUTE_PROCESS, ANY_DEVICE)]
    if len(set(asked_labels)) == 1 and not any(m.label == asked_labels[0] for m in out_r.mentions) and reply != "no":
        # The answer speaks of the question's finding without naming it ("It has improved").
        support = positive(src_r, asked_labels[0], related=False)
        if support:
            # Words about other findings the answer names are theirs: in "Yes, large bilateral
            # pleural effusions." to "Is there a pacemaker?", "bilateral" is no side of the pacemaker.
            own = prediction.lower()
            for other in out_r.mentions:
                own = own.replace(other.modifiers, " ") if other.modifiers else own
            subject = describe(own, asked_labels[0])
            flags.extend(compare_mention(subject, Reading(prediction, [prediction], [subject]), support, src_r))
    if reply:
        asked = [m for m in read(question).mentions if m.label not in (ACUTE_PROCESS, ANY_DEVICE)]
        for mention in asked:
            support = supporting(src_r, mention)
            elsewhere = _elsewhere(mention, support)
            if elsewhere:
                # "Is there a pneumothorax in the right apical area?" of a left one: "no" is
                # right, and "yes" puts it on the wrong side.
                if reply == "yes":
                    flags.append(Flag(POSITION, fx.position_significance(mention.label), mention.label,
                                      prediction.strip(), _sentence(src_r, elsewhere[0]),
                                      "The answer says yes; the report places it elsewhere."))
                continue
            if reply == "yes" and not support and not any(f.finding == mention.label for f in flags):
                denied = negated(src_r, mention.label, related=True)
                flags.append(Flag(FALSE, fx.false_significance(mention.label), mention.label, prediction.strip(),
                                  _sentence(src_r, denied[0]) if denied else None,
                                  "The answer says yes; the report does not report it."))
            elif reply == "no" and support:
                flags.append(Flag(MISSED, fx.missed_significance(support[0], keep_chronic=True), mention.label,
                                  prediction.strip(), _sentence(src_r, support[0]),
                                  "The answer says no; the report reports it."))
    asked_kind = _asked_kind(question)
    if asked_kind is not None:
        # "What abnormalities are seen?", "Are there any fractures?", "Which tubes and lines
        # are present?": every finding of that kind in the report belongs in the answer.
        flags.extend(f for f in missed_findings(out_r, src_r, related=True, negatives=False, allowed=asked_kind,
                                        hedged_minor=True)
                     if not any(g.finding == f.finding for g in flags))
    # "No pneumothorax." while the report has one.
    for out in out_r.mentions:
        if out.status == ABSENT and out.label not in (ACUTE_PROCESS, ANY_DEVICE):
            support = positive(src_r, out.label, related=False)
            if support and not any(f.finding == out.label for f in flags):
                flags.append(Flag(MISSED, fx.missed_significance(support[0], keep_chronic=True), out.label,
                                  _sentence(out_r, out), _sentence(src_r, support[0]),
                                  "The answer denies a finding the report reports."))
    return flags
