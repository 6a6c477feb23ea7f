"""How long the lexical metrics take on 50,000 records (the paper's QA test set has 53,340).

    .venv/bin/python bench/bench_eval_scale.py [--n 50000] [--workers 1] [--bootstrap 1000]

Builds synthetic radiology-QA-length records (answers of 10-40 words) and findings-length
records (60-120 words) from a radiology word list, scores them with the lexical metrics
(f1, precision, recall, bleu1, rougeL) as `radphi eval` does, then bootstraps the five
means; then runs `radphi eval` end to end on a 50k-record QA file by system. Prints the
timings; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from radphi.evaluation import run_eval, scoring  # noqa: E402
from radphi import stats  # noqa: E402

SYSTEMS = ("Chest", "Cardiac", "Gastrointestinal", "Musculoskeletal", "Central Nervous System", "Breast",
           "Urogenital", "Vascular", "Forensic", "Hepatobiliary")

WORDS = (
    "the a no acute cardiopulmonary process left right bilateral pleural effusion small moderate large "
    "pneumothorax heart size is normal enlarged mediastinal contours unremarkable lung volumes low "
    "opacity at the base consolidation atelectasis edema mild pulmonary vascular congestion stable "
    "compared to prior study there interval improvement worsening of tube terminates in appropriate "
    "position 2 cm above carina, (PA) and lateral views; right-sided catheter tip in SVC. two three"
).split()


def make_pairs(n: int, low: int, high: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        ref = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
        # A prediction that keeps most of the reference, as a reasonable model would.
        pred = [w if rng.random() < 0.6 else rng.choice(WORDS) for w in ref[: rng.randint(low, high)]]
        pairs.append((" ".join(pred).capitalize() + ".", " ".join(ref).capitalize() + "."))
    return pairs


def bench(name: str, pairs: list[tuple[str, str]], workers: int, n_boot: int) -> None:
    t0 = time.perf_counter()
    rows = scoring.compute_lexical(pairs, workers=workers)
    t1 = time.perf_counter()
    columns = {m: [r[i] for r in rows] for i, m in enumerate(scoring.LEXICAL)}
    cis = stats.bootstrap_means(columns, n_resamples=n_boot, seed=0)
    t2 = time.perf_counter()
    print(f"{name:9s} n={len(pairs):6d} workers={workers}: lexical metrics {t1 - t0:6.1f} s "
          f"({len(pairs) / (t1 - t0):,.0f} rec/s); bootstrap x{n_boot} of 5 means {t2 - t1:5.1f} s; "
          f"f1 = {cis['f1'].value:.4f} [{cis['f1'].low:.4f}, {cis['f1'].high:.4f}]")


def bench_end_to_end(n: int, n_boot: int) -> None:
    """`radphi eval` on a 50k-record QA file, by system: reading, scoring, CIs, CSVs, report."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "qa.jsonl"
        with path.open("w") as fh:
            for i, (pred, ref) in enumerate(make_pairs(n, 10, 40, seed=3)):
                fh.write(json.dumps({"id": f"q{i}", "task": "radiology_qa", "question": "q", "model": "bench",
                                     "system": SYSTEMS[i % len(SYSTEMS)], "prediction": pred, "reference": ref}) + "\n")
        parser = argparse.ArgumentParser()
        run_eval.add_arguments(parser)
        args = parser.parse_args([str(path), "--out", str(Path(tmp) / "out"), "--by", "system",
                                  "--bootstrap", str(n_boot), "--no-progress"])
        t0 = time.perf_counter()
        run_eval.main(args)
        print(f"end to end: radphi eval on {n} QA records, --by system (11 strata), --bootstrap {n_boot}: "
              f"{time.perf_counter() - t0:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=1, help="lexical-metric processes (default 1)")
    parser.add_argument("--bootstrap", type=int, default=stats.DEFAULT_RESAMPLES)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPU(s), Python {sys.version.split()[0]}")
    bench("QA", make_pairs(args.n, 10, 40, seed=1), args.workers, args.bootstrap)
    bench("findings", make_pairs(args.n, 60, 120, seed=2), args.workers, args.bootstrap)
    # For comparison: the same work over the other number of processes (1 <-> 2).
    other = 2 if args.workers == 1 else 1
    bench("QA", make_pairs(args.n, 10, 40, seed=1), other, args.bootstrap)
    bench("findings", make_pairs(args.n, 60, 120, seed=2), other, args.bootstrap)
    bench_end_to_end(args.n, args.bootstrap)


if __name__ == "__main__":
    main()
