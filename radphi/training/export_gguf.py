"""Export a transformers checkpoint (optionally with a LoRA adapter merged in) to GGUF.

    python -m radphi.training.export_gguf SRC_DIR OUT.gguf [--quant f32|f16|q8_0|q4_0|q4_k_m] [--adapter DIR]

Supported: ``PhiForCausalLM`` (GGUF arch ``phi2``), ``LlamaForCausalLM`` and
``MistralForCausalLM`` (arch ``llama``). f32/f16 are written directly with the
``gguf`` package; q8_0/q4_0/q4_k_m are written as f16 first and then quantized by
llama.cpp itself (through llama-cpp-python), so the result is exactly what
``llama-quantize`` would produce. The tokenizer side lives in ``gguf_vocab.py``.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radphi.hashing import GGUF_SOURCE_KEY as SOURCE_KEY
from radphi.hashing import checkpoint_sha256
from radphi.training.gguf_vocab import build_vocab

logger = logging.getLogger(__name__)

ARCHITECTURES = {
    "PhiForCausalLM": "phi2",
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "llama",
}
QUANTS = ("f32", "f16", "q8_0", "q4_0", "q4_k_m")
# name -> llama_cpp LLAMA_FTYPE_* attribute, for what llama.cpp quantizes
_LLAMA_FTYPES = {"q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0", "q4_0": "LLAMA_FTYPE_MOSTLY_Q4_0",
                 "q4_k_m": "LLAMA_FTYPE_MOSTLY_Q4_K_M"}
# Buffers some checkpoints carry that llama.cpp recomputes itself
_SKIP_SUFFIXES = ("rotary_emb.inv_freq",)


@dataclass
class _Planned:
    """One GGUF tensor: where its data comes from and how it is stored."""

    name: str
    shape: tuple[int, ...]
    f32: bool  # stored as f32 even in an f16 file (norms, biases)
    load: Callable[[], Any]  # -> float32 numpy array


def export_gguf(
    src_dir: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    quant: str = "f16",
    adapter: str | os.PathLike[str] | None = None,
    context_length: int | None = None,
) -> Path:
    """Write ``src_dir`` (a ``save_pretrained`` directory) as a GGUF file at ``out_path``.

    ``adapter`` is a peft adapter directory, merged into the base before export.
    ``context_length`` overrides the context length stored in the file (default:
    the model's ``max_position_embeddings``). Returns the output path.
    """
    src, out = resolve_model_dir(src_dir), Path(out_path)
    quant = quant.lower()
    if quant not in QUANTS:
        raise ValueError(f"unknown quant {quant!r}; choose one of: {', '.join(QUANTS)}")
    config = _read_config(src)
    arch = _gguf_arch(config)
    if adapter is not None and not Path(adapter).is_dir():
        raise FileNotFoundError(f"adapter directory not found: {adapter}")
    out.parent.mkdir(parents=True, exist_ok=True)
    # The source's content hash goes into the file, so the app can tell that a GGUF and an
    # HF directory are two forms of one checkpoint (radphi.backends.forms.pair_check).
    source = checkpoint_sha256(src, adapter)

    with _merged(src, adapter, out.parent) as model_dir:
        if adapter is not None:
            config = _read_config(model_dir)
        name = Path(adapter).name if adapter is not None else src.name
        if quant in ("f32", "f16"):
            _write_gguf(model_dir, out, config, arch, f16=quant == "f16", name=name, context_length=context_length,
                        source=source)
        else:
            with tempfile.TemporaryDirectory(dir=out.parent, prefix=".export-") as tmp:
                staged = Path(tmp) / "f16.gguf"
                _write_gguf(model_dir, staged, config, arch, f16=True, name=name, context_length=context_length,
                            source=source)
                _quantize(staged, out, quant)
    logger.info("wrote %s (%s, %.1f MB)", out, quant, out.stat().st_size / 1e6)
    return out


def resolve_model_dir(src: str | os.PathLike[str]) -> Path:
    """A local directory as it is; otherwise a hub id (`microsoft/phi-2`) resolved through
    the local Hugging Face cache, downloading it unless HF_HUB_OFFLINE=1."""
    path = Path(src).expanduser()
    if path.is_dir() or path.exists() or str(src).count("/") != 1 or str(src).startswith((".", "/")):
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(str(src), allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt"]))
    except Exception as exc:  # offline, no such repo, no network: say which and go on to the clear error
        logger.warning("could not fetch %s from the Hugging Face hub: %s", src, exc)
        return path


def _read_config(src: Path) -> dict[str, Any]:
    if not src.is_dir():
        raise FileNotFoundError(f"model directory not found: {src}")
    path = src / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"no config.json in {src}; expected a save_pretrained directory")
    return json.loads(path.read_text(encoding="utf-8"))


def _gguf_arch(config: dict[str, Any]) -> str:
    names = config.get("architectures") or []
    for hf_name in names:
        if hf_name in ARCHITECTURES:
            return ARCHITECTURES[hf_name]
    raise ValueError(
        f"unsupported architecture {names or config.get('model_type')!r}; "
        f"supported: {', '.join(ARCHITECTURES)}"
    )


@contextmanager
def _merged(src: Path, adapter: str | os.PathLike[str] | None, out_dir: Path) -> Iterator[Path]:
    """Yield ``src`` itself, or a temporary directory holding base + adapter merged."""
    if adapter is None:
        yield src
        return
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter = Path(adapter)
    # An adapter trained with added tokens saves its own tokenizer; prefer it.
    tok_dir = adapter if (adapter / "tokenizer_config.json").is_file() else src
    tok = AutoTokenizer.from_pretrained(tok_dir)
    base = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
    if len(tok) > base.get_input_embeddings().weight.shape[0]:
        base.resize_token_embeddings(len(tok))
    merged = PeftModel.from_pretrained(base, adapter).merge_and_unload()
    # Next to the output, not in /tmp: a merged Phi-2 in f32 is 11 GB.
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".merge-") as tmp:
        merged.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        for extra in ("tokenizer.model",):  # SentencePiece file, needed by gguf_vocab
            if not (Path(tmp) / extra).is_file() and (tok_dir / extra).is_file():
                (Path(tmp) / extra).write_bytes((tok_dir / extra).read_bytes())
        logger.info("merged adapter %s into %s", adapter, src)
        yield Path(tmp)


def _rope(config: dict[str, Any]) -> dict[str, Any]:
    # transformers 5 nests rope settings in rope_parameters; 4.x kept them top level.
    rope = dict(config.get("rope_scaling") or {})
    rope.update(config.get("rope_parameters") or {})
    for key in ("rope_theta", "partial_rotary_factor"):
        if key not in rope and key in config:
            rope[key] = config[key]
    kind = rope.get("rope_type", rope.get("type", "default"))
    if kind not in ("default", "linear"):
        raise ValueError(f"unsupported rope scaling type {kind!r} (supported: default, linear)")
    rope["rope_type"] = kind
    return rope


def _write_hparams(w: Any, config: dict[str, Any], arch: str, context_length: int | None) -> None:
    n_embd = config["hidden_size"]
    n_head = config["num_attention_heads"]
    n_head_kv = config.get("num_key_value_heads") or n_head
    head_dim = config.get("head_dim") or n_embd // n_head
    rope = _rope(config)
    w.add_context_length(context_length or config.get("max_position_embeddings", 2048))
    w.add_embedding_length(n_embd)
    w.add_feed_forward_length(config["intermediate_size"])
    w.add_block_count(config["num_hidden_layers"])
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head_kv)
    w.add_rope_freq_base(float(rope.get("rope_theta", 10000.0)))
    if rope["rope_type"] == "linear":
        import gguf

        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(float(rope["factor"]))
    if arch == "phi2":
        if config.get("qk_layernorm"):
            raise ValueError("Phi models with qk_layernorm=True have no llama.cpp equivalent")
        w.add_layer_norm_eps(config.get("layer_norm_eps", 1e-5))
        w.add_rope_dimension_count(int(rope.get("partial_rotary_factor", 0.5) * head_dim))
    else:
        w.add_layer_norm_rms_eps(config.get("rms_norm_eps", 1e-6))
        w.add_rope_dimension_count(int(rope.get("partial_rotary_factor", 1.0) * head_dim))
        w.add_vocab_size(config["vocab_size"])
        if head_dim != n_embd // n_head:
            w.add_key_length(head_dim)
            w.add_value_length(head_dim)
        window = config.get("sliding_window")
        if window and window < (context_length or config.get("max_position_embeddings", 0)):
            logger.warning("sliding_window=%d is ignored by llama.cpp's llama arch; "
                           "outputs differ beyond %d tokens", window, window)


def _permute(w: Any, n_head: int) -> Any:
    # HF stores q/k rows for rotate_half (two halves per head); llama.cpp's rope
    # rotates adjacent pairs, so interleave the halves back (as convert_hf_to_gguf).
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _open_weights(src: Path) -> dict[str, tuple[tuple[int, ...], Callable[[], Any]]]:
    """Map HF tensor name -> (shape, loader returning a float32 numpy array), lazily."""
    import torch
    from safetensors import safe_open

    weights: dict[str, tuple[tuple[int, ...], Callable[[], Any]]] = {}
    files = sorted(src.glob("*.safetensors"))
    for f in files:
        with safe_open(f, framework="pt") as st:
            for key in st.keys():
                shape = tuple(st.get_slice(key).get_shape())
                weights[key] = (shape, lambda f=f, key=key: _st_get(f, key))
    if not files:
        bins = sorted(src.glob("pytorch_model*.bin"))
        if not bins:
            raise FileNotFoundError(f"no *.safetensors or pytorch_model*.bin weights in {src}")
        for f in bins:
            state = torch.load(f, map_location="cpu", weights_only=True, mmap=True)
            for key, t in state.items():
                weights[key] = (tuple(t.shape), lambda t=t: t.float().numpy())
    return weights


def _st_get(path: Path, key: str) -> Any:
    from safetensors import safe_open

    with safe_open(path, framework="pt") as st:
        return st.get_tensor(key).float().numpy()


def _plan_tensors(src: Path, config: dict[str, Any], arch: str) -> list[_Planned]:
    import gguf

    n_layer = config["num_hidden_layers"]
    n_head = config["num_attention_heads"]
    n_head_kv = config.get("num_key_value_heads") or n_head
    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH.PHI2 if arch == "phi2" else gguf.MODEL_ARCH.LLAMA, n_layer)
    plan: list[_Planned] = []
    for hf_name, (shape, load) in _open_weights(src).items():
        if hf_name.endswith(_SKIP_SUFFIXES):
            continue
        name = tmap.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise ValueError(f"cannot map tensor {hf_name!r} to a GGUF {arch} tensor")
        if arch == "llama" and hf_name.endswith(("q_proj.weight", "q_proj.bias")):
            load = lambda load=load: _permute(load(), n_head)  # noqa: E731
        elif arch == "llama" and hf_name.endswith(("k_proj.weight", "k_proj.bias")):
            load = lambda load=load: _permute(load(), n_head_kv)  # noqa: E731
        plan.append(_Planned(name, shape, f32=len(shape) <= 1 or name.endswith("_norm.weight"), load=load))
    names = {p.name for p in plan}
    if "output.weight" not in names and arch == "phi2":
        # Tied embeddings: llama.cpp's phi2 graph requires an explicit output matrix and bias.
        import numpy as np

        embd = next(p for p in plan if p.name == "token_embd.weight")
        plan.append(_Planned("output.weight", embd.shape, False, embd.load))
        if "output.bias" not in names:
            plan.append(_Planned("output.bias", embd.shape[:1], True,
                                 lambda n=embd.shape[0]: np.zeros(n, dtype=np.float32)))
    return plan


def _write_gguf(src: Path, out: Path, config: dict[str, Any], arch: str, *, f16: bool,
                name: str, context_length: int | None, source: str | None = None) -> None:
    import gguf
    import numpy as np

    plan = _plan_tensors(src, config, arch)
    n_rows = next(p.shape[0] for p in plan if p.name == "token_embd.weight")
    vocab = build_vocab(src, n_rows)

    w = gguf.GGUFWriter(out, arch)
    w.add_name(name)
    _write_hparams(w, config, arch, context_length)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if f16 else gguf.LlamaFileType.ALL_F32)
    vocab.write(w)
    if vocab.has_prompt_tokens:
        # Lets backends pick the "<instruct>...<output>" prompt format from the file.
        w.add_string("radphi.prompt_format", "token")
    if source:
        w.add_string(SOURCE_KEY, source)  # llama.cpp's quantize copies it into the quantized file
    # Two passes (tensor infos, then data one tensor at a time) keep memory at one
    # tensor, which matters for a 2.7B model.
    for p in plan:
        dtype = np.float32 if (p.f32 or not f16) else np.float16
        nbytes = int(np.prod(p.shape)) * np.dtype(dtype).itemsize
        w.add_tensor_info(p.name, p.shape, np.dtype(dtype), nbytes)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for p in plan:
        data = p.load()
        if tuple(data.shape) != p.shape:
            raise ValueError(f"tensor {p.name}: expected shape {p.shape}, got {data.shape}")
        w.write_tensor_data(np.ascontiguousarray(data, dtype=np.float32 if (p.f32 or not f16) else np.float16))
    w.close()


def _quantize(src: Path, out: Path, quant: str) -> None:
    import ctypes

    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, _LLAMA_FTYPES[quant])
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(out).encode(), ctypes.byref(params))
    if rc != 0:
        raise RuntimeError(f"llama.cpp failed to quantize {src} to {quant} (return code {rc})")


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The export's command-line flags, shared with the ``radphi export-gguf`` subcommand."""
    parser.add_argument("src_dir", help="save_pretrained directory of the base (or fully fine-tuned) model")
    parser.add_argument("out", help="output .gguf path")
    parser.add_argument("--quant", default="f16", choices=QUANTS, help="tensor type (default: f16)")
    parser.add_argument("--adapter", default=None, help="peft LoRA adapter directory to merge in first")
    parser.add_argument("--context-length", type=int, default=None,
                        help="context length stored in the file (default: max_position_embeddings)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and export; errors end with exit status 2 and a one-line message."""
    parser = add_arguments(argparse.ArgumentParser(
        prog="python -m radphi.training.export_gguf", description="Export a transformers checkpoint to GGUF."))
    args = parser.parse_args(argv)
    try:
        export_gguf(args.src_dir, args.out, quant=args.quant, adapter=args.adapter,
                    context_length=args.context_length)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        parser.exit(2, f"error: {exc}\n")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    raise SystemExit(main())
