"""Builders for tiny, randomly initialised models used by the tests.

Each builder trains a real tokenizer offline on made-up chest X-ray report text,
wraps it the way the project's real checkpoints are wrapped (``<instruct>`` and
``<output>`` as additional special tokens), builds a tiny model with a fixed seed
and saves both with ``save_pretrained``. A build takes a second or two on CPU.

    from tests.tinymodels import build_tiny_phi
    path = build_tiny_phi(tmp_path / "phi")
"""
from __future__ import annotations

import json
import logging
import random
from pathlib import Path

logger = logging.getLogger(__name__)

SPECIAL_TOKENS = ["<instruct>", "<output>"]
PHI_EOS = "<|endoftext|>"

# transformers' default init. A larger one makes attention sharp, which amplifies
# quantization error: q8_0 top-1 agreement fell from ~97% to ~93% at 0.15, while
# f16 greedy output matched llama.cpp at either scale. At this scale attention
# moves the argmax little, so attention bugs are caught by comparing f32 logits
# (tests/test_export_gguf.py), not by greedy text alone.
INIT_RANGE = 0.02

_FINDINGS = [
    "small left pleural effusion",
    "small right pleural effusion",
    "moderate bilateral pleural effusions",
    "right lower lobe consolidation",
    "left basilar atelectasis",
    "bibasilar atelectasis",
    "mild pulmonary edema",
    "moderate cardiomegaly",
    "mild cardiomegaly",
    "small apical pneumothorax on the right",
    "tiny left apical pneumothorax",
    "hyperinflated lungs consistent with emphysema",
    "a 1.2 cm nodule in the right upper lobe",
    "patchy opacity in the left mid lung",
    "healed fracture of the left 6th rib",
    "elevated right hemidiaphragm",
    "widened mediastinum",
    "calcified granuloma in the left upper lobe",
    "interstitial markings are increased",
    "vascular congestion without frank edema",
]
_DEVICES = [
    "endotracheal tube terminates 4 cm above the carina",
    "right internal jugular central venous catheter tip in the SVC",
    "left PICC line terminates at the cavoatrial junction",
    "nasogastric tube courses below the diaphragm",
    "cardiac pacemaker with leads in the right atrium and ventricle",
    "sternotomy wires are intact",
    "chest tube in the right hemithorax",
]
_NORMAL = [
    "The lungs are clear.",
    "No focal consolidation, effusion or pneumothorax.",
    "The cardiomediastinal silhouette is within normal limits.",
    "Heart size is normal.",
    "No acute osseous abnormality.",
    "The hila are unremarkable.",
    "There is no free air under the diaphragm.",
]
_CHANGE = ["new", "unchanged", "slightly increased", "decreased", "stable", "improving", "worsening"]
_VIEWS = ["PA and lateral", "portable AP", "single frontal", "AP supine", "PA"]
_IMPRESSION = [
    "No acute cardiopulmonary process.",
    "Findings may represent pneumonia in the appropriate clinical setting.",
    "Recommend follow-up CT in 3 months.",
    "Support devices as above.",
    "Interval improvement compared with the prior study.",
    "Clinical correlation is recommended.",
]


def report_corpus(n_lines: int = 300, seed: int = 0) -> list[str]:
    """Return ``n_lines`` deterministic, varied lines of made-up report text.

    Includes the prompt wording ("Given the findings ...") so the tokenizers learn
    merges that the tests' prompts actually use.
    """
    rng = random.Random(seed)
    lines: list[str] = []
    for i in range(n_lines):
        kind = i % 6
        finding = rng.choice(_FINDINGS)
        if kind == 0:
            lines.append(f"FINDINGS: {rng.choice(_VIEWS)} views of the chest. {rng.choice(_NORMAL)} "
                         f"There is {finding}.")
        elif kind == 1:
            lines.append(f"IMPRESSION: {rng.choice(_CHANGE).capitalize()} {finding}. {rng.choice(_IMPRESSION)}")
        elif kind == 2:
            lines.append(f"Given the findings from a radiology report: {finding}.\n"
                         f"Summarise the impression in one sentence.")
        elif kind == 3:
            lines.append(f"Lines and tubes: {rng.choice(_DEVICES)}. {rng.choice(_NORMAL)}")
        elif kind == 4:
            a, b = rng.sample(_FINDINGS, 2)
            lines.append(f"Compared with {rng.randint(1, 28)}/{rng.randint(1, 12)}/20{rng.randint(10, 25)}, "
                         f"{a} is {rng.choice(_CHANGE)}; {b}.")
        else:
            lines.append(f"Abnormalities: {finding}; {rng.choice(_FINDINGS)}. Devices: {rng.choice(_DEVICES)}.")
    return lines


