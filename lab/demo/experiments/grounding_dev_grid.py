"""Score grounded-decoding settings on the held-out-phrasing development set (not the test split).

    .venv/bin/python -m lab.demo.experiments.grounding_dev_grid                       # the shipped settings
    .venv/bin/python -m lab.demo.experiments.grounding_dev_grid --grid 1,3,8 2,3,8 1,8,4 1,3,0

Each setting is FIRST_TOKENS,SCORE_TOKENS,NEXT_BONUS (radphi.grounding.GroundingSettings,
carried in GenParams.grounding), the bonus then for every task; without --grid, the
shipped settings (the per-task bonus included). The dev set,
runs/demo/corpus-dev/dev/, is written here when missing: 300 new studies in the demo
corpus's held-out phrasings (`build_extra_train(..., batch=4, split="dev")`), none of
whose inputs is in the corpus. Prints one JSON line per setting: mean unigram F1 (x100)
of extract findings and clean-up (or --tasks) on the first --n dev records, greedy, the
demo GGUF; --free decodes them without grounding.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from lab.demo import ROOT

TASKS = ("extract_findings", "cleanup_report_text")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="a GGUF (default: the embedded demo model)")
    p.add_argument("--demo-dir", type=Path, default=ROOT / "runs/demo")
    p.add_argument("--n", type=int, default=60)
    p.add_argument("--threads", type=int, default=1, help="llama.cpp threads (1: stays fast beside a training run)")
    p.add_argument("--grid", nargs="*", default=[], help="FIRST,SCORE,BONUS settings (default: the shipped one)")
    p.add_argument("--tasks", nargs="*", default=list(TASKS),
                   help="tasks to score; extract_impression (not grounded in the app) is grounded here to compare")
    p.add_argument("--free", action="store_true", help="decode freely instead (grounding off)")
    p.add_argument("--undecided-cuts", action="store_true",
                   help="cuts at commas as options of the sentence step (GroundingSettings.decide_cuts off)")
    p.add_argument("--any-cuts", action="store_true",
                   help="allow cuts that drop a finding or keep a fragment (GroundingSettings.whole_clauses off)")
    p.add_argument("--may-skip-findings", action="store_true",
                   help="let the model leave out finding sentences (GroundingSettings.keep_findings off)")
    args = p.parse_args()

    import dataclasses

    from lab.demo.experiments.quick_task_score import score as task_scores

    from radphi import grounding, settings, tasks
    from radphi.backends.llamacpp import LlamaCppBackend
    from radphi.records import read_jsonl
    from lab.demo.synthetic.corpus import build_extra_train

    dev = args.demo_dir / "corpus-dev"
    if not (dev / "manifest.json").is_file():
        build_extra_train(dev, args.demo_dir / "corpus", n_studies=300, batch=4, split="dev")
    for task in args.tasks:  # ground a task the app does not (extract_impression) to compare
        if not tasks.TASKS[task].copies_from:
            tasks.TASKS[task] = dataclasses.replace(tasks.TASKS[task], copies_from="report")
    backend = LlamaCppBackend(str(args.model or settings.DEMO_MODEL), n_threads=args.threads)
    shipped = dataclasses.replace(grounding.DEFAULT, decide_cuts=not args.undecided_cuts,
                                  whole_clauses=not args.any_cuts, keep_findings=not args.may_skip_findings)
    grid = [tuple(float(x) for x in g.split(",")) for g in args.grid]
    # A grid's bonus applies to every task; without a grid, the shipped settings.
    chosen = [dataclasses.replace(shipped, first_tokens=int(first), score_tokens=int(score), next_bonus=bonus,
                                  task_next_bonus=()) for first, score, bonus in grid] or [shipped]
    for cfg in chosen:
        row = {"first_tokens": cfg.first_tokens, "score_tokens": cfg.score_tokens,
               "next_bonus": {task: cfg.bonus_for(task) for task in args.tasks}, "n": args.n,
               "grounded": not args.free, "decide_cuts": cfg.decide_cuts, "whole_clauses": cfg.whole_clauses,
               "keep_findings": cfg.keep_findings}
        for task in args.tasks:
            records = read_jsonl(dev / "dev" / f"{task}.jsonl")[:args.n]
            scores = task_scores(backend, task, records, max_new_tokens=224, grounded=not args.free, grounding=cfg)
            row[task] = round(100 * statistics.mean(scores), 2)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
