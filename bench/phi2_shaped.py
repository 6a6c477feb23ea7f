"""Build a Phi-2-shaped GGUF with random weights, for benchmarks.

    python bench/phi2_shaped.py [--quant q4_k_m] [--out bench/out]

Same compute as the real Phi-2: 2560 hidden, 32 layers, 32 heads, 10240 FFN, 51,200
vocabulary rows and partial rotary 0.4. The tokenizer is a small byte-level BPE
(from the test fixtures) with the embedding padded to 51,200 rows, as Phi-2's is:
speed does not depend on what the tokens mean. The checkpoint goes through our own
exporter (`radphi.training.export_gguf`), so this also exercises it at Phi-2 scale.
Nothing is downloaded. Takes a few minutes and ~14 GB of disk on first use; cached.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PHI2 = dict(vocab_size=51200, hidden_size=2560, intermediate_size=10240, num_hidden_layers=32,
            num_attention_heads=32, partial_rotary_factor=0.4, max_position_embeddings=2048,
            layer_norm_eps=1e-5, rope_theta=10000.0)


def build_checkpoint(out_dir: Path) -> Path:
    import torch
    from transformers import PhiConfig, PhiForCausalLM

    from tests.tinymodels import _tiny_phi_tokenizer, report_corpus

    if (out_dir / "config.json").is_file():
        return out_dir
    tok = _tiny_phi_tokenizer(report_corpus())
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)  # 5.4 GB instead of 11 GB while building
    try:
        config = PhiConfig(**PHI2, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
        model = PhiForCausalLM(config)
    finally:
        torch.set_default_dtype(torch.float32)
    tmp = out_dir.with_suffix(".tmp")
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    tmp.rename(out_dir)
    return out_dir


def build(out: Path, quant: str = "q4_k_m", keep_checkpoint: bool = False) -> Path:
    from radphi.training.export_gguf import export_gguf

    gguf = out / f"phi2-shaped-{quant}.gguf"
    if gguf.is_file():
        return gguf
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ckpt = build_checkpoint(out / "phi2-shaped-hf")
    t1 = time.perf_counter()
    export_gguf(ckpt, gguf, quant=quant)
    print(f"built {gguf} ({gguf.stat().st_size / 1e9:.2f} GB): checkpoint {t1 - t0:.0f} s, "
          f"export+quantize {time.perf_counter() - t1:.0f} s", file=sys.stderr)
    if not keep_checkpoint:
        shutil.rmtree(ckpt)
    return gguf


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quant", default="q4_k_m")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--keep-checkpoint", action="store_true")
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO)
    print(build(a.out, a.quant, a.keep_checkpoint))
