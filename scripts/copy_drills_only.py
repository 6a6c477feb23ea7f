"""Experiment: continue a demo model on the copy drills alone (not part of the recipe).

    .venv/bin/python scripts/copy_drills_only.py runs/demo/sft3/final /tmp/copy-exp --steps 300
    .venv/bin/python scripts/copy_drills_only.py /tmp/copy-exp/final /tmp/copy-exp2 --steps 600
    .venv/bin/python scripts/copy_drills_only.py runs/demo/sft3/final /tmp/copy-mix --steps 800 --mix

Trains with the demo recipe's settings (full fine-tune, token format, packing, 3,072
tokens a step, bf16 autocast) on runs/demo/copy-drills only: extract findings and
clean-up records whose content words are scrambled, so the answer can only be copied.
It asks whether the model can learn to copy at all when the signal is dense; score the
result with scripts/probe_copy.py and scripts/quick_task_score.py. The model card
reports what it found: copying is learned, the other tasks are forgotten.

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
    p.add_argument("out", type=Path, help="training.sft's run directory (final/ is written there)")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--learning-rate", type=float, default=3e-4)
    p.add_argument("--demo-dir", type=Path, default=Path("runs/demo"))
    p.add_argument("--mix", action="store_true", help="train on the corpus's records too")
    args = p.parse_args()

    from training import sft
    from training.demo import DemoRecipe, corpus_sources, train_sources
    from training.sft import TrainConfig

    recipe = DemoRecipe()
    sources = train_sources(args.demo_dir / "copy-drills")
    caps: dict[str, int] = {}
    weights: dict[str, float] = {}
    if args.mix:
        sources = corpus_sources(args.demo_dir / "corpus") + sources
        caps, weights = dict(recipe.task_caps), dict(recipe.task_weights)
    config = TrainConfig(model=args.model, output_dir=str(args.out), sources=sources, task_caps=caps,
                         task_weights=weights, eval_cap=40 if args.mix else 0,
                         prompt_format="token", finetune="full", max_length=recipe.max_length, packing=True,
                         max_steps=args.steps, batch_size=recipe.batch_size, grad_accum=recipe.grad_accum,
                         learning_rate=args.learning_rate, lr_scheduler="cosine", warmup=30, weight_decay=0.01,
                         logging_steps=10, precision=recipe.precision, eval_steps=10**9, save_steps=10**9,
                         save_total_limit=1, seed=recipe.seed, merge=True, gguf_quant=None)
    summary = sft.main(config)
    print(json.dumps({k: summary.get(k) for k in ("global_step", "train_loss", "final_dir")}, default=str))


if __name__ == "__main__":
    main()
