"""Scoring: `radphi run` records in, one row of per-record metrics per record and model out.

Which metric columns a record gets, and in which order, its task says
(`radphi.tasks.Task.columns`): the lexical metrics, RadGraph F1, the judge's and the
checker's are computed for every record whose task lists them, and the task's `scorer`
(a key of `SCORERS`) adds its set metrics. A metric that cannot be computed is NaN
(missing), never 0: the judge when no --judge was given or its reply was unreadable,
RadGraph F1 without the radgraph package or its model files.

Every task with a source text (all but radiology_qa and the general instruction) also
gets the checker's flags (`radphi.verify`, deterministic, no model calls): the record's
flag counts, `radphi.tasks.FLAG_COLUMNS`. They need the record's input fields and
prediction, not its reference. In records.csv they are counts; the metrics table reports their mean per 100
records (`PER_100_COLUMNS`, `mean_values`). `verify=False` (--no-verify) leaves them out.

The lexical metrics run in one process by default: 50,000 QA-length records take about
5 s, 50,000 findings-length ones about 15 s (bench/bench_eval_scale.py). `workers=2`
spreads them over processes, but on the 2-vCPU machine it was measured on, two
processes ran each at half speed, so it is opt-in (--workers). The checker takes about
1.2-1.5 ms a record on realistic reports with its sentence cache emptied
(bench/bench_verify.py on the 2-vCPU machine), so a minute or two for 50,000 records in
one process; `workers` spreads it over processes too (from `VERIFY_PARALLEL_MIN`
records), a note says so when it took long, and --no-verify skips it.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import pandas as pd

from radphi.evaluation import labels_metrics, metrics
from radphi import records as rec_io
from radphi import tasks

log = logging.getLogger(__name__)

LEXICAL = metrics.LEXICAL_METRICS
NAN = float("nan")
# Counts per record whose table value is the mean per 100 records.
PER_100_COLUMNS = frozenset(tasks.FLAG_COLUMNS)
# Columns that are counts behind corpus-level metrics, not metrics to average.
COUNT_COLUMNS = frozenset(tasks.LABEL_COUNT_COLUMNS)


def _label_scorer(task: str, prediction: str, reference: str) -> dict[str, Any]:
    scores = labels_metrics.label_scores(task, prediction, reference)
    out = {k: v for k, v in scores.items() if not k.startswith("_")}
    out["_pred_labels"], out["_ref_labels"] = scores["_pred"], scores["_ref"]  # for per-label scores
    return out


# The scorers a task names (`radphi.tasks.Task.scorer`): (task, prediction, reference) ->
# {column: value}; columns starting with "_" are hidden (kept for the aggregate, not shown).
SCORERS: dict[str, Callable[[str, str, str], dict[str, Any]]] = {
    "labels": _label_scorer,
    "temporal_findings": lambda task, pred, ref: labels_metrics.temporal_findings_scores(pred, ref),
    "progression": lambda task, pred, ref: {"progression_accuracy": labels_metrics.progression_accuracy(pred, ref)},
}
MISSING_STRATUM = "(missing)"
PARALLEL_MIN_PAIRS = 4000
_CHUNK = 2000
# Processes pay off once the work outweighs starting them (a second or two each).
VERIFY_PARALLEL_MIN = 4000
_VERIFY_CHUNK = 250
SLOW_VERIFY_S = 30.0  # past this, a note suggests --workers / --no-verify


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


def _map_chunks(fn: Any, items: list, chunk: int, workers: int, min_parallel: int, progress: bool,
                desc: str) -> list:
    """fn over CHUNK-sized slices of ITEMS, results concatenated in order; over `workers`
    processes when there are at least `min_parallel` items."""
    chunks = [items[i:i + chunk] for i in range(0, len(items), chunk)]
    bar = None
    if progress and len(items) >= min_parallel:
        from tqdm import tqdm

        bar = tqdm(total=len(items), desc=desc, unit="rec")
    out: list = []
    try:
        if workers > 1 and len(items) >= min_parallel:
            # spawn, not fork: the parent may hold threads (tqdm, llama.cpp, a judge pool).
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                for rows in pool.map(fn, chunks):
                    out.extend(rows)
                    if bar:
                        bar.update(len(rows))
        else:
            for part in chunks:
                out.extend(fn(part))
                if bar:
                    bar.update(len(part))
    finally:
        if bar:
            bar.close()
    return out


def compute_lexical(pairs: list[tuple[str, str]], workers: int = 1, progress: bool = False) -> list[tuple[float, ...]]:
    """(f1, precision, recall, bleu1, rougeL) per pair, in order; `workers` processes for large sets."""
    return _map_chunks(metrics.lexical_rows, pairs, _CHUNK, workers, PARALLEL_MIN_PAIRS, progress, "lexical metrics")


def verify_rows(records: Sequence[Mapping[str, Any]]) -> list[tuple[float, ...]]:
    """The FLAG_COLUMNS values of each record (task, input fields, prediction); all NaN
    for a record the checker fails on (logged), so one odd record does not stop a run."""
    from radphi.verify import count_flags, verify_record

    out: list[tuple[float, ...]] = []
    for rec in records:
        try:
            flags = verify_record(rec)
        except Exception as exc:  # noqa: BLE001 - a checker bug on one record must not lose the evaluation
            # The type only: a foreign exception's message may quote report text.
            log.warning("checker failed on %s record %r: %s", rec.get("task"), rec.get("id"), type(exc).__name__)
            out.append((NAN,) * len(tasks.FLAG_COLUMNS))
            continue
        counts = count_flags(flags)
        out.append(tuple(float(counts[c[len("flags_"):]]) for c in tasks.FLAG_COLUMNS[:-1])
                   + (float(sum(f.significant for f in flags)),))
    return out


def compute_verify(records: Sequence[Mapping[str, Any]], workers: int = 1,
                   progress: bool = False) -> list[tuple[float, ...]]:
    """`verify_rows` for many records, in order; `workers` processes from VERIFY_PARALLEL_MIN records."""
    slim = [{"id": r.get("id"), "task": r["task"], "prediction": r.get("prediction"),
             **{f: r.get(f) for f in tasks.TASKS[r["task"]].fields}} for r in records]
    return _map_chunks(verify_rows, slim, _VERIFY_CHUNK, workers, VERIFY_PARALLEL_MIN, progress, "checker flags")


def columns_of(task: str) -> tuple[str, ...]:
    """The task's per-record metric columns (`radphi.tasks.Task.columns`)."""
    return tasks.TASKS[task].columns


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
    verify: bool = True,
) -> pd.DataFrame:
    """One row per record: id, model, task, [the --by field], then each applicable metric.

    `judge` is an `radphi.evaluation.judge.Judge` or None (judge metrics missing). `notes`
    collects one-line messages about metrics that are missing and why. `verify=False`
    leaves out the checker's flag columns (`radphi.tasks.FLAG_COLUMNS`).
    """
    notes = notes if notes is not None else []
    rows: list[dict[str, Any]] = []
    for rec in records:
        row: dict[str, Any] = {"id": rec["id"], "model": rec["model"], "task": rec["task"]}
        if by:
            row[by] = stratum_of(rec, by)
        rows.append(row)

    lexical_idx = [i for i, r in enumerate(records) if "f1" in columns_of(r["task"])]
    lexical = compute_lexical([(_text(records[i].get("prediction")), _text(records[i].get("reference")))
                               for i in lexical_idx], workers or default_workers(), progress)
    for i, values in zip(lexical_idx, lexical):
        rows[i].update(zip(LEXICAL, values))

    for i, rec in enumerate(records):
        scorer = tasks.TASKS[rec["task"]].scorer
        if scorer is not None:
            rows[i].update(SCORERS[scorer](rec["task"], _text(rec.get("prediction")), _text(rec.get("reference"))))

    _add_radgraph(records, rows, radgraph_model, notes)
    _add_judge(records, rows, judge, progress, notes)
    if verify:
        _add_verify(records, rows, workers or default_workers(), progress, notes)

    skip = () if verify else tasks.FLAG_COLUMNS
    columns = ["id", "model", "task"] + ([by] if by else [])
    for task in dict.fromkeys(r["task"] for r in records):
        columns += [c for c in columns_of(task) if c not in columns and c not in skip]
    hidden = ["_pred_labels", "_ref_labels"] if any("_pred_labels" in r for r in rows) else []
    frame = pd.DataFrame(rows, columns=columns + hidden)
    for col in columns[3 + (1 if by else 0):]:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame


