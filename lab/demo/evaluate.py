"""The paper's tables in miniature, for the embedded demo model, by one command:

    python -m lab.demo.evaluate                  # -> lab/demo/results/
    python -m lab.demo.evaluate --skip-ablations # the main tables only (minutes)

On the synthetic test split (held-out phrasings) of the demo corpus (runs/demo/corpus,
written by `python -m lab.demo.train`, or here when missing):

1. main/: the untrained model (the demo's random-init base, q8_0), the keyword baseline
   (`--model keyword`) and the demo model, on all ten tasks: the shapes of the paper's
   Tables 6, 10, 13, 14 and 15, with paired differences (demo - keyword, demo - untrained).
2. ablation_format/ and ablation_stage1/: Tables 16 and 17 with a reduced recipe
   (lab.demo.ablations: three tasks, ~1M training tokens a run), trained here when
   their models are missing (~30 min on a 2-core CPU), then evaluated the same way.

Each directory gets metrics.csv, records.csv and report.html (`radphi eval`'s outputs);
OUT/README.md holds every table in Markdown and OUT/summary.json what was run. Predictions
and ablation models are kept under --work, so a rerun only redoes what is missing.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from pathlib import Path
from typing import Any

from lab.demo.tables import (
    DEMO,
    DEMO_FREE,
    HEADLINE,
    KEYWORD,
    PAPER_TABLES,
    UNTRAINED,
    ablation_section,
    models_table,
    pairs_table,
    verdict,
)
from radphi.errors import InputError
from radphi.files import write_private_text

log = logging.getLogger(__name__)

# Enough new tokens for every test reference (longest: ~110 tokens for extract_findings)
# without letting the untrained model ramble for long.
MAX_NEW_TOKENS = {"abnormality_labels": 64, "tubes_lines_devices_labels": 64, "cleanup_report_text": 224,
                  "extract_findings": 224, "extract_impression": 128, "impression_prediction": 128,
                  "qa_comprehension": 64, "qa_temporal_findings": 48, "qa_temporal_progression": 128,
                  "radiology_qa": 96}
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("lab/demo/results"), help="tables and reports (default lab/demo/results)")
    parser.add_argument("--work", type=Path, default=Path("runs/demo-results"),
                        help="predictions and ablation models (default runs/demo-results)")
    parser.add_argument("--demo-dir", type=Path, default=Path("runs/demo"),
                        help="the demo build directory with corpus/ and base/ (default runs/demo; built when missing)")
    parser.add_argument("--model", type=Path, help="the demo GGUF (default radphi/assets/radphi-demo.gguf)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, help="at most N test records per task (a quick look)")
    parser.add_argument("--skip-ablations", action="store_true", help="only the main tables")
    parser.add_argument("--quick", action="store_true", help="smoke test: tiny ablation runs (a few steps)")
    parser.add_argument("--threads", type=int, default=1,
                        help="llama.cpp threads (default 1: the demo-size models decode fastest on one, and "
                             "llama.cpp's spinning threads stall badly when training shares the cores)")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--plotlyjs-only", action="store_true",
                        help="only write OUT/plotly.min.js (the installed plotly's, not committed), which the "
                             "reports under OUT load, and stop")


# -- inputs ---------------------------------------------------------------------------------

def ensure_demo_inputs(demo_dir: Path, quick: bool) -> tuple[Path, Path]:
    """corpus/ and base/ of a demo build (built here, in seconds, when missing)."""
    from lab.demo.train import DemoRecipe
    from lab.demo.base import build_base
    from lab.demo.synthetic import build_corpus

    recipe = DemoRecipe.quick() if quick else DemoRecipe()
    corpus, base = demo_dir / "corpus", demo_dir / "base"
    if not (corpus / "manifest.json").is_file():
        log.info("writing the synthetic corpus to %s", corpus)
        build_corpus(corpus, seed=recipe.seed, n_studies=recipe.studies)
    if not (base / "demo_base.json").is_file():
        log.info("building the untrained base model in %s", base)
        build_base(recipe, corpus, base)
    return corpus, base


def split_inputs(corpus: Path, work: Path, tasks: list[str], limit: int | None) -> dict[str, Path]:
    """The test file of each task (the first `limit` records, copied, when limited)."""
    out: dict[str, Path] = {}
    for task in tasks:
        src = corpus / "test" / f"{task}.jsonl"
        if not src.is_file():
            raise InputError(f"{src} is missing: is {corpus} a corpus written by `python -m lab.demo.synthetic`?")
        if limit:
            dst = work / f"inputs-{limit}" / src.name
            if not dst.is_file():
                dst.parent.mkdir(parents=True, exist_ok=True)
                with src.open(encoding="utf-8") as fh:
                    write_private_text(dst, "".join(line for _, line in zip(range(limit), fh)))
            src = dst
        out[task] = src
    return out


def untrained_gguf(base: Path, work: Path) -> Path:
    from radphi.training.export_gguf import export_gguf

    path = work / "untrained.q8_0.gguf"
    if not path.is_file():
        work.mkdir(parents=True, exist_ok=True)
        export_gguf(base, path, quant="q8_0")
    return path


# -- predictions and scores -------------------------------------------------------------------

def model_stamp(spec: str, fmt: str, grounded: bool = True) -> dict[str, Any]:
    """What a prediction directory was generated by: the spec, the prompt format, the
    grounded-decoding settings and, for a file, its SHA-256 (a rebuilt model at the same
    path, or changed decoding, must not reuse old answers)."""
    from radphi import grounding
    from radphi.hashing import file_sha256

    stamp: dict[str, Any] = {"spec": spec, "format": fmt, "grounding": grounding.settings() if grounded else None}
    if Path(spec).is_file():
        stamp["sha256"] = file_sha256(spec).removeprefix("sha256:")
    return stamp


def drop_stale(pred_dir: Path, stamp: dict[str, str]) -> None:
    """Remove PRED_DIR's predictions unless its stamp (model.json) matches STAMP; then stamp it."""
    path = pred_dir / "model.json"
    old = json.loads(path.read_text()) if path.is_file() else None
    stale = sorted(pred_dir.glob("*.jsonl")) if old != stamp else []
    if stale:
        log.warning("%s: predictions were made by %s, not by %s; generating them again", pred_dir,
                    old or "an unrecorded model", stamp)
        for file in stale:
            file.unlink()
    pred_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stamp, indent=2) + "\n")


