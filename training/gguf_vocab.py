"""Tokenizer -> GGUF vocabulary, the half of the GGUF export that is about text.

Two tokenizer families are supported, mirroring llama.cpp's own converter:

* byte-level BPE (GPT-2 / Phi-2 style, ``tokenizer.json``): GGUF model ``gpt2``;
* SentencePiece (Llama / Mistral, ``tokenizer.model``): GGUF model ``llama``.

``build_vocab`` returns a plain ``GGUFVocab`` record; ``GGUFVocab.write`` puts it
into a ``gguf.GGUFWriter``. When the model has more embedding rows than the
tokenizer has tokens, the token list is padded with ``[PAD{i}]`` tokens of type
UNUSED, as llama.cpp's converter does, so that ``n_vocab`` equals the rows.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# gguf.TokenType values, repeated here so that this module imports without gguf.
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

PROMPT_TOKENS = ("<instruct>", "<output>")


@dataclass
class GGUFVocab:
    """Everything the GGUF file needs to know about the tokenizer."""

    model: str  # "gpt2" or "llama"
    pre: str  # llama.cpp pre-tokenizer name
    tokens: list[str | bytes]
    types: list[int]
    scores: list[float] | None = None
    merges: list[str] = field(default_factory=list)
    special_ids: dict[str, int] = field(default_factory=dict)  # bos/eos/unk/pad -> id
    add_bos: bool = False
    add_eos: bool = False
    add_space_prefix: bool | None = None
    chat_template: str | None = None

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
        if self.merges:
            writer.add_token_merges(self.merges)
        for kind, tid in self.special_ids.items():
            getattr(writer, f"add_{kind}_token_id")(tid)
        writer.add_add_bos_token(self.add_bos)
        writer.add_add_eos_token(self.add_eos)
        if self.add_space_prefix is not None:
            writer.add_add_space_prefix(self.add_space_prefix)
        if self.chat_template:
            writer.add_chat_template(self.chat_template)


def _special_ids(tok: Any, n_vocab: int) -> dict[str, int]:
    ids: dict[str, int] = {}
    for kind in ("bos", "eos", "unk", "pad"):
        tid = getattr(tok, f"{kind}_token_id", None)
        if isinstance(tid, int) and 0 <= tid < n_vocab:
            ids[kind] = tid
    return ids


def _adds_special(tok: Any) -> tuple[bool, bool]:
    """Whether the HF tokenizer adds BOS / EOS on plain ``encode`` (read from behaviour,
    since transformers 5 no longer always stores ``add_bos_token`` in the config)."""
    ids = tok("a")["input_ids"]
    bare = tok("a", add_special_tokens=False)["input_ids"]
    add_bos = tok.bos_token_id is not None and len(ids) > len(bare) and ids[0] == tok.bos_token_id
    add_eos = tok.eos_token_id is not None and len(ids) > len(bare) and ids[-1] == tok.eos_token_id
    return add_bos, add_eos


def _chat_template(tok: Any) -> str | None:
    template = getattr(tok, "chat_template", None)
    return template if isinstance(template, str) else None


def _looks_special(token: str) -> bool:
    # Same heuristic as llama.cpp's converter (does_token_look_special).
    return (token.startswith("<|") and token.endswith("|>")) or token in ("<pad>", "<mask>")


def _load_tokenizer_json(src: Path) -> dict[str, Any] | None:
    path = src / "tokenizer.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _is_byte_level_bpe(tj: dict[str, Any] | None) -> bool:
    if not tj or (tj.get("model") or {}).get("type") != "BPE":
        return False
    pre = tj.get("pre_tokenizer") or {}
    parts = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
    return any(p.get("type") == "ByteLevel" for p in parts)


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


def _merges(tj: dict[str, Any]) -> list[str]:
    merges = tj["model"].get("merges") or []
    if merges and isinstance(merges[0], list):
        # tokenizers >= 0.20 stores pairs; GGUF wants "a b" strings. Byte-level tokens
        # never contain a literal space (it is "Ġ"), so joining with one is lossless.
        merges = [f"{a} {b}" for a, b in merges]
    return list(merges)


def _bpe_vocab(src: Path, tok: Any, tj: dict[str, Any], n_vocab: int) -> GGUFVocab:
    pre = _gpt2_pre_name(tj)
    vocab: dict[str, int] = tok.get_vocab()
    added = tok.added_tokens_decoder  # id -> AddedToken
    by_id = {i: t for t, i in vocab.items()}
    tokens: list[str | bytes] = []
    types: list[int] = []
    for i in range(n_vocab):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(UNUSED)
            continue
        text = by_id[i]
        if i in added:
            types.append(CONTROL if added[i].special or _looks_special(text) else USER_DEFINED)
        else:
            types.append(NORMAL)
        tokens.append(text)
    add_bos, add_eos = _adds_special(tok)
    return GGUFVocab(
        model="gpt2", pre=pre, tokens=tokens, types=types, merges=_merges(tj),
        special_ids=_special_ids(tok, n_vocab), add_bos=add_bos, add_eos=add_eos,
        chat_template=_chat_template(tok),
    )


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
    from sentencepiece import SentencePieceProcessor

    sp = SentencePieceProcessor()
    sp.LoadFromFile(str(src / "tokenizer.model"))
    tokens: list[str | bytes] = [f"[PAD{i}]".encode() for i in range(n_vocab)]
    scores = [-10000.0] * n_vocab
    types = [UNUSED] * n_vocab
    for i in range(min(sp.vocab_size(), n_vocab)):
        tokens[i] = sp.IdToPiece(i).encode("utf-8")
        scores[i] = sp.GetScore(i)
        if sp.IsUnknown(i):
            types[i] = UNKNOWN
        elif sp.IsControl(i):
            types[i] = CONTROL
        elif sp.IsUnused(i):
            types[i] = UNUSED
        elif sp.IsByte(i):
            types[i] = BYTE
        else:
            types[i] = NORMAL
    for i, added in tok.added_tokens_decoder.items():
        if i >= sp.vocab_size() and i < n_vocab:
            tokens[i] = added.content.encode("utf-8")
            scores[i] = -1000.0
            types[i] = CONTROL if added.special or _looks_special(added.content) else USER_DEFINED
    add_bos, add_eos = _adds_special(tok)
    return GGUFVocab(
        model="llama", pre="default", tokens=tokens, types=types, scores=scores,
        special_ids=_special_ids(tok, n_vocab), add_bos=add_bos, add_eos=add_eos,
        add_space_prefix=_space_prefix(tok), chat_template=_chat_template(tok),
    )


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
    if (src / "tokenizer.model").is_file() and not _is_byte_level_bpe(tj):
        vocab = _spm_vocab(src, tok, n_vocab)
    elif _is_byte_level_bpe(tj):
        vocab = _bpe_vocab(src, tok, tj, n_vocab)
    else:
        raise ValueError(
            f"unsupported tokenizer in {src}: need a byte-level BPE tokenizer.json "
            "or a SentencePiece tokenizer.model"
        )
    if n_vocab > len(tok):
        logger.info("padded vocab from %d tokens to %d rows with [PAD] tokens", len(tok), n_vocab)
    return vocab
