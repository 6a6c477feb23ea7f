"""Bootstrap and paired-bootstrap confidence intervals (shared by evaluation and the dashboard).

One resampling scheme serves every metric: N resamples of the records, with replacement,
each the size of the set (the paper used N = 10; ours defaults to 1000), percentile
intervals, seeded and deterministic.

Statistics are written as functions of the resample's column sums, which is what makes
one fast function serve them all: a mean is sum(values) / sum(present), a micro-averaged
F1 is a function of sum(tp), sum(fp), sum(fn), a per-label score of that label's columns,
an agreement statistic of the summed confusion-matrix indicators. Each resample's sums
are one matrix product (resample counts x data), so 1000 resamples of 50,000 records take
a fraction of a second. A statistic that is not a function of sums can still be passed
as `row_statistic` (slower: one call per resample).

    >>> import numpy as np
    >>> ci = bootstrap_ci(np.array([0.2, 0.4, 0.6, 0.8]), n_resamples=200, seed=1)
    >>> round(ci.value, 2), ci.n, ci.low <= ci.value <= ci.high
    (0.5, 4, True)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95
# How many resample-count cells to build at once (bounds memory for large sets).
_CHUNK_CELLS = 4_000_000
# Up to this many columns, sums are gathered column by column; beyond, through counts @ data.
_GATHER_MAX_COLUMNS = 8

# A statistic maps column sums, shape (..., k), to values, shape (...).
SumStatistic = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class CI:
    """A point estimate with its percentile interval; `n` records went into it."""

    value: float
    low: float
    high: float
    n: int

    def contains(self, x: float) -> bool:
        return bool(self.low <= x <= self.high)


def mean_columns(values: np.ndarray) -> np.ndarray:
    """(n, 2) columns [value or 0, present] for a mean that skips missing (NaN) values."""
    values = np.asarray(values, dtype=float).reshape(-1)
    present = ~np.isnan(values)
    return np.column_stack([np.where(present, values, 0.0), present.astype(float)])


def mean_statistic(sums: np.ndarray) -> np.ndarray:
    """The mean from `mean_columns` sums: sum of values over number present (NaN if none)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sums[..., 1] > 0, sums[..., 0] / np.maximum(sums[..., 1], 1e-300), np.nan)


