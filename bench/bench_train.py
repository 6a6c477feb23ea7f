"""Training throughput through the project's trainer (radphi.training.sft: trl SFTTrainer + peft
+ accelerate), on random weights and random tokens: steady-state tokens/s after warm-up,
and model-FLOPs utilisation on a GPU. Prints figures; never asserts on time.

    python bench/bench_train.py                          # CPU: the tiny test Phi, full and LoRA, median of 3 runs
    python bench/bench_train.py --size small --runs 5    # CPU: hidden 256, 4 layers (7.3M parameters)
    python bench/bench_train.py --gpu                    # GPU: Phi-2-shaped model, bf16, 2048-token sequences,
                                                         #   full (fp32 master + bf16), full-bf16 and LoRA r=16,
                                                         #   ~100 steps after 10 warm-up steps each
    python bench/bench_train.py --gpu --modes lora --steps 100 --batch-size 8 --corpus-tokens 14e6

Every row is a full sequence of --seq-len tokens (what packing produces), so tokens/s
counts no padding. MFU uses the usual model-FLOPs count per token, 6N + 12·L·d·T for a
full fine-tune and 4N + 12·L·d·T for LoRA (frozen weights need no weight gradients),
N = parameters outside the input embedding; activation recomputation (gradient
checkpointing) is not counted. The epoch time for --corpus-tokens is extrapolated from
the measured rate, not run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PHI2 = {"vocab_size": 51200, "hidden_size": 2560, "intermediate_size": 10240, "num_hidden_layers": 32,
        "num_attention_heads": 32, "partial_rotary_factor": 0.4, "max_position_embeddings": 2048}
CPU_SIZES = {"tiny": (64, 2), "small": (256, 4)}  # hidden, layers
PEAK_BF16 = [("H200", 989e12), ("H100 PCIe", 756e12), ("H100", 989e12), ("A100", 312e12), ("L40S", 362e12)]
MODES = {"full": ("full", "auto"), "full-bf16": ("full", "bfloat16"), "lora": ("lora", "auto")}


def model_flops_per_token(model, seq_len: int, finetune: str) -> float:
    cfg = model.config
    n = sum(p.numel() for p in model.parameters()) - model.get_input_embeddings().weight.numel()
    attention = 12 * cfg.num_hidden_layers * cfg.hidden_size * seq_len
    return (6 if finetune == "full" else 4) * n + attention


def peak_flops(override: float | None) -> tuple[str, float | None]:
    import torch

    if not torch.cuda.is_available():
        return "cpu", None
    name = torch.cuda.get_device_name()
    if override:
        return name, override * 1e12
    return name, next((peak for key, peak in PEAK_BF16 if key in name), None)


def one_run(mode: str, args: argparse.Namespace, base: Path | None, tmp: Path) -> dict:
    import torch
    from datasets import Dataset

    from radphi.training import sft, sft_model

    finetune, model_dtype = MODES[mode]
    gpu = args.gpu
    config = sft.TrainConfig(
        model=str(base or ""), output_dir=str(tmp / mode), finetune=finetune, model_dtype=model_dtype,
        max_steps=args.warmup + args.steps, batch_size=args.batch_size, max_length=args.seq_len, packing=False,
        learning_rate=1e-4, warmup=0, lr_scheduler="constant", logging_steps=1, save_steps=10**9, eval_cap=0,
        gradient_checkpointing=gpu and not args.no_checkpointing, lora_r=16, lora_alpha=32, seed=0,
        attn_implementation=args.attn,
    )
    model = None
    if gpu:
        from transformers import PhiConfig, PhiForCausalLM

        from tests.tinymodels import _tiny_phi_tokenizer, report_corpus

        tokenizer = _tiny_phi_tokenizer(report_corpus())
        dtype, _ = sft.resolve_dtypes(config, True)
        torch.manual_seed(0)
        with torch.device(args.device):
            model = PhiForCausalLM(PhiConfig(**PHI2, bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
                                             pad_token_id=tokenizer.eos_token_id)).to(sft_model.torch_dtype(dtype))
        tokens = sft_model.TokenSetup(base_len=len(tokenizer))
    else:
        tokenizer, tokens = sft_model.load_tokenizer(str(base))
    vocab = len(tokenizer)
    rows = args.batch_size * (args.warmup + args.steps + 2)
    gen = torch.Generator().manual_seed(0)
    data = Dataset.from_dict({"input_ids": torch.randint(0, vocab, (rows, args.seq_len), generator=gen).tolist()})
    meter = sft_model.make_throughput_callback(warmup_steps=args.warmup)
    trainer = sft.build_trainer(config, data, None, tokenizer, tokens, str(base or ""), callbacks=[meter], model=model)
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    for quiet in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(quiet)
    cuda = args.device == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    trainer.train()
    result = meter.result()
    result["flops_per_token"] = model_flops_per_token(trainer.model.get_base_model() if finetune == "lora"
                                                      else trainer.model, args.seq_len, finetune)
    result["peak_memory_gb"] = torch.cuda.max_memory_allocated() / 1e9 if cuda else None
    del trainer, model
    if cuda:
        torch.cuda.empty_cache()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gpu", action="store_true", help="Phi-2-shaped model on the GPU (default: tiny model on CPU)")
    ap.add_argument("--size", choices=list(CPU_SIZES), default="tiny", help="CPU model size")
    ap.add_argument("--modes", default=None, help="comma-separated: full, full-bf16, lora "
                                                  "(default: full,lora on CPU; full,full-bf16,lora on GPU)")
    ap.add_argument("--steps", type=int, default=None, help="measured steps (default: 100 GPU, 20 CPU)")
    ap.add_argument("--warmup", type=int, default=None, help="steps before measuring (default: 10 GPU, 3 CPU)")
    ap.add_argument("--batch-size", type=int, default=None, help="sequences per step (default: 8 GPU, 16 CPU)")
    ap.add_argument("--seq-len", type=int, default=None, help="tokens per sequence (default: 2048 GPU, 256 CPU)")
    ap.add_argument("--runs", type=int, default=None, help="runs per mode, median reported (default: 1 GPU, 3 CPU)")
    ap.add_argument("--attn", default=None, help="attn_implementation (sdpa, flash_attention_2, ...)")
    ap.add_argument("--no-checkpointing", action="store_true", help="GPU: no gradient checkpointing")
    ap.add_argument("--peak-tflops", type=float, help="the GPU's dense bf16 peak, when not in the built-in table")
    ap.add_argument("--corpus-tokens", type=float, default=14e6, help="extrapolate one epoch of this many tokens")
    args = ap.parse_args()
    args.device = "cuda" if args.gpu else "cpu"
    gpu_defaults = {"steps": 100, "warmup": 10, "batch_size": 8, "seq_len": 2048, "runs": 1,
                    "modes": "full,full-bf16,lora"}
    cpu_defaults = {"steps": 20, "warmup": 3, "batch_size": 16, "seq_len": 256, "runs": 3, "modes": "full,lora"}
    for key, value in (gpu_defaults if args.gpu else cpu_defaults).items():
        if getattr(args, key) is None:
            setattr(args, key, value)

    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    if args.gpu and not torch.cuda.is_available():
        print("--gpu: no CUDA device here", file=sys.stderr)
        return 2
    device, peak = peak_flops(args.peak_tflops)
    print(f"device: {device}; torch {torch.__version__}, {torch.get_num_threads()} CPU threads; "
          f"batch {args.batch_size} x {args.seq_len} tokens; {args.warmup} warm-up + {args.steps} measured steps")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        base = None
        if not args.gpu:
            from tests.fixtures.tiny_base import build_plain_tiny_phi

            hidden, layers = CPU_SIZES[args.size]
            base = build_plain_tiny_phi(tmp / "base", hidden=hidden, layers=layers)
        for mode in args.modes.split(","):
            runs = []
            for k in range(args.runs):
                t0 = time.perf_counter()
                runs.append(one_run(mode, args, base, tmp / f"run{k}"))
                print(f"  {mode} run {k + 1}: {runs[-1].get('tokens_per_second', 0):,.0f} tok/s "
                      f"({time.perf_counter() - t0:.0f} s with start-up)", file=sys.stderr)
            rates = [r["tokens_per_second"] for r in runs if r.get("tokens_per_second")]
            if not rates:
                print(f"{mode}: no measurement (too few steps?)")
                continue
            rate = statistics.median(rates)
            line = f"{mode:10s} {rate:12,.0f} tok/s (median of {len(rates)}: " + ", ".join(f"{r:,.0f}" for r in rates) + ")"
            flops = runs[0]["flops_per_token"] * rate
            if peak:
                line += f"  MFU {flops / peak:5.1%} ({flops / 1e12:.0f} TFLOP/s of {peak / 1e12:.0f})"
            if runs[0].get("peak_memory_gb"):
                line += f"  peak memory {runs[0]['peak_memory_gb']:.1f} GB"
            line += f"  epoch of {args.corpus_tokens / 1e6:g}M tokens: {args.corpus_tokens / rate / 60:,.1f} min"
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
