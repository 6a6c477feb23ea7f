"""The shipped stage configs and accelerate configs load, chain, and say what the paper did;
the CLI entry points parse them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from radphi.training.sft import TrainConfig, add_arguments, cli, load_config

CONFIGS = Path(__file__).resolve().parent.parent / "radphi" / "training" / "configs"


def test_stage_configs_load_and_chain():
    s1 = load_config(CONFIGS / "stage1_supernatural.toml")
    s2a = load_config(CONFIGS / "stage2a_radiopaedia.toml")
    s2b = load_config(CONFIGS / "stage2b_cxr_tasks.toml")
    mistral = load_config(CONFIGS / "stage2b_cxr_tasks_mistral.toml")
    assert s1.model == "microsoft/phi-2" and s1.prompt_format == "token"
    assert [s["loader"] for s in s1.sources] == ["supernatural"]
    assert s2a.model == s2b.model == s1.output_dir  # stage 2 starts from stage 1's output
    assert [s["loader"] for s in s2a.sources] == ["radiopaedia"]
    assert {s["loader"] for s in s2b.sources} == {"mimic_cxr", "imagenome", "diff_vqa", "cleanup"}
    # Table 3's capped tasks.
    assert s2b.task_caps == {"qa_temporal_progression": 50000, "qa_temporal_findings": 100000,
                             "extract_findings": 50000, "extract_impression": 50000, "cleanup_report_text": 75000}
    assert all(s.get("split_csv", "").endswith("mimic-cxr-2.0.0-split.csv.gz") for s in s2b.sources)
    assert mistral.model == "mistralai/Mistral-7B-Instruct-v0.2" and mistral.finetune == "lora"
    assert mistral.sources == s2b.sources and mistral.output_dir != s2b.output_dir
    assert s2a.gguf_quant == "q4_k_m"


def test_unknown_keys_and_bad_values_are_refused(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text('modle = "x"\n')
    with pytest.raises(ValueError, match="unknown config key"):
        load_config(bad)
    with pytest.raises(ValueError, match="finetune"):
        load_config(None, ["finetune=partial"])
    with pytest.raises(ValueError, match="dropout must be in"):
        load_config(None, ["dropout=1.0"])
    assert load_config(None, ["max_steps=7", "finetune=full", "gguf_quant=q4_k_m"]).max_steps == 7


def test_cli_prints_the_resolved_config_with_overrides(capsys: pytest.CaptureFixture):
    assert cli(["--config", str(CONFIGS / "stage2a_radiopaedia.toml"), "--max-steps", "5", "--output-dir", "runs/x",
                "--set", "lora_r=8", "--print-config"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["max_steps"] == 5 and printed["output_dir"] == "runs/x" and printed["lora_r"] == 8
    import argparse

    help_text = add_arguments(argparse.ArgumentParser()).format_help()
    for f in ("task_caps", "new_token_training", "gguf_quant"):
        assert f in help_text
    assert TrainConfig().model == "microsoft/phi-2"


@pytest.mark.parametrize("name,kind", [("accelerate_ddp.yaml", "MULTI_GPU"), ("accelerate_fsdp.yaml", "FSDP")])
def test_accelerate_configs_parse(name: str, kind: str):
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(CONFIGS / name))
    assert config.distributed_type.name == kind
    if kind == "FSDP":
        assert config.fsdp_config["fsdp_version"] == 2
        assert config.fsdp_config["fsdp_state_dict_type"] == "FULL_STATE_DICT"


def test_packed_cpu_runs_use_one_row_micro_batches():
    from radphi.training.sft import TrainConfig, micro_batches

    cfg = TrainConfig(batch_size=16, grad_accum=2, packing=True)
    assert micro_batches(cfg, gpu=False) == (1, 32)  # same tokens per optimizer step
    assert micro_batches(cfg, gpu=True) == (16, 2)
    assert micro_batches(TrainConfig(batch_size=16, grad_accum=2, packing=False), gpu=False) == (16, 2)


def test_load_model_builds_the_layers_with_the_dropout_asked_for(tiny_phi_dir: Path):
    import torch

    from radphi.training import sft_model

    tok, tokens = sft_model.load_tokenizer(str(tiny_phi_dir))
    def rates(model) -> set[float]:
        return {mod.p for mod in model.modules() if isinstance(mod, torch.nn.Dropout)}

    plain = sft_model.load_model(str(tiny_phi_dir), tok, tokens)
    assert rates(plain) == {0.0}
    dropped = sft_model.load_model(str(tiny_phi_dir), tok, tokens, dropout=0.1)
    assert rates(dropped) == {0.1}
    assert (dropped.config.resid_pdrop, dropped.config.embd_pdrop, dropped.config.attention_dropout) == (0.1,) * 3
    with pytest.raises(ValueError, match="dropout must be in"):
        sft_model.load_model(str(tiny_phi_dir), tok, tokens, dropout=1.5)
