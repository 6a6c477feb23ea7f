"""Experiment: continue a demo model on the copy drills alone (not part of the recipe).

    .venv/bin/python -m lab.demo.experiments.copy_drills_only runs/demo/sft3/final /tmp/copy-exp --steps 300
    .venv/bin/python -m lab.demo.experiments.copy_drills_only /tmp/copy-exp/final /tmp/copy-exp2 --steps 600
    .venv/bin/python -m lab.demo.experiments.copy_drills_only runs/demo/sft3/final /tmp/copy-mix --steps 800 --mix

Trains with the demo recipe's settings (full fine-tune, token format, packing, 3,072
tokens a step, bf16 autocast) on runs/demo/copy-drills only: extract findings and
clean-up records whose content words are scrambled, so the answer can only be copied.
It asks whether the model can learn to copy at all when the signal is dense; score the
result with lab.demo.experiments.probe_copy and lab.demo.experiments.quick_task_score. The log
(lab/demo/LOG.md) reports what it found: copying is learned, the other tasks are forgotten.

--mix adds the corpus's own records (1,700 train studies of every task, knowledge QA and
general instructions; the recipe's caps and weights), so that the drills stay a large
share (about 8,000 of 25,000 records) while the other tasks go on being trained.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="an HF model directory to start from")
    p.add_argument("out", type=Path, help="radphi.training.sft's run directory (final/ is written there)")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--learning-rate", type=float, default=3e-4)
    p.add_argument("--demo-dir", type=Path, default=Path("runs/demo"))
    p.add_argument("--mix", action="store_true", help="train on the corpus's records too")
    args = p.parse_args()

    import dataclasses

    from radphi.training import sft
    from lab.demo.train import DemoRecipe, corpus_sources, sft_config, train_sources

    recipe = DemoRecipe()
    corpus = args.demo_dir / "corpus"
    # The recipe's own stage settings (format, packing, tokens a step, precision, ...),
    # with this experiment's sources, length and schedule.
    config = sft_config(recipe, corpus, Path(args.model), args.out, stage=3)
    drills = train_sources(args.demo_dir / "copy-drills")
    config = dataclasses.replace(
        config, sources=corpus_sources(corpus) + drills if args.mix else drills,
        task_caps=config.task_caps if args.mix else {}, task_weights=config.task_weights if args.mix else {},
        eval_cap=config.eval_cap if args.mix else 0, max_steps=args.steps, learning_rate=args.learning_rate,
        warmup=30, logging_steps=10, eval_steps=10**9, save_steps=10**9)
    summary = sft.main(config)
    print(json.dumps({k: summary.get(k) for k in ("global_step", "train_loss", "final_dir")}, default=str))


if __name__ == "__main__":
    main()
