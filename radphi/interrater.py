"""Inter-rater agreement with bootstrap CIs over units (cases): Cohen's kappa per pair of
raters, Fleiss' kappa (statsmodels) and Krippendorff's alpha (the `krippendorff` package),
for the review dashboard (radphi.review.agreement). The resampling is radphi.stats'.

All three bootstrap over units (cases). Cohen's kappa is four lines of numpy, which
scikit-learn's `cohen_kappa_score` would cost scipy and sklearn to import (the tests
check our values against scikit-learn's on fixed data). Fleiss' kappa comes from
statsmodels, resampled over units row by row.

Krippendorff's alpha is the `krippendorff` package's. Only its bootstrap interval uses
the closed form below, a function of per-unit column sums like Cohen's kappa, because
calling the package once per resample is too slow for the dashboard, which recomputes
on every request: on 4 raters x 200 units x 1000 resamples, 0.1-0.3 s an interval
against 0.005-0.06 s, 4-30x, and the review dashboard of 100 cases x 2 models x 4
reviewers takes about 2.2 s instead of 0.9 s (bench/bench_alpha_bootstrap.py, on a
shared 2-core machine). The tests check the closed form against the package, on
values and on the percentiles of the resampled units.
"""

from __future__ import annotations

import numpy as np

from radphi.stats import CI, DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, SumStatistic, bootstrap_ci, bootstrap_many

ALPHA_LEVELS = ("nominal", "interval")


def _codes(values: np.ndarray, categories: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values).reshape(-1)
    cats = np.unique(values) if categories is None else np.asarray(categories)
    index = {v.item() if hasattr(v, "item") else v: i for i, v in enumerate(cats)}
    try:
        return np.array([index[v.item() if hasattr(v, "item") else v] for v in values], dtype=np.int64), cats
    except KeyError as exc:
        raise ValueError(f"value {exc.args[0]!r} is not one of the categories {list(cats)}") from None


def kappa_columns(a: np.ndarray, b: np.ndarray, categories: np.ndarray | None = None) -> np.ndarray:
    """(n, K*K) one-hot cells of the two raters' confusion matrix, one row per unit; their
    column sums are the confusion matrix, which is all Cohen's kappa needs."""
    a = np.asarray(a).reshape(-1)
    b = np.asarray(b).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"Cohen's kappa needs the two raters' values on the same units: {a.size} != {b.size}")
    if categories is None:
        categories = np.unique(np.concatenate([a, b]))
    ca, cats = _codes(a, categories)
    cb, _ = _codes(b, cats)
    k = len(cats)
    out = np.zeros((len(a), k * k))
    out[np.arange(len(a)), ca * k + cb] = 1.0
    return out


def kappa_statistic(sums: np.ndarray) -> np.ndarray:
    """Cohen's kappa from summed `kappa_columns` (..., K*K); NaN when chance agreement is 1
    (both raters gave one and the same value to every unit: kappa is undefined)."""
    sums = np.asarray(sums, dtype=float)
    k = int(round(np.sqrt(sums.shape[-1])))
    m = sums.reshape(*sums.shape[:-1], k, k)
    n = m.sum(axis=(-1, -2))
    with np.errstate(invalid="ignore", divide="ignore"):
        po = np.trace(m, axis1=-2, axis2=-1) / n
        pe = (m.sum(axis=-1) * m.sum(axis=-2)).sum(axis=-1) / n**2
        return np.where(np.isclose(pe, 1.0) | (n == 0), np.nan, (po - pe) / (1.0 - pe))


def cohen_kappa_ci(a: np.ndarray, b: np.ndarray, *, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                   confidence: float = DEFAULT_CONFIDENCE) -> CI:
    """Cohen's kappa with its bootstrap interval over units."""
    cols = kappa_columns(a, b)
    if len(cols) == 0:
        return CI(float("nan"), float("nan"), float("nan"), 0)
    return bootstrap_many(cols, {"k": kappa_statistic}, n_resamples=n_resamples, seed=seed,
                          confidence=confidence)["k"]