def predict(models: dict[str, tuple[str, str]], inputs: dict[str, Path], pred_dir: Path, progress: bool,
            threads: int = 1, counts: dict[str, int] | None = None, grounded: bool = True) -> list[Path]:
    """`radphi run` for each model (name -> (SPEC, prompt format)) and task; resumable.
    `counts` collects how many records were generated now and how many were reused.
    `grounded=False` turns grounded decoding off (the extractive tasks decode freely)."""
    counts = counts if counts is not None else {}
    from radphi import runner
    from radphi.backends import GenParams, load_backend

    paths: list[Path] = []
    for name, (spec, fmt) in models.items():
        backend = load_backend(spec, n_threads=threads) if spec.endswith(".gguf") else load_backend(spec)
        drop_stale(pred_dir / name.replace("+", "_"), model_stamp(spec, fmt, grounded))
        for task, src in inputs.items():
            dst = pred_dir / name.replace("+", "_") / f"{task}.jsonl"
            summary = runner.run_file(task, backend, src, dst, name=name, fmt=fmt, progress=progress,
                                      params=GenParams(max_new_tokens=MAX_NEW_TOKENS.get(task, 128), grounded=grounded))
            counts["generated"] = counts.get("generated", 0) + summary.written
            counts["reused"] = counts.get("reused", 0) + summary.skipped_done
            if summary.failed:
                log.warning("%s %s: %d record(s) failed, e.g. %s", name, task, len(summary.failed), summary.failed[0])
            paths.append(dst)
    return paths


def score(paths: list[Path], out: Path, *, bootstrap: int, seed: int, heading: str) -> Any:
    """`radphi eval` on PATHS into OUT; returns the metrics table."""
    from radphi.evaluation import aggregate, scoring
    from radphi.evaluation.run_eval import write_outputs

    loaded = scoring.load_predictions(paths)
    notes: list[str] = []
    frame = scoring.score_records(loaded.records, notes=notes)
    table = aggregate.summarize(frame, n_resamples=bootstrap, seed=seed)
    # The reports share one offline copy of plotly's JS (OUT/../plotly.min.js), not ~4.6 MB each.
    write_outputs(frame, table, out, heading=heading, notes=notes, plotlyjs="../plotly.min.js")
    return table


