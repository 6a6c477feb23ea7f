"""CPU decode speed of radphi's GGUF path against raw llama-cpp-python, and prefix reuse.

    python bench/bench_cpu_decode.py [--gguf FILE] [--runs 5] [--new-tokens 64]

Without --gguf it builds (once, cached in bench/out/) a Phi-2-shaped Q4_K_M with
random weights (bench/phi2_shaped.py). In one process, on the same file and prompt
(impression_prediction on a short findings paragraph), runs alternate between:

- raw:    `Llama.generate` on the token ids, greedy, counting tokens
- radphi: `radphi run`'s path (`runner.run_file` over a one-record JSONL with the
          llama.cpp backend), timings taken from the records it writes

and it prints medians: prefill tokens/s, decode tokens/s, and time to first token
for a first question on a report against a second question on the same report.
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from radphi import records, runner  # noqa: E402
from radphi.backends import GenParams, Request  # noqa: E402
from radphi.backends.llamacpp import LlamaCppBackend, physical_cores  # noqa: E402
from radphi.backends.llamacpp_load import extra_bufts_ok, load_llama  # noqa: E402

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


def make_report(backend: LlamaCppBackend, target_tokens: int = 400) -> str:
    parts = ["FINDINGS:"]
    i = 0
    while backend.count_tokens(" ".join(parts)) < target_tokens:
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
    ap.add_argument("--threads", type=int, default=physical_cores())
    a = ap.parse_args()
    if a.gguf is None:
        from bench.phi2_shaped import build

        a.gguf = build(ROOT / "bench" / "out")
    backend = LlamaCppBackend(str(a.gguf), n_ctx=2048, n_threads=a.threads)
    quant = backend.info()["quantization"]
    bufts = extra_bufts_ok(a.gguf, quant)
    llm = load_llama(a.gguf, use_extra_bufts=bufts, n_ctx=2048, n_threads=a.threads, n_threads_batch=a.threads,
                     verbose=False)
    report = make_report(backend)
    task = "impression_prediction"
    record = {"id": "r1", "findings": " ".join(SENTENCES[:4])}
    prompt = Request.build(task, record).prompt
    n_prompt = backend.count_tokens(prompt)
    n_report = backend.count_tokens(report)
    print(f"model {a.gguf.name} ({quant}, {a.gguf.stat().st_size / 1e9:.2f} GB), {a.threads} threads, "
          f"extra buffer types {'on' if bufts else 'off'}; decode prompt {n_prompt} tokens, {a.new_tokens} new "
          f"tokens, {a.runs} runs each")

    raw, ours, ours_wall = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(a.runs):
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

    raw_dec, our_dec = med(raw, "decode_tps"), med(ours, "decode_tps")
    wall_tps = statistics.median((r["tokens"]) / r["seconds"] for r in ours_wall)
    print(f"{'path':34s} {'prefill tok/s':>14s} {'decode tok/s':>13s}")
    print(f"{'raw llama-cpp-python':34s} {med(raw, 'prefill_tps'):14.1f} {raw_dec:13.2f}")
    print(f"{'radphi llama.cpp backend':34s} {med(ours, 'prefill_tps'):14.1f} {our_dec:13.2f}")
    print(f"radphi decode vs raw: {100 * (our_dec / raw_dec - 1):+.1f}%")
    print(f"radphi run end to end (file in/out, prefill included): {wall_tps:.2f} new tok/s, "
          f"median {statistics.median(r['seconds'] for r in ours_wall):.1f} s per record")
    print(f"time to first token, first question on a {n_report}-token report: {statistics.median(first_ttft):.2f} s; "
          f"second question on the same report: {statistics.median(second_ttft):.3f} s")
    print(json.dumps({"raw": raw, "radphi": ours, "first_ttft": first_ttft, "second_ttft": second_ttft}))


if __name__ == "__main__":
    main()
