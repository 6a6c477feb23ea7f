"""A smoke test of the demo-model rebuild (lab.demo.train --config quick): a reduced synthetic
corpus, a tiny tokenizer and model, a few training steps, and a GGUF that radphi's
llama.cpp backend loads and generates from. Takes ~10-20 s on 2 CPU cores.

    pytest lab/demo/tests/test_demo_smoke.py
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("trl")


@pytest.fixture(scope="module")
def quick_build(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from lab.demo.train import DemoRecipe, build

    out = tmp_path_factory.mktemp("demo")
    asset_dir = out / "assets"
    result = build(DemoRecipe.quick(), out, install=True, asset_dir=asset_dir)
    return result | {"out": out, "asset_dir": asset_dir}


def test_quick_rebuild_writes_every_stage(quick_build: dict) -> None:
    out: Path = quick_build["out"]
    assert (out / "corpus" / "manifest.json").is_file()
    assert (out / "corpus" / "test" / "abnormality_labels.jsonl").is_file()
    assert (out / "base" / "config.json").is_file() and (out / "base" / "tokenizer.json").is_file()
    assert (out / "sft" / "final" / "config.json").is_file()
    # stage 2 continues from stage 1's model, with the second batch of studies and the copy drills
    assert (out / "corpus-extra2" / "manifest.json").is_file() and (out / "copy-drills" / "manifest.json").is_file()
    assert (out / "sft2" / "final" / "config.json").is_file()
    # stage 3 continues from stage 2's model, with a third batch written with the extra phrasings
    extra3 = json.loads((out / "corpus-extra3" / "manifest.json").read_text())
    assert extra3["batch"] == 2 and extra3["extra_phrasings"] > 100
    # ... with case noise in half of its label and temporal records (the plain batch kept aside)
    assert extra3["case_noise"]["share"] == 0.5 and extra3["case_noise"]["changed"]["abnormality_labels"] > 0
    assert (out / "corpus-extra3-plain" / "manifest.json").is_file()
    assert json.loads((out / "corpus-extra2" / "manifest.json").read_text())["extra_phrasings"] == 0
    assert (out / "sft3" / "final" / "config.json").is_file()
    # stage 4 continues from stage 3's model, with a fourth batch (other patients again)
    extra4 = json.loads((out / "corpus-extra4" / "manifest.json").read_text())
    assert extra4["batch"] == 3 and extra4["extra_phrasings"] == extra3["extra_phrasings"]
    assert (out / "sft4" / "final" / "config.json").is_file()
    assert {n: s["global_step"] for n, s in quick_build["stages"].items()} == {"1": 3, "2": 2, "3": 2, "4": 2}
    assert quick_build["global_step"] == 2
    assert json.loads((out / "sft2" / "run_summary.json").read_text())["model"] == str(out / "sft" / "final")
    assert json.loads((out / "sft3" / "run_summary.json").read_text())["model"] == str(out / "sft2" / "final")
    assert json.loads((out / "sft4" / "run_summary.json").read_text())["model"] == str(out / "sft3" / "final")
    assert 0 < quick_build["gguf_bytes"] < 25 * 1024 * 1024
    assert (quick_build["asset_dir"] / "radphi-demo.gguf").is_file()
    summary = json.loads((out / "demo_summary.json").read_text())
    assert summary["base"]["parameters"] > 0


def test_tokenizer_keeps_the_format_tokens_whole(quick_build: dict) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(quick_build["out"] / "base")
    for special in ("<|endoftext|>", "<instruct>", "<output>"):
        assert len(tok(special)["input_ids"]) == 1, special
    text = "There is a small left pleural effusion."
    assert tok.decode(tok(text)["input_ids"]) == text


def test_gguf_generates_through_the_llamacpp_backend(quick_build: dict) -> None:
    from radphi.backends import GenParams, Request
    from radphi.backends.llamacpp import LlamaCppBackend
    from radphi.hashing import GGUF_SOURCE_KEY, checkpoint_sha256

    backend = LlamaCppBackend(str(quick_build["asset_dir"] / "radphi-demo.gguf"))
    # The installed file is this build's final model, exported (the hash pairs the two forms).
    assert backend.file_metadata()[GGUF_SOURCE_KEY] == checkpoint_sha256(Path(quick_build["final"]))
    req = Request.build("impression_prediction", {"findings": "There is a small left pleural effusion."})
    gen = backend.generate(req, GenParams(max_new_tokens=8))
    assert gen.prompt_tokens > 0 and gen.text and 0 < gen.completion_tokens <= 8
    assert gen.finish_reason in ("stop", "length")
    pieces = list(backend.stream(req, GenParams(max_new_tokens=8)))
    assert "".join(pieces) == gen.text


def test_demo_results_writes_the_tables_and_reruns_without_regenerating(quick_build: dict, tmp_path: Path) -> None:
    """`python -m lab.demo.evaluate --quick`: main tables for the three models on all ten
    tasks, the two ablations (tiny runs), and scores equal to ones computed directly."""
    import pandas as pd

    from radphi.evaluation import labels_metrics
    from lab.demo import evaluate as demo_results
    from radphi.evaluation.aggregate import pair_name
    from radphi.tasks import GENERAL_TASK, TASKS

    out, work = tmp_path / "results", tmp_path / "work"
    model = tmp_path / "radphi-demo.gguf"
    shutil.copyfile(quick_build["asset_dir"] / "radphi-demo.gguf", model)
    argv = ["--quick", "--demo-dir", str(quick_build["out"]), "--model", str(model),
            "--limit", "3", "--bootstrap", "10", "--out", str(out), "--work", str(work), "--no-progress"]
    assert demo_results.cli(argv) == 0

    readme = (out / "README.md").read_text(encoding="utf-8")
    for heading in ("Table 6 shape", "Table 10 shape", "Table 13 shape", "Table 14 shape", "Table 15 shape",
                    "Table 16 shape", "Table 17 shape", "## Verdict"):
        assert heading in readme, heading
    main = pd.read_csv(out / "main" / "metrics.csv")
    page = (out / "main" / "report.html").read_text(encoding="utf-8")
    # One shared offline copy of plotly's JS, loaded by each report, not inlined in each.
    assert 'src="../plotly.min.js"' in page and len(page) < 1_000_000
    assert (out / "plotly.min.js").stat().st_size > 1_000_000
    for task in TASKS:
        if task == GENERAL_TASK:
            continue  # the stand-in for stage 1 is trained on, not evaluated
        models = set(main[main["task"] == task]["model"])
        assert {"radphi-demo", "keyword", "untrained", pair_name("radphi-demo", "keyword"),
                pair_name("radphi-demo", "untrained")} <= models, task
        # The grounded tasks are also decoded freely, to show what grounding changes.
        free = {"radphi-demo-free", pair_name("radphi-demo", "radphi-demo-free")}
        assert (free <= models) if TASKS[task].copies_from else not (free & models), task
    stamp = json.loads((work / "predictions" / "radphi-demo" / "model.json").read_text())
    assert stamp["grounding"]["tasks"] == ["cleanup_report_text", "extract_findings"]
    assert json.loads((work / "predictions" / "radphi-demo-free" / "model.json").read_text())["grounding"] is None

    # The keyword baseline's label F1 in the table is the mean of the per-record scores.
    preds = [json.loads(line) for line in (work / "predictions" / "keyword" / "abnormality_labels.jsonl").open()]
    direct = sum(labels_metrics.label_scores("abnormality_labels", p["prediction"], p["reference"])["label_f1"]
                 for p in preds) / len(preds)
    row = main[(main["model"] == "keyword") & (main["task"] == "abnormality_labels") & (main["metric"] == "label_f1")]
    assert row["value"].iloc[0] == pytest.approx(direct)

    fmt = pd.read_csv(out / "ablation_format" / "metrics.csv")
    assert pair_name("token", "default") in set(fmt["model"])
    stage1 = pd.read_csv(out / "ablation_stage1" / "metrics.csv")
    assert pair_name("token+stage1", "token") in set(stage1["model"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ablations"] == {"format": ["token", "default"], "stage1": ["token+stage1", "token"],
                                    "trained_now": ["stage1", "token", "default", "token+stage1"]}
    assert summary["predictions"]["reused"] == 0 and summary["predictions"]["generated"] > 0

    # A rerun reuses the predictions (no record generated twice) and the ablation models.
    lines = {p: len(p.read_text().splitlines()) for p in (work / "predictions").rglob("*.jsonl")}
    assert demo_results.cli(argv) == 0
    assert {p: len(p.read_text().splitlines()) for p in lines} == lines
    again = json.loads((out / "summary.json").read_text())
    assert again["ablations"]["trained_now"] == [] and again["predictions"]["generated"] == 0
    assert again["predictions"]["reused"] == summary["predictions"]["generated"]
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "trained the ablation models none (all reused)" in readme
    # ... and still reports what the first run's work took.
    assert set(again["recorded_timings_s"]) == {"predictions_s", "ablation_training_s"}
    assert again["recorded_timings_s"] == summary["recorded_timings_s"]
    # Each ablation says, per task, which side its paired CI favours, next to the paper's result.
    assert readme.count("Here, by the paired 95% CI:") == 2 and "The paper (Table 16" in readme
    assert readme.count("- abnormality_labels (F1-Score): ") == 2

    # A rebuilt model at the same path is not scored with the old model's answers: its
    # predictions are generated again, and only its.
    demo_lines = sum(n for p, n in lines.items() if p.parent.name in ("radphi-demo", "radphi-demo-free"))
    shutil.copyfile(work / "untrained.q8_0.gguf", model)
    assert demo_results.cli(argv) == 0
    third = json.loads((out / "summary.json").read_text())
    assert third["predictions"]["generated"] == demo_lines > 0
    assert third["predictions"]["reused"] == summary["predictions"]["generated"] - demo_lines
    assert json.loads((work / "predictions" / "radphi-demo" / "model.json").read_text())["sha256"] == \
        json.loads((work / "predictions" / "untrained" / "model.json").read_text())["sha256"]


def test_demo_results_refuses_a_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from lab.demo import evaluate as demo_results

    rc = demo_results.cli(["--model", str(tmp_path / "nope.gguf"), "--out", str(tmp_path / "o"), "--work", str(tmp_path / "w")])
    assert rc == 2
    assert "demo model not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # refused before anything is written


def test_plotlyjs_only_writes_the_installed_plotly_for_the_committed_reports(tmp_path: Path) -> None:
    """The committed reports load ../plotly.min.js, which git does not keep: this writes it."""
    from plotly.offline import get_plotlyjs

    from lab.demo import evaluate as demo_results

    assert demo_results.cli(["--plotlyjs-only", "--out", str(tmp_path / "results")]) == 0
    assert (tmp_path / "results" / "plotly.min.js").read_text(encoding="utf-8") == get_plotlyjs()
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["plotly.min.js"]


def test_the_one_stage_recipe_trains_on_every_batch_and_fits_its_deadline(tmp_path: Path) -> None:
    """The GPU recipe's shape, tiny: one stage on the corpus and all four extra batches and
    the drills, padded batches, a step count fitted to a deadline, no export."""
    import time

    from lab.demo.train import DemoRecipe, build

    recipe = DemoRecipe.quick()
    recipe.one_stage, recipe.packing, recipe.batch_size, recipe.grad_accum = True, False, 4, 1
    recipe.max_steps, recipe.warmup, recipe.deadline = 100_000, 12, time.time() + 30
    result = build(recipe, tmp_path, install=False, export=False)
    assert result["gguf"] is None and not (tmp_path / "radphi-demo.gguf").exists()
    assert (tmp_path / "sft" / "final" / "config.json").is_file() and not (tmp_path / "sft2").exists()
    assert list(result["stages"]) == ["1"]
    budget = result["stages"]["1"]["step_budget"]
    assert budget["planned_steps"] < 100_000
    assert (budget["stopped_by"], result["global_step"]) == ("plan", budget["planned_steps"]) or \
        (budget["stopped_by"] == "deadline" and result["global_step"] < budget["planned_steps"])
    sources = json.loads((tmp_path / "sft" / "run_summary.json").read_text())["config"]["sources"]
    dirs = {Path(s["path"]).parent.parent.name for s in sources}
    assert dirs == {"corpus", "corpus-extra", "corpus-extra2", "copy-drills", "corpus-extra3", "corpus-extra4"}


def test_continue_from_a_gguf_trains_stage_4_only(quick_build: dict, tmp_path: Path) -> None:
    """`--set continue_from=FILE.gguf --set stage4_steps=N`: the GGUF (standing for stages 1-3) is
    imported and only stage 4 trains from it, on stage 4's mix; nothing of stages 1-3 is built."""
    from lab.demo import train as demo

    out = tmp_path / "cont"
    gguf = quick_build["asset_dir"] / "radphi-demo.gguf"
    argv = ["--config", "quick", "--out", str(out), "--set", f"continue_from={gguf}", "--set", "stage4_steps=2",
            "--set", "stage4_learning_rate=5e-5"]
    assert demo.cli(argv) == 0
    assert (out / "continued" / "config.json").is_file() and not (out / "base").exists()
    assert not any((out / d).exists() for d in ("sft", "sft2", "sft3", "corpus-extra3"))
    run = json.loads((out / "sft4" / "run_summary.json").read_text())
    assert run["model"] == str(out / "continued") and run["global_step"] == 2
    assert run["config"]["learning_rate"] == 5e-5
    assert (out / "copy-drills" / "manifest.json").is_file() and (out / "corpus-extra4" / "manifest.json").is_file()
    summary = json.loads((out / "demo_summary.json").read_text())
    assert summary["base"]["continued_from"] == str(gguf) and set(summary["stages"]) == {"4"}
    assert summary["gguf_bytes"] > 0


def test_continue_from_needs_stage_4_steps_and_an_existing_model(tmp_path: Path, capsys) -> None:
    from lab.demo import train as demo

    assert demo.cli(["--config", "quick", "--out", str(tmp_path / "a"), "--set",
                     f"continue_from={tmp_path / 'none.gguf'}", "--set", "stage4_steps=2"]) == 2
    assert "no such file" in capsys.readouterr().err
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    assert demo.cli(["--config", "quick", "--out", str(tmp_path / "b"), "--set", f"continue_from={model}",
                     "--set", "stage4_steps=0"]) == 2
    assert "stage4_steps" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
