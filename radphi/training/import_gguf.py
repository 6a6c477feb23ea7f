"""Import a Phi-2 GGUF back into a transformers directory (the inverse of export_gguf).

    python -m radphi.training.import_gguf MODEL.gguf OUT_DIR

Why: the training stages write their checkpoints under `runs/`, which is not kept in
git. Once a build directory is gone, the only copy of a model may be its GGUF, such as
the shipped `radphi/assets/radphi-demo.gguf`. This turns that file into a `save_pretrained`
directory (config, safetensors, tokenizer) that `radphi.training.sft` can start from, so a
further training stage need not rebuild stages 1-2 (about 4 h on a 2-core CPU).

Supported: GGUF arch `phi2` with a byte-level BPE vocabulary (`tokenizer.ggml.model`
gpt2), which is what `radphi.training.export_gguf` writes for `PhiForCausalLM` and what
llama.cpp's converter writes for Phi-2. Tensors of any type the `gguf` package can
dequantize (f32, f16, q8_0, k-quants) are read as float32; a quantized file gives back
its quantized values, not the weights it was made from (q8_0 is within about 0.4% of
each block's largest weight).

The reading and the dequantizing are the `gguf` package's (GGUFReader,
gguf.quants.dequantize); the name mapping is its TensorNameMap, run backwards. What is
hand-written is the assembly into a PhiConfig and a `tokenizers` BPE, which no library
does for this architecture (transformers' own GGUF loading has no phi2 mapping).
"""
from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


class GGUFImportError(ValueError):
    """The file is not a GGUF this importer can turn back into a transformers model."""


