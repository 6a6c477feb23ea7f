"""The checker: every draft against its source, with no model calls.

    >>> from radphi.verify import verify
    >>> [f.category.value for f in verify("impression_prediction",
    ...     {"findings": "Small left pleural effusion. No pneumothorax."}, "Small right pleural effusion.")]
    ['position']

`verify(task, fields, prediction)` gives the flags in the paper's four error
categories (missed finding, false finding, position, severity), each with its
significance, the canonical finding, the answer's sentence, the source's sentence and
a one-line reason. `check(...)` adds what a page needs: the evidence for each sentence
of the answer, the findings it possibly missed, and the urgent findings either text
names (`critical`).

What it can and cannot see: it reads finding words, negation, hedges, sides, lobes,
severity words, sizes, change words and device positions in the text. It cannot see the
image, and it says nothing where the words do not decide (an unnamed finding, a side
neither text gives).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from radphi import reports, tasks
from radphi.review.model import ErrorCategory
from radphi.verify import findings as _findings
from radphi.verify.reading import ACUTE_PROCESS, ANY_DEVICE, Mention, Reading, read
from radphi.verify.rules import Flag, check as _check, source_of

__all__ = ["CATEGORIES", "Check", "Critical", "ErrorCategory", "Flag", "SentenceCheck", "check", "count_flags",
           "critical", "read", "sources", "verify", "verify_record"]

CATEGORIES: tuple[ErrorCategory, ...] = (ErrorCategory.MISSED_FINDING, ErrorCategory.FALSE_FINDING,
                                         ErrorCategory.POSITION, ErrorCategory.SEVERITY)


def verify(task: str, fields: Mapping[str, Any], prediction: str) -> list[Flag]:
    """The flags for PREDICTION, an answer to TASK on input FIELDS; [] when nothing is wrong
    that the words show, or when the task has no source (radiology Q&A)."""
    tasks.get_task(task)
    clean = {k: tasks.clean_field(v) for k, v in fields.items() if isinstance(v, (str, int, float)) or v is None}
    return _check(task, clean, prediction if isinstance(prediction, str) else "")


def verify_record(record: Mapping[str, Any]) -> list[Flag]:
    """verify() for a `radphi run` record: its task, its input fields and its prediction."""
    task = record.get("task")
    if task not in tasks.TASKS:
        from radphi.errors import InputError

        raise InputError(f"record has no known task (got {task!r})")
    spec = tasks.TASKS[task]
    fields = {f: record.get(f) or "" for f in spec.fields}
    return verify(task, fields, record.get("prediction") or "")


def count_flags(flags: Iterable[Flag]) -> dict[str, int]:
    """Flags per category value (all four keys, zero included)."""
    counts = Counter(f.category.value for f in flags)
    return {c.value: counts.get(c.value, 0) for c in CATEGORIES}


def sources(task: str, fields: Mapping[str, Any]) -> list[str]:
    """The texts an answer to TASK is checked against, in order (current report first)."""
    if task in (*tasks.LABEL_TASKS, "qa_comprehension"):
        return [reports.clinical_text(str(fields.get("report") or ""))]
    if task in ("qa_temporal_findings", "qa_temporal_progression"):
        return [reports.clinical_text(str(fields.get(f) or "")) for f in ("report", "prior_report")]
    source = source_of(task, {k: str(v or "") for k, v in fields.items()})
    return [source] if source else []


# --- what a page shows ---------------------------------------------------------

@dataclass(frozen=True)
class Critical:
    """An urgent finding named in the input or the answer (never a diagnosis)."""

    name: str
    where: str          # "input" or "answer"
    sentence: str


@dataclass
class SentenceCheck:
    text: str
    evidence: list[str] = field(default_factory=list)   # source sentences that support it
    flags: list[Flag] = field(default_factory=list)


@dataclass
class Check:
    flags: list[Flag]
    sentences: list[SentenceCheck]
    missed: list[Flag]
    critical: list[Critical]

    @property
    def significant(self) -> int:
        return sum(f.significant for f in self.flags)


def critical(texts: Iterable[tuple[str, str]]) -> list[Critical]:
    """Urgent findings in (where, text) pairs, one entry per name and place."""
    out: list[Critical] = []
    seen: set[tuple[str, str]] = set()
    for where, text in texts:
        reading = read(text)
        for mention in reading.mentions:
            name = _findings.urgent_name(mention, text)
            if name and (name, where) not in seen:
                seen.add((name, where))
                out.append(Critical(name, where, reading.sentences[mention.sentence]))
    return out


def _overlap(a: str, b: str) -> float:
    wa, wb = set(a.lower().split()), set(b.lower().split())
    return len(wa & wb) / max(1, len(wa | wb))


def _evidence(sentence_mentions: list[Mention], sentence: str, src: list[Reading]) -> list[str]:
    found: list[str] = []
    for reading in src:
        for mention in sentence_mentions:
            if mention.label in (ACUTE_PROCESS,):
                continue
            for m in reading.mentions:
                same_polarity = m.positive == mention.positive
                if same_polarity and (_findings.related(mention.label, m.label)
                                      or (mention.label == ANY_DEVICE and _findings.is_device(m.label))):
                    text = reading.sentences[m.sentence]
                    if text not in found:
                        found.append(text)
    if not found:
        best = max(((s, _overlap(sentence, s)) for r in src for s in r.sentences), key=lambda x: x[1], default=None)
        if best is not None and best[1] >= 0.5:
            found.append(best[0])
    return found[:3]


def _units(task: str, prediction: str) -> list[str]:
    """The pieces of an answer a reader checks one by one: labels, added/removed items,
    progression lines, or sentences."""
    from radphi import answers

    if task in tasks.LABEL_TASKS:
        parsed = tasks.TASKS[task].parse(prediction)
        return list(parsed["labels"]) + list(parsed["unknown"])
    if task == "qa_temporal_findings":
        parsed = answers.parse_temporal_findings(prediction)
        return [*parsed["added"], *parsed["removed"]]
    if task == "qa_temporal_progression":
        return [f"{i['finding']}{' in ' + i['region'] if i['region'] else ''}: {i['change']}"
                for i in answers.parse_progression(prediction)]
    return reports.sentences(prediction)


def _owns(flag: Flag, unit: str) -> bool:
    if not flag.output_text:
        return False
    a, b = flag.output_text.lower(), unit.lower()
    return a == b or a in b or (len(b) > 3 and b in a)


def check(task: str, fields: Mapping[str, Any], prediction: str) -> Check:
    """Flags, per-sentence evidence, possibly missed findings and urgent findings."""
    flags = verify(task, fields, prediction)
    texts = sources(task, fields)
    src = [read(text) for text in texts]
    per_sentence = []
    for unit in _units(task, prediction or ""):
        own = [f for f in flags if _owns(f, unit)]
        per_sentence.append(SentenceCheck(unit, _evidence(read(unit).mentions, unit, src), own))
    missed = [f for f in flags if f.category is ErrorCategory.MISSED_FINDING]
    urgent = critical([*(("input", text) for text in texts), ("answer", prediction or "")])
    return Check(flags, per_sentence, missed, urgent)
