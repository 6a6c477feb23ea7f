"""The demo recipe: its variants in lab/demo/config/ load as overrides of the shipped
recipe, --set overrides them, bad keys and values are refused before anything trains,
and the stage settings (task weights, data, dropout) reach the stage they name."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.demo import CONFIG_DIR
from lab.demo import train as demo
from lab.demo.recipe import DemoRecipe, load_recipe


def test_no_config_is_the_shipped_recipe_and_every_variant_loads():
    assert load_recipe() == DemoRecipe()
    names = sorted(p.stem for p in CONFIG_DIR.glob("*.toml"))
    assert {"quick", "gpu"} <= set(names)
    for name in names:
        recipe = load_recipe(name)
        assert recipe != DemoRecipe(), name  # each variant changes something
        assert load_recipe(CONFIG_DIR / f"{name}.toml") == recipe  # by name or by path


def test_the_variants_say_what_they_change():
    gpu = load_recipe("gpu")
    assert (gpu.hidden, gpu.layers, gpu.heads, gpu.batch_size, gpu.learning_rate) == (384, 8, 6, 64, 6e-4)
    assert gpu.one_stage and not gpu.packing and gpu.stage(2)[0] == gpu.stage(3)[0] == 0
    assert gpu.task_weights == DemoRecipe().task_weights  # what a variant does not name stays as shipped
    quick = load_recipe("quick")
    assert quick.task_caps == {"*": 8} and quick.task_weights == {} and quick.max_steps == 3
    assert load_recipe("v7_case_noise_only").stage3_task_weights == {}
    v17 = load_recipe("v17_stage4_from_shipped")
    assert v17.continue_from == "radphi/assets/radphi-demo.gguf" and v17.stage(4)[:2] == (1000, 1e-4)


def test_set_overrides_a_config_and_bad_keys_are_refused(tmp_path: Path):
    recipe = load_recipe("gpu", ["max_steps=500", "lexicon=true", "continue_from=runs/x.gguf",
                                 "stage3_task_weights={qa_temporal_findings=8}"])
    assert recipe.max_steps == 500 and recipe.lexicon is True and recipe.continue_from == "runs/x.gguf"
    assert recipe.stage3_task_weights == {"qa_temporal_findings": 8} and recipe.hidden == 384
    with pytest.raises(ValueError, match="unknown recipe key"):
        load_recipe(None, ["max_step=5"])
    with pytest.raises(ValueError, match="KEY=VALUE"):
        load_recipe(None, ["max_steps"])
    with pytest.raises(FileNotFoundError, match="holds: .*gpu"):
        load_recipe("nonesuch")
    bad = tmp_path / "bad.toml"
    bad.write_text("hiden = 3\n")
    with pytest.raises(ValueError, match="unknown recipe key"):
        load_recipe(bad)


def test_the_cli_prints_the_resolved_recipe_and_refuses_bad_input(capsys: pytest.CaptureFixture, tmp_path: Path):
    assert demo.cli(["--config", "gpu", "--set", "seed=3", "--print-recipe"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["seed"] == 3 and printed["hidden"] == 384
    out = tmp_path / "out"
    assert demo.cli(["--out", str(out), "--set", "stage3_dropout=1.5"]) == 2
    assert "stage3_dropout must be in" in capsys.readouterr().err
    assert demo.cli(["--out", str(out), "--config", "nonesuch"]) == 2
    assert "no recipe config nonesuch" in capsys.readouterr().err
    assert not out.exists()  # refused before anything is written


def test_the_cli_builds_the_recipe_it_resolves_and_installs_only_when_asked(monkeypatch: pytest.MonkeyPatch,
                                                                              tmp_path: Path):
    seen: dict = {}
    monkeypatch.setattr(demo, "build", lambda recipe, out, **kw: seen.update(recipe=recipe, **kw) or {})
    assert demo.cli(["--out", str(tmp_path), "--config", "v12_lexicon", "--set", "case_noise=0.25"]) == 0
    assert seen["recipe"] == DemoRecipe(lexicon=True, case_noise=0.25) and seen["install"] is False
    assert demo.cli(["--out", str(tmp_path), "--install"]) == 0
    assert seen["recipe"] == DemoRecipe() and seen["install"] is True


def test_demo_stage3_task_weights_apply_from_stage_3_only(tmp_path: Path):
    from lab.demo.train import sft_config

    recipe = DemoRecipe(stage3_task_weights={"qa_temporal_findings": 4.0})
    corpus = tmp_path / "corpus"
    first = sft_config(recipe, corpus, tmp_path / "base", tmp_path / "sft")
    third = sft_config(recipe, corpus, tmp_path / "sft2", tmp_path / "sft3", stage=3)
    assert first.task_weights == recipe.task_weights and first.task_weights["qa_temporal_findings"] == 2.0
    assert third.task_weights == recipe.task_weights | {"qa_temporal_findings": 4.0}
    assert recipe.task_weights["qa_temporal_findings"] == 2.0  # the recipe's own weights are not changed


def test_stage3_data_passes_the_lexicon_and_term_case_noise_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from lab.demo.synthetic import case_noise, corpus

    seen: dict = {}
    monkeypatch.setattr(corpus, "build_extra_train", lambda out, src, **kw: seen.setdefault("extra", kw))
    monkeypatch.setattr(case_noise, "build_case_noised", lambda src, out, **kw: seen.setdefault("noise", kw))
    (tmp_path / "copy-drills").mkdir()
    (tmp_path / "copy-drills" / "manifest.json").write_text("{}")
    demo._stage_data(demo.DemoRecipe(lexicon=True, case_noise_terms=0.5), tmp_path, 3)
    assert seen["extra"]["augment"] is True and seen["extra"]["lexicon"] is True and seen["extra"]["batch"] == 2
    assert seen["noise"]["p_term"] == 0.5 and seen["noise"]["share"] == 0.5


def test_label_drills_are_built_for_stage3_and_join_its_mix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from lab.demo.synthetic import label_drills

    seen: dict = {}
    monkeypatch.setattr(label_drills, "build_label_drills", lambda out, dirs, **kw: seen.setdefault("drills", (out, kw)))
    for name in ("corpus-extra3", "copy-drills"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text("{}")
    recipe = demo.DemoRecipe(label_drills=1200)
    demo._stage_data(recipe, tmp_path, 3)
    assert seen["drills"][0] == tmp_path / "label-drills3" and seen["drills"][1]["n"] == 1200
    (tmp_path / "label-drills3" / "train").mkdir(parents=True)
    (tmp_path / "label-drills3" / "train" / "abnormality_labels.jsonl").write_text("")
    paths = [s["path"] for s in demo.sft_config(recipe, tmp_path / "corpus", tmp_path / "sft2", tmp_path / "sft3",
                                                stage=3).sources]
    assert str(tmp_path / "label-drills3" / "train" / "abnormality_labels.jsonl") in paths
    off = demo.sft_config(demo.DemoRecipe(), tmp_path / "corpus", tmp_path / "sft2", tmp_path / "sft3", stage=3)
    assert not any("label-drills" in s["path"] for s in off.sources)


def test_stage3_dropout_reaches_stage_3_only(tmp_path: Path):
    from lab.demo.train import sft_config

    recipe = DemoRecipe(stage3_dropout=0.1)
    stages = [sft_config(recipe, tmp_path / "corpus", tmp_path / "m", tmp_path / f"sft{n}", stage=n) for n in (1, 2, 3)]
    assert [c.dropout for c in stages] == [None, None, 0.1]
    assert sft_config(DemoRecipe(), tmp_path / "corpus", tmp_path / "m", tmp_path / "sft3", stage=3).dropout is None