def import_gguf(gguf_path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Path:
    """Write `gguf_path` as a transformers directory at `out_dir`; returns `out_dir`."""
    import torch
    from transformers import PhiForCausalLM

    reader = _open(Path(gguf_path))
    arch = _field(reader, "general.architecture")
    if arch != "phi2":
        raise GGUFImportError(f"{gguf_path}: architecture {arch!r} is not supported (only phi2)")
    config = phi_config(reader)
    tokenizer = gpt2_tokenizer(reader)
    with torch.device("meta"):
        model = PhiForCausalLM(config)
    state = _state_dict(reader, list(model.state_dict()), config.num_hidden_layers)
    model.load_state_dict(state, assign=True, strict=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    logger.info("imported %s into %s (%d tensors)", gguf_path, out, len(state))
    return out


def _open(path: Path) -> Any:
    from gguf import GGUFReader

    if not path.is_file():
        raise FileNotFoundError(f"GGUF file not found: {path}")
    try:
        return GGUFReader(path)
    except Exception as exc:  # the reader raises ValueError, struct errors or IndexError on a bad file
        raise GGUFImportError(f"{path}: not a readable GGUF file ({type(exc).__name__}: {exc})") from exc


_MISSING = object()


def _field(reader: Any, key: str, default: Any = _MISSING) -> Any:
    """A metadata value as a Python scalar, string or list."""
    field = reader.get_field(key)
    if field is None:
        if default is _MISSING:
            raise GGUFImportError(f"GGUF metadata {key!r} is missing")
        return default
    return field.contents()


def phi_config(reader: Any) -> Any:
    """The PhiConfig that the GGUF's phi2 hyper-parameters describe."""
    from transformers import PhiConfig

    n_embd = _field(reader, "phi2.embedding_length")
    n_head = _field(reader, "phi2.attention.head_count")
    rows = _tensor_info(reader, "token_embd.weight").shape[-1]  # GGUF lists dimensions innermost first
    eos = _field(reader, "tokenizer.ggml.eos_token_id", None)
    rotary = _field(reader, "phi2.rope.dimension_count") / (n_embd // n_head)
    config = PhiConfig(
        vocab_size=int(rows), hidden_size=n_embd, intermediate_size=_field(reader, "phi2.feed_forward_length"),
        num_hidden_layers=_field(reader, "phi2.block_count"), num_attention_heads=n_head,
        num_key_value_heads=_field(reader, "phi2.attention.head_count_kv", n_head),
        max_position_embeddings=_field(reader, "phi2.context_length"),
        layer_norm_eps=_field(reader, "phi2.attention.layer_norm_epsilon", 1e-5),
        partial_rotary_factor=rotary, rope_theta=_field(reader, "phi2.rope.freq_base", 10000.0),
        resid_pdrop=0.0, embd_pdrop=0.0, attention_dropout=0.0, tie_word_embeddings=False,
        bos_token_id=_field(reader, "tokenizer.ggml.bos_token_id", eos), eos_token_id=eos,
        pad_token_id=_field(reader, "tokenizer.ggml.padding_token_id", eos),
    )
    config.architectures = ["PhiForCausalLM"]
    return config


def _tensor_info(reader: Any, name: str) -> Any:
    for t in reader.tensors:
        if t.name == name:
            return t
    raise GGUFImportError(f"GGUF tensor {name!r} is missing")


def _dequantized(t: Any) -> Any:
    """The tensor as float32, in transformers' (rows, columns) order."""
    import numpy as np
    from gguf.quants import dequantize

    # GGUF lists dimensions innermost first; the reader's data is already row-major.
    shape = tuple(int(d) for d in reversed(t.shape))
    return np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(shape)


def _state_dict(reader: Any, keys: list[str], n_layer: int) -> dict[str, Any]:
    """{transformers key: float32 tensor} for KEYS, from the GGUF's tensors."""
    import gguf
    import torch

    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH.PHI2, n_layer)
    hf_by_gguf = {}
    for key in keys:
        name = tmap.get_name(key, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise GGUFImportError(f"no GGUF phi2 tensor for transformers' {key!r}")
        hf_by_gguf[name] = key
    state: dict[str, Any] = {}
    for t in reader.tensors:
        if t.name not in hf_by_gguf:
            raise GGUFImportError(f"GGUF tensor {t.name!r} has no place in PhiForCausalLM")
        state[hf_by_gguf[t.name]] = torch.from_numpy(_dequantized(t).copy())
    missing = sorted(set(keys) - set(state))
    if missing:
        raise GGUFImportError(f"GGUF file lacks tensors for {', '.join(missing[:5])}")
    return state


def gpt2_tokenizer(reader: Any) -> Any:
    """The byte-level BPE tokenizer that the GGUF's gpt2 vocabulary and merges describe.

    Padding entries (type UNUSED, written where a model has more embedding rows than
    tokens) are left out, as they were not in the tokenizer that was exported."""
    from gguf import TokenType
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    kind = _field(reader, "tokenizer.ggml.model")
    if kind != "gpt2":
        raise GGUFImportError(f"tokenizer model {kind!r} is not supported (only gpt2 byte-level BPE)")
    tokens = _field(reader, "tokenizer.ggml.tokens")
    types = _field(reader, "tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in _field(reader, "tokenizer.ggml.merges", [])]
    # Every entry but the padding is in the BPE vocabulary at its own id; the special
    # ones are then marked as added tokens, which tokenizers keeps at those ids (as
    # BpeTrainer does with its special tokens).
    vocab = {t: i for i, (t, k) in enumerate(zip(tokens, types, strict=True)) if k != TokenType.UNUSED}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    added = [(t, k) for t, k in zip(tokens, types, strict=True) if k in (TokenType.CONTROL, TokenType.USER_DEFINED)]
    tok.add_special_tokens([t for t, k in added if k == TokenType.CONTROL])
    tok.add_tokens([t for t, k in added if k == TokenType.USER_DEFINED])
    ids = {k: _field(reader, f"tokenizer.ggml.{k}_token_id", None) for k in ("bos", "eos", "unknown", "padding")}
    special = {k: tokens[i] for k, i in ids.items() if i is not None}
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=special.get("bos"), eos_token=special.get("eos"),
        unk_token=special.get("unknown", special.get("eos")), pad_token=special.get("padding", special.get("eos")))
    named = set(special.values())
    extra = [t for t, k in added if k == TokenType.CONTROL and t not in named]
    if extra:
        hf.add_special_tokens({"additional_special_tokens": extra})
    hf.model_max_length = 1 << 30
    return hf


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` and import; errors end with exit status 2 and a one-line message."""
    parser = argparse.ArgumentParser(prog="python -m radphi.training.import_gguf",
                                     description="Turn a phi2 GGUF back into a transformers directory.")
    parser.add_argument("gguf", help="the .gguf file (f32, f16 or quantized)")
    parser.add_argument("out", help="directory to write (config.json, model.safetensors, tokenizer)")
    args = parser.parse_args(argv)
    try:
        import_gguf(args.gguf, args.out)
    except (GGUFImportError, FileNotFoundError) as exc:
        parser.exit(2, f"error: {exc}\n")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    raise SystemExit(main())
