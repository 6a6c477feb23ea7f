"""Command line for the synthetic corpus.

    python -m lab.demo.synthetic --out data/synthetic --seed 0 --studies 2000

Prints the record count per split and task, the characters of input and reference
per split of prompt and completion as training sees them (about 4 characters a token) and how long generation took.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from lab.demo.synthetic.corpus import DEFAULT_STUDIES, build_corpus


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lab.demo.synthetic", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return parser.parse_args(argv)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--studies", type=int, default=DEFAULT_STUDIES,
                        help=f"number of studies (default {DEFAULT_STUDIES}: about 4M training tokens)")
    parser.add_argument("--test-fraction", type=float, default=0.1, help="share of patients in the test split")
    parser.add_argument("--validation-fraction", type=float, default=0.05)
    parser.add_argument("--heldout-fraction", type=float, default=0.25,
                        help="share of each template group reserved for the test split (0 turns it off)")
    parser.add_argument("--general", type=int, default=None,
                        help="general-instruction records (default: as many as studies)")
    parser.add_argument("--questions", type=int, default=3, help="qa_comprehension questions per study")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return run(parse_args(argv))


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    counts = build_corpus(args.out, seed=args.seed, n_studies=args.studies, test_fraction=args.test_fraction,
                          validation_fraction=args.validation_fraction,
                          heldout_phrasing_fraction=args.heldout_fraction, n_general=args.general,
                          questions_per_study=args.questions)
    seconds = time.perf_counter() - start
    tasks = sorted({key.split("/", 1)[1] for key in counts})
    print(f"{'task':<30}" + "".join(f"{split:>12}" for split in ("train", "validation", "test")))
    for task in tasks:
        print(f"{task:<30}" + "".join(f"{counts.get(f'{split}/{task}', 0):>12}"
                                      for split in ("train", "validation", "test")))
    manifest = json.loads((Path(args.out) / "manifest.json").read_text(encoding="utf-8"))
    for split, chars in manifest["prompt_and_completion_chars"].items():
        print(f"{split}: {chars:,} characters of prompt and completion (~{chars // 4:,} tokens at 4 a token)")
    print(f"{sum(counts.values())} records in {seconds:.1f} s -> {args.out}")
    return 0
