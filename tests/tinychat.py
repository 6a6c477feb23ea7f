"""A tiny random Llama-architecture chat model, in the style of Phi-3-mini-instruct.

Like Phi-3: a SentencePiece BPE vocabulary (byte fallback), `<|system|>`, `<|user|>`,
`<|assistant|>` and `<|end|>` as special tokens, `<|endoftext|>` as end of text, and
a chat template that writes `<s>`, each turn as `<|role|>\\ncontent<|end|>\\n`, then
`<|assistant|>\\n`. It has no `<instruct>`/`<output>` tokens: its own prompt format is
`chat`. Random weights: it answers nonsense, which is what the constraint tests need.

    from tests.tinychat import build_tiny_chat_llama
    path = build_tiny_chat_llama(tmp_path / "chat")
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from tests.tinymodels import INIT_RANGE, _llama_tokenizer_from_spm, _train_sentencepiece, _update_json, report_corpus

CHAT_TOKENS = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]

# Phi-3-mini-instruct's template, with the system turn it later gained (Phi-3.5).
PHI3_STYLE_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


def build_tiny_chat_llama(out_dir: str | Path, *, seed: int = 0) -> Path:
    """Build and save a tiny random `LlamaForCausalLM` with the Phi-3-style chat template."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        sp_model = _train_sentencepiece(report_corpus(seed=seed), Path(tmp) / "tokenizer", vocab_size=400)
        tok = _llama_tokenizer_from_spm(sp_model)
        tok.add_special_tokens({"additional_special_tokens": CHAT_TOKENS})
        tok.eos_token = "<|endoftext|>"
        tok.chat_template = PHI3_STYLE_TEMPLATE
        end = tok.convert_tokens_to_ids("<|end|>")
        config = LlamaConfig(
            vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
            initializer_range=INIT_RANGE, rms_norm_eps=1e-5, bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id, tie_word_embeddings=False,
        )
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config).eval()
        # As Phi-3's generation_config: end of text, and end of turn.
        model.generation_config.eos_token_id = [tok.eos_token_id, end]
        model.save_pretrained(out, safe_serialization=True)
        tok.save_pretrained(out)
        _update_json(out / "tokenizer_config.json", legacy=True)
        if not (out / "tokenizer.model").is_file():
            (out / "tokenizer.model").write_bytes(sp_model.read_bytes())
    return out
