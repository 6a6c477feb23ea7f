"""The cost of constrained decoding: tokens/s with and without the answer-shape grammar,
on the same model, for the structured tasks.

    python bench/bench_constrained.py [--gguf FILE] [--hf DIR] [--runs 3] [--reports 6]

Defaults: the embedded demo model (radphi/assets/radphi-demo.gguf) through llama.cpp, and the
same model imported into a transformers directory (radphi.training.import_gguf, cached in
bench/out/) through transformers, there once with each engine of
radphi/backends/hf_constrain.py (xgrammar, llguidance). Each run answers the four
structured tasks on the same reports, greedily, free and constrained in turn; it prints
median decode tokens/s (completion tokens over generation seconds, so answers of
different lengths compare), the share of answers that keep their shape, and the
constrained/free ratio. Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from radphi.backends import Request, constraints  # noqa: E402
from radphi.backends.base import GenParams  # noqa: E402

REPORTS = [
    "Small left pleural effusion with adjacent atelectasis. Endotracheal tube 3 cm above the carina.",
    "Lungs are clear. No pleural effusion or pneumothorax. Heart size is normal.",
    "Moderate cardiomegaly with mild pulmonary edema. Right internal jugular line in the SVC.",
    "Right lower lobe consolidation, likely pneumonia. Nasogastric tube below the diaphragm.",
    "Small right apical pneumothorax. Chest tube in the right hemithorax. Sternotomy wires.",
    "Hyperinflated lungs consistent with emphysema. Calcified granuloma in the left upper lobe.",
    "Bibasilar atelectasis. Left PICC terminates at the cavoatrial junction.",
    "Elevated right hemidiaphragm. Healed fracture of the left 6th rib.",
]


def requests(n_reports: int, fmt: str) -> list[Request]:
    out = []
    reports = REPORTS[:n_reports]
    for i, report in enumerate(reports):
        prior = reports[i - 1]
        for task in constraints.STRUCTURED_TASKS:
            fields = {"report": report, "prior_report": prior} if task.startswith("qa_temporal") else {"report": report}
            out.append(Request.build(task, fields, fmt))
    return out


def run(backend, reqs: list[Request], constrained: bool, max_new_tokens: int) -> tuple[float, float]:
    """(tokens/s over the whole set, share of answers in shape)."""
    tokens, seconds, in_shape = 0, 0.0, 0
    for r in reqs:
        t0 = time.perf_counter()
        gen = backend.generate(r, GenParams(max_new_tokens=max_new_tokens, constrained=constrained))
        seconds += time.perf_counter() - t0 - (gen.first_token_seconds or 0.0)
        tokens += max(0, gen.completion_tokens - 1)
        in_shape += constraints.check(r.task, gen.text, gen.finish_reason) is None
    return tokens / seconds if seconds else 0.0, in_shape / len(reqs)


def bench(name: str, backend, fmt: str, args: argparse.Namespace) -> None:
    reqs = requests(args.reports, fmt)
    run(backend, reqs[:4], True, 8)  # load, compile the grammars
    run(backend, reqs[:4], False, 8)
    free, cons = [], []
    for _ in range(args.runs):
        free.append(run(backend, reqs, False, args.max_new_tokens))
        cons.append(run(backend, reqs, True, args.max_new_tokens))
    f = statistics.median(x for x, _ in free)
    c = statistics.median(x for x, _ in cons)
    print(f"{name:34s} free {f:8.1f} tok/s ({free[0][1]:4.0%} in shape)   constrained {c:8.1f} tok/s "
          f"({cons[0][1]:4.0%} in shape)   constrained/free {c / f:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gguf", default=str(ROOT / "radphi" / "assets" / "radphi-demo.gguf"))
    parser.add_argument("--hf", help="an HF model directory (default: --gguf imported, if it is a phi2 GGUF)")
    parser.add_argument("--format", default=None, help="prompt format (default: the model's own)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reports", type=int, default=6)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--no-hf", action="store_true")
    args = parser.parse_args()

    from radphi.backends import hf_constrain, resolve_format
    from radphi.backends.llamacpp import LlamaCppBackend

    llama = LlamaCppBackend(args.gguf, **({"n_threads": args.threads} if args.threads else {}))
    fmt = resolve_format(llama, args.format)
    print(f"model {args.gguf} ({llama.info()['quantization']}), format {fmt}, {args.reports} reports x 4 tasks, "
          f"greedy, max {args.max_new_tokens} new tokens, median of {args.runs} runs")
    bench("llama.cpp (LlamaGrammar)", llama, fmt, args)
    if args.no_hf:
        return
    hf_dir = args.hf
    if hf_dir is None:
        from radphi.training.import_gguf import import_gguf

        hf_dir = ROOT / "bench" / "out" / (Path(args.gguf).stem + "-hf")
        if not (hf_dir / "config.json").is_file():
            import_gguf(args.gguf, hf_dir)
    from radphi.backends.hf import HFBackend

    hf = HFBackend(str(hf_dir))
    for engine in hf_constrain.ENGINES:
        hf_constrain.ENGINE = engine
        bench(f"transformers ({engine})", hf, fmt, args)


if __name__ == "__main__":
    main()
