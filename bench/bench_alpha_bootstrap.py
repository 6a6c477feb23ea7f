"""Why Krippendorff's alpha is resampled with a closed form (radphi.stats): its bootstrap
interval as radphi.stats computes it, against calling the `krippendorff` package once per
resample (on the resampled units' value counts, its fastest input), on reliability data of
the review dashboard's typical size; then a whole dashboard both ways. Fleiss' and
Cohen's kappa are timed beside it for scale.

    .venv/bin/python bench/bench_alpha_bootstrap.py
    .venv/bin/python bench/bench_alpha_bootstrap.py --raters 4 --units 1000 --no-dashboard

Prints seconds, and whether both ways give the same interval; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from radphi import interrater, stats  # noqa: E402


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def package_alpha_ci(data: np.ndarray, level: str = "nominal", *, n_resamples: int = stats.DEFAULT_RESAMPLES,
                     seed: int = 0, confidence: float = stats.DEFAULT_CONFIDENCE) -> stats.CI:
    """`interrater.krippendorff_alpha_ci` with every resample's alpha from the package (same resamples)."""
    import krippendorff

    data = np.asarray(data, dtype=float)
    present = ~np.isnan(data)
    domain = np.unique(data[present])
    counts = (data[:, present.sum(axis=0) >= 2].T[..., None] == domain).sum(axis=1)
    if len(counts) == 0 or len(domain) < 2:
        return stats.CI(float("nan"), float("nan"), float("nan"), len(counts))

    def alpha(c: np.ndarray) -> float:
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(krippendorff.alpha(value_counts=c, value_domain=domain, level_of_measurement=level))

    return stats.bootstrap_ci(counts, row_statistic=alpha, n_resamples=n_resamples, seed=seed, confidence=confidence)


def _dashboard(rounds: int) -> None:
    os.environ["RADPHI_HOME"] = tempfile.mkdtemp()
    from radphi.review import ReviewStore
    from radphi.review.stats import dashboard
    from tests.test_reviews_stats import build_sample

    store = ReviewStore()
    build_sample(store, n_cases=100, reviewers=("a", "b", "c", "d"))
    closed = interrater.krippendorff_alpha_ci
    ways = {"closed form": closed, "package per resample": package_alpha_ci}
    times: dict[str, list[float]] = {k: [] for k in ways}
    dashboard(store, "pilot", n_resamples=10)  # warm-up: imports
    for _ in range(rounds):
        for name, fn in ways.items():
            interrater.krippendorff_alpha_ci = fn
            times[name].append(_timed(lambda: dashboard(store, "pilot", n_resamples=1000))[0])
    interrater.krippendorff_alpha_ci = closed
    print(f"review dashboard, 100 cases x 2 models x 4 reviewers, 1000 resamples ({rounds} rounds, interleaved):")
    for name, t in times.items():
        print(f"  alpha by {name:20s} min {min(t):5.2f} s, median {float(np.median(t)):5.2f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raters", type=int, default=4)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--missing", type=float, default=0.2, help="share of (rater, unit) cells not scored")
    parser.add_argument("--rounds", type=int, default=5, help="dashboards built each way")
    parser.add_argument("--no-dashboard", action="store_true")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    shape, b = (args.raters, args.units), args.resamples
    print(f"{args.raters} raters x {args.units} units, {b} resamples, {args.missing:.0%} not scored")
    for n_values in (2, 5):
        data = rng.integers(0, n_values, shape).astype(float)
        data[rng.random(shape) < args.missing] = np.nan
        for level in interrater.ALPHA_LEVELS:
            t_closed, ci = _timed(lambda: interrater.krippendorff_alpha_ci(data, level, n_resamples=b))
            t_pkg, ref = _timed(lambda: package_alpha_ci(data, level, n_resamples=b))
            same = np.allclose([ci.low, ci.high], [ref.low, ref.high], rtol=0, atol=1e-12)
            print(f"  alpha {level:8s} {n_values} values: closed form {t_closed:6.3f} s, package per resample "
                  f"{t_pkg:6.3f} s ({t_pkg / t_closed:4.1f}x); same interval: {same}")
    presence = rng.integers(0, 2, shape).astype(float)
    presence[rng.random(shape) < args.missing] = np.nan
    print(f"  Fleiss' kappa (statsmodels per resample): {_timed(lambda: interrater.fleiss_kappa_ci(presence, n_resamples=b))[0]:6.3f} s")
    a, c = np.nan_to_num(presence[0]), np.nan_to_num(presence[1])
    print(f"  Cohen's kappa, one pair of raters:        {_timed(lambda: interrater.cohen_kappa_ci(a, c, n_resamples=b))[0]:6.3f} s")
    if not args.no_dashboard:
        _dashboard(args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