def alpha_columns(data: np.ndarray, level: str = "nominal") -> np.ndarray:
    """Per-unit columns whose sums give Krippendorff's alpha, one row per pairable unit.

    `data` is (raters, units), NaN where a rater did not score a unit; units with fewer
    than two values carry no pairs and are left out. Columns: [m_u, within_u, ...], where
    within_u is the unit's sum of squared differences over ordered pairs / (m_u - 1), then
    for "interval" [sum v, sum v^2] and for "nominal" the count of each value.
    """
    if level not in ALPHA_LEVELS:
        raise ValueError(f"level must be one of {ALPHA_LEVELS}, got {level!r}")
    data = np.asarray(data, dtype=float)
    if data.ndim != 2:
        raise ValueError("reliability data must be (raters, units)")
    present = ~np.isnan(data)
    m = present.sum(axis=0)
    keep = m >= 2
    data, present, m = data[:, keep], present[:, keep], m[keep].astype(float)
    filled = np.where(present, data, 0.0)
    if level == "interval":
        s1 = filled.sum(axis=0)
        s2 = (filled**2).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            within = (2 * m * s2 - 2 * s1**2) / (m - 1)
        return np.column_stack([m, within, s1, s2])
    values = np.unique(data[present])
    counts = np.stack([((data == v) & present).sum(axis=0) for v in values], axis=1).astype(float) \
        if len(values) else np.zeros((data.shape[1], 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        within = (m**2 - (counts**2).sum(axis=1)) / (m - 1)
    return np.column_stack([m, within, counts])


def _alpha_from_sums(level: str) -> SumStatistic:
    def statistic(sums: np.ndarray) -> np.ndarray:
        sums = np.asarray(sums, dtype=float)
        n, within = sums[..., 0], sums[..., 1]
        if level == "interval":
            expected = 2 * n * sums[..., 3] - 2 * sums[..., 2] ** 2
        else:
            expected = n**2 - (sums[..., 2:] ** 2).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(expected > 0, 1.0 - (n - 1) * within / expected, np.nan)

    return statistic


def krippendorff_alpha(data: np.ndarray, level: str = "nominal") -> float:
    """Krippendorff's alpha of (raters, units) data (NaN = not scored), any number of raters.

    The value is the `krippendorff` package's. NaN when there is no variation to measure
    against (every value the same) or no unit was scored twice.
    """
    cols = alpha_columns(data, level)
    if len(cols) == 0:
        return float("nan")
    if np.isnan(_alpha_from_sums(level)(cols.sum(axis=0)[None, :])[0]):
        return float("nan")  # undefined: the package would raise or divide by zero
    import krippendorff

    return float(krippendorff.alpha(reliability_data=np.asarray(data, dtype=float), level_of_measurement=level))


def krippendorff_alpha_ci(data: np.ndarray, level: str = "nominal", *, n_resamples: int = DEFAULT_RESAMPLES,
                          seed: int = 0, confidence: float = DEFAULT_CONFIDENCE) -> CI:
    """Krippendorff's alpha (the package's) with its bootstrap interval over units (the
    closed form's, see the comment above `ALPHA_LEVELS`); `n` counts pairable units."""
    cols = alpha_columns(data, level)
    if len(cols) == 0:
        return CI(float("nan"), float("nan"), float("nan"), 0)
    ci = bootstrap_many(cols, {"a": _alpha_from_sums(level)}, n_resamples=n_resamples, seed=seed,
                        confidence=confidence)["a"]
    value = krippendorff_alpha(data, level) if not np.isnan(ci.value) else ci.value
    return CI(value, ci.low, ci.high, ci.n)


def fleiss_units(data: np.ndarray) -> tuple[np.ndarray, int]:
    """The (units, categories) count table Fleiss' kappa needs, from (raters, units) nominal
    data (NaN = not rated), and the raters per unit it uses. Fleiss' kappa wants the same
    number of ratings on every unit, so it takes the units with the most common number
    (two or more; ties go to the larger), and leaves the others out."""
    from statsmodels.stats.inter_rater import aggregate_raters

    data = np.asarray(data, dtype=float)
    if data.ndim != 2 or data.size == 0:
        return np.zeros((0, 0)), 0
    rated = (~np.isnan(data)).sum(axis=0)
    counts = rated[rated >= 2]
    if counts.size == 0:
        return np.zeros((0, 0)), 0
    values, freq = np.unique(counts, return_counts=True)
    m = int(values[freq == freq.max()].max())
    keep = data[:, rated == m].T  # (units, raters) with NaNs
    rows = np.array([row[~np.isnan(row)] for row in keep])  # each has m values
    cats = np.unique(data[~np.isnan(data)])
    table, _ = aggregate_raters(rows, n_cat=None)
    # aggregate_raters orders columns by the values present in `rows`; pad to every category
    # seen anywhere, so resampled tables line up (a column of zeros changes nothing).
    present = np.unique(rows)
    full = np.zeros((len(rows), len(cats)))
    full[:, np.searchsorted(cats, present)] = table
    return full, m


def fleiss_kappa(table: np.ndarray) -> float:
    """Fleiss' kappa (statsmodels) of a `fleiss_units` table; NaN when undefined (no units,
    or every rating the same)."""
    from statsmodels.stats.inter_rater import fleiss_kappa as _fleiss

    table = np.asarray(table, dtype=float)
    if table.shape[0] == 0 or (table.sum(axis=0) > 0).sum() < 2:
        return float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(_fleiss(table, method="fleiss"))


def fleiss_kappa_ci(data: np.ndarray, *, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                    confidence: float = DEFAULT_CONFIDENCE) -> CI:
    """Fleiss' kappa of (raters, units) nominal data with its bootstrap interval over units;
    `n` counts the units used (see `fleiss_units`)."""
    table, _ = fleiss_units(data)
    if table.shape[0] == 0:
        return CI(float("nan"), float("nan"), float("nan"), 0)
    return bootstrap_ci(table, row_statistic=fleiss_kappa, n_resamples=n_resamples, seed=seed, confidence=confidence)