"""The checker's rules: a task's source and answer, read alike (radphi.verify.reading),
aligned finding by finding, give flags in the paper's four categories.

One function per kind of task, built on the generic checks (radphi.verify.compare); the
question task is in radphi.verify.qa, the comparison tasks in radphi.verify.temporal.
Each returns flags and never guesses: where a rule cannot tell (an item it cannot name, a
side neither text gives), it says nothing.
"""

from __future__ import annotations

from typing import Mapping

from radphi import labels, reports, tasks
from radphi.verify import findings as fx
from radphi.verify.compare import check_answer, negated, positive
from radphi.verify.flags import FALSE, MISSED, Flag
from radphi.verify.flags import quote as _quote
from radphi.verify.flags import sentence_of as _sentence
from radphi.verify.qa import check_qa
from radphi.verify.reading import UNCERTAIN, read
from radphi.verify.temporal import check_progression, check_temporal_findings


# --- per task -------------------------------------------------------------------

def check_labels(task: str, report: str, prediction: str) -> list[Flag]:
    vocabulary = "abnormality" if task == "abnormality_labels" else "tubes_lines_devices"
    src_r = read(reports.clinical_text(report))
    listed = list(tasks.get_task(task).parse(prediction)["labels"])
    flags: list[Flag] = []
    for label in listed:
        support = positive(src_r, label, related=False)
        if not support:
            denied = negated(src_r, label, related=False)
            ev = denied[0] if denied else None
            why = (f"Tagged, but the report says {_quote(_sentence(src_r, ev) or '')!r}." if ev
                   else "Tagged, but the report never mentions it as present.")
            flags.append(Flag(FALSE, fx.false_significance(label), label, label, _sentence(src_r, ev), why))
    seen: set[str] = set()
    for src in src_r.mentions:
        if src.label not in labels.VOCABULARIES[vocabulary] or not src.positive or src.label in listed \
                or src.label in seen:
            continue
        seen.add(src.label)
        significant = src.status != UNCERTAIN and fx.missed_significance(src)
        if not significant:
            # Another mention of the same label may be the significant one.
            significant = any(m.label == src.label and m.status != UNCERTAIN and fx.missed_significance(m)
                              for m in src_r.mentions if m.positive)
        flags.append(Flag(MISSED, significant, src.label, None, _sentence(src_r, src),
                          "The report mentions it; the label list leaves it out."))
    return flags


def source_of(task: str, fields: Mapping[str, str]) -> str | None:
    """The text a task's answer must be faithful to, or None (radiology Q&A has none)."""
    if task == "impression_prediction":
        return fields.get("findings")
    if task == "extract_findings":
        return reports.find_findings(fields.get("report", "")) or reports.clinical_text(fields.get("report", ""))
    if task == "extract_impression":
        sections = reports.split_sections(fields.get("report", ""))
        return sections.get("impression") or reports.clinical_text(fields.get("report", ""))
    if task == "cleanup_report_text":
        return fields.get("text")
    return None


def check_text(task: str, fields: Mapping[str, str], prediction: str) -> list[Flag]:
    source = source_of(task, fields)
    if not source:
        return []
    src_r, out_r = read(source), read(prediction)
    extractive = task in ("extract_findings", "extract_impression", "cleanup_report_text")
    if task == "extract_impression" and "impression" not in reports.split_sections(fields.get("report", "")):
        extractive = False  # no IMPRESSION to copy: the answer is a new impression
    return check_answer(out_r, src_r, related=not extractive, changes=task != "cleanup_report_text",
                        negatives_missed=extractive, keep_grades=extractive)


def _dedupe(flags: list[Flag]) -> list[Flag]:
    """One flag per (category, finding), the significant one kept."""
    kept: dict[tuple[object, str], Flag] = {}
    for flag in flags:
        key = (flag.category, flag.finding)
        if key not in kept or (flag.significant and not kept[key].significant):
            kept[key] = flag
    return list(kept.values())


def check(task: str, fields: Mapping[str, str], prediction: str) -> list[Flag]:
    """All the flags for one answer to TASK on FIELDS."""
    if not isinstance(prediction, str) or not prediction.strip():
        return []
    if task in tasks.LABEL_TASKS:
        flags = check_labels(task, fields.get("report", ""), prediction)
    elif task == "qa_temporal_findings":
        flags = check_temporal_findings(fields.get("report", ""), fields.get("prior_report", ""), prediction)
    elif task == "qa_temporal_progression":
        flags = check_progression(fields.get("report", ""), fields.get("prior_report", ""), prediction)
    elif task == "qa_comprehension":
        flags = check_qa(fields.get("report", ""), fields.get("question", ""), prediction)
    else:
        flags = check_text(task, fields, prediction)
    return _dedupe(flags)


__all__ = ["Flag", "check", "check_answer", "source_of"]
