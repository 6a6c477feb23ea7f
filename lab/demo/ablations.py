"""The paper's two ablations (Tables 16 and 17), in miniature, on the demo model's corpus.

A reduced recipe (three tasks, ~1M training tokens a run) so that all runs fit a CPU:

- `stage1`: the general-instruction stage alone (the synthetic stand-in for
  Super-NaturalInstructions, `instruction` records), token format, from the untrained base.
- `token`: the three tasks, token format, from the untrained base (no stage 1).
- `default`: the same, with Phi-2's default `Instruct: ...\\nOutput:` format.
- `token+stage1`: the three tasks, token format, starting from `stage1`.

Format ablation (Table 16): `token` against `default`. Stage-1 ablation (Table 17):
`token+stage1` against `token`. Every stage-2 run has the same data, steps and seed; only
the format or the starting point differs. Each run is an ordinary `radphi.training.sft` run
directory, merged to final/ and exported to q8_0 GGUF; a finished run is reused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# The paper ran its format ablation on radiology QA and its stage-1 ablation on the report
# tasks; these three cover both kinds.
ABLATION_TASKS = ("radiology_qa", "impression_prediction", "abnormality_labels")


@dataclass(frozen=True)
class AblationRun:
    name: str
    prompt_format: str
    after_stage1: bool


RUNS = (AblationRun("token", "token", False), AblationRun("default", "default", False),
        AblationRun("token+stage1", "token", True))
COMPARISONS = {"format": ("token", "default"), "stage1": ("token+stage1", "token")}


@dataclass
class AblationRecipe:
    """~1M tokens per stage-2 run (330 steps x 3,072) and ~0.3M for stage 1, on CPU."""

    tasks: tuple[str, ...] = ABLATION_TASKS
    stage1_steps: int = 100
    steps: int = 330
    batch_size: int = 1
    grad_accum: int = 4
    max_length: int = 768
    learning_rate: float = 1e-3
    warmup: float = 30
    seed: int = 0
    task_weights: dict[str, float] = field(default_factory=lambda: {"radiology_qa": 3.0})

    @classmethod
    def quick(cls) -> "AblationRecipe":
        return cls(stage1_steps=2, steps=2, grad_accum=1, max_length=1024, warmup=1)

    def tokens_per_step(self) -> int:
        return self.batch_size * self.grad_accum * self.max_length


def _config(recipe: AblationRecipe, *, model: Path, out: Path, sources: list[dict[str, Any]], fmt: str,
            steps: int, weights: dict[str, float]) -> Any:
    from radphi.training.sft import TrainConfig

    return TrainConfig(model=str(model), output_dir=str(out), sources=sources, task_weights=weights, eval_cap=40,
                       prompt_format=fmt, finetune="full", max_length=recipe.max_length, packing=True,
                       max_steps=steps, batch_size=recipe.batch_size, grad_accum=recipe.grad_accum,
                       learning_rate=recipe.learning_rate, lr_scheduler="cosine", warmup=recipe.warmup,
                       weight_decay=0.01, logging_steps=10, eval_steps=max(steps, 1), save_steps=max(steps // 3, 1),
                       save_total_limit=1, seed=recipe.seed, merge=True, gguf_quant=None)


def _train(cfg: Any, gguf: Path, trained: list[str], name: str) -> Path:
    """One sft run (resumable) and its q8_0 GGUF; skipped when the GGUF exists."""
    from radphi.training import sft
    from radphi.training.export_gguf import export_gguf

    if gguf.is_file():
        log.info("reusing %s", gguf)
        return gguf
    sft.main(cfg)
    trained.append(name)
    return export_gguf(Path(cfg.output_dir) / "final", gguf, quant="q8_0")


def train_ablations(corpus: Path, base: Path, work: Path,
                    recipe: AblationRecipe | None = None) -> tuple[dict[str, Path], list[str]]:
    """Train (or reuse) every run; returns ({run name: GGUF path}, the names trained now)."""
    from lab.demo.train import corpus_sources

    recipe = recipe or AblationRecipe()
    work.mkdir(parents=True, exist_ok=True)
    trained: list[str] = []
    stage1_dir = work / "stage1"
    stage1_gguf = _train(_config(recipe, model=base, out=stage1_dir, sources=corpus_sources(corpus, ("instruction",)),
                                 fmt="token", steps=recipe.stage1_steps, weights={}), work / "stage1.q8_0.gguf",
                         trained, "stage1")
    ggufs = {"stage1": stage1_gguf}
    sources = corpus_sources(corpus, recipe.tasks)
    for run in RUNS:
        start = stage1_dir / "final" if run.after_stage1 else base
        slug = run.name.replace("+", "_")
        cfg = _config(recipe, model=start, out=work / slug, sources=sources, fmt=run.prompt_format,
                      steps=recipe.steps, weights=dict(recipe.task_weights))
        ggufs[run.name] = _train(cfg, work / f"{slug}.q8_0.gguf", trained, run.name)
    return ggufs, trained
