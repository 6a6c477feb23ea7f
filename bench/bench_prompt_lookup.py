"""Would prompt-lookup speculative decoding speed up radphi's CPU path? (issue 25, a lever)

    python bench/bench_prompt_lookup.py [--gguf bench/out/phi2-shaped-q8_0.gguf] [--runs 5]

Prompt lookup (llama-cpp-python's `LlamaPromptLookupDecoding`, passed as `draft_model`)
proposes the K tokens that followed the last n-gram's earlier occurrence in the prompt,
and the model checks them in one batch. Report tasks copy much of their input, so it
could pay. Two halves, because no Phi-2-sized radiology model is at hand here:

- acceptance, on the embedded demo model (a trained model that copies as the real one
  does) over the lab's synthetic test records: for each task and K, whether the greedy
  answers are identical with and without the draft, and how many answer tokens each
  decode step yields (1.0 = no gain);
- cost, on a Phi-2-shaped GGUF (random weights: speed does not depend on them): the time
  of one decode step that checks K tokens against one that decodes a single token, at a
  ~417-token context; and the first-token time with the draft model loaded (llama-cpp-python
  then computes logits for every prompt token) against without, each in its own process,
  alternating.

The projected decode speed-up of K is tokens per step / (step cost of K / cost of 1).
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TASKS = ["impression_prediction", "extract_findings", "extract_impression", "cleanup_report_text",
         "qa_comprehension", "abnormality_labels"]


def load(gguf: str, draft_k: int = 0):
    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

    from radphi.backends.llamacpp import LlamaCppBackend
    from radphi.backends.llamacpp_load import load_llama

    kwargs = LlamaCppBackend(gguf, n_ctx=2048).load_kwargs()
    if draft_k:
        kwargs["draft_model"] = LlamaPromptLookupDecoding(num_pred_tokens=draft_k)
    return load_llama(gguf, **kwargs)


def greedy(llm, ids: list[int], limit: int = 160) -> tuple[list[int], int]:
    """The greedy answer's tokens and the number of decode steps (evals after the prompt's)."""
    evals = 0
    plain_eval = llm.eval

    def counting(tokens):
        nonlocal evals
        evals += 1
        return plain_eval(tokens)

    llm.eval = counting
    try:
        out: list[int] = []
        for tok in llm.generate(ids, temp=0.0, repeat_penalty=1.0, reset=True):
            if tok == llm.token_eos() or len(out) >= limit:
                break
            out.append(tok)
    finally:
        del llm.eval
    return out, max(evals - 1, 1)


def acceptance(ks: list[int], per_task: int) -> dict:
    from radphi import records
    from radphi.backends import Request
    from radphi.backends.llamacpp import LlamaCppBackend

    demo = str(ROOT / "radphi" / "assets" / "radphi-demo.gguf")
    backend = LlamaCppBackend(demo)
    plain = load(demo)
    drafted = {k: load(demo, k) for k in ks}
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "lab.demo.synthetic", "--out", tmp, "--studies", "60"], cwd=ROOT,
                       check=True, capture_output=True)
        for task in TASKS:
            recs = records.read_jsonl(Path(tmp) / "test" / f"{task}.jsonl")[:per_task]
            row = {"records": len(recs)}
            for k in ks:
                same = tokens = steps = 0
                for r in recs:
                    ids = backend.prompt_tokens(Request.build(task, r))
                    a, _ = greedy(plain, ids)
                    s, n = greedy(drafted[k], ids)
                    same += a == s
                    tokens += len(s)
                    steps += n
                row[k] = {"identical": same, "tokens_per_step": tokens / steps}
            out[task] = row
    return out


def step_costs(gguf: str, ks: list[int], runs: int) -> dict[int, float]:
    """Median seconds of one eval of K tokens after a 417-token context."""
    llm = load(gguf)
    ids = llm.tokenize(("No pneumothorax is seen. " * 200).encode(), add_bos=True)
    llm.reset()
    llm.eval(ids[:417])
    times: dict[int, list[float]] = {k: [] for k in [1, *ks]}
    for _ in range(runs):
        for k in times:
            llm.n_tokens = 417  # back to the report's end: drop what the last check added
            t0 = time.perf_counter()
            llm.eval(ids[417:417 + k])
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def first_token(gguf: str, draft_k: int) -> float:
    llm = load(gguf, draft_k)
    ids = llm.tokenize(("No pneumothorax is seen. " * 200).encode(), add_bos=True)[:417]
    best = float("inf")
    for _ in range(2):
        llm.reset()
        t0 = time.perf_counter()
        for _tok in llm.generate(ids, temp=0.0, repeat_penalty=1.0, reset=True):
            break
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", type=Path, help="a Phi-2-shaped GGUF for the cost half (bench/phi2_shaped.py)")
    ap.add_argument("--k", default="2,4,8", help="draft lengths")
    ap.add_argument("--records", type=int, default=20, help="records per task for the acceptance half")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--first-token", help=argparse.SUPPRESS)
    a = ap.parse_args()
    ks = [int(k) for k in a.k.split(",")]
    if a.first_token:
        print(json.dumps(first_token(str(a.gguf), int(a.first_token))))
        return 0

    acc = acceptance(ks, a.records)
    print(f"acceptance on the demo model (greedy, lab synthetic test records; tokens per decode step, 1.0 = no gain)")
    print(f"{'task':26s} " + " ".join(f"{'K=' + str(k):>16s}" for k in ks))
    for task, row in acc.items():
        print(f"{task:26s} " + " ".join(f"{row[k]['tokens_per_step']:6.2f} ({row[k]['identical']}/{row['records']} same)"
                                        for k in ks))
    if a.gguf is None:
        return 0
    cost = step_costs(str(a.gguf), ks, a.runs)
    print(f"\nstep cost on {a.gguf.name} at a 417-token context (median of {a.runs}): "
          + ", ".join(f"K={k}: {cost[k]:.3f} s ({cost[k] / cost[1]:.2f}x)" for k in cost))
    print(f"{'projected decode speed-up':26s} " + " ".join(f"{'K=' + str(k):>8s}" for k in ks))
    for task, row in acc.items():
        print(f"{task:26s} " + " ".join(f"{row[k]['tokens_per_step'] / (cost[k] / cost[1]):7.2f}x" for k in ks))
    firsts: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(max(3, a.runs // 2)):
        for label, k in (("without", 0), ("with", ks[-1])):
            proc = subprocess.run([sys.executable, __file__, "--gguf", str(a.gguf), "--first-token", str(k)],
                                  capture_output=True, text=True, check=True)
            firsts[label].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(f"first token on a 417-token prompt, without the draft model {statistics.median(firsts['without']):.2f} s, "
          f"with it {statistics.median(firsts['with']):.2f} s (medians of {len(firsts['with'])} processes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
