"""Medical-Diff-VQA -> qa_temporal_findings (difference questions) and qa_comprehension
(the other question types).

Reads `mimic_pair_questions.csv` (`study_id, subject_id, ref_id, question_type, question,
answer, split`; `study_id` is the current study, `ref_id` an earlier one of the same
patient), with report texts from MIMIC-CXR by study_id (`mimic_cxr.ReportStore`) and
splits from MIMIC-CXR's split table. Diff-VQA's own `split` column is only compared:
a record takes its current study's MIMIC-CXR split (a difference is counted as
moved), and a difference pair whose reference study is in another split is dropped.

- `qa_temporal_findings`: the current and the reference report; the target is the
  answer read by `radphi.answers.parse_temporal_findings` and written by
  `format_temporal_findings` ("Added: a; b. Removed: none."). Diff-VQA's level-change
  sentences ("the level of X has changed from A to B") have no place in that structure
  and are left out of the target.
- `qa_comprehension`: the current report and the question; the target is the answer
  as given. The same question on the same current study (Diff-VQA repeats it for each
  reference study) is kept once.

*(uncertain)*: whether the paper also kept difference questions whose answer is only
"nothing has changed." (kept here: the target is "Added: none. Removed: none.").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from radphi import answers
from training.loaders.common import iter_csv, make_record, norm_id
from training.loaders.mimic_cxr import report_store
from training.loaders.splits import MimicSplits, SplitCounter

log = logging.getLogger(__name__)

TASKS = ("qa_temporal_findings", "qa_comprehension")
DATASET = "medical_diff_vqa"
QUESTION_TYPES = ("abnormality", "presence", "view", "location", "level", "type", "difference")


def load(questions_csv: str, reports: str, split_csv: str, tasks: Iterable[str] = TASKS,
         question_types: Iterable[str] | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Records of the chosen TASKS from mimic_pair_questions.csv."""
    tasks = tuple(tasks)
    unknown = set(tasks) - set(TASKS)
    if unknown:
        raise ValueError(f"diff_vqa loader: unknown task(s) {sorted(unknown)}; it makes {', '.join(TASKS)}")
    wanted_types = set(question_types or QUESTION_TYPES)
    store = report_store(reports)
    splits = MimicSplits.load(split_csv)
    counters = {t: SplitCounter(f"{DATASET}/{t}") for t in tasks}
    seen: set[tuple[str, ...]] = set()
    out: list[dict[str, Any]] = []
    for n, row in enumerate(iter_csv(questions_csv)):
        if limit is not None and n >= limit:
            break
        qtype = row.get("question_type", "").strip().lower()
        if qtype not in wanted_types:
            continue
        task = "qa_temporal_findings" if qtype == "difference" else "qa_comprehension"
        if task not in tasks:
            continue
        counter = counters[task]
        study, ref = norm_id(row.get("study_id", "")), norm_id(row.get("ref_id", ""))
        question, answer = row.get("question", "").strip(), row.get("answer", "").strip()
        key = (task, study, ref, question) if task == "qa_temporal_findings" else (task, study, question)
        if not study or not question or not answer:
            counter.add("dropped_empty")
            continue
        if key in seen:
            counter.add("duplicate")
            continue
        seen.add(key)
        report = store.text(study)
        prior_report = store.text(ref) if task == "qa_temporal_findings" else None
        if report is None or (task == "qa_temporal_findings" and prior_report is None):
            counter.add("dropped_no_report")
            continue
        split = splits.assign(study, prior=ref if task == "qa_temporal_findings" else None,
                              own=row.get("split") or None, counter=counter)
        if split is None:
            continue
        meta = {"dataset": DATASET, "study_id": study, "subject_id": norm_id(row.get("subject_id", "")),
                "question_type": qtype}
        if task == "qa_temporal_findings":
            target = answers.format_temporal_findings(answers.parse_temporal_findings(answer))
            out.append(make_record(f"diffvqa-{study}-{ref}-row{n}", task,
                                   {"report": report, "prior_report": prior_report or ""}, target, split,
                                   **meta, prior_study_id=ref, answer=answer))
        else:
            out.append(make_record(f"diffvqa-{study}-row{n}", task, {"report": report, "question": question},
                                   answer, split, **meta))
    for counter in counters.values():
        counter.log()
    return out
