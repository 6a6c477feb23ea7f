"""Per-record rows to the tidy metrics table, with bootstrap CIs and paired differences.

    model, task, stratum, metric, value, ci_low, ci_high, n, n_missing

- `stratum` is "all", or a value of the --by field.
- Mean-type metrics (every per-record column) are bootstrapped over records; `n` counts
  the records with a value, `n_missing` those without (judge unreadable, RadGraph absent).
- The checker's flag columns (`flags_*`, scoring.PER_100_COLUMNS) are per-record counts;
  their value and CI are the mean per 100 records (count x 100, then bootstrapped alike).
- Label tasks add micro-averaged scores (`label_micro_precision`, ...: bootstrapped by
  resampling records and recomputing) and, for stratum "all", per-label scores as
  `label_f1:<label>` (likewise precision and recall) with `n` = the label's support.
- For each pair of models that answered the same ids of a task, rows with model
  "A − B" (U+2212) hold the paired difference on the shared ids, with a paired CI.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

import pandas as pd

from radphi.evaluation import labels_metrics
from radphi.evaluation.scoring import group_strata, iter_tasks, mean_values, metric_columns
from radphi import stats, tasks
from radphi.tasks import LABEL_COUNT_COLUMNS

log = logging.getLogger(__name__)

COLUMNS = ["model", "task", "stratum", "metric", "value", "ci_low", "ci_high", "n", "n_missing"]
PAIR_SEP = " \u2212 "
MICRO = ("label_micro_precision", "label_micro_recall", "label_micro_f1")


def pair_name(a: str, b: str) -> str:
    return f"{a}{PAIR_SEP}{b}"


def _row(model: str, task: str, stratum: str, metric: str, ci: stats.CI, n_missing: int) -> dict[str, Any]:
    return {"model": model, "task": task, "stratum": stratum, "metric": metric, "value": ci.value,
            "ci_low": ci.low, "ci_high": ci.high, "n": ci.n, "n_missing": n_missing}


def _micro_statistics() -> dict[str, stats.SumStatistic]:
    return {name: (lambda k: lambda s: labels_metrics.micro_prf(s[..., 0], s[..., 1], s[..., 2])[k])(k)
            for k, name in enumerate(MICRO)}


def _means(sub: pd.DataFrame, cols: list[str], boot: dict[str, Any]) -> dict[str, stats.CI]:
    return stats.bootstrap_means({c: mean_values(sub, c) for c in cols}, **boot)


def _label_rows(model: str, task: str, stratum: str, sub: pd.DataFrame, boot: dict[str, Any],
                per_label: bool) -> list[dict[str, Any]]:
    rows = []
    counts = sub[list(LABEL_COUNT_COLUMNS)].to_numpy(dtype=float)
    for name, ci in stats.bootstrap_many(counts, _micro_statistics(), **boot).items():
        rows.append(_row(model, task, stratum, name, ci, 0))
    if per_label and "_pred_labels" in sub.columns:
        labels, matrix = labels_metrics.per_label_counts(list(sub["_pred_labels"]), list(sub["_ref_labels"]))
        statistics: dict[str, stats.SumStatistic] = {}
        support: dict[str, int] = {}
        for j, label in enumerate(labels):
            for k, metric in enumerate(("label_precision", "label_recall", "label_f1")):
                name = f"{metric}:{label}"
                statistics[name] = (lambda j, k: lambda s: labels_metrics.micro_prf(
                    s[..., 3 * j], s[..., 3 * j + 1], s[..., 3 * j + 2])[k])(j, k)
                support[name] = int(matrix[:, 3 * j].sum() + matrix[:, 3 * j + 2].sum())
        if statistics:
            for name, ci in stats.bootstrap_many(matrix, statistics, n=support, **boot).items():
                rows.append(_row(model, task, stratum, name, ci, 0))
    return rows


def summarize(frame: pd.DataFrame, *, by: str | None = None, n_resamples: int = stats.DEFAULT_RESAMPLES,
              seed: int = 0, confidence: float = stats.DEFAULT_CONFIDENCE) -> pd.DataFrame:
    """The tidy metrics table of a scored frame (see the module docstring)."""
    boot = {"n_resamples": n_resamples, "seed": seed, "confidence": confidence}
    rows: list[dict[str, Any]] = []
    for task in iter_tasks(frame):
        tf = frame[frame["task"] == task]
        cols = metric_columns(tf, task)
        is_label = task in tasks.LABEL_TASKS
        models = list(dict.fromkeys(tf["model"]))
        for model in models:
            mf = tf[tf["model"] == model]
            for stratum, idx in group_strata(mf, by).items():
                sub = mf.loc[idx]
                for name, ci in _means(sub, cols, boot).items():
                    rows.append(_row(model, task, stratum, name, ci, len(sub) - ci.n))
                if is_label:
                    rows += _label_rows(model, task, stratum, sub, boot, per_label=stratum == "all")
        for a, b in itertools.combinations(models, 2):
            rows += _paired_rows(tf, task, a, b, cols, by, boot, is_label)
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["n"] = out["n"].astype(int)
    out["n_missing"] = out["n_missing"].astype(int)
    return out


def _paired_rows(tf: pd.DataFrame, task: str, a: str, b: str, cols: list[str], by: str | None,
                 boot: dict[str, Any], is_label: bool) -> list[dict[str, Any]]:
    fa = tf[tf["model"] == a].set_index("id")
    fb = tf[tf["model"] == b].set_index("id")
    shared = [i for i in fa.index if i in fb.index]
    if not shared:
        log.info("%s: %s and %s share no ids; no paired comparison", task, a, b)
        return []
    fa, fb = fa.loc[shared], fb.loc[shared]
    name = pair_name(a, b)
    rows: list[dict[str, Any]] = []
    strata = group_strata(fa.reset_index(), by)
    for stratum, idx in strata.items():
        ids = [shared[i] for i in idx]
        sa, sb = fa.loc[ids], fb.loc[ids]
        diffs = {c: mean_values(sa, c) - mean_values(sb, c) for c in cols}
        for metric, ci in stats.bootstrap_means(diffs, **boot).items():
            rows.append(_row(name, task, stratum, metric, ci, len(ids) - ci.n))
        if is_label:
            ca = sa[list(LABEL_COUNT_COLUMNS)].to_numpy(dtype=float)
            cb = sb[list(LABEL_COUNT_COLUMNS)].to_numpy(dtype=float)
            for metric, statistic in _micro_statistics().items():
                ci = stats.paired_bootstrap_ci(ca, cb, statistic, **boot)
                rows.append(_row(name, task, stratum, metric, ci, 0))
    return rows
