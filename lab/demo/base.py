"""The demo model's untrained base: a byte-level BPE tokenizer trained on the synthetic
corpus's train split, with the format's special tokens, and a randomly initialised
PhiForCausalLM of the recipe's size, saved together as an HF directory (also the
"untrained" baseline of lab.demo.evaluate)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lab.demo.train import DemoRecipe

log = logging.getLogger(__name__)

EOS = "<|endoftext|>"


def corpus_texts(corpus_dir: Path) -> list[str]:
    """The train split's prompts and completions in the token format (what training sees)."""
    from radphi.records import iter_numbered
    from radphi.tasks import training_text

    texts: list[str] = []
    for path in sorted((corpus_dir / "train").glob("*.jsonl")):
        for _, rec in iter_numbered(str(path), []):
            prompt, completion = training_text(rec["task"], rec, rec["reference"])
            texts.append(prompt + completion)
    return texts


def train_tokenizer(texts: list[str], vocab_size: int) -> Any:
    """A byte-level BPE (GPT-2 style, no prefix space) with the format's special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from radphi.tasks import SPECIAL_TOKENS

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS, *SPECIAL_TOKENS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    # The special tokens are learned as tokens of their own, never split into merges.
    tok.add_special_tokens([EOS, *SPECIAL_TOKENS])
    tok.train_from_iterator(texts, trainer=trainer)
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=EOS, eos_token=EOS, unk_token=EOS, pad_token=EOS)
    hf.add_special_tokens({"additional_special_tokens": list(SPECIAL_TOKENS)})
    hf.model_max_length = 1 << 30
    return hf


def build_base(recipe: DemoRecipe, corpus_dir: Path, out: Path) -> dict[str, Any]:
    """Tokenizer + untrained PhiForCausalLM saved to OUT (an HF directory)."""
    import torch
    from transformers import PhiConfig, PhiForCausalLM

    tok = train_tokenizer(corpus_texts(corpus_dir), recipe.vocab_size)
    eos_id = tok.convert_tokens_to_ids(EOS)
    rows = -(-len(tok) // 64) * 64
    config = PhiConfig(vocab_size=rows, hidden_size=recipe.hidden, intermediate_size=recipe.intermediate,
                       num_hidden_layers=recipe.layers, num_attention_heads=recipe.heads,
                       num_key_value_heads=recipe.heads, partial_rotary_factor=0.5,
                       max_position_embeddings=recipe.max_position, initializer_range=0.02,
                       resid_pdrop=0.0, embd_pdrop=0.0, attention_dropout=0.0,
                       bos_token_id=eos_id, eos_token_id=eos_id, pad_token_id=eos_id, tie_word_embeddings=False)
    rope = getattr(config, "rope_parameters", None)
    if isinstance(rope, dict):  # transformers 5 keeps these inside rope_parameters
        rope.setdefault("partial_rotary_factor", 0.5)
    torch.manual_seed(recipe.seed)
    model = PhiForCausalLM(config)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    params = sum(p.numel() for p in model.parameters())
    info = {"tokenizer_len": len(tok), "embedding_rows": rows, "parameters": params}
    (out / "demo_base.json").write_text(json.dumps(info, indent=2))
    log.info("base model: %s", info)
    return info
