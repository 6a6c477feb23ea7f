"""Medical-Diff-VQA -> qa_temporal_findings and qa_temporal_progression (difference
questions) and qa_comprehension (the other question types).

Reads `mimic_pair_questions.csv` (`study_id, subject_id, ref_id, question_type, question,
answer, split`; `study_id` is the current study, `ref_id` an earlier one of the same
patient), with report texts from MIMIC-CXR by study_id (`mimic_cxr.ReportStore`) and
splits from MIMIC-CXR's split table. Diff-VQA's own `split` column is only compared:
a record takes its current study's MIMIC-CXR split (a difference is counted as
moved), and a difference pair whose reference study is in another split is dropped.
The question wording is never matched: the generator (Holipori/MIMIC-Diff-VQA
`question_gen.py`) has 2-3 wordings per type, so records go by `question_type`.

Difference answers are sentences of the generator's `diff_ques`/`get_caption`:
"the main image has an additional finding of X than the reference image. ",
"... is missing the findings of A, B, and C than the reference image. ",
"nothing has changed.", and "the level of X has changed from A to B. " (a change of
severity; always the answer of "what has changed in the {area} area?", and possibly
before the others in "what has changed compared to the reference image?").

- `qa_temporal_findings`: the current and the reference report; the target is the
  added/removed part, read by `radphi.answers.parse_temporal_findings` and written by
  `format_temporal_findings` ("Added: a; b. Removed: none."). A level change is not an
  added or removed finding: an answer that is only a level change makes no
  temporal-findings record (it would read "Added: none. Removed: none.", the target of
  "nothing has changed", and teach the model to miss a worsening).
- `qa_temporal_progression` (with `level_changes="progression"`, the default): each
  level change with ordered levels becomes {finding, region, change}, worsened when
  the level rises (mild -> moderate) and improved when it falls; region is the area of
  an "in the {area} area" question, else empty. Unordered levels ("acute",
  "increasing") are left out and counted. `level_changes="exclude"` drops them all.
- `qa_comprehension`: the current report and the question; the target is the answer
  as given. The same question on the same current study (Diff-VQA repeats it for each
  reference study) is kept once.

Every rule's count is logged and handed to the data build's tally (tally.py).
`mimic_all.csv` (views written `postero-anterior`/`antero-posterior`) is not read: the
generator already wrote the view answers as "PA view"/"AP view"/"yes"/"no".

*(uncertain)*: whether the paper also kept difference questions whose answer is only
"nothing has changed." (kept here: the target is "Added: none. Removed: none.").
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from radphi import answers
from radphi.training.loaders.common import iter_csv, make_record, norm_id
from radphi.training.loaders.mimic_cxr import report_store
from radphi.training.loaders.splits import MimicSplits, SplitCounter

log = logging.getLogger(__name__)

TASKS = ("qa_temporal_findings", "qa_comprehension", "qa_temporal_progression")
DEFAULT_TASKS = TASKS
DATASET = "medical_diff_vqa"
QUESTION_TYPES = ("abnormality", "presence", "view", "location", "level", "type", "difference")
LEVEL_CHANGES = ("progression", "exclude")

# The generator's level words (its libs/level_lib.csv), ranked by severity. Hand-written
# because they are this dataset's own vocabulary; "acute", "increasing" and "decreasing"
# are levels there but not grades, so a change between them has no direction.
LEVEL_RANK: dict[str, float] = {
    "minimal": 1, "minimally": 1, "subtle": 1, "minor": 1,
    "mild": 2, "mildly": 2, "small": 2,
    "mild to moderate": 2.5,
    "moderate": 3, "moderately": 3,
    "moderate to large": 3.5, "moderate to severe": 3.5,
    "large": 4, "severe": 4, "massive": 4,
}
_LEVEL_CHANGE = re.compile(r"the level of (?P<finding>.+?) has changed from (?P<before>.+?) to (?P<after>.+?)\.\s*",
                           re.I)
_AREA_QUESTION = re.compile(r"what has changed in the (?P<area>.+?) area\?", re.I)


def level_rank(level: str) -> float | None:
    """The severity rank of a Diff-VQA level ("mild", "moderate to large"); None when unordered.

    The generator joins several level words of one finding with spaces ("mild moderate"):
    their mean rank is used when every word has one.
    """
    level = " ".join(level.lower().split())
    if level in LEVEL_RANK:
        return LEVEL_RANK[level]
    words = level.split()
    ranks = [LEVEL_RANK.get(w) for w in words]
    if words and all(r is not None for r in ranks):
        return sum(ranks) / len(ranks)  # type: ignore[arg-type]
    return None


def split_difference_answer(answer: str) -> tuple[list[dict[str, str]], str]:
    """(level changes [{finding, before, after}], the rest of the answer) of a difference answer."""
    changes = [{k: " ".join(m.group(k).split()) for k in ("finding", "before", "after")}
               for m in _LEVEL_CHANGE.finditer(answer)]
    return changes, _LEVEL_CHANGE.sub("", answer).strip()


def progression_of(change: dict[str, str], region: str) -> dict[str, str] | None:
    before, after = level_rank(change["before"]), level_rank(change["after"])
    if before is None or after is None or before == after:
        return None
    return {"finding": change["finding"], "region": region, "change": "worsened" if after > before else "improved"}


def load(questions_csv: str, reports: str, split_csv: str, tasks: Iterable[str] = DEFAULT_TASKS,
         question_types: Iterable[str] | None = None, level_changes: str = "progression",
         limit: int | None = None) -> list[dict[str, Any]]:
    """Records of the chosen TASKS from mimic_pair_questions.csv."""
    tasks = tuple(tasks)
    unknown = set(tasks) - set(TASKS)
    if unknown:
        raise ValueError(f"diff_vqa loader: unknown task(s) {sorted(unknown)}; it makes {', '.join(TASKS)}")
    if level_changes not in LEVEL_CHANGES:
        raise ValueError(f"diff_vqa loader: level_changes must be one of {', '.join(LEVEL_CHANGES)}, "
                         f"not {level_changes!r}")
    wanted_types = set(question_types or QUESTION_TYPES)
    store = report_store(reports)
    splits = MimicSplits.load(split_csv)
    counters = {t: SplitCounter(f"{DATASET}/{t}") for t in TASKS}
    seen: set[tuple[str, ...]] = set()
    out: list[dict[str, Any]] = []
    for n, row in enumerate(iter_csv(questions_csv)):
        if limit is not None and n >= limit:
            break
        qtype = row.get("question_type", "").strip().lower()
        if qtype not in wanted_types:
            continue
        study, ref = norm_id(row.get("study_id", "")), norm_id(row.get("ref_id", ""))
        question, answer = row.get("question", "").strip(), row.get("answer", "").strip()
        if qtype != "difference":
            out.extend(_comprehension(row, n, study, question, answer, tasks, store, splits, counters, seen))
            continue
        out.extend(_difference(row, n, study, ref, question, answer, tasks, level_changes, store, splits,
                               counters, seen))
    for counter in counters.values():
        counter.log()
    return out


def _comprehension(row: dict[str, str], n: int, study: str, question: str, answer: str, tasks: tuple[str, ...],
                   store: Any, splits: MimicSplits, counters: dict[str, SplitCounter],
                   seen: set[tuple[str, ...]]) -> list[dict[str, Any]]:
    task = "qa_comprehension"
    if task not in tasks:
        return []
    counter = counters[task]
    if not study or not question or not answer:
        counter.add("dropped_empty")
        return []
    key = (task, study, question)
    if key in seen:
        counter.add("duplicate")
        return []
    seen.add(key)
    report = store.text(study)
    if report is None:
        counter.add("dropped_no_report")
        return []
    split = splits.assign(study, own=row.get("split") or None, counter=counter)
    if split is None:
        return []
    return [make_record(f"diffvqa-{study}-row{n}", task, {"report": report, "question": question}, answer, split,
                        **_meta(row, study))]


def _difference(row: dict[str, str], n: int, study: str, ref: str, question: str, answer: str,
                tasks: tuple[str, ...], level_changes: str, store: Any, splits: MimicSplits,
                counters: dict[str, SplitCounter], seen: set[tuple[str, ...]]) -> list[dict[str, Any]]:
    wanted = [t for t in ("qa_temporal_findings", "qa_temporal_progression") if t in tasks]
    if not wanted:
        return []
    first = counters[wanted[0]]
    if not study or not ref or not question or not answer:
        first.add("dropped_empty")
        return []
    changes, rest = split_difference_answer(answer)
    area = _AREA_QUESTION.fullmatch(question)
    region = " ".join(area.group("area").split()) if area else ""
    targets: dict[str, str] = {}
    rules: Counter = Counter()
    if "qa_temporal_findings" in tasks:
        if changes and not rest:
            rules["qa_temporal_findings", "level_change_only_not_findings"] += 1
        else:
            if changes:
                rules["qa_temporal_findings", "level_change_removed_from_findings"] += 1
            targets["qa_temporal_findings"] = answers.format_temporal_findings(answers.parse_temporal_findings(rest))
    if "qa_temporal_progression" in tasks and changes and level_changes == "progression":
        items = [p for p in (progression_of(c, region) for c in changes) if p]
        if len(items) < len(changes):
            rules["qa_temporal_progression", "level_change_unordered"] += len(changes) - len(items)
        if items:
            rules["qa_temporal_progression", "level_change_to_progression"] += 1
            targets["qa_temporal_progression"] = answers.format_progression(items)
    for (task, rule), k in rules.items():
        counters[task].add(rule, k)
    out: list[dict[str, Any]] = []
    for task, target in targets.items():
        counter = counters[task]
        key = (task, study, ref, question)
        if key in seen:
            counter.add("duplicate")
            continue
        seen.add(key)
        report, prior_report = store.text(study), store.text(ref)
        if report is None or prior_report is None:
            counter.add("dropped_no_report")
            continue
        split = splits.assign(study, prior=ref, own=row.get("split") or None, counter=counter)
        if split is None:
            continue
        suffix = "" if task == "qa_temporal_findings" else "-progression"
        out.append(make_record(f"diffvqa-{study}-{ref}-row{n}{suffix}", task,
                               {"report": report, "prior_report": prior_report}, target, split,
                               **_meta(row, study), prior_study_id=ref, question=question, answer=answer))
    return out


def _meta(row: dict[str, str], study: str) -> dict[str, Any]:
    return {"dataset": DATASET, "study_id": study, "subject_id": norm_id(row.get("subject_id", "")),
            "question_type": row.get("question_type", "").strip().lower()}
