"""Acceptance tests for radphi.training.export_gguf: llama.cpp, loading the exported file,
must tokenize and generate exactly as transformers does on the source model."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from radphi.training.export_gguf import export_gguf, main

PROMPT = "<instruct>Given the findings from a radiology report: small left pleural effusion.\n<output>"
# Long enough for 64 teacher-forced positions with either tokenizer.
REPORT = (
    "FINDINGS: PA and lateral views of the chest. The lungs are clear. There is a small left "
    "pleural effusion with left basilar atelectasis. Heart size is normal. Endotracheal tube "
    "terminates 4 cm above the carina. IMPRESSION: Small left pleural effusion, unchanged "
    "compared with 3/4/2021. No pneumothorax. Recommend follow-up CT in 3 months."
)
N_NEW = 32
# Largest |llama.cpp - transformers| logit difference accepted for an f32 GGUF; the
# tiny models' logits have a std of about 0.16. Llama matches to ~1e-7 with an f32
# KV cache. Phi differs by ~2e-4 because ggml's CPU GELU reads an f16 lookup table.
# An export bug (a wrong permutation, rope width or eps) shows up as 1e-2 or more.
F32_ATOL = {"tiny_phi_dir": 1e-3, "tiny_llama_dir": 1e-5}


# --- helpers ---

def _hf(model_dir: Path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(model_dir)


def _llama(gguf_path: Path, *, logits_all: bool = False):
    from radphi.backends.llamacpp_load import load_llama

    # Without "extra buffer types" (no weight repacking): on this VM the repacked
    # quantized path dies with SIGILL (see radphi/backends/llamacpp_load.py); the plain
    # CPU kernels are what we compare. One thread: the models are tiny. An f32 KV cache
    # (type 0; llama.cpp's default is f16) when comparing logits, so that only the
    # model's own arithmetic differs.
    kv = {"type_k": 0, "type_v": 0} if logits_all else {}
    return load_llama(gguf_path, use_extra_bufts=False, n_ctx=256, n_threads=1, n_batch=256,
                      logits_all=logits_all, verbose=False, **kv)


def _hf_greedy(model, ids: list[int]) -> list[int]:
    import torch

    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                             do_sample=False, max_new_tokens=N_NEW)
    return out[0, len(ids):].tolist()


def _llama_greedy(llm, ids: list[int], eos: int | None) -> list[int]:
    new: list[int] = []
    for tok in llm.generate(ids, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0):
        new.append(tok)
        # transformers stops after EOS, so the comparison does too.
        if tok == eos or len(new) == N_NEW:
            break
    return new


def _hf_logits(model, ids: list[int]) -> np.ndarray:
    import torch

    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].float().numpy()


def _llama_logits(gguf_path: Path, ids: list[int]) -> np.ndarray:
    llm = _llama(gguf_path, logits_all=True)
    llm.eval(ids)
    return np.array(llm.scores[: len(ids)])


def _assert_same_greedy(model_dir: Path, gguf_path: Path) -> list[int]:
    model, tok = _hf(model_dir)
    ids = tok(PROMPT)["input_ids"]
    hf_new = _hf_greedy(model, ids)
    llm = _llama(gguf_path)
    assert llm.tokenize(PROMPT.encode(), add_bos=True, special=True) == ids
    cpp_new = _llama_greedy(llm, ids, tok.eos_token_id)
    assert cpp_new == hf_new, f"llama.cpp {cpp_new}\n!= transformers {hf_new}"
    return hf_new


# --- exports shared by several tests (module scope: built once) ---

@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("exports")
    cache: dict[tuple[str, str], Path] = {}

    def get(model_dir: Path, quant: str) -> Path:
        key = (str(model_dir), quant)
        if key not in cache:
            cache[key] = export_gguf(model_dir, out / f"{model_dir.name}-{quant}.gguf", quant=quant)
        return cache[key]

    return get


# --- tokenization and greedy equality ---

@pytest.mark.parametrize("fixture", ["tiny_phi_dir", "tiny_llama_dir"])
def test_llama_cpp_tokenizes_prompt_like_transformers(fixture, request, exports):
    model_dir = request.getfixturevalue(fixture)
    _, tok = _hf(model_dir)
    llm = _llama(exports(model_dir, "f16"))
    ids = tok(PROMPT)["input_ids"]
    # add_bos=True lets the GGUF's own add_bos flag decide: Phi adds none, Llama adds <s>.
    assert llm.tokenize(PROMPT.encode(), add_bos=True, special=True) == ids
    assert tok.convert_tokens_to_ids("<instruct>") in ids and tok.convert_tokens_to_ids("<output>") in ids
    assert (ids[0] == tok.bos_token_id) == (fixture == "tiny_llama_dir")
    # Plain text too (no special tokens, digits, punctuation, a newline).
    text = "Compared with 3/4/2021, the 1.2 cm nodule is unchanged;\nno effusion."
    assert llm.tokenize(text.encode(), add_bos=True, special=True) == tok(text)["input_ids"]


def test_phi_f32_greedy_matches_transformers(tiny_phi_dir, tiny_phi_gguf):
    new = _assert_same_greedy(tiny_phi_dir, tiny_phi_gguf)
    assert len(set(new)) > 3  # a real continuation, not one repeated token


@pytest.mark.parametrize(("fixture", "quant"), [
    ("tiny_phi_dir", "f16"), ("tiny_llama_dir", "f32"), ("tiny_llama_dir", "f16"),
])
def test_greedy_matches_transformers(fixture, quant, request, exports):
    model_dir = request.getfixturevalue(fixture)
    new = _assert_same_greedy(model_dir, exports(model_dir, quant))
    assert len(set(new)) > 3


@pytest.mark.parametrize("fixture", ["tiny_phi_dir", "tiny_llama_dir"])
def test_f32_logits_match_transformers(fixture, request, exports):
    model_dir = request.getfixturevalue(fixture)
    model, tok = _hf(model_dir)
    ids = tok(REPORT)["input_ids"][:64]
    hf, cpp = _hf_logits(model, ids), _llama_logits(exports(model_dir, "f32"), ids)
    assert cpp.shape == hf.shape
    assert np.abs(cpp - hf).max() < F32_ATOL[fixture]


def test_padded_vocab_keeps_all_embedding_rows(tiny_phi_padded_dir, exports):
    import gguf

    config = json.loads((tiny_phi_padded_dir / "config.json").read_text())
    _, tok = _hf(tiny_phi_padded_dir)
    assert config["vocab_size"] == len(tok) + 37
    path = exports(tiny_phi_padded_dir, "f32")
    assert _llama(path).n_vocab() == config["vocab_size"]
    reader = gguf.GGUFReader(path)
    field = reader.fields["tokenizer.ggml.tokens"]
    last = bytes(field.parts[field.data[-1]]).decode()
    assert len(field.data) == config["vocab_size"] and last == f"[PAD{config['vocab_size'] - 1}]"
    _assert_same_greedy(tiny_phi_padded_dir, path)


def test_sentencepiece_without_legacy_prefix_still_matches_prompts(tiny_llama_dir, tmp_path, caplog):
    import shutil

    # transformers 5 defaults to legacy=False: "▁" only at the very start of the text,
    # never after a special token. llama.cpp cannot express that, so the export turns
    # the prefix off, which reproduces every radphi prompt (they start with <instruct>).
    src = tmp_path / "llama_nonlegacy"
    shutil.copytree(tiny_llama_dir, src)
    config = json.loads((src / "tokenizer_config.json").read_text())
    (src / "tokenizer_config.json").write_text(json.dumps({**config, "legacy": False}))
    _, tok = _hf(src)
    ids = tok(PROMPT)["input_ids"]
    assert ids != _hf(tiny_llama_dir)[1](PROMPT)["input_ids"]  # the variant really differs
    with caplog.at_level("WARNING", logger="radphi.training.gguf_vocab"):
        path = export_gguf(src, tmp_path / "nonlegacy.gguf", quant="f16")
    assert "legacy=False" in caplog.text
    assert _llama(path).tokenize(PROMPT.encode(), add_bos=True, special=True) == ids


# --- quantized exports ---

@pytest.mark.parametrize("fixture", ["tiny_phi_dir", "tiny_llama_dir"])
def test_q8_0_top1_agrees_with_transformers(fixture, request, tmp_path):
    import llama_cpp

    model_dir = request.getfixturevalue(fixture)
    out = tmp_path / "q8.gguf"
    assert main([str(model_dir), str(out), "--quant", "q8_0"]) == 0
    llm = _llama(out)
    assert llama_cpp.llama_model_ftype(llm.model) == llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
    assert llm.metadata.get("radphi.prompt_format") == "token"  # survives llama.cpp's quantizer
    model, tok = _hf(model_dir)
    ids = tok(REPORT)["input_ids"][:64]
    assert len(ids) == 64
    agree = (_llama_logits(out, ids).argmax(-1) == _hf_logits(model, ids).argmax(-1)).mean()
    assert agree >= 0.95, f"top-1 agreement {agree:.2%}"


def test_q4_k_m_runs_on_tiny_shapes(tiny_phi_dir, tmp_path):
    import gguf
    import llama_cpp

    # 64-wide rows are not a multiple of the 256-element k-quant block, so llama.cpp
    # falls back (Q4_K -> Q5_0, Q6_K -> Q8_0) for those tensors instead of failing.
    out = export_gguf(tiny_phi_dir, tmp_path / "q4.gguf", quant="q4_k_m")
    kinds = {t.name: t.tensor_type for t in gguf.GGUFReader(out).tensors}
    q = gguf.GGMLQuantizationType
    assert kinds["blk.0.ffn_down.weight"] == q.Q4_K  # 256-wide rows: a real k-quant
    assert kinds["blk.0.attn_q.weight"] == q.Q5_0  # 64-wide rows: the fallback
    llm = _llama(out)
    assert llama_cpp.llama_model_ftype(llm.model) == llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
    model, tok = _hf(tiny_phi_dir)
    ids = tok(REPORT)["input_ids"][:64]
    agree = (_llama_logits(out, ids).argmax(-1) == _hf_logits(model, ids).argmax(-1)).mean()
    assert agree >= 0.75, f"top-1 agreement {agree:.2%}"


# --- file contents ---

def test_f16_file_layout_and_metadata(tiny_phi_dir, exports):
    import gguf

    reader = gguf.GGUFReader(exports(tiny_phi_dir, "f16"))

    def value(key):
        field = reader.fields[key]
        return field.contents()

    assert value("general.architecture") == "phi2"
    assert value("radphi.prompt_format") == "token"
    assert value("tokenizer.ggml.model") == "gpt2" and value("tokenizer.ggml.pre") == "gpt-2"
    assert value("tokenizer.ggml.add_bos_token") is False
    assert value("phi2.rope.dimension_count") == 8  # 0.5 * (64 / 4)
    _, tok = _hf(tiny_phi_dir)
    types = value("tokenizer.ggml.token_type")
    assert types[tok.convert_tokens_to_ids("<instruct>")] == gguf.TokenType.CONTROL
    assert types[tok.convert_tokens_to_ids("Ġthe")] == gguf.TokenType.NORMAL
    kinds = {t.name: t.tensor_type for t in reader.tensors}
    assert kinds["blk.0.attn_q.weight"] == gguf.GGMLQuantizationType.F16
    assert kinds["token_embd.weight"] == gguf.GGMLQuantizationType.F16
    assert kinds["blk.0.attn_norm.weight"] == gguf.GGMLQuantizationType.F32
    assert kinds["blk.0.attn_q.bias"] == gguf.GGMLQuantizationType.F32


# --- adapters ---

def test_adapter_is_merged_before_export(tiny_phi_dir, tmp_path):
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model

    base, tok = _hf(tiny_phi_dir)
    torch.manual_seed(1)
    lora = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj", "fc1", "fc2"],
                                           init_lora_weights=False))
    with torch.no_grad():  # make the update large enough to change the model's choices
        for name, p in lora.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.2)
    lora.save_pretrained(tmp_path / "adapter")

    out = export_gguf(tiny_phi_dir, tmp_path / "merged.gguf", quant="f32", adapter=tmp_path / "adapter")

    merged = PeftModel.from_pretrained(_hf(tiny_phi_dir)[0], tmp_path / "adapter").merge_and_unload().eval()
    base_only = _hf(tiny_phi_dir)[0]
    ids = tok(PROMPT)["input_ids"]
    cpp = _llama_logits(out, ids)
    assert np.abs(cpp - _hf_logits(merged, ids)).max() < F32_ATOL["tiny_phi_dir"]
    assert np.abs(cpp - _hf_logits(base_only, ids)).max() > 0.5
    assert _llama_greedy(_llama(out), ids, tok.eos_token_id) == _hf_greedy(merged, ids)
    assert _hf_greedy(merged, ids) != _hf_greedy(base_only, ids)


# --- errors ---

def test_missing_source_dir_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="model directory not found"):
        export_gguf(tmp_path / "nope", tmp_path / "x.gguf")


def test_unknown_quant_is_a_clear_error(tiny_phi_dir, tmp_path):
    with pytest.raises(ValueError, match=r"unknown quant 'q3_x'.*q4_k_m"):
        export_gguf(tiny_phi_dir, tmp_path / "x.gguf", quant="q3_x")
    assert not (tmp_path / "x.gguf").exists()


def test_unsupported_architecture_is_a_clear_error(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["GPT2LMHeadModel"]}))
    with pytest.raises(ValueError, match="unsupported architecture.*GPT2LMHeadModel"):
        export_gguf(tmp_path, tmp_path / "x.gguf")


def test_cli_reports_errors_without_a_traceback(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path / "nope"), str(tmp_path / "x.gguf")])
    assert exc.value.code == 2
    assert "model directory not found" in capsys.readouterr().err


# --- vocabulary (radphi.training.gguf_vocab, on gguf.vocab) ---

def test_added_tokens_are_typed_as_llama_cpp_converter_does(tiny_phi_dir, tiny_llama_dir, tmp_path):
    import shutil

    from gguf import TokenType
    from transformers import AutoTokenizer

    from radphi.training.gguf_vocab import build_vocab

    # gguf.vocab.BpeVocab types every added token CONTROL; convert_hf_to_gguf.py, and so
    # this exporter, keeps a plain added token USER_DEFINED (llama.cpp matches and prints it).
    src = tmp_path / "phi"
    shutil.copytree(tiny_phi_dir, src)
    tok = AutoTokenizer.from_pretrained(src)
    assert tok.add_tokens(["radphi_plain_added"]) == 1
    tok.save_pretrained(src)
    vocab = build_vocab(src, len(tok) + 2)
    assert vocab.types[tok.convert_tokens_to_ids("radphi_plain_added")] == TokenType.USER_DEFINED
    assert vocab.types[tok.convert_tokens_to_ids("<instruct>")] == TokenType.CONTROL
    assert vocab.types[tok.convert_tokens_to_ids("<|endoftext|>")] == TokenType.CONTROL
    assert vocab.tokens[-1] == f"[PAD{len(tok) + 1}]" and vocab.types[-1] == TokenType.UNUSED
    # transformers 5 writes no added_tokens.json, where gguf.vocab.SentencePieceVocab (and
    # llama.cpp's converter) look for added tokens: the prompt tokens must still be there.
    llama_tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    assert not (tiny_llama_dir / "added_tokens.json").exists()
    spm = build_vocab(tiny_llama_dir, len(llama_tok))
    i = llama_tok.convert_tokens_to_ids("<output>")
    assert (spm.tokens[i], spm.types[i], spm.scores[i]) == (b"<output>", TokenType.CONTROL, -1000.0)
    assert spm.has_prompt_tokens and spm.special.add_special_token == {"bos": True, "eos": False}
