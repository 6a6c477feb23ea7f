"""The GPU paths measured in one command: single-stream decode, batched `radphi run`, and
the trainer, on a Phi-2-shaped model with random weights (issue 25's goals).

    python bench/gpu_check.py                       # on a CUDA machine: all three, ~5 minutes
    python bench/gpu_check.py --only single,batch   # a subset
    python bench/gpu_check.py --json $OUT/gpu.json  # also write the figures
    python bench/gpu_check.py --tiny                # CPU: the tiny test Phi through every path
                                                    # (what tests/test_gpu_check.py runs)

- single: the transformers backend (radphi.backends.hf.HFBackend) in bf16, one stream,
  static cache compiled into CUDA graphs by `warmup()` in a background thread as the
  app starts it; then questions on a ~400-token report, decode tokens/s of each
  (goal >= 380 tok/s). The compile's seconds are printed too.
- batch: `radphi run`'s path (runner.run_file over a JSONL of reports, impression
  task) with the backend's batched `generate`; new tokens per second of wall time,
  prefill included, per batch size (goal >= 5,000 tok/s).
- train: radphi/training/sft.py's trainer (trl SFTTrainer, through bench/bench_train.py's
  `one_run`) on full 2,048-token rows (what packing produces), bf16, full fine-tune and
  LoRA r=16; tokens/s and model-FLOPs utilisation (goal >= 40% MFU).

Nothing is downloaded: the model is built from the config (tests' byte-level tokenizer
padded to Phi-2's 51,200 rows, as bench/phi2_shaped.py does). Prints figures and each
goal's verdict; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOALS = {"single_tps": 380.0, "batch_tps": 5000.0, "mfu": 0.40}
REPORT = ("FINDINGS: There is a small left pleural effusion with adjacent basilar atelectasis. The endotracheal "
          "tube terminates 3.4 cm above the carina. Heart size is mildly enlarged, unchanged from the prior study. "
          "No pneumothorax is seen. Mild pulmonary vascular congestion without frank edema. ")


def build_model(out: Path, tiny: bool) -> Path:
    """A saved HF model directory: the tiny test Phi (CPU) or Phi-2's shape in bf16 (GPU)."""
    if tiny:
        from tests.tinymodels import build_tiny_phi

        return build_tiny_phi(out)
    import torch
    from transformers import PhiConfig, PhiForCausalLM

    from bench.phi2_shaped import PHI2
    from tests.tinymodels import _tiny_phi_tokenizer, report_corpus

    tok = _tiny_phi_tokenizer(report_corpus())
    torch.manual_seed(0)
    with torch.device("cuda"):  # initialising 2.7B parameters on the GPU takes seconds, not minutes
        model = PhiForCausalLM(PhiConfig(**PHI2, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                         pad_token_id=tok.eos_token_id)).to(torch.bfloat16)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    del model
    torch.cuda.empty_cache()
    return out


def report_of(backend, tokens: int, seed: int = 0) -> str:
    """A findings text of about TOKENS tokens; SEED varies it so that rows differ."""
    text, i = "", seed
    while backend.count_tokens(text) < tokens:
        text += REPORT.replace("3.4", f"{3 + i % 7}.{i % 10}")
        i += 1
    return text


def check_single(model_dir: Path, a: argparse.Namespace) -> dict:
    from radphi.backends import GenParams, Request
    from radphi.backends.hf import HFBackend

    backend = HFBackend(str(model_dir), dtype=a.dtype, context_length=a.context)
    # As the app does at start-up: load and compile in the background, then serve.
    compile_s: dict[str, float] = {}
    warm = threading.Thread(target=lambda: compile_s.setdefault("s", backend.warmup()))
    warm.start()
    warm.join()
    report = report_of(backend, a.report_tokens)
    rates, firsts, counts = [], [], []
    for i in range(a.runs):
        g = backend.generate(Request.build("qa_comprehension", {"report": report, "question": f"Is there tube {i}?"}),
                             GenParams(max_new_tokens=a.new_tokens))
        counts.append(g.completion_tokens)
        if g.tokens_per_second:
            rates.append(g.tokens_per_second)
            firsts.append(g.first_token_seconds)
    info = backend.info()
    return {"compiled": info.get("compiled"), "device": info.get("device"), "warmup_s": compile_s.get("s"),
            "prompt_tokens": backend.count_tokens(report), "new_tokens": counts, "decode_tps": rates,
            "first_token_s": firsts, "median_tps": statistics.median(rates) if rates else None}