def _tiny_phi_tokenizer(corpus: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    # add_prefix_space=False as in Phi-2/GPT-2; llama.cpp's "gpt-2" pre-tokenizer never adds one.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=500,
        special_tokens=[PHI_EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    hf_tok = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=PHI_EOS,
        eos_token=PHI_EOS,
        unk_token=PHI_EOS,
        pad_token=PHI_EOS,
    )
    hf_tok.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS})
    return hf_tok


def build_tiny_phi(out_dir: str | Path, *, vocab_pad: int = 0, seed: int = 0, hidden_size: int = 64,
                   intermediate_size: int = 256, initializer_range: float = INIT_RANGE) -> Path:
    """Build and save a tiny random ``PhiForCausalLM`` with a byte-level BPE tokenizer.

    ``vocab_pad`` extra embedding rows beyond the tokenizer's length mimic real
    Phi-2 (51,200 rows for 50,295 tokens). A larger ``hidden_size`` (e.g. 256) gives
    matrices that llama.cpp's repacked CPU kernels (AMX, interleaved layouts) accept.
    """
    import torch
    from transformers import PhiConfig, PhiForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = _tiny_phi_tokenizer(report_corpus(seed=seed))
    eos_id = tok.convert_tokens_to_ids(PHI_EOS)
    config = PhiConfig(
        vocab_size=len(tok) + vocab_pad,
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        partial_rotary_factor=0.5,
        max_position_embeddings=512,
        initializer_range=initializer_range,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
        tie_word_embeddings=False,
    )
    rope = getattr(config, "rope_parameters", None)
    if isinstance(rope, dict):  # transformers 5 keeps these inside rope_parameters
        rope.setdefault("partial_rotary_factor", 0.5)
    torch.manual_seed(seed)
    model = PhiForCausalLM(config).eval()
    model.generation_config.pad_token_id = eos_id
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    logger.info("tiny phi (vocab %d, %d rows) saved to %s", len(tok), config.vocab_size, out)
    return out


def _train_sentencepiece(corpus: list[str], model_prefix: Path, vocab_size: int) -> Path:
    import io

    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus),
        model_writer=buf,
        # BPE, not unigram: llama.cpp's "llama" tokenizer merges by score, which
        # reproduces SentencePiece BPE exactly but only approximates unigram.
        model_type="bpe",
        vocab_size=vocab_size,
        byte_fallback=True,
        character_coverage=1.0,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        split_digits=True,
        add_dummy_prefix=True,
        remove_extra_whitespaces=False,
        normalization_rule_name="identity",
        num_threads=1,
        minloglevel=2,
    )
    path = model_prefix.with_suffix(".model")
    path.write_bytes(buf.getvalue())
    return path


def _update_json(path: Path, **values: object) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(values)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _llama_tokenizer_from_spm(sp_model: Path):
    """A transformers ``LlamaTokenizer`` equivalent to the SentencePiece BPE model.

    ``LlamaTokenizer.from_pretrained`` on a bare ``tokenizer.model`` needs protobuf
    in transformers 5, which this project does not install; building the BPE from
    the pieces does what its converter does (merges ordered by piece id).
    """
    import sentencepiece as spm
    from transformers import LlamaTokenizer
    from transformers.tokenization_utils_base import generate_merges

    sp = spm.SentencePieceProcessor(model_file=str(sp_model))
    vocab = {sp.IdToPiece(i): i for i in range(sp.GetPieceSize())}
    return LlamaTokenizer(vocab=vocab, merges=generate_merges(vocab), legacy=True, add_bos_token=True)


def build_tiny_llama(out_dir: str | Path, *, seed: int = 0) -> Path:
    """Build and save a tiny random ``LlamaForCausalLM`` (GQA, like Mistral) with a
    SentencePiece BPE tokenizer (byte fallback, ``<unk>``/``<s>``/``</s>`` at 0/1/2).

    The saved directory keeps ``tokenizer.model`` next to ``tokenizer.json``.
    """
    import tempfile

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        sp_model = _train_sentencepiece(report_corpus(seed=seed), Path(tmp) / "tokenizer", vocab_size=400)
        # legacy=True prepends "▁" to every text segment, including the one right
        # after a special token, as llama.cpp's SPM tokenizer does; legacy=False
        # (transformers' default) prefixes only the start of the text.
        tok = _llama_tokenizer_from_spm(sp_model)
        tok.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS})
        config = LlamaConfig(
            vocab_size=len(tok),
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=512,
            initializer_range=INIT_RANGE,
            rms_norm_eps=1e-5,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            tie_word_embeddings=False,
        )
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config).eval()
        model.save_pretrained(out, safe_serialization=True)
        tok.save_pretrained(out)
        # transformers 5 does not save `legacy`, and reloads with legacy=False.
        _update_json(out / "tokenizer_config.json", legacy=True)
        if not (out / "tokenizer.model").is_file():
            # The GGUF export of a SentencePiece vocab reads the original model file.
            (out / "tokenizer.model").write_bytes(sp_model.read_bytes())
    logger.info("tiny llama (vocab %d) saved to %s", len(tok), out)
    return out
