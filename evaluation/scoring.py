"""Scoring: `radphi run` records in, one row of per-record metrics per record and model out.

Which metrics a record gets comes from its task (`radphi.tasks.Task.metrics`) plus the
extras the paper's tables need (`TASK_COLUMNS`). A metric that cannot be computed is NaN
(missing), never 0: the judge when no --judge was given or its reply was unreadable,
RadGraph F1 without the radgraph package or its model files.

The lexical metrics run in one process by default: 50,000 QA-length records take about
5 s, 50,000 findings-length ones about 15 s (bench/bench_eval_scale.py). `workers=2`
spreads them over processes, but on the 2-vCPU machine it was measured on, two
processes ran each at half speed, so it is opt-in (--workers).
"""

from __future__ import annotations

import logging
import math
import os
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from evaluation import labels_metrics, metrics
from radphi import records as rec_io
from radphi import tasks

log = logging.getLogger(__name__)

LEXICAL = metrics.LEXICAL_METRICS
LABEL_COUNT_COLUMNS = ("label_tp", "label_fp", "label_fn")
TEMPORAL_SET_METRICS = tuple(f"{side}_{m}" for side in ("added", "removed") for m in ("precision", "recall", "f1"))
NAN = float("nan")

# Per task: the per-record metric columns, in the order of the paper's tables.
TASK_COLUMNS: dict[str, tuple[str, ...]] = {
    "radiology_qa": LEXICAL,
    "impression_prediction": ("radgraph_f1", "rougeL", "f1", "precision", "recall", "bleu1"),
    "abnormality_labels": tasks.LABEL_METRICS + LABEL_COUNT_COLUMNS,
    "tubes_lines_devices_labels": tasks.LABEL_METRICS + LABEL_COUNT_COLUMNS,
    "qa_temporal_findings": tasks.JUDGE_METRICS + TEMPORAL_SET_METRICS + LEXICAL,
    "qa_temporal_progression": tasks.JUDGE_METRICS + ("progression_accuracy",),
    "extract_findings": LEXICAL,
    "extract_impression": LEXICAL,
    "cleanup_report_text": LEXICAL,
    "qa_comprehension": tasks.JUDGE_METRICS + LEXICAL,
}
# Columns that are counts behind corpus-level metrics, not metrics to average.
COUNT_COLUMNS = frozenset(LABEL_COUNT_COLUMNS)
MISSING_STRATUM = "(missing)"
PARALLEL_MIN_PAIRS = 4000
_CHUNK = 2000


@dataclass
class LoadResult:
    records: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)


def stratum_of(record: Mapping[str, Any], by: str | None) -> str | None:
    """The record's value of the --by field (top level, else in `meta`)."""
    if not by:
        return None
    value = record.get(by)
    if value in (None, "") and isinstance(record.get("meta"), Mapping):
        value = record["meta"].get(by)
    return MISSING_STRATUM if value in (None, "") else str(value)


def load_predictions(paths: Sequence[str | os.PathLike]) -> LoadResult:
    """Records from `radphi run` output files; each problem is reported with file and line.

    A record without `model` takes its file's stem; one without a reference, or for an
    unknown task, is skipped; a second record with the same (model, task, id) too.
    """
    out = LoadResult([])
    seen: set[tuple[str, str, str]] = set()
    for path in paths:
        bad: list[rec_io.BadLine] = []
        for lineno, rec in rec_io.iter_numbered(path, bad):
            where = f"{path}:{lineno}"
            task = rec.get("task")
            if task not in tasks.TASKS:
                out.problems.append(f"{where}: unknown or missing task {task!r}; skipped")
                continue
            if rec.get("reference") in (None, ""):
                out.problems.append(f"{where}: no reference to score against; skipped")
                continue
            rec = dict(rec)
            rec["id"] = rec_io.record_id(rec, lineno)
            rec["model"] = str(rec.get("model") or Path(path).stem)
            key = (rec["model"], task, rec["id"])
            if key in seen:
                out.problems.append(f"{where}: duplicate id {rec['id']!r} for model {rec['model']!r}; skipped")
                continue
            seen.add(key)
            out.records.append(rec)
        out.problems.extend(str(b) for b in bad)
    return out


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def compute_lexical(pairs: list[tuple[str, str]], workers: int = 1, progress: bool = False) -> list[tuple[float, ...]]:
    """(f1, precision, recall, bleu1, rougeL) per pair, in order; `workers` processes for large sets."""
    chunks = [pairs[i:i + _CHUNK] for i in range(0, len(pairs), _CHUNK)]
    bar = None
    if progress and len(pairs) >= PARALLEL_MIN_PAIRS:
        from tqdm import tqdm

        bar = tqdm(total=len(pairs), desc="lexical metrics", unit="rec")
    out: list[tuple[float, ...]] = []
    try:
        if workers > 1 and len(pairs) >= PARALLEL_MIN_PAIRS:
            # spawn, not fork: the parent may hold threads (tqdm, llama.cpp, a judge pool).
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                for rows in pool.map(metrics.lexical_rows, chunks):
                    out.extend(rows)
                    if bar:
                        bar.update(len(rows))
        else:
            for chunk in chunks:
                out.extend(metrics.lexical_rows(chunk))
                if bar:
                    bar.update(len(chunk))
    finally:
        if bar:
            bar.close()
    return out