def _add_radgraph(records: Sequence[Mapping[str, Any]], rows: list[dict[str, Any]], model: str | None,
                  notes: list[str]) -> None:
    idx = [i for i, r in enumerate(records) if "radgraph_f1" in columns_of(r["task"])]
    if not idx:
        return
    from radphi.evaluation import radgraph_metric

    scores, message = radgraph_metric.radgraph_f1_scores(
        [_text(records[i].get("prediction")) for i in idx], [_text(records[i].get("reference")) for i in idx],
        model or radgraph_metric.DEFAULT_MODEL_TYPE,
    )
    if scores is None:
        notes.append(message)
        scores = [NAN] * len(idx)
    for i, value in zip(idx, scores):
        rows[i]["radgraph_f1"] = value


def _add_verify(records: Sequence[Mapping[str, Any]], rows: list[dict[str, Any]], workers: int, progress: bool,
                notes: list[str]) -> None:
    idx = [i for i, r in enumerate(records) if tasks.FLAG_COLUMNS[0] in columns_of(r["task"])]
    if not idx:
        return
    started = time.perf_counter()
    values = compute_verify([records[i] for i in idx], workers, progress)
    took = time.perf_counter() - started
    log.info("checker flags: %d record(s) in %.1f s over %d process(es)", len(idx), took, workers)
    if took > SLOW_VERIFY_S and workers <= 1:
        notes.append(f"checker flags took {took:.0f} s for {len(idx)} record(s) in one process: --workers N "
                     f"spreads them over N processes, --no-verify skips them")
    failed = 0
    for i, row in zip(idx, values):
        rows[i].update(zip(tasks.FLAG_COLUMNS, row))
        failed += math.isnan(row[0])
    if failed:
        notes.append(f"checker flags are missing for {failed} record(s): the checker failed on them (see the log)")


def _add_judge(records: Sequence[Mapping[str, Any]], rows: list[dict[str, Any]], judge: Any, progress: bool,
               notes: list[str]) -> None:
    idx = [i for i, r in enumerate(records) if "judge_relevance" in columns_of(r["task"])]
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
    return [c for c in columns_of(task) if c in frame.columns and c not in COUNT_COLUMNS]


def mean_values(frame: pd.DataFrame, column: str):
    """A column's per-record values as averaged into the table: x100 for PER_100_COLUMNS
    (so that the mean reads "per 100 records"), as they are otherwise."""
    values = frame[column].to_numpy(dtype=float)
    return values * 100.0 if column in PER_100_COLUMNS else values


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
