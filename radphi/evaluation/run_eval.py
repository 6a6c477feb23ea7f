"""`radphi eval`: score `radphi run` outputs, with bootstrap CIs, tables and a report.

    radphi eval rad-phi2.jsonl mistral.jsonl --out eval/ --by system --bootstrap 1000
    radphi eval preds.jsonl --out eval/ --judge openai:judge@http://127.0.0.1:8080/v1
    python -m radphi.evaluation.run_eval preds.jsonl --out eval/
    radphi eval --purge-cache                   empty the judge's cache

Writes DIR/records.csv (one row per record and model), DIR/metrics.csv (model, task,
stratum, metric, value, ci_low, ci_high, n, n_missing; paired differences as model
"A − B"), and DIR/report.html (self-contained, offline). Scores are on the 0-1 scale in
the CSVs (judge scores 1-10); the report prints them x100 as the paper does.

Beside them, for every task with a source text (all but radiology_qa), the checker's
flags (`radphi.verify`: missed finding, false finding, position, severity, and the
significant ones): counts per record in records.csv (`flags_*`), per 100 records with
their CI in metrics.csv and the report (lower is better). --no-verify skips them.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from radphi.errors import InputError

log = logging.getLogger(__name__)

# radphi.stats's defaults, repeated here so that building the parser (`radphi --help`)
# imports nothing heavy; tests/test_eval_run.py checks that they agree.
DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `radphi eval` flags (the CLI wires them to `main`). Cheap: imports nothing heavy."""
    from radphi.evaluation import radgraph_metric

    parser.add_argument("predictions", nargs="*", type=Path, metavar="PRED.jsonl",
                        help="`radphi run` output files (one or more models)")
    parser.add_argument("--out", type=Path, help="output directory for records.csv, metrics.csv, report.html")
    parser.add_argument("--bootstrap", type=int, default=DEFAULT_RESAMPLES, metavar="N",
                        help=f"bootstrap resamples per CI (default {DEFAULT_RESAMPLES}; the paper used 10; 0: none)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--confidence", type=float, default=DEFAULT_CONFIDENCE,
                        help="CI level (default 0.95: percentiles 2.5 and 97.5)")
    parser.add_argument("--by", metavar="FIELD", help="also report per value of this record field (or meta field), "
                                                      "e.g. system")
    parser.add_argument("--judge", metavar="SPEC", help="LLM judge for relevance/accuracy: openai:MODEL@URL or "
                                                        "openai-chat:MODEL@URL")
    parser.add_argument("--judge-prompt", type=Path, metavar="FILE",
                        help="judge prompt template (default: radphi/evaluation/judge_prompt.txt)")
    parser.add_argument("--allow-remote", action="store_true", default=None,
                        help="allow a non-loopback judge: report text is sent to it, PHI-scrubbed "
                             "(never for MIMIC-CXR or other credentialed data)")
    parser.add_argument("--purge-cache", action="store_true", help="delete the judge's cached judgements first")
    parser.add_argument("--heatmap-metric", metavar="METRIC", help="the metric of the model x stratum heat map "
                                                                   "(default: the task's first metric)")
    parser.add_argument("--radgraph-model", default=radgraph_metric.DEFAULT_MODEL_TYPE,
                        choices=radgraph_metric.MODEL_TYPES, help="RadGraph model for radgraph_f1 (default radgraph)")
    parser.add_argument("--workers", type=int, default=0, help="processes for the lexical metrics and the checker (default 1; try 2 on large sets)")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip the checker's flags per 100 records (missed/false finding, position, severity; "
                             "about 1.5 ms a record; spread over --workers)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def main(args: argparse.Namespace) -> int:
    """Run the evaluation; returns the exit status. User errors raise RadphiError."""
    from radphi.evaluation import aggregate, judge as judge_mod, scoring

    if args.purge_cache:
        removed = judge_mod.purge_cache()
        print(f"judge cache emptied ({removed} file(s) removed from {judge_mod.cache_dir()})", file=sys.stderr)
        if not args.predictions:
            return 0
    if not args.predictions:
        raise InputError("give one or more prediction files (PRED.jsonl), the output of `radphi run`")
    if args.out is None:
        raise InputError("--out DIR is required: where records.csv, metrics.csv and report.html go")
    if args.bootstrap < 0:
        raise InputError("--bootstrap must be 0 or more")
    if not 0 < args.confidence < 1:
        raise InputError("--confidence must be between 0 and 1, e.g. 0.95")
    for path in args.predictions:
        if not Path(path).is_file():
            raise InputError(f"prediction file not found: {path}")

    started = time.perf_counter()
    loaded = scoring.load_predictions(args.predictions)
    for problem in loaded.problems:
        print(f"warning: {problem}", file=sys.stderr)
    if not loaded.records:
        raise InputError("no records to score in " + ", ".join(str(p) for p in args.predictions))

    judge = None
    if args.judge:
        # Refuses a non-loopback judge without --allow-remote; warns about MIMIC-CXR with it.
        backend = judge_mod.load_judge_backend(args.judge, args.allow_remote)
        judge = judge_mod.Judge(backend, model_id=judge_mod.judge_model_id(args.judge),
                                template=judge_mod.load_prompt(args.judge_prompt))

    notes: list[str] = []
    try:
        frame = scoring.score_records(
            loaded.records, by=args.by, judge=judge, radgraph_model=args.radgraph_model,
            workers=args.workers or None, progress=not args.no_progress, notes=notes,
            verify=not args.no_verify,
        )
    finally:
        if judge is not None:
            judge.cache.close()
    table = aggregate.summarize(frame, by=args.by, n_resamples=args.bootstrap, seed=args.seed,
                                confidence=args.confidence)
    for note in notes:
        print(note, file=sys.stderr)

    models = ", ".join(dict.fromkeys(frame["model"]))
    write_outputs(frame, table, args.out, heading=f"radphi evaluation: {models}", notes=notes, by=args.by,
                  heatmap_metric=args.heatmap_metric)
    print(f"scored {len(frame)} records ({models}) in {time.perf_counter() - started:.1f} s; wrote "
          f"{args.out / 'records.csv'}, {args.out / 'metrics.csv'}, {args.out / 'report.html'}", file=sys.stderr)
    return 0


def write_outputs(frame, table, out: Path, *, heading: str, notes: list[str], by: str | None = None,
                  heatmap_metric: str | None = None, plotlyjs: str | None = None) -> None:
    """OUT/records.csv (per-record scores), OUT/metrics.csv (the tidy table) and OUT/report.html."""
    from radphi.evaluation import report
    from radphi.files import atomic_private_file

    out.mkdir(parents=True, exist_ok=True)
    # Owner-only (0600), as the predictions they come from: ids, strata and scores per record.
    with atomic_private_file(out / "records.csv", "w", encoding="utf-8", newline="") as fh:
        frame[[c for c in frame.columns if not c.startswith("_")]].to_csv(fh, index=False)
    with atomic_private_file(out / "metrics.csv", "w", encoding="utf-8", newline="") as fh:
        table.to_csv(fh, index=False)
    report.write_report(table, out / "report.html", heading=heading, heatmap_metric=heatmap_metric, notes=notes,
                        by=by, plotlyjs=plotlyjs)


def cli(argv: list[str] | None = None) -> int:
    """`python -m radphi.evaluation.run_eval`: the same as `radphi eval`."""
    from radphi.entry import run_module

    return run_module("python -m radphi.evaluation.run_eval", __doc__, add_arguments, main, argv)


if __name__ == "__main__":
    raise SystemExit(cli())