def default_workers() -> int:
    """One process: see the module docstring for why more is opt-in."""
    return 1


def score_records(
    records: Sequence[Mapping[str, Any]],
    *,
    by: str | None = None,
    judge: Any = None,
    radgraph_model: str | None = None,
    workers: int | None = None,
    progress: bool = False,
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """One row per record: id, model, task, [the --by field], then each applicable metric.

    `judge` is an `evaluation.judge.Judge` or None (judge metrics missing). `notes`
    collects one-line messages about metrics that are missing and why.
    """
    notes = notes if notes is not None else []
    rows: list[dict[str, Any]] = []
    for rec in records:
        row: dict[str, Any] = {"id": rec["id"], "model": rec["model"], "task": rec["task"]}
        if by:
            row[by] = stratum_of(rec, by)
        rows.append(row)

    lexical_idx = [i for i, r in enumerate(records) if "f1" in TASK_COLUMNS[r["task"]]]
    lexical = compute_lexical([(_text(records[i].get("prediction")), _text(records[i].get("reference")))
                               for i in lexical_idx], workers or default_workers(), progress)
    for i, values in zip(lexical_idx, lexical):
        rows[i].update(zip(LEXICAL, values))

    for i, rec in enumerate(records):
        task, pred, ref = rec["task"], _text(rec.get("prediction")), _text(rec.get("reference"))
        if task in labels_metrics.LABEL_TASKS:
            scores = labels_metrics.label_scores(task, pred, ref)
            rows[i].update({k: v for k, v in scores.items() if not k.startswith("_")})
            rows[i]["_pred_labels"], rows[i]["_ref_labels"] = scores["_pred"], scores["_ref"]
        elif task == "qa_temporal_findings":
            rows[i].update(labels_metrics.temporal_findings_scores(pred, ref))
        elif task == "qa_temporal_progression":
            rows[i]["progression_accuracy"] = labels_metrics.progression_accuracy(pred, ref)

    _add_radgraph(records, rows, radgraph_model, notes)
    _add_judge(records, rows, judge, progress, notes)

    columns = ["id", "model", "task"] + ([by] if by else [])
    for task in dict.fromkeys(r["task"] for r in records):
        columns += [c for c in TASK_COLUMNS[task] if c not in columns]
    hidden = ["_pred_labels", "_ref_labels"] if any("_pred_labels" in r for r in rows) else []
    frame = pd.DataFrame(rows, columns=columns + hidden)
    for col in columns[3 + (1 if by else 0):]:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame


def _add_radgraph(records: Sequence[Mapping[str, Any]], rows: list[dict[str, Any]], model: str | None,
                  notes: list[str]) -> None:
    idx = [i for i, r in enumerate(records) if "radgraph_f1" in TASK_COLUMNS[r["task"]]]
    if not idx:
        return
    from evaluation import radgraph_metric

    scores, message = radgraph_metric.radgraph_f1_scores(
        [_text(records[i].get("prediction")) for i in idx], [_text(records[i].get("reference")) for i in idx],
        model or radgraph_metric.DEFAULT_MODEL_TYPE,
    )
    if scores is None:
        notes.append(message)
        scores = [NAN] * len(idx)
    for i, value in zip(idx, scores):
        rows[i]["radgraph_f1"] = value


def _add_judge(records: Sequence[Mapping[str, Any]], rows: list[dict[str, Any]], judge: Any, progress: bool,
               notes: list[str]) -> None:
    idx = [i for i, r in enumerate(records) if "judge_relevance" in TASK_COLUMNS[r["task"]]]
    if not idx:
        return
    if judge is None:
        notes.append(f"judge_relevance and judge_accuracy are missing for {len(idx)} record(s): "
                     f"no judge given (--judge openai:MODEL@URL)")
        for i in idx:
            rows[i]["judge_relevance"] = rows[i]["judge_accuracy"] = NAN
        return
    judgements = judge.judge_many([records[i] for i in idx], progress=progress)
    for i, j in zip(idx, judgements):
        rows[i]["judge_relevance"] = NAN if j.relevance is None else j.relevance
        rows[i]["judge_accuracy"] = NAN if j.accuracy is None else j.accuracy
    notes.append(f"judge ({judge.model_id}): {judge.counts}")


def metric_columns(frame: pd.DataFrame, task: str) -> list[str]:
    """The averaged metrics of a task present in the frame (counts and hidden columns left out)."""
    return [c for c in TASK_COLUMNS[task] if c in frame.columns and c not in COUNT_COLUMNS]


def group_strata(frame: pd.DataFrame, by: str | None) -> dict[str, pd.Index]:
    """{"all": every row, <value>: its rows ...} for a task-and-model frame.

    No strata when no row has the field (a task the field does not apply to).
    """
    groups: dict[str, pd.Index] = {"all": frame.index}
    if by and by in frame.columns and (frame[by] != MISSING_STRATUM).any():
        buckets: dict[str, list] = defaultdict(list)
        for i, value in zip(frame.index, frame[by]):
            buckets[str(value)].append(i)
        for value in sorted(buckets):
            groups.setdefault(value, pd.Index(buckets[value]))
    return groups


def iter_tasks(frame: pd.DataFrame) -> Iterable[str]:
    return list(dict.fromkeys(frame["task"]))
