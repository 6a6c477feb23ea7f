"""radphi.training.sft on a tiny Phi trained on fixture data on CPU: label masking, special
tokens added once (embedding grown only when needed, never shrunk), LoRA training whose
loss falls and whose adapter and merged model reload and generate, stages chained, and
resume continuing the step count."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.tiny_base import build_plain_tiny_phi
from tests.fixtures.train_config import QA_SOURCE, SNI_SOURCE, write_config

pytest.importorskip("trl")


@pytest.fixture(scope="module")
def plain_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """500 tokens, 500 embedding rows, no <instruct>/<output>: adding them must grow it."""
    return build_plain_tiny_phi(tmp_path_factory.mktemp("plain_base"))


@pytest.fixture(scope="module")
def spare_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """500 tokens, 537 rows (spare rows, as Phi-2's 51,200 for 50,295): nothing may be resized."""
    return build_plain_tiny_phi(tmp_path_factory.mktemp("spare_base"), spare_rows=37)


def run(config_path: Path, *overrides: str) -> dict:
    from radphi.training.sft import load_config, main

    return main(load_config(config_path, list(overrides)))


def logged_losses(checkpoint: Path) -> list[float]:
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    return [h["loss"] for h in state["log_history"] if "loss" in h]


@pytest.mark.parametrize("fmt", ["token", "default"])
def test_prompt_tokens_are_masked_answer_and_eos_are_not(plain_base: Path, tmp_path: Path, fmt: str):
    from datasets import Dataset

    from radphi.tasks import render_prompt
    from radphi.training import sft, sft_model
    from radphi.training.data import prompt_completion

    config = sft.load_config(write_config(tmp_path / "c.toml", model=str(plain_base), output_dir=str(tmp_path / "o"),
                                          prompt_format=fmt, finetune="full", sources=[QA_SOURCE]))
    tok, tokens = sft_model.load_tokenizer(str(plain_base))
    rec = {"task": "radiology_qa", "question": "Which carpal bone is most often fractured?", "reference": "scaphoid"}
    pair = prompt_completion(rec, fmt)
    trainer = sft.build_trainer(config, Dataset.from_list([pair]), None, tok, tokens, str(plain_base))
    batch = trainer.data_collator([trainer.train_dataset[0]])
    ids, labels = batch["input_ids"][0].tolist(), batch["labels"][0].tolist()
    n_prompt = len(tok(render_prompt("radiology_qa", rec, fmt))["input_ids"])
    assert labels[:n_prompt] == [-100] * n_prompt
    assert labels[n_prompt:] == ids[n_prompt:] and len(ids) > n_prompt + 1
    assert ids[-1] == labels[-1] == tok.eos_token_id
    assert tok.decode(ids[n_prompt:-1]).strip() == "scaphoid"
    if fmt == "token":
        assert ids[n_prompt - 1] == tok.convert_tokens_to_ids("<output>")
        assert ids[0] == tok.convert_tokens_to_ids("<instruct>")


def test_lora_training_loss_falls_and_the_results_reload_and_generate(plain_base: Path, tmp_path: Path):
    import torch
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    from radphi.backends import GenParams, Request
    from radphi.backends.hf import HFBackend
    from radphi.training import sft_model

    out = tmp_path / "lora"
    cfg = write_config(tmp_path / "lora.toml", model=str(plain_base), output_dir=str(out), finetune="lora",
                       max_steps=24, save_steps=24, eval_steps=12,
                       sources=[dict(QA_SOURCE, validation_fraction=0.3), SNI_SOURCE])
    summary = run(cfg)
    assert summary["global_step"] == 24 and summary["added_tokens"] == ["<instruct>", "<output>"]
    losses = logged_losses(out / "checkpoint-24")
    assert len(losses) >= 5 and sum(losses[-3:]) / 3 < 0.8 * losses[0]
    assert summary["eval_loss"] is not None and summary["eval_loss"] > 0
    assert json.loads((out / "adapter" / "adapter_config.json").read_text())["modules_to_save"]
    # The tokenizer got each token once; 502 tokens > 500 rows, so the embedding grew (to 512).
    tok = AutoTokenizer.from_pretrained(out / "final")
    vocab = tok.get_vocab()
    assert len(tok) == 502 and sum(t in ("<instruct>", "<output>") for t in vocab) == 2
    assert len(tok("<instruct>x<output>")["input_ids"]) == 3
    assert summary["embedding_rows"] == 512
    # The adapter reloads into the same merged weights as final/.
    again = sft_model.merge_adapter(str(plain_base), out / "adapter", tmp_path / "again", dtype="float32")
    final_w, again_w = load_file(out / "final" / "model.safetensors"), load_file(again / "model.safetensors")
    assert final_w.keys() == again_w.keys()
    assert all(torch.equal(final_w[k], again_w[k]) for k in final_w)
    # The new tokens' rows started at the mean embedding and trained (modules_to_save).
    start = load_file(plain_base / "model.safetensors")["model.embed_tokens.weight"].mean(dim=0)
    new_rows = final_w["model.embed_tokens.weight"][[vocab["<instruct>"], vocab["<output>"]]]
    assert not torch.allclose(new_rows, start.expand_as(new_rows), atol=1e-4)
    # final/ serves through the project's own backend, with the prompt format it was trained on.
    gen = HFBackend(str(out / "final")).generate(
        Request.build("radiology_qa", {"question": "Which carpal bone is most often fractured?"}),
        GenParams(max_new_tokens=8))
    assert gen.completion_tokens >= 1 and "<instruct>" not in gen.text


def test_tokens_added_once_rows_kept_and_stage_two_starts_from_stage_one(spare_base: Path, tmp_path: Path):
    import torch
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    s1 = run(write_config(tmp_path / "s1.toml", model=str(spare_base), output_dir=str(tmp_path / "s1"),
                          finetune="full", max_steps=4, save_steps=4, sources=[SNI_SOURCE]))
    assert s1["added_tokens"] == ["<instruct>", "<output>"] and s1["embedding_rows"] == 537  # not shrunk to 502
    w1 = load_file(tmp_path / "s1" / "final" / "model.safetensors")
    assert w1["model.embed_tokens.weight"].shape[0] == 537
    # Stage 2 names stage 1's output_dir and starts from its final/: nothing more to add.
    s2 = run(write_config(tmp_path / "s2.toml", model=str(tmp_path / "s1"), output_dir=str(tmp_path / "s2"),
                          finetune="lora", max_steps=4, save_steps=4, gguf_quant="f32", sources=[QA_SOURCE]))
    assert Path(s2["gguf"]).name == "final.f32.gguf" and Path(s2["gguf"]).stat().st_size > 100_000
    assert s2["model"] == str(tmp_path / "s1" / "final")
    assert s2["added_tokens"] == [] and s2["tokenizer_len"] == 502 and s2["embedding_rows"] == 537
    assert not json.loads((tmp_path / "s2/adapter/adapter_config.json").read_text()).get("modules_to_save")
    tok1 = AutoTokenizer.from_pretrained(tmp_path / "s1" / "final")
    tok2 = AutoTokenizer.from_pretrained(tmp_path / "s2" / "final")
    assert tok1.get_vocab() == tok2.get_vocab()
    w2 = load_file(tmp_path / "s2" / "final" / "model.safetensors")
    # Stage 2's LoRA moved the stage 1 weights, and left the embedding (not trained) as it was.
    assert not torch.equal(w1["model.layers.0.self_attn.q_proj.weight"], w2["model.layers.0.self_attn.q_proj.weight"])
    assert torch.equal(w1["model.embed_tokens.weight"], w2["model.embed_tokens.weight"])


def test_resume_continues_the_step_count(plain_base: Path, tmp_path: Path):
    out = tmp_path / "r"
    cfg = write_config(tmp_path / "r.toml", model=str(plain_base), output_dir=str(out), finetune="full",
                       max_steps=4, save_steps=2, sources=[QA_SOURCE])
    first = run(cfg)
    assert first["global_step"] == 4 and first["resumed_from"] is None
    data_mtime = (out / "data" / "train.jsonl").stat().st_mtime_ns
    second = run(cfg, "max_steps=6")
    assert second["resumed_from"] == str(out / "checkpoint-4") and second["resumed_step"] == 4
    assert second["global_step"] == 6
    steps = [h["step"] for h in json.loads((out / "checkpoint-6" / "trainer_state.json").read_text())["log_history"]
             if "loss" in h]
    assert steps[0] <= 2 and steps[-1] == 6  # one history across both runs
    assert (out / "data" / "train.jsonl").stat().st_mtime_ns == data_mtime  # the same pairs, not rebuilt
    never = run(cfg, "max_steps=2", "resume=\"never\"", f"output_dir=\"{tmp_path / 'fresh'}\"")
    assert never["resumed_from"] is None and never["global_step"] == 2


def test_a_diverging_run_fails_and_saves_no_final_model(plain_base: Path, tmp_path: Path):
    out = tmp_path / "d"
    cfg = write_config(tmp_path / "d.toml", model=str(plain_base), output_dir=str(out), finetune="full",
                       max_steps=30, logging_steps=1, learning_rate=1e12, max_grad_norm=0.0, save_steps=1000,
                       sources=[QA_SOURCE])
    with pytest.raises(RuntimeError, match="diverged at step"):
        run(cfg)
    assert not (out / "final").exists()


def test_packed_pairs_do_not_attend_to_each_other(plain_base: Path, tmp_path: Path):
    import torch
    from datasets import Dataset

    from radphi.training import sft, sft_model
    from radphi.training.data import prompt_completion

    config = sft.load_config(write_config(tmp_path / "p.toml", model=str(plain_base), output_dir=str(tmp_path / "o"),
                                          finetune="full", packing=True, sources=[QA_SOURCE]))
    tok, tokens = sft_model.load_tokenizer(str(plain_base))
    pairs = [prompt_completion({"task": "radiology_qa", "question": q, "reference": a})
             for q, a in (("Which carpal bone is most often fractured?", "scaphoid"), ("Side of the azygos fissure?", "right"))]
    trainer = sft.build_trainer(config, Dataset.from_list(pairs), None, tok, tokens, str(plain_base))
    assert len(trainer.train_dataset) == 1  # both pairs in one sequence
    batch = trainer.data_collator([trainer.train_dataset[0]])
    assert "attention_mask" not in batch
    ids, pos, labels = batch["input_ids"], batch["position_ids"], batch["labels"][0]
    starts = (pos[0] == 0).nonzero().flatten().tolist()
    assert len(starts) == 2
    model = trainer.model.eval()
    with torch.no_grad():
        packed = model(input_ids=ids, position_ids=pos).logits[0]
        for start, end in zip(starts, starts[1:] + [ids.shape[1]]):
            alone = model(input_ids=ids[:, start:end]).logits[0]
            assert torch.allclose(packed[start:end], alone, atol=1e-4)
            assert labels[start] == -100 and labels[end - 1] == tok.eos_token_id


def test_a_model_with_another_eos_gets_its_own(tmp_path: Path):
    """Mistral/Llama end with </s>: the completions end with it, not with <|endoftext|>."""
    from radphi.records import read_jsonl
    from tests.tinymodels import build_tiny_llama

    base = build_tiny_llama(tmp_path / "llama")
    summary = run(write_config(tmp_path / "c.toml", model=str(base), output_dir=str(tmp_path / "o"), finetune="lora",
                               max_steps=2, save_steps=2, sources=[QA_SOURCE]))
    assert summary["added_tokens"] == []  # this tokenizer already has them: nothing added twice
    rows = read_jsonl(tmp_path / "o" / "data" / "train.jsonl")
    assert rows and all(r["completion"].endswith("</s>") and "<|endoftext|>" not in r["completion"] for r in rows)
    assert (tmp_path / "o" / "final" / "config.json").is_file()


def test_lora_trainable_tokens_train_only_the_new_rows(plain_base: Path, tmp_path: Path):
    import torch
    from safetensors.torch import load_file

    out = tmp_path / "tt"
    run(write_config(tmp_path / "tt.toml", model=str(plain_base), output_dir=str(out), finetune="lora",
                     new_token_training="trainable_tokens", max_steps=4, save_steps=4, sources=[QA_SOURCE]))
    assert json.loads((out / "adapter" / "adapter_config.json").read_text())["trainable_token_indices"] == {
        "embed_tokens": [500, 501]}
    base = load_file(plain_base / "model.safetensors")["model.embed_tokens.weight"]
    final = load_file(out / "final" / "model.safetensors")["model.embed_tokens.weight"]
    assert torch.equal(final[:500], base)  # the old rows are untouched
    assert not torch.allclose(final[500:502], base.mean(dim=0).expand(2, -1), atol=1e-4)  # the new rows trained
