"""radphi.stats: the bootstrap is deterministic, its interval holds the estimate and narrows
with n, missing values are skipped, and the paired bootstrap resamples records together."""

from __future__ import annotations

import numpy as np
import pytest

from radphi.evaluation.labels_metrics import micro_prf
from radphi import stats


def values(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(n)


def drawn(n: int, n_resamples: int, seed: int) -> np.ndarray:
    """The (n_resamples, n) record indices radphi.stats resamples for a seed, drawn here
    independently: one numpy generator per seed, int32 indices (one chunk at these sizes)."""
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n), dtype=np.int32)


def test_same_seed_same_interval_other_seed_other_interval():
    x = values(200)
    a = stats.bootstrap_ci(x, n_resamples=300, seed=7)
    b = stats.bootstrap_ci(x, n_resamples=300, seed=7)
    c = stats.bootstrap_ci(x, n_resamples=300, seed=8)
    assert a == b
    assert (a.low, a.high) != (c.low, c.high)
    assert a.value == pytest.approx(x.mean()) and a.n == 200


def test_interval_contains_the_estimate_and_narrows_as_n_grows():
    widths = []
    for n in (30, 300, 3000):
        ci = stats.bootstrap_ci(values(n, seed=n), n_resamples=500, seed=0)
        assert ci.low < ci.value < ci.high
        assert ci.contains(ci.value)
        widths.append(ci.high - ci.low)
    assert widths[0] > widths[1] > widths[2]
    # Roughly 1/sqrt(n): a tenfold n shrinks the width about threefold.
    assert 2.0 < widths[0] / widths[1] < 4.5


def test_interval_is_the_2_5_and_97_5_percentiles_of_resampled_means():
    x = values(50, seed=1)
    idx = drawn(50, 200, seed=3)
    means = x[idx].mean(axis=1)
    ci = stats.bootstrap_ci(x, n_resamples=200, seed=3)
    assert (ci.low, ci.high) == pytest.approx(tuple(np.percentile(means, [2.5, 97.5])))
    # The slow path (any statistic of the rows) sees the same resamples.
    slow = stats.bootstrap_ci(x, row_statistic=np.mean, n_resamples=200, seed=3)
    assert (slow.low, slow.high) == pytest.approx((ci.low, ci.high))


def test_resample_sums_do_not_depend_on_the_summing_path(monkeypatch):
    data = np.random.default_rng(2).random((300, 3))
    gathered = stats.resample_sums(data, 40, seed=5)
    monkeypatch.setattr(stats, "_GATHER_MAX_COLUMNS", 0)  # force counts @ data
    assert np.allclose(stats.resample_sums(data, 40, seed=5), gathered)
    idx = drawn(300, 40, seed=5)
    assert np.allclose(data[idx].sum(axis=1), gathered)


def test_missing_values_are_skipped_and_counted():
    x = np.array([1.0, np.nan, 3.0, np.nan])
    ci = stats.bootstrap_ci(x, n_resamples=100, seed=0)
    assert ci.value == 2.0 and ci.n == 2
    empty = stats.bootstrap_ci(np.array([np.nan, np.nan]), n_resamples=100)
    assert np.isnan(empty.value) and empty.n == 0
    none = stats.bootstrap_ci(np.array([]), n_resamples=100)
    assert np.isnan(none.value) and none.n == 0


def test_zero_resamples_gives_the_estimate_without_interval():
    ci = stats.bootstrap_ci(np.array([0.0, 1.0]), n_resamples=0)
    assert ci.value == 0.5 and np.isnan(ci.low) and np.isnan(ci.high)


def test_constant_values_give_a_zero_width_interval():
    ci = stats.bootstrap_ci(np.full(40, 0.25), n_resamples=100, seed=0)
    assert ci.low == ci.value == ci.high == 0.25


def test_one_function_serves_a_corpus_level_statistic():
    # per-record tp, fp, fn; micro-F1 is a function of their sums
    counts = np.array([[1, 0, 1], [2, 1, 0], [0, 1, 1], [3, 0, 0]] * 10, dtype=float)
    ci = stats.bootstrap_ci(counts, lambda s: micro_prf(s[..., 0], s[..., 1], s[..., 2])[2], n_resamples=300, seed=0)
    assert ci.value == pytest.approx(2 * 60 / (2 * 60 + 20 + 20))
    assert ci.low < ci.value < ci.high and ci.n == 40


def test_bootstrap_means_share_resamples_and_count_each_column():
    a = values(100, seed=3)
    b = a.copy()
    b[:10] = np.nan
    out = stats.bootstrap_means({"a": a, "b": b, "c": a}, n_resamples=200, seed=1)
    assert out["a"] == out["c"]
    assert out["a"].n == 100 and out["b"].n == 90
    alone = stats.bootstrap_ci(a, n_resamples=200, seed=1)
    assert (out["a"].low, out["a"].high, out["a"].value) == pytest.approx((alone.low, alone.high, alone.value))


def test_paired_difference_is_narrower_than_unpaired_intervals():
    rng = np.random.default_rng(0)
    difficulty = rng.random(400)
    a = np.clip(difficulty + 0.05 + rng.normal(0, 0.05, 400), 0, 1)
    b = np.clip(difficulty + rng.normal(0, 0.05, 400), 0, 1)
    ca, cb = stats.bootstrap_ci(a, seed=0), stats.bootstrap_ci(b, seed=0)
    d = stats.paired_bootstrap_ci(a, b, seed=0)
    assert d.value == pytest.approx(a.mean() - b.mean())
    assert d.low > 0  # the paired CI sees the difference ...
    assert ca.low < cb.high  # ... which overlapping error bars would hide
    assert (d.high - d.low) < (ca.high - ca.low)


def test_paired_skips_records_missing_in_either_and_checks_alignment():
    a = np.array([1.0, np.nan, 0.5, 0.0])
    b = np.array([0.0, 1.0, np.nan, 0.0])
    d = stats.paired_bootstrap_ci(a, b, n_resamples=50)
    assert d.n == 2 and d.value == 0.5
    with pytest.raises(ValueError):
        stats.paired_bootstrap_ci(np.zeros(3), np.zeros(4))


def test_paired_with_a_sum_statistic():
    ca = np.array([[1, 0, 0]] * 20, dtype=float)  # perfect
    cb = np.array([[1, 1, 1]] * 20, dtype=float)  # f1 = 0.5
    f1 = lambda s: micro_prf(s[..., 0], s[..., 1], s[..., 2])[2]  # noqa: E731
    d = stats.paired_bootstrap_ci(ca, cb, f1, n_resamples=100, seed=0)
    assert d.value == pytest.approx(0.5) and d.low == pytest.approx(0.5) and d.high == pytest.approx(0.5)
