"""Tokenizer -> GGUF vocabulary, the half of the GGUF export that is about text.

Two tokenizer families are supported, as llama.cpp's ``convert_hf_to_gguf.py`` does:

* byte-level BPE (GPT-2 / Phi-2 style, ``tokenizer.json``): GGUF model ``gpt2``;
* SentencePiece (Llama / Mistral, ``tokenizer.model``): GGUF model ``llama``.

The reading is the ``gguf`` package's own (``gguf.vocab``, which llama.cpp's converters
use): ``BpeVocab`` and ``SentencePieceVocab`` give the base tokens, ``SpecialVocab``
the merges, special token ids and chat template, ``gguf.TokenType`` the types. Written
here is only what ``convert_hf_to_gguf.py`` adds on top of the package, and what it gets
wrong for the tokenizers radphi trains:

* added tokens are taken from the loaded tokenizer and typed CONTROL when special (or
  looking special), else USER_DEFINED, as ``convert_hf_to_gguf.py`` does (``BpeVocab``
  makes every added token CONTROL). transformers 5 no longer writes ``added_tokens.json``
  nor ``added_tokens_decoder``, which is where ``SentencePieceVocab`` and the converter
  look, so they would turn ``<instruct>``/``<output>`` into ``[PAD]`` entries;
* when the model has more embedding rows than the tokenizer has tokens, the list is
  padded with ``[PAD{i}]`` tokens of type UNUSED, so that ``n_vocab`` equals the rows;
* ``add_bos``/``add_eos`` are read from the tokenizer's behaviour (transformers 5 no
  longer always stores them) and ``add_space_prefix`` from how it treats text after a
  special token (``_space_prefix``).

``build_vocab`` returns a ``GGUFVocab`` record; ``GGUFVocab.write`` puts it into a
``gguf.GGUFWriter``.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gguf import TokenType
from gguf.vocab import BpeVocab, SentencePieceVocab, SpecialVocab

logger = logging.getLogger(__name__)

PROMPT_TOKENS = ("<instruct>", "<output>")


@dataclass
class GGUFVocab:
    """Everything the GGUF file needs to know about the tokenizer."""

    model: str  # "gpt2" or "llama"
    pre: str  # llama.cpp pre-tokenizer name
    tokens: list[str | bytes]
    types: list[int]
    special: SpecialVocab  # merges, special token ids, add_bos/add_eos, chat template
    scores: list[float] | None = None
    add_space_prefix: bool | None = None

    @property
    def has_prompt_tokens(self) -> bool:
        present = {t.decode() if isinstance(t, bytes) else t for t in self.tokens}
        return all(t in present for t in PROMPT_TOKENS)

    def write(self, writer: Any) -> None:
        writer.add_tokenizer_model(self.model)
        writer.add_tokenizer_pre(self.pre)
        writer.add_token_list(self.tokens)
        if self.scores is not None:
            writer.add_token_scores(self.scores)
        writer.add_token_types(self.types)
        self.special.add_to_gguf(writer, quiet=True)
        if self.add_space_prefix is not None:
            writer.add_add_space_prefix(self.add_space_prefix)


def _special_vocab(src: Path, tok: Any, n_vocab: int, *, merges: bool) -> SpecialVocab:
    special = SpecialVocab(src, load_merges=merges, n_vocab=n_vocab,
                           special_token_types=("bos", "eos", "unk", "pad"))
    # SpecialVocab takes add_bos/add_eos from tokenizer_config.json or a crude parse of the
    # post-processor; transformers 5 often stores neither, so ask the tokenizer instead.
    ids = tok("a")["input_ids"]
    bare = tok("a", add_special_tokens=False)["input_ids"]
    added = len(ids) > len(bare)
    special.add_special_token = {
        "bos": tok.bos_token_id is not None and added and ids[0] == tok.bos_token_id,
        "eos": tok.eos_token_id is not None and added and ids[-1] == tok.eos_token_id,
    }
    return special


def _added_type(added: Any) -> TokenType:
    # convert_hf_to_gguf.py's rule (does_token_look_special included).
    text = added.content
    looks_special = (text.startswith("<|") and text.endswith("|>")) or text in ("<pad>", "<mask>")
    return TokenType.CONTROL if added.special or looks_special else TokenType.USER_DEFINED


def _load_tokenizer_json(src: Path) -> dict[str, Any] | None:
    path = src / "tokenizer.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _gpt2_pre_name(tj: dict[str, Any]) -> str:
    pre = tj.get("pre_tokenizer") or {}
    if pre.get("type") != "ByteLevel" or not pre.get("use_regex", True) or pre.get("add_prefix_space", False):
        # Llama-3, Qwen, ... split with their own regexes before ByteLevel; llama.cpp
        # identifies those by hashing, which this exporter does not reproduce.
        raise ValueError(
            "unsupported byte-level BPE pre-tokenizer: only the plain GPT-2 one "
            "(ByteLevel, use_regex=true, add_prefix_space=false, as Phi-2) can be exported"
        )
    return "gpt-2"


def _pad_names(start: int, n_vocab: int) -> list[str]:
    return [f"[PAD{i}]" for i in range(start, n_vocab)]


def _bpe_vocab(src: Path, tok: Any, tj: dict[str, Any], base: BpeVocab, n_vocab: int) -> GGUFVocab:
    pre = _gpt2_pre_name(tj)
    try:
        listed = list(base.all_tokens())
    except KeyError as exc:
        raise ValueError(f"the tokenizer's vocabulary in {src} has a gap at id {exc}") from None
    # BpeVocab yields the token text (str) despite its annotation.
    tokens: list[Any] = [text for text, _, _ in listed] + _pad_names(len(listed), n_vocab)
    types = [int(TokenType.NORMAL)] * len(listed) + [int(TokenType.UNUSED)] * (n_vocab - len(listed))
    for i, added in tok.added_tokens_decoder.items():
        if i < n_vocab:
            types[i] = int(_added_type(added))
    return GGUFVocab(model=BpeVocab.tokenizer_model, pre=pre, tokens=tokens, types=types,
                     special=_special_vocab(src, tok, n_vocab, merges=True))


def _space_prefix(tok: Any) -> bool:
    """The GGUF ``add_space_prefix`` flag that best reproduces the HF tokenizer.

    llama.cpp prefixes "▁" to the start of the text *and* to every segment after a
    special token (HF ``legacy=True``). With ``legacy=False`` HF prefixes only the
    start, which llama.cpp cannot express: then pick the variant that matches
    radphi prompts (they start with ``<instruct>``) and warn about the rest.
    """
    def pieces(text: str) -> list[str]:
        return tok.convert_ids_to_tokens(tok(text, add_special_tokens=False)["input_ids"])

    if not pieces("a")[0].startswith("▁"):
        return False
    marker = PROMPT_TOKENS[0] if PROMPT_TOKENS[0] in tok.get_vocab() else tok.eos_token
    after = pieces(f"{marker}a")
    if len(after) < 2 or after[1].startswith("▁"):
        return True
    prompt_format = PROMPT_TOKENS[0] in tok.get_vocab()
    logger.warning(
        "the tokenizer prefixes '▁' only at the start of the text (legacy=False); llama.cpp "
        "cannot do that, so %s",
        "text after special tokens matches but plain text that starts a prompt loses its prefix"
        if prompt_format else "text right after special tokens gains a prefix",
    )
    return not prompt_format


def _spm_vocab(src: Path, tok: Any, n_vocab: int) -> GGUFVocab:
    base = SentencePieceVocab(src)
    pieces = list(base.sentencepiece_tokens())[:n_vocab]
    tokens: list[Any] = [text for text, _, _ in pieces] + [p.encode() for p in _pad_names(len(pieces), n_vocab)]
    scores = [score for _, score, _ in pieces] + [-10000.0] * (n_vocab - len(pieces))
    types = [int(kind) for _, _, kind in pieces] + [int(TokenType.UNUSED)] * (n_vocab - len(pieces))
    for i, added in tok.added_tokens_decoder.items():
        if base.vocab_size_base <= i < n_vocab:
            tokens[i] = added.content.encode("utf-8")
            scores[i] = -1000.0
            types[i] = int(_added_type(added))
    return GGUFVocab(model=SentencePieceVocab.tokenizer_model, pre="default", tokens=tokens, types=types,
                     scores=scores, special=_special_vocab(src, tok, n_vocab, merges=False),
                     add_space_prefix=_space_prefix(tok))


def build_vocab(src: Path, n_vocab: int) -> GGUFVocab:
    """Read the tokenizer saved in ``src`` and lay it out over ``n_vocab`` ids
    (the model's embedding rows)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(src)
    if len(tok) > n_vocab:
        raise ValueError(
            f"tokenizer has {len(tok)} tokens but the model only {n_vocab} embedding rows; "
            "resize the model's embeddings (model.resize_token_embeddings) before exporting"
        )
    tj = _load_tokenizer_json(src)
    try:
        # BpeVocab accepts only a byte-level BPE (ByteLevel decoder, no byte fallback).
        bpe = BpeVocab(src) if tj is not None else None
    except (FileNotFoundError, KeyError, TypeError):
        bpe = None
    if bpe is not None:
        vocab = _bpe_vocab(src, tok, tj, bpe, n_vocab)
    elif (src / "tokenizer.model").is_file():
        vocab = _spm_vocab(src, tok, n_vocab)
    else:
        raise ValueError(
            f"unsupported tokenizer in {src}: need a byte-level BPE tokenizer.json "
            "or a SentencePiece tokenizer.model"
        )
    if n_vocab > len(tok):
        logger.info("padded vocab from %d tokens to %d rows with [PAD] tokens", len(tok), n_vocab)
    return vocab
