"""Rebuild the embedded demo model from a seed, end to end, on CPU (or a GPU if present):

    python -m lab.demo.train --install                # the shipped recipe -> radphi/assets/radphi-demo.gguf
    python -m lab.demo.train --out runs/demo --set max_steps=600 --set studies=2000
    python -m lab.demo.train --config quick --out /tmp/demo    # a smoke run: tiny everything
    python -m lab.demo.train --config gpu --out runs/gpu --train-until 500   # the GPU experiment
    python -m lab.demo.train --config v17_stage4_from_shipped --out runs/demo17
        # a fourth stage from the shipped model (imported from its GGUF), without stages 1-3
    python -m lab.demo.train --config gpu --print-recipe       # the resolved recipe, as JSON

The recipe is `lab.demo.recipe.DemoRecipe` (its defaults are the shipped recipe); a
--config names a variant in lab/demo/config/ (or a TOML file), and --set KEY=VALUE
overrides any key on top (VALUE read as TOML: --set lexicon=true, --set
'stage3_task_weights={qa_temporal_findings=8}').

synthetic corpus (lab.demo.synthetic, plus extra train-only studies) -> byte-level BPE tokenizer
(lab.demo.base) trained on the train
split (<|endoftext|>, <instruct>, <output> as special tokens) -> a randomly initialised
PhiForCausalLM saved as an HF directory -> radphi.training.sft (token format, full fine-tune,
packing) -> final/ -> stage 2: radphi.training.sft again from that model, with more studies and
copy drills -> sft2/final/ -> stage 3: again, on the corpus, the drills and a batch of
studies written with extra train-only phrasings -> sft3/final/ -> GGUF q8_0
(radphi.training.export_gguf) -> radphi/assets/radphi-demo.gguf.

Outputs under OUT: corpus/, corpus-extra/ (more train-only studies), base/ (tokenizer + untrained model, also the "untrained"
baseline), sft/ (radphi.training.sft's run dir: data/, checkpoints, final/, run_summary.json),
corpus-extra2/ and copy-drills/ (stage 2's extra data), sft2/ (stage 2's run dir),
corpus-extra3/ and sft3/ (stage 3's), radphi-demo.gguf and demo_summary.json (sizes,
timings, each stage's summary). Rerunning resumes training from the last checkpoint; a
finished stage is not trained again; the corpora and base model are built only when missing.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from lab.demo import ROOT
from lab.demo.recipe import DemoRecipe

log = logging.getLogger(__name__)

MAX_GGUF_BYTES = 25 * 1024 * 1024
STARTED = time.time()  # --train-until counts from here
ASSET_DIR = ROOT / "radphi" / "assets"


def corpus_sources(corpus_dir: Path, tasks: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """radphi.training.sft `sources` for a synthetic corpus's train and validation files: all of them
    (sorted), or those of TASKS in the order given (the order feeds the seeded mix)."""
    def files(split: str) -> list[Path]:
        if tasks is None:
            return sorted((corpus_dir / split).glob("*.jsonl"))
        return [p for p in (corpus_dir / split / f"{task}.jsonl" for task in tasks) if p.is_file()]

    return [{"loader": "records", "path": str(p), "default_split": split}
            for split in ("train", "validation") for p in files(split)]


def train_sources(*dirs: Path) -> list[dict[str, Any]]:
    """radphi.training.sft `sources` for the train/*.jsonl files of train-only directories."""
    return [{"loader": "records", "path": str(p), "default_split": "train"}
            for d in dirs for p in sorted((d / "train").glob("*.jsonl"))]


def sft_config(recipe: DemoRecipe, corpus_dir: Path, base: Path, sft_dir: Path, *, stage: int = 1) -> Any:
    """Stage 1 trains BASE on the corpus and the extra studies; stage 2 continues from
    BASE (stage 1's output) with the second batch of studies and the copy drills too;
    stage 3 (and 4) from the previous stage's output on the corpus, the drills and the
    stage's own batch of augmented studies."""
    from radphi.training.sft import TrainConfig

    out = corpus_dir.parent
    sources = corpus_sources(corpus_dir)
    if recipe.one_stage:
        sources += train_sources(out / "corpus-extra", out / "corpus-extra2", out / "copy-drills",
                                 out / "corpus-extra3", out / "corpus-extra4")
    elif stage < 3 and recipe.extra_studies:
        sources += train_sources(out / "corpus-extra")
    if stage == 2:
        sources += train_sources(out / "corpus-extra2", out / "copy-drills")
    if stage >= 3 and not recipe.one_stage:
        sources += train_sources(out / f"corpus-extra{stage}", out / "copy-drills")
        if recipe.label_drills:
            sources += train_sources(out / f"label-drills{stage}")
    steps, lr, _ = recipe.stage(stage)
    weights = dict(recipe.task_weights) | (recipe.stage3_task_weights if stage >= 3 else {})
    return TrainConfig(model=str(base), output_dir=str(sft_dir), sources=sources, task_caps=dict(recipe.task_caps),
                       task_weights=weights,
                       eval_cap=40, prompt_format="token", finetune="full", max_length=recipe.max_length,
                       packing=recipe.packing, max_steps=steps, batch_size=recipe.batch_size,
                       grad_accum=recipe.grad_accum,
                       learning_rate=lr, lr_scheduler="cosine", warmup=recipe.warmup,
                       weight_decay=0.01, logging_steps=5, precision=recipe.precision, eval_steps=recipe.eval_steps,
                       save_steps=recipe.save_steps, save_total_limit=1, seed=recipe.seed, merge=True,
                       gguf_quant=None, gradient_checkpointing=recipe.gradient_checkpointing,
                       dataset_num_proc=recipe.dataset_num_proc, deadline=recipe.deadline,
                       dropout=recipe.stage3_dropout if stage >= 3 and recipe.stage3_dropout else None)


def finished_stage(sft_dir: Path, steps: int) -> dict[str, Any] | None:
    """radphi.training.sft's summary of a run in SFT_DIR that reached STEPS and wrote final/, else None
    (a finished stage 1 is then not loaded, data-prepared and saved again for stage 2)."""
    path = sft_dir / "run_summary.json"
    if not (path.is_file() and (sft_dir / "final" / "config.json").is_file()):
        return None
    summary = json.loads(path.read_text())
    return summary if summary.get("global_step") == steps else None


def _stage_data(recipe: DemoRecipe, out: Path, stage: int) -> None:
    """Write what stage 2, 3 or 4 adds to the mix, unless it is there already."""
    from lab.demo.synthetic.corpus import build_extra_train
    from lab.demo.synthetic.scramble import build_scrambled

    corpus_dir = out / "corpus"
    extra = out / f"corpus-extra{stage}"
    noisy = stage >= 3 and recipe.case_noise > 0
    if not (extra / "manifest.json").is_file():
        # With case noise, the batch is written aside and copied in with its noise.
        plain = out / f"corpus-extra{stage}-plain" if noisy else extra
        if not (plain / "manifest.json").is_file():
            build_extra_train(plain, corpus_dir, seed=recipe.seed, n_studies=recipe.stage(stage)[2],
                              batch=stage - 1, augment=stage >= 3, lexicon=recipe.lexicon)
        if noisy:
            from lab.demo.synthetic.case_noise import build_case_noised

            build_case_noised(plain, extra, seed=recipe.seed, share=recipe.case_noise, p_term=recipe.case_noise_terms)
    if stage >= 3 and recipe.label_drills and not (out / f"label-drills{stage}" / "manifest.json").is_file():
        from lab.demo.synthetic.label_drills import build_label_drills

        build_label_drills(out / f"label-drills{stage}", [corpus_dir / "train", extra / "train"], seed=recipe.seed,
                           n=recipe.label_drills)
    if stage == 2 and not (out / "copy-drills" / "manifest.json").is_file():
        build_scrambled(out / "copy-drills", [d / "train" for d in (corpus_dir, out / "corpus-extra", extra)],
                        seed=recipe.seed, per_task=recipe.stage2_drills_per_task)


def build(recipe: DemoRecipe, out: Path, *, install: bool = True, asset_dir: Path = ASSET_DIR,
          export: bool = True) -> dict[str, Any]:
    """Run the whole chain; returns (and writes OUT/demo_summary.json) what happened."""
    from radphi.training import sft
    from lab.demo.base import build_base
    from lab.demo.synthetic import build_corpus
    from lab.demo.synthetic.corpus import build_extra_train

    if recipe.continue_from:
        check_continue(recipe)  # refused before any data is written
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    out.mkdir(parents=True, exist_ok=True)
    corpus_dir, base, sft_dir = out / "corpus", out / "base", out / "sft"
    if not (corpus_dir / "manifest.json").is_file():
        build_corpus(corpus_dir, seed=recipe.seed, n_studies=recipe.studies)
    if recipe.extra_studies and not (out / "corpus-extra" / "manifest.json").is_file():
        build_extra_train(out / "corpus-extra", corpus_dir, seed=recipe.seed, n_studies=recipe.extra_studies)
    timings["corpus_s"] = time.perf_counter() - t0
    if recipe.continue_from:
        return _continue(recipe, out, t0, timings, install=install, asset_dir=asset_dir, export=export)
    if not (base / "demo_base.json").is_file():
        build_base(recipe, corpus_dir, base)
    base_info = json.loads((base / "demo_base.json").read_text())
    if recipe.one_stage:
        for stage in (2, 3, 4):
            _stage_data(recipe, out, stage)
    timings["base_s"] = time.perf_counter() - t0 - sum(timings.values())
    summary = finished_stage(sft_dir, recipe.max_steps) or sft.main(sft_config(recipe, corpus_dir, base, sft_dir))
    timings["train_s"] = time.perf_counter() - t0 - sum(timings.values())
    final = sft_dir / "final"
    stages: dict[str, Any] = {"1": summary}
    # Each later stage continues from the previous stage's final/; a stage of 0 steps
    # ends the chain (stages 3 and 4 need stage 2's copy drills).
    for stage in (2, 3, 4):
        steps = recipe.stage(stage)[0]
        if not steps or recipe.one_stage:
            break
        _stage_data(recipe, out, stage)
        sft_dir = out / f"sft{stage}"
        summary = finished_stage(sft_dir, steps) or sft.main(sft_config(recipe, corpus_dir, final, sft_dir, stage=stage))
        stages[str(stage)], final = summary, sft_dir / "final"
        timings[f"train{stage}_s"] = time.perf_counter() - t0 - sum(timings.values())
    return _finish(recipe, out, final, summary, stages, base_info, t0, timings, install=install, asset_dir=asset_dir,
                   export=export)


def continued_model(recipe: DemoRecipe, out: Path) -> Path:
    """The model that `recipe.continue_from` names, as a directory stage 4 can start from:
    a GGUF is imported into OUT/continued/ (once), a directory is used as it is."""
    from radphi.training.import_gguf import import_gguf

    src = Path(recipe.continue_from)
    if src.is_dir():
        return src
    dest = out / "continued"
    if not (dest / "config.json").is_file():
        import_gguf(src, dest)
    return dest


def check_continue(recipe: DemoRecipe) -> None:
    """Refuse a `continue_from` that names nothing, or that has no stage 4 to train."""
    if not Path(recipe.continue_from).exists():
        raise FileNotFoundError(f"continue_from: no such file or directory: {recipe.continue_from}")
    if not recipe.stage(4)[0]:
        raise ValueError("continue_from trains stage 4 only: give it steps with --set stage4_steps=N")


def _continue(recipe: DemoRecipe, out: Path, t0: float, timings: dict[str, float], *, install: bool,
              asset_dir: Path, export: bool) -> dict[str, Any]:
    """Stage 4 alone, from `recipe.continue_from` (standing for stages 1-3; `build` has checked it)."""
    from radphi.training import sft

    steps = recipe.stage(4)[0]
    start = continued_model(recipe, out)
    for stage in (2, 4):  # stage 2's copy drills are in stage 4's mix; stage 3's batch is not
        _stage_data(recipe, out, stage)
    timings["data_s"] = time.perf_counter() - t0 - sum(timings.values())
    sft_dir = out / "sft4"
    summary = finished_stage(sft_dir, steps) or sft.main(sft_config(recipe, out / "corpus", start, sft_dir, stage=4))
    timings["train4_s"] = time.perf_counter() - t0 - sum(timings.values())
    base_info = {"continued_from": recipe.continue_from, "start": str(start)}
    return _finish(recipe, out, sft_dir / "final", summary, {"4": summary}, base_info, t0, timings, install=install,
                   asset_dir=asset_dir, export=export)


def _finish(recipe: DemoRecipe, out: Path, final: Path, summary: dict[str, Any], stages: dict[str, Any],
            base_info: dict[str, Any], t0: float, timings: dict[str, float], *, install: bool, asset_dir: Path,
            export: bool) -> dict[str, Any]:
    """Export FINAL, install it, and write OUT/demo_summary.json."""
    from radphi.training.export_gguf import export_gguf

    gguf, size = None, None
    if export:
        gguf = export_gguf(final, out / "radphi-demo.gguf", quant="q8_0")
        timings["export_s"] = time.perf_counter() - t0 - sum(timings.values())
        size = gguf.stat().st_size
        if size >= MAX_GGUF_BYTES:
            raise RuntimeError(f"{gguf} is {size} bytes, over the 25 MB limit")
    result = {"final": str(final), "recipe": recipe.__dict__, "base": base_info,
              "gguf": str(gguf) if gguf else None, "gguf_bytes": size,
              "global_step": summary.get("global_step"), "train_loss": summary.get("train_loss"),
              "eval_loss": summary.get("eval_loss"), "throughput": summary.get("throughput"),
              "train_pairs": summary.get("data", {}).get("rows", {}).get("train"),
              "stages": {n: {k: st.get(k) for k in ("global_step", "train_loss", "eval_loss", "throughput",
                                                    "step_budget")}
                         for n, st in stages.items()},
              "timings_s": timings, "total_s": time.perf_counter() - t0, "command": " ".join(sys.argv)}
    if install and gguf is not None:
        asset_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(gguf, asset_dir / "radphi-demo.gguf")
        result["installed"] = str(asset_dir / "radphi-demo.gguf")
    (out / "demo_summary.json").write_text(json.dumps(result, indent=2, default=str))
    log.info("demo model: %s", {k: result[k] for k in ("gguf", "gguf_bytes", "global_step", "eval_loss", "total_s")})
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of `python -m lab.demo.train`: the recipe comes from --config and --set."""
    p.add_argument("--config", metavar="NAME|FILE",
                   help="a recipe variant: a name in lab/demo/config/ (quick, gpu, v12_lexicon, ...) or a TOML file "
                        "(default: the shipped recipe)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe key (lab/demo/recipe.py); VALUE is read as TOML (repeatable)")
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="work directory (default runs/demo)")
    p.add_argument("--train-until", type=float, metavar="SECONDS",
                   help="end training SECONDS after this command starts: the first steps are timed and the step "
                        "count (and its cosine schedule) cut to fit; the summary records it for --set max_steps=N")
    p.add_argument("--install", action="store_true", help="copy the GGUF to radphi/assets/radphi-demo.gguf")
    p.add_argument("--no-export", action="store_true",
                   help="stop at the trained HF model (OUT/sft*/final): export it elsewhere with radphi.training.export_gguf "
                        "(a machine without llama-cpp-python cannot quantize)")
    p.add_argument("--print-recipe", action="store_true", help="print the resolved recipe as JSON and exit")


def main(args: argparse.Namespace) -> int:
    from lab.demo.recipe import load_recipe
    from radphi.training.sft_model import check_dropout

    recipe = load_recipe(args.config, args.overrides)
    if args.train_until:
        recipe.deadline = STARTED + args.train_until
    check_dropout(recipe.stage3_dropout, "stage3_dropout")  # refused now, not after hours of stages 1-2
    if args.print_recipe:
        print(json.dumps(recipe.__dict__, indent=2))
        return 0
    result = build(recipe, args.out, install=args.install, export=not args.no_export)
    print(json.dumps({k: result.get(k) for k in ("final", "gguf", "gguf_bytes", "global_step", "train_loss", "eval_loss",
                                                 "total_s", "installed")}, default=str))
    return 0


def cli(argv: list[str] | None = None) -> int:
    from radphi.entry import run_module

    return run_module("python -m lab.demo.train", __doc__, add_arguments, main, argv)


if __name__ == "__main__":
    raise SystemExit(cli())
