"""`radphi data build`: write and count exactly what a training stage trains and validates on.

    radphi data build --config radphi/training/configs/stage2b_cxr_tasks.toml --out data/built/stage2b
    radphi data build --config radphi/training/configs/stage1_supernatural.toml --out /tmp/look --limit 20
    radphi data build --config FILE --out DIR --tokenizer microsoft/phi-2   # also the max_length rule

Run it on the real datasets before spending GPU hours. It calls `radphi.training.data.build_data`,
the function training calls, with the stage's sources, caps, weights, eval cap, prompt
format and seed, so what it prints is what trains. It writes (owner-only: the records
hold report text):

    DIR/train/TASK.jsonl, DIR/validation/TASK.jsonl   the records, in the one record shape
    DIR/summary.json                                  every count below

and prints records per split, task and source dataset (the test split is counted, never
written: it is never trained on), then how many records each rule dropped or changed,
and why. Training also drops pairs longer than `max_length` tokens; that needs the
model's tokenizer, so it is applied only with `--tokenizer` (say so when it is not).
`--limit N` is a quick look: each loader reads little, and at most N records per task
and split are kept, so the counts are not the stage's.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, TextIO

log = logging.getLogger(__name__)

WRITTEN_SPLITS = ("train", "validation")


def build(config_path: str | Path, out: str | Path, *, overrides: list[str] | None = None, limit: int | None = None,
          tokenizer: str | None = None, stream: TextIO | None = None) -> dict[str, Any]:
    """Build the stage's data into OUT and print its counts; returns the summary."""
    from radphi.files import private_dir, write_private_text
    from radphi.records import write_jsonl
    from radphi.training.data import build_data
    from radphi.training.sft import load_config

    stream = stream or sys.stdout
    if limit is not None and limit < 1:
        raise ValueError("--limit must be 1 or more")
    config = load_config(config_path, overrides)
    if not config.sources:
        raise ValueError(f"{config_path}: no [[sources]] entries: nothing to build")
    eos, count = _tokenizer(tokenizer)
    built = build_data(config.sources, caps=config.task_caps, weights=config.task_weights,
                       eval_cap=config.eval_cap, fmt=config.prompt_format, eos_token=eos,
                       max_tokens=config.max_length if count else None, count_tokens=count,
                       seed=config.seed, limit=limit)
    out = private_dir(out)
    written: dict[str, dict[str, int]] = {}
    for split in WRITTEN_SPLITS:
        by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for rec in built.records.get(split, []):
            by_task[rec["task"]].append(rec)
        split_dir = private_dir(out / split)
        for stale in split_dir.glob("*.jsonl"):  # a rebuild shows only this build's tasks
            stale.unlink()
        written[split] = {task: write_jsonl(split_dir / f"{task}.jsonl", recs) for task, recs in sorted(by_task.items())}
    summary = {"config": str(config_path), "limit": limit, "tokenizer": tokenizer, "written": written,
               **built.summary}
    write_private_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    print_summary(summary, stream)
    print(f"wrote {out}/{{train,validation}}/TASK.jsonl and {out}/summary.json", file=stream)
    return summary


def _tokenizer(spec: str | None) -> tuple[str, Any]:
    """(end-of-sequence token, token counter) of the model training would load; ("<|endoftext|>", None) without one."""
    from radphi import tasks

    if not spec:
        return tasks.END_OF_TEXT, None
    from radphi.training import sft_model
    from radphi.training.data import token_counter

    tokenizer, _ = sft_model.load_tokenizer(sft_model.resolve_model_path(spec))
    return tokenizer.eos_token, token_counter(tokenizer)


def print_summary(summary: dict[str, Any], stream: TextIO) -> None:
    if summary.get("limit"):
        print(f"QUICK LOOK (--limit {summary['limit']}): these are not the stage's counts", file=stream)
    print("records loaded, per split, task and source:", file=stream)
    for split, tasks in summary["by_source"].items():
        for task, sources in tasks.items():
            for source, n in sorted(sources.items()):
                print(f"  {split:10s} {task:28s} {source:28s} {n:9d}", file=stream)
    print("written (what trains and validates), per split and task:", file=stream)
    for split, tasks in summary["written"].items():
        for task, n in tasks.items():
            print(f"  {split:10s} {task:28s} {n:9d}", file=stream)
        print(f"  {split:10s} {'total':28s} {sum(tasks.values()):9d}", file=stream)
    if summary.get("length_rule") != "applied":
        print("max_length rule NOT applied (pass --tokenizer MODEL to count tokens as training does)", file=stream)
    print("rules: records dropped or changed, and why:", file=stream)
    from radphi.training.loaders.tally import REASONS

    for source, rules in summary["rules"].items():
        for rule, n in rules.items():
            print(f"  {source:44s} {rule:34s} {n:9d}  {REASONS.get(rule, '')}", file=stream)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The flags of `radphi data` (one action for now: build)."""
    actions = parser.add_subparsers(dest="data_command", required=True)
    p = actions.add_parser("build", help="write and count exactly the records a stage trains and validates on",
                           description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, type=Path, help="stage config (TOML), e.g. radphi/training/configs/STAGE.toml")
    p.add_argument("--out", required=True, type=Path, help="directory for TASK.jsonl per split and summary.json")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, as `radphi train --set` does")
    p.add_argument("--limit", type=int, help="a quick look: read little, keep at most N records per task and split")
    p.add_argument("--tokenizer", help="the model whose tokenizer training uses (HF directory, hub id or a previous "
                                       "stage's output_dir), to apply the max_length rule too")
    return parser


def main_from_args(args: argparse.Namespace) -> int:
    if not args.config.is_file():
        raise FileNotFoundError(f"config not found: {args.config}")
    build(args.config, args.out, overrides=args.overrides, limit=args.limit, tokenizer=args.tokenizer)
    return 0


def cli(argv: list[str] | None = None) -> int:
    from radphi.entry import run_module

    return run_module("python -m radphi.training.data_build", __doc__, add_arguments, main_from_args, argv)


if __name__ == "__main__":
    raise SystemExit(cli())