# -- the command ---------------------------------------------------------------------------------

def main(args: argparse.Namespace) -> int:
    from radphi.evaluation.aggregate import pair_name
    from radphi import settings
    from radphi import tasks as task_mod
    from lab.demo import ablations as demo_ablations

    from radphi.evaluation.report import write_plotlyjs

    if args.plotlyjs_only:
        print(f"wrote {write_plotlyjs(args.out)}", file=sys.stderr)
        return 0
    started = time.perf_counter()
    model = Path(args.model or settings.DEMO_MODEL)
    if model.is_absolute() and model.is_relative_to(Path.cwd()):
        model = model.relative_to(Path.cwd())  # shown in the tables; no home-directory paths
    if not Path(model).is_file():
        raise InputError(f"demo model not found: {model} (build it with `python -m lab.demo.train`)")
    work, out = args.work, args.out
    # The reports load ../plotly.min.js: written here from the installed plotly package,
    # never committed (4.6 MB).
    write_plotlyjs(out)
    corpus, base = ensure_demo_inputs(args.demo_dir, args.quick)
    all_tasks = [t for t in task_mod.TASKS if t != task_mod.GENERAL_TASK]  # the ten radiology tasks
    inputs = split_inputs(corpus, work, all_tasks, args.limit)
    progress = not args.no_progress
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    main_models = {DEMO: (str(model), "token"), KEYWORD: ("keyword", "token"),
                   UNTRAINED: (str(untrained_gguf(base, work)), "token")}
    counts: dict[str, int] = {}
    paths = predict(main_models, inputs, work / "predictions", progress, args.threads, counts)
    # The demo model once more on the grounded tasks, decoding freely: what grounding adds.
    grounded_tasks = [t for t in all_tasks if task_mod.TASKS[t].copies_from]
    paths += predict({DEMO_FREE: (str(model), "token")}, {t: inputs[t] for t in grounded_tasks},
                     work / "predictions", progress, args.threads, counts, grounded=False)
    table = score(paths, out / "main", bootstrap=args.bootstrap, seed=args.seed,
                  heading="radphi demo model against two baselines (synthetic test split)")
    timings["main_s"] = time.perf_counter() - t0

    n_test = {t: sum(1 for _ in p.open(encoding="utf-8")) for t, p in inputs.items()}
    md = ["# Demo-model results: the paper's tables in miniature", "",
          "Produced by `python -m lab.demo.evaluate` (see `lab/demo/evaluate.py`). "
          "Synthetic test split of the demo corpus, with held-out phrasings; greedy decoding through "
          f"llama.cpp (q8_0); 95% bootstrap CIs from {args.bootstrap} resamples; scores x100. "
          "No real patient data, no LLM judge (the paper's GPT-4 scores are not reproduced), "
          "RadGraph F1 is n/a where the radgraph package or its model is missing.", "",
          f"Models: **{DEMO}** (`{model}`; extract findings and clean-up use grounded decoding, "
          "`radphi.grounding`: the answer copies the input's sentences, the model choosing which), "
          f"**{DEMO_FREE}** (the same model decoding those two tasks freely, token by token), "
          f"**{KEYWORD}** (rule baseline: vocabulary and synonym matching with "
          f"negation; impression = the findings' first sentences), **{UNTRAINED}** (the demo's random-init base, "
          "same tokenizer and size).", "",
          "Test records per task: " + ", ".join(f"{t} {n}" for t, n in n_test.items()) + ".", "",
          "## Verdict", ""]
    md += verdict(table, all_tasks) + [""]
    for heading, rows in PAPER_TABLES:
        md += [f"## {heading}", ""] + models_table(table, rows, [DEMO, DEMO_FREE, KEYWORD, UNTRAINED]) + [""]
    md += ["## Paired differences (headline metric per task)", "",
           "Demo minus each baseline on the same records; ✓ where the 95% CI lies above 0.", ""]
    md += pairs_table(table, [(t, HEADLINE[t]) for t in all_tasks],
                      [pair_name(DEMO, KEYWORD), pair_name(DEMO, UNTRAINED), pair_name(DEMO, DEMO_FREE)]) + [""]

    ablations: dict[str, Any] = {}
    if not args.skip_ablations:
        t0 = time.perf_counter()
        recipe = demo_ablations.AblationRecipe.quick() if args.quick else demo_ablations.AblationRecipe()
        ggufs, trained = demo_ablations.train_ablations(corpus, base, work / "ablations", recipe)
        timings["ablation_training_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ab_inputs = {t: inputs[t] for t in recipe.tasks}
        runs = {r.name: (str(ggufs[r.name]), r.prompt_format) for r in demo_ablations.RUNS}
        ab_paths = predict(runs, ab_inputs, work / "ablation-predictions", progress, args.threads, counts)
        note = (f"Reduced recipe (lab.demo.ablations): tasks {', '.join(recipe.tasks)}; "
                f"{recipe.steps} steps x {recipe.tokens_per_step():,} packed tokens "
                f"(~{recipe.steps * recipe.tokens_per_step() / 1e6:.1f}M tokens) per run from the untrained base; "
                f"stage 1 = {recipe.stage1_steps} steps on the general-instruction records.")
        for key, (a, b) in demo_ablations.COMPARISONS.items():
            # Records in the order (a, b), so that the paired rows read "a − b".
            picked = [p for name in (a, b) for p in ab_paths if p.parent.name == name.replace("+", "_")]
            ab_table = score(picked, out / f"ablation_{key}", bootstrap=args.bootstrap, seed=args.seed,
                             heading=f"radphi demo ablation: {key}")
            if key == "format":
                labels = {a: "token format (<instruct>/<output>)", b: "default format (Instruct:/Output:)"}
                heading = "Table 16 shape: default format against token format"
            else:
                labels = {a: "with general instruction stage", b: "without general instruction stage"}
                heading = "Table 17 shape: with and without the general-instruction stage"
            md += ablation_section(ab_table, key, heading, [a, b], labels, list(recipe.tasks), note)
            ablations[key] = [a, b]
        ablations["trained_now"] = trained
        timings["ablation_eval_s"] = time.perf_counter() - t0

    timings["total_s"] = time.perf_counter() - started
    # What doing the work took, kept in WORK/timings.json by the run that did it (a rerun
    # that reuses everything would otherwise report only its own seconds).
    recorded_path = work / "timings.json"
    recorded = json.loads(recorded_path.read_text()) if recorded_path.is_file() else {}
    if counts.get("generated"):
        recorded["predictions_s"] = timings["main_s"] + timings.get("ablation_eval_s", 0.0)
    if ablations.get("trained_now"):
        recorded["ablation_training_s"] = timings["ablation_training_s"]
    recorded_path.write_text(json.dumps(recorded, indent=2))
    md += ["## How this was made", "",
           f"Machine: {platform.machine()}, {platform.system()}, Python {platform.python_version()}. "
           "Times of this run (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()) + "; it generated "
           f"{counts.get('generated', 0):,} predictions and reused {counts.get('reused', 0):,} from an earlier run"
           + (f", and trained the ablation models {', '.join(ablations['trained_now']) or 'none (all reused)'}"
              if "trained_now" in ablations else "") + ". "
           + ("Recorded by the runs that did the work (s): "
              + ", ".join(f"{k} {v:.0f}" for k, v in recorded.items()) + "." if recorded else ""),
           "", "Each directory holds `metrics.csv` (every metric, CI and paired difference), `records.csv` "
           "(per-record scores) and `report.html` (charts; it loads `../plotly.min.js`, which this command writes "
           "from the installed plotly package and git does not keep: `python -m lab.demo.evaluate --plotlyjs-only` "
           "writes it alone).", ""]
    out.mkdir(parents=True, exist_ok=True)
    (out / "README.md").write_text("\n".join(md), encoding="utf-8")
    summary = {"model": str(model), "corpus": str(corpus), "limit": args.limit, "bootstrap": args.bootstrap,
               "quick": args.quick, "test_records": n_test, "ablations": ablations, "timings_s": timings,
               "predictions": counts, "recorded_timings_s": recorded,
               "command": " ".join(["python -m lab.demo.evaluate", *sys.argv[1:]])}
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"wrote {out / 'README.md'} and the reports under {out} in {timings['total_s']:.0f} s", file=sys.stderr)
    return 0


def cli(argv: list[str] | None = None) -> int:
    from radphi.entry import run_module

    return run_module("python -m lab.demo.evaluate", __doc__, add_arguments, main, argv)


if __name__ == "__main__":
    raise SystemExit(cli())