def check_batch(model_dir: Path, a: argparse.Namespace) -> dict:
    from radphi import records, runner
    from radphi.backends import GenParams
    from radphi.backends.hf import HFBackend

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in a.batch_sizes:
            backend = HFBackend(str(model_dir), dtype=a.dtype, context_length=a.context, batch_size=size)
            n = size * a.batches
            rows = [{"id": f"r{i}", "findings": report_of(backend, a.batch_report_tokens, seed=i)} for i in range(n)]
            inp, dst = Path(tmp) / f"in{size}.jsonl", Path(tmp) / f"out{size}.jsonl"
            records.write_jsonl(inp, rows[:size])
            runner.run_file("impression_prediction", backend, inp, Path(tmp) / "warm.jsonl", name="warm",
                            params=GenParams(max_new_tokens=4), batch_size=size, progress=False)  # CUDA kernels, allocator
            records.write_jsonl(inp, rows)
            t0 = time.perf_counter()
            summary = runner.run_file("impression_prediction", backend, inp, dst, name="gpu_check",
                                      params=GenParams(max_new_tokens=a.batch_new_tokens), batch_size=size,
                                      progress=False)
            wall = time.perf_counter() - t0
            done = records.read_jsonl(dst)
            new = sum(r.get("completion_tokens") or 0 for r in done)
            out[str(size)] = {"records": len(done), "failed": len(summary.failed), "new_tokens": new,
                              "seconds": wall, "tps": new / wall}
            del backend
            _free()
    return out


def check_train(a: argparse.Namespace) -> dict:
    from bench import bench_train

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        base = None
        if a.tiny:
            from tests.fixtures.tiny_base import build_plain_tiny_phi

            base = build_plain_tiny_phi(tmp / "base")
        args = SimpleNamespace(gpu=not a.tiny, device="cpu" if a.tiny else "cuda", warmup=a.train_warmup,
                               steps=a.train_steps, batch_size=a.train_batch, seq_len=a.seq_len,
                               no_checkpointing=False, attn=a.attn)
        _, peak = bench_train.peak_flops(None)
        for mode in a.train_modes:
            r = bench_train.one_run(mode, args, base, tmp / mode)
            rate = r.get("tokens_per_second")
            out[mode] = {"tps": rate, "mfu": rate * r["flops_per_token"] / peak if (rate and peak) else None,
                         "peak_memory_gb": r.get("peak_memory_gb")}
            _free()
    return out


def _free() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def verdict(value: float | None, goal: float, tiny: bool = False) -> str:
    if tiny:
        return "CPU test run, goal not judged"
    if value is None:
        return "no figure"
    return "goal met" if value >= goal else "goal MISSED"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true", help="CPU, the tiny test Phi, few steps (a test of the script)")
    ap.add_argument("--only", default="single,batch,train")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--batch-sizes", default="64,128,256")
    ap.add_argument("--train-modes", default="full,lora", help="bench_train modes: full, full-bf16, lora")
    ap.add_argument("--attn", default=None, help="attn_implementation for training (default: transformers')")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    a = ap.parse_args(argv)
    import torch

    if not a.tiny and not torch.cuda.is_available():
        print("no CUDA device here: run on a GPU machine, or --tiny to test the script on CPU", file=sys.stderr)
        return 2
    sizes = dict(context=512, report_tokens=120, new_tokens=16, batches=1, batch_report_tokens=60,
                 batch_new_tokens=8, train_warmup=1, train_steps=2, train_batch=2, seq_len=128, dtype="float32") \
        if a.tiny else dict(context=2048, report_tokens=400, new_tokens=128, batches=2, batch_report_tokens=400,
                            batch_new_tokens=64, train_warmup=5, train_steps=25, train_batch=8, seq_len=2048,
                            dtype="bfloat16")
    for key, value in sizes.items():
        setattr(a, key, value)
    a.batch_sizes = [int(x) for x in a.batch_sizes.split(",")] if not a.tiny else [2]
    a.train_modes = a.train_modes.split(",")
    only = set(a.only.split(","))
    device = torch.cuda.get_device_name() if torch.cuda.is_available() and not a.tiny else "cpu"
    print(f"device: {device}; torch {torch.__version__}; {'tiny test Phi' if a.tiny else 'Phi-2 shape, bf16'}",
          flush=True)
    results: dict = {"device": device, "tiny": a.tiny}
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_model(Path(tmp) / "model", a.tiny) if only & {"single", "batch"} else None
        if "single" in only:
            r = results["single"] = check_single(model_dir, a)
            print(f"single stream (static cache + CUDA graphs: {r['compiled']}), {r['prompt_tokens']}-token report: "
                  f"{r['median_tps'] or 0:,.1f} tok/s decode, median of {len(r['decode_tps'])} "
                  f"({verdict(r['median_tps'], GOALS['single_tps'], a.tiny)}: >= {GOALS['single_tps']:,.0f}); "
                  f"warm-up (compile) {r['warmup_s']:.1f} s", flush=True)
            _free()
        if "batch" in only:
            r = results["batch"] = check_batch(model_dir, a)
            for size, row in r.items():
                print(f"radphi run, batch {size}: {row['tps']:,.0f} new tok/s over {row['records']} records "
                      f"({row['new_tokens']} tokens in {row['seconds']:.1f} s, {row['failed']} failed) "
                      f"({verdict(row['tps'], GOALS['batch_tps'], a.tiny)}: >= {GOALS['batch_tps']:,.0f})", flush=True)
    if "train" in only:
        r = results["train"] = check_train(a)
        for mode, row in r.items():
            mfu = f"MFU {row['mfu']:.1%}" if row["mfu"] is not None else "MFU n/a (no GPU peak known)"
            print(f"train {mode}: {row['tps'] or 0:,.0f} tok/s, {mfu} ({verdict(row['mfu'], GOALS['mfu'], a.tiny)}: "
                  f">= {GOALS['mfu']:.0%})", flush=True)
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
