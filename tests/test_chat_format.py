"""The `chat` prompt format: a tiny random Llama-architecture model with a Phi-3-style
chat template (tests/tinychat.py), as an HF directory and as the GGUF exported from it.

The rendered prompt's tokens are asserted exactly, through both the llama.cpp and the
transformers backends, and must agree; the default format is chosen from the model.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from radphi import cli, tasks
from radphi.backends import Request, load_backend, native_format, resolve_format
from radphi.backends.base import GenParams
from radphi.backends.chat import end_of_turn
from radphi.backends.hf import HFBackend
from radphi.backends.llamacpp import LlamaCppBackend

REPORT = "Small left pleural effusion. Heart size is normal."
QUESTION = "Is there an effusion?"
DEMO = Path(__file__).resolve().parents[1] / "radphi" / "assets" / "radphi-demo.gguf"




def _request(system: str | None = "You are a radiologist.") -> Request:
    return Request.build("qa_comprehension", {"report": REPORT, "question": QUESTION}, "chat", system=system)


def _expected_text(system: str | None) -> str:
    """The Phi-3-style template written out by hand."""
    user = f"Answer the question using the radiology report below as context: {REPORT} Question: {QUESTION}"
    turns = (f"<|system|>\n{system}<|end|>\n" if system else "") + f"<|user|>\n{user}<|end|>\n"
    return "<s>" + turns + "<|assistant|>\n"


@pytest.mark.parametrize("system", ["You are a radiologist.", None])
def test_rendered_prompt_tokens_are_exact_and_agree(chat_dir: Path, chat_gguf: Path, system: str | None):
    from transformers import AutoTokenizer

    llama, hf = LlamaCppBackend(str(chat_gguf)), HFBackend(str(chat_dir))
    request = _request(system)
    assert llama.render(request) == hf.render(request) == _expected_text(system)

    tok = AutoTokenizer.from_pretrained(chat_dir)
    ids_llama, ids_hf = llama.prompt_tokens(request), hf.prompt_tokens(request)
    assert ids_llama == ids_hf
    # Exactly the template's tokens: one BOS (the template's own, none added), each
    # marker as its single special token, and the text between as the tokenizer
    # splits it on its own.
    special = {tok.convert_tokens_to_ids(t): t for t in ("<s>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>")}
    assert [special[i] for i in ids_hf if i in special] == (
        ["<s>"] + (["<|system|>", "<|end|>"] if system else []) + ["<|user|>", "<|end|>", "<|assistant|>"])
    assert ids_hf.count(tok.bos_token_id) == 1 and ids_hf[0] == tok.bos_token_id
    user_start = ids_hf.index(tok.convert_tokens_to_ids("<|user|>")) + 1
    user_end = ids_hf.index(tok.convert_tokens_to_ids("<|end|>"), user_start)
    user_ids = ids_hf[user_start:user_end]
    assert tok.decode(user_ids) == "\n" + request.prompt
    assert user_ids == tok("\n" + request.prompt, add_special_tokens=False)["input_ids"]


def test_the_default_format_is_the_models_own(chat_dir: Path, chat_gguf: Path, tiny_phi_gguf: Path,
                                             tiny_phi_dir: Path):
    assert LlamaCppBackend(str(chat_gguf)).native_format() == "chat"
    assert HFBackend(str(chat_dir)).native_format() == "chat"
    # Our own fine-tunes: <instruct>/<output> in the vocabulary (and radphi.prompt_format in the GGUF).
    assert LlamaCppBackend(str(tiny_phi_gguf)).native_format() == "token"
    assert HFBackend(str(tiny_phi_dir)).native_format() == "token"
    assert LlamaCppBackend(str(DEMO)).native_format() == "token"
    assert tasks.choose_format(has_prompt_tokens=False, has_chat_template=False) == "default"
    backend = load_backend("fake")
    assert native_format(backend) == "token" and resolve_format(backend, "chat") == "chat"


def test_demo_model_keeps_its_own_format_unchanged():
    demo = LlamaCppBackend(str(DEMO))
    request = Request.build("abnormality_labels", {"report": REPORT}, resolve_format(demo, None))
    assert request.format == "token"
    assert demo.render(request) == tasks.render_prompt("abnormality_labels", {"report": REPORT}, "token")
    gen = demo.generate(request, GenParams(max_new_tokens=48))
    assert gen.constraint_violated is False and "pleural effusion" in tasks.get_task(request.task).parse(gen.text)["labels"]


def test_chat_answers_stop_on_the_templates_end_of_turn(chat_dir: Path, chat_gguf: Path):
    from transformers import AutoTokenizer

    end = AutoTokenizer.from_pretrained(chat_dir).convert_tokens_to_ids("<|end|>")
    llama, hf = LlamaCppBackend(str(chat_gguf)), HFBackend(str(chat_dir))
    request = _request()
    llama._ensure_loaded()
    assert end in llama._chat_stops()[0]
    hf._ensure_loaded()
    assert end in hf._stops(request, GenParams()).ids
    # Read from the template itself, not only from generation_config's eos list.
    assert end_of_turn(hf._render_messages, hf._added) == ("<|end|>",)
    assert end_of_turn(llama._render_messages, hf._added) == ("<|end|>",)


def test_radphi_prompt_prints_what_the_model_receives(chat_dir: Path, chat_gguf: Path, capsys):
    for spec in (str(chat_gguf), str(chat_dir)):
        assert cli.main(["prompt", "qa_comprehension", "--model", spec, "--system", "You are a radiologist.",
                         "--set", f"report={REPORT}", "--set", f"question={QUESTION}"]) == 0
        out, err = capsys.readouterr()
        assert out == _expected_text("You are a radiologist.") + "\n"
        assert "prompt format: chat" in err
    assert cli.main(["prompt", "qa_comprehension", "--model", str(chat_gguf), "--format", "token",
                     "--set", f"report={REPORT}", "--set", f"question={QUESTION}"]) == 0
    assert capsys.readouterr().out.startswith("<instruct>Answer the question")


def test_run_records_the_format_used(chat_gguf: Path, tmp_path: Path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "report": REPORT}) + "\n")
    out = tmp_path / "out.jsonl"
    assert cli.main(["run", "abnormality_labels", "--model", str(chat_gguf), "--input", str(src),
                     "--output", str(out), "--no-progress", "--max-new-tokens", "64"]) == 0
    record = json.loads(out.read_text())
    assert record["model_info"]["format"] == "chat"
    assert record["model_info"]["decoding"]["constrained"] is True
    # Greedy, this random model repeats one label until the token limit: the list is
    # cut off, and the record says so rather than passing it off as complete.
    assert record["completion_tokens"] == 64
    assert record["constraint_violated"] is True and "token limit" in record["constraint_error"]
