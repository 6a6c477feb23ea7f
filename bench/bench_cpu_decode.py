"""CPU decode speed of radphi's GGUF path against raw llama-cpp-python and the memory bound.

    python bench/bench_cpu_decode.py [--gguf FILE] [--runs 5] [--new-tokens 64]

Without --gguf it builds (once, cached in bench/out/) a Phi-2-shaped Q4_K_M with
random weights (bench/phi2_shaped.py). In one process, on the same file and prompt
(impression_prediction on a short findings paragraph), runs alternate between:

- copy:   the memory-bandwidth probe (`copy_bandwidth`), before every pair of runs
- raw:    `Llama.generate` on the token ids, greedy, counting tokens, loaded with the
          backend's own settings (`LlamaCppBackend.load_kwargs`)
- radphi: `radphi run`'s path (`runner.run_file` over a one-record JSONL with the
          llama.cpp backend), timings taken from the records it writes

Decoding one token reads every weight once, so the decode bound is the copy bandwidth
divided by the weights' bytes (the GGUF's tensor data). It prints medians: prefill and
decode tokens/s as ratios (raw to the bound, radphi to raw), and time to first token
for a first question on a ~400-token report against a follow-up on the same report,
each against its goal (issue 25). Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from radphi import records, runner  # noqa: E402
from radphi.backends import GenParams, Request  # noqa: E402
from radphi.backends.llamacpp import LlamaCppBackend, physical_cores  # noqa: E402
from radphi.backends.llamacpp_load import load_llama  # noqa: E402

SENTENCES = [
    "There is a small left pleural effusion with adjacent basilar atelectasis.",
    "The endotracheal tube terminates 3.4 cm above the carina.",
    "Enteric tube courses below the diaphragm, tip not visualized.",
    "Heart size is mildly enlarged, unchanged from the prior study.",
    "No pneumothorax is seen.",
    "Mild pulmonary vascular congestion without frank edema.",
    "Right internal jugular central venous catheter terminates in the mid SVC.",
    "Degenerative changes of the thoracic spine are noted.",
]


GOALS = {"bound": 0.80, "radphi_vs_raw": 0.05, "first_ttft_s": 6.0, "follow_up_ttft_s": 0.6}


def copy_bandwidth(threads: int = 1, mib: int = 512, repeats: int = 5) -> float:
    """Memory bandwidth in GB/s as STREAM's copy counts it (bytes read + bytes written),
    the best of REPEATS copies of a MIB-sized array split over THREADS threads (numpy
    releases the GIL while it copies). Hand-written: no library measures this."""
    import numpy as np

    src = np.ones(mib * 2**20 // 8)
    dst = np.empty_like(src)
    parts = np.array_split(np.arange(src.size), threads)
    bounds = [(p[0], p[-1] + 1) for p in parts]
    best = float("inf")
    for _ in range(repeats):
        workers = [threading.Thread(target=np.copyto, args=(dst[lo:hi], src[lo:hi])) for lo, hi in bounds]
        t0 = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        best = min(best, time.perf_counter() - t0)
    return 2 * src.nbytes / best / 1e9


def weight_bytes(path: Path) -> int:
    """Bytes of tensor data in a GGUF (what one decoded token reads)."""
    import gguf

    return sum(int(t.n_bytes) for t in gguf.GGUFReader(str(path)).tensors)


def make_report(count, target_tokens: int = 400) -> str:
    """A findings section of about TARGET_TOKENS tokens (COUNT: text -> tokens)."""
    parts = ["FINDINGS:"]
    i = 0
    while count(" ".join(parts)) < target_tokens:
        parts.append(SENTENCES[i % len(SENTENCES)])
        i += 1
    return " ".join(parts) + " IMPRESSION: Small left pleural effusion."


def raw_run(llm, prompt: str, n_new: int) -> dict[str, float]:
    llm.reset()
    ids = llm.tokenize(prompt.encode(), add_bos=True, special=True)
    t0 = time.perf_counter()
    first = None
    n = 0
    for tok in llm.generate(ids, temp=0.0, repeat_penalty=1.0):
        if first is None:
            first = time.perf_counter()
        if tok == llm.token_eos():
            break
        n += 1
        if n == n_new:
            break
    end = time.perf_counter()
    return {"prefill_tps": len(ids) / (first - t0), "decode_tps": (n - 1) / (end - first), "tokens": n}


def radphi_run(backend: LlamaCppBackend, task: str, record: dict, n_new: int, workdir: Path) -> dict[str, float]:
    backend._ensure_loaded().reset()  # a cold start for the prefill figure, as in raw_run
    inp, out = workdir / "in.jsonl", workdir / "out.jsonl"
    records.write_jsonl(inp, [record])
    out.unlink(missing_ok=True)
    runner.run_file(task, backend, inp, out, name="bench", params=GenParams(max_new_tokens=n_new),
                    progress=False)
    rec = records.read_jsonl(out)[0]
    # The record stores the whole time (prefill + decode); the split comes from the
    # backend's own Generation in main().
    return {"seconds": rec["seconds"], "tokens": rec["completion_tokens"], "prompt_tokens": rec["prompt_tokens"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None, help="default: the backend's (one per physical core)")
    a = ap.parse_args()
    if a.gguf is None:
        from bench.phi2_shaped import build

        a.gguf = build(ROOT / "bench" / "out")
    backend = LlamaCppBackend(str(a.gguf), n_ctx=2048, n_threads=a.threads)
    quant = backend.info()["quantization"]
    settings = backend.load_kwargs()
    llm = load_llama(a.gguf, **settings)
    report = make_report(backend.count_tokens)
    task = "impression_prediction"
    record = {"id": "r1", "findings": " ".join(SENTENCES[:4])}
    prompt = Request.build(task, record).prompt
    n_prompt = backend.count_tokens(prompt)
    n_report = backend.count_tokens(report)
    size = weight_bytes(a.gguf)
    import llama_cpp

    print(f"model {a.gguf.name} ({quant}, {size / 1e9:.2f} GB of weights), llama-cpp-python {llama_cpp.__version__}; "
          f"settings {settings}")
    print(f"build: {llama_cpp.llama_print_system_info().decode().strip()}")
    print(f"decode prompt {n_prompt} tokens, {a.new_tokens} new tokens, {a.runs} alternating runs each")

    raw, ours, ours_wall, bw1, bwn = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(a.runs):
            bw1.append(copy_bandwidth(1))
            bwn.append(copy_bandwidth(backend.n_threads))
            raw.append(raw_run(llm, prompt, a.new_tokens))
            # radphi run's path, end to end (file in, file out) ...
            ours_wall.append(radphi_run(backend, task, record, a.new_tokens, Path(tmp)))
            # ... and the same backend call with its own timing split.
            backend._ensure_loaded().reset()
            stream = backend.stream(Request.build(task, record), GenParams(max_new_tokens=a.new_tokens))
            stream.text()
            g = stream.generation
            ours.append({"prefill_tps": g.prompt_tokens / g.first_token_seconds,
                         "decode_tps": g.tokens_per_second, "tokens": g.completion_tokens})

        # Time to first token: a first question on a report, then a second one on the same report.
        first_ttft, second_ttft = [], []
        for i in range(a.runs):
            backend._ensure_loaded().reset()
            for question, sink in (("Is there a pleural effusion?", first_ttft), (f"Where does tube {i} end?", second_ttft)):
                s = backend.stream(Request.build("qa_comprehension", {"report": report, "question": question}),
                                   GenParams(max_new_tokens=2))
                s.text()
                sink.append(s.generation.first_token_seconds)

    def med(rows, key):
        return statistics.median(r[key] for r in rows)

    def verdict(ok: bool) -> str:
        return "goal met" if ok else "goal MISSED"

    bandwidth = max(statistics.median(bw1), statistics.median(bwn))
    bound = bandwidth * 1e9 / size
    raw_dec, our_dec = med(raw, "decode_tps"), med(ours, "decode_tps")
    wall_tps = statistics.median((r["tokens"]) / r["seconds"] for r in ours_wall)
    print(f"copy bandwidth: {statistics.median(bw1):.1f} GB/s (1 thread), {statistics.median(bwn):.1f} GB/s "
          f"({backend.n_threads} threads) -> decode bound {bound:.2f} tok/s")
    print(f"{'path':34s} {'prefill tok/s':>14s} {'decode tok/s':>13s} {'of bound':>9s}")
    print(f"{'raw llama-cpp-python':34s} {med(raw, 'prefill_tps'):14.1f} {raw_dec:13.2f} {raw_dec / bound:9.0%}")
    print(f"{'radphi llama.cpp backend':34s} {med(ours, 'prefill_tps'):14.1f} {our_dec:13.2f} {our_dec / bound:9.0%}")
    print(f"raw decode / bound: {raw_dec / bound:.0%} ({verdict(raw_dec / bound >= GOALS['bound'])}: "
          f">= {GOALS['bound']:.0%})")
    gap = our_dec / raw_dec - 1
    print(f"radphi decode vs raw: {100 * gap:+.1f}% ({verdict(gap >= -GOALS['radphi_vs_raw'])}: within "
          f"{GOALS['radphi_vs_raw']:.0%})")
    print(f"radphi run end to end (file in/out, prefill included): {wall_tps:.2f} new tok/s, "
          f"median {statistics.median(r['seconds'] for r in ours_wall):.1f} s per record")
    first, second = statistics.median(first_ttft), statistics.median(second_ttft)
    print(f"time to first token, first question on a {n_report}-token report: {first:.2f} s "
          f"({verdict(first <= GOALS['first_ttft_s'])}: <= {GOALS['first_ttft_s']} s)")
    print(f"time to first token, follow-up question on the same report: {second:.3f} s "
          f"({verdict(second <= GOALS['follow_up_ttft_s'])}: <= {GOALS['follow_up_ttft_s']} s)")
    print(json.dumps({"bandwidth_gbs": {"1": bw1, str(backend.n_threads): bwn}, "raw": raw, "radphi": ours,
                      "first_ttft": first_ttft, "second_ttft": second_ttft}))


if __name__ == "__main__":
    main()