def _index_chunks(n: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """The seed's resamples as (rows, n) index arrays, drawn in fixed-size chunks from one
    generator, so every caller sees the same resample i for the same n and seed."""
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK_CELLS // max(n, 1))
    for start in range(0, n_resamples, rows):
        yield rng.integers(0, n, size=(min(rows, n_resamples - start), n), dtype=np.int32 if n < 2**31 else np.int64)


def resample_sums(data: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Column sums of `data` (n, k) over each of the seed's resamples: shape (n_resamples, k).

    Resample i is the same for any `data` with n rows (see `_index_chunks`).
    """
    data = np.asarray(data, dtype=float)
    if data.ndim == 1:
        data = data[:, None]
    n, k = data.shape
    out = np.zeros((n_resamples, k))
    if n == 0 or n_resamples == 0:
        return out
    columns = [np.ascontiguousarray(data[:, j]) for j in range(k)] if k <= _GATHER_MAX_COLUMNS else None
    start = 0
    for idx in _index_chunks(n, n_resamples, seed):
        b = len(idx)
        if columns is not None:
            # Few columns: gathering each column is faster than building counts.
            for j, col in enumerate(columns):
                out[start:start + b, j] = col[idx].sum(axis=1)
        else:
            flat = (idx + (np.arange(b) * n)[:, None]).ravel()
            counts = np.bincount(flat, minlength=b * n).reshape(b, n).astype(float)
            out[start:start + b] = counts @ data
        start += b
    return out


def percentile_interval(samples: np.ndarray, confidence: float = DEFAULT_CONFIDENCE) -> tuple[float, float]:
    """The percentile interval (2.5 and 97.5 for 95 %) of bootstrap samples, NaNs skipped."""
    samples = np.asarray(samples, dtype=float)
    samples = samples[~np.isnan(samples)]
    if samples.size == 0:
        return float("nan"), float("nan")
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(samples, [tail, 100.0 - tail])
    return float(low), float(high)


def bootstrap_many(
    data: np.ndarray,
    statistics: Mapping[str, SumStatistic],
    *,
    n: int | Mapping[str, int] | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[str, CI]:
    """Several statistics of the same records, on the same resamples (one pass).

    `data` is (n_records, k); each statistic maps column sums (..., k) to values (...).
    `n` is what each CI reports as its count (default: the number of records).
    """
    data = np.asarray(data, dtype=float)
    if data.ndim == 1:
        data = data[:, None]
    full = data.sum(axis=0)
    boot = resample_sums(data, n_resamples, seed) if n_resamples > 0 else None
    out: dict[str, CI] = {}
    for name, statistic in statistics.items():
        value = float(statistic(full[None, :])[0]) if len(data) else float("nan")
        if boot is not None and len(data):
            low, high = percentile_interval(statistic(boot), confidence)
        else:
            low = high = float("nan")
        count = n.get(name, len(data)) if isinstance(n, Mapping) else (len(data) if n is None else n)
        out[name] = CI(value, low, high, int(count))
    return out


def bootstrap_means(
    columns: Mapping[str, np.ndarray],
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[str, CI]:
    """Means of several per-record value columns (NaN = missing) on the same resamples.

    A column without missing values costs one data column, one with missing values two
    (values and presence); each CI's `n` counts its present values.
    """
    blocks: list[np.ndarray] = []
    stats: dict[str, SumStatistic] = {}
    counts: dict[str, int] = {}
    for name, values in columns.items():
        v = np.asarray(values, dtype=float).reshape(-1)
        j = sum(b.shape[1] for b in blocks)
        present = int((~np.isnan(v)).sum())
        counts[name] = present
        if present == len(v):
            blocks.append(v[:, None])
            size = float(len(v))
            stats[name] = (lambda j, size: lambda s: s[..., j] / size if size else s[..., j] * np.nan)(j, size)
        else:
            blocks.append(mean_columns(v))
            stats[name] = (lambda j: lambda s: mean_statistic(s[..., j:j + 2]))(j)
    if not blocks:
        return {}
    data = np.hstack(blocks)
    return bootstrap_many(data, stats, n=counts, n_resamples=n_resamples, seed=seed, confidence=confidence)


def bootstrap_ci(
    values: np.ndarray,
    statistic: SumStatistic | None = None,
    *,
    row_statistic: Callable[[np.ndarray], float] | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = DEFAULT_CONFIDENCE,
) -> CI:
    """The bootstrap CI of one statistic of a set of records.

    - Default: the mean of `values` (1-D; NaN = missing, skipped; `n` counts the present).
    - `statistic`: a function of the column sums of `values` (n, k), e.g. micro-F1 from
      per-record tp, fp, fn columns.
    - `row_statistic`: any function of the resampled rows (slow path, one call per resample).
    """
    if row_statistic is not None:
        return _bootstrap_rows(np.asarray(values), row_statistic, n_resamples, seed, confidence)
    if statistic is None:
        return bootstrap_means({"m": values}, n_resamples=n_resamples, seed=seed, confidence=confidence)["m"]
    return bootstrap_many(values, {"m": statistic}, n_resamples=n_resamples, seed=seed, confidence=confidence)["m"]


def paired_bootstrap_ci(
    a: np.ndarray,
    b: np.ndarray,
    statistic: SumStatistic | None = None,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    confidence: float = DEFAULT_CONFIDENCE,
) -> CI:
    """The CI of statistic(a) - statistic(b), resampling the shared records together.

    Row i of `a` and of `b` are two systems' results on the same record. With the default
    (mean), records where either value is missing are left out, so both means are over
    the same records.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"paired bootstrap needs aligned rows: {a.shape[0]} != {b.shape[0]}")
    if statistic is None:
        keep = ~(np.isnan(a.reshape(len(a), -1)).any(axis=1) | np.isnan(b.reshape(len(b), -1)).any(axis=1))
        diff = a.reshape(len(a), -1)[keep, 0] - b.reshape(len(b), -1)[keep, 0]
        return bootstrap_ci(diff, n_resamples=n_resamples, seed=seed, confidence=confidence)
    a2 = a if a.ndim == 2 else a[:, None]
    b2 = b if b.ndim == 2 else b[:, None]
    k = a2.shape[1]

    def diff_stat(sums: np.ndarray) -> np.ndarray:
        return statistic(sums[..., :k]) - statistic(sums[..., k:])

    return bootstrap_many(np.hstack([a2, b2]), {"d": diff_stat}, n_resamples=n_resamples,
                          seed=seed, confidence=confidence)["d"]


def _bootstrap_rows(values: np.ndarray, fn: Callable[[np.ndarray], float], n_resamples: int,
                    seed: int, confidence: float) -> CI:
    n = len(values)
    if n == 0:
        return CI(float("nan"), float("nan"), float("nan"), 0)
    value = float(fn(values))
    samples = np.array([fn(values[row]) for idx in _index_chunks(n, n_resamples, seed) for row in idx], dtype=float)
    low, high = percentile_interval(samples, confidence) if n_resamples else (float("nan"), float("nan"))
    return CI(value, low, high, n)
