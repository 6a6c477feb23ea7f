"""How fast the embedded demo model streams an impression on this machine.

    python -m lab.demo.bench_stream [--model radphi/assets/radphi-demo.gguf] [--n 50] [--threads 0]
    python -m lab.demo.bench_stream --task extract_findings   # grounded, a sentence at a time

Streams `impression_prediction` through radphi's LlamaCppBackend (what the app's
Impression tab uses) for the findings of the first N test studies of the demo corpus
(runs/demo/corpus, or the examples in assets/ when the corpus is absent), greedy, up to
256 new tokens. `--task extract_findings` or `cleanup_report_text` streams that task
instead (from the corpus's test split), with grounded decoding as the app uses it. Prints JSON: model load time, and the median / 95th percentile / slowest
time to the whole impression and to its first token. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from lab.demo import ROOT


def task_inputs(task: str, n: int) -> list[dict[str, str]]:
    """The input fields of the first N test records of TASK."""
    if task == "impression_prediction":
        return [{"findings": text} for text in findings_texts(n)]
    from radphi.records import read_jsonl
    from radphi.tasks import get_task

    path = ROOT / "runs/demo/corpus/test" / f"{task}.jsonl"
    if not path.is_file():
        raise SystemExit(f"{path} is missing: build the corpus with `python -m lab.demo.train` first")
    return [{f: rec[f] for f in get_task(task).fields} for rec in read_jsonl(path)[:n]]


def findings_texts(n: int) -> list[str]:
    from radphi.records import iter_numbered

    for path in (ROOT / "runs/demo/corpus/test/impression_prediction.jsonl",
                 ROOT / "radphi/assets/examples/impression_prediction.jsonl"):
        if path.is_file():
            return [rec["findings"] for _, rec in iter_numbered(str(path), [])][:n]
    raise SystemExit("no findings to use: build the corpus with `python -m lab.demo.train` first")


def main() -> int:
    from radphi import settings
    from radphi.backends import GenParams, Request
    from radphi.backends.llamacpp import LlamaCppBackend

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(settings.DEMO_MODEL))
    p.add_argument("--n", type=int, default=50)
    p.add_argument("--task", default="impression_prediction",
                   choices=("impression_prediction", "extract_findings", "cleanup_report_text"))
    p.add_argument("--threads", type=int, default=0, help="llama.cpp threads (0: one per physical core, the app's default)")
    args = p.parse_args()

    backend = LlamaCppBackend(args.model, n_threads=args.threads or None)
    t0 = time.perf_counter()
    backend.generate(Request.build("impression_prediction", {"findings": "No acute findings."}), GenParams(max_new_tokens=1))
    load_s = time.perf_counter() - t0
    totals, firsts, tokens = [], [], []
    for fields in task_inputs(args.task, args.n):
        req = Request.build(args.task, fields)
        start = time.perf_counter()
        first = None
        pieces = []
        for piece in backend.stream(req, GenParams(max_new_tokens=256)):
            if first is None:
                first = time.perf_counter() - start
            pieces.append(piece)
        totals.append(time.perf_counter() - start)
        firsts.append(first if first is not None else totals[-1])
        tokens.append(len(pieces))
    totals.sort()
    print(json.dumps({"model": args.model, "task": args.task, "n": len(totals), "threads": backend.n_threads, "load_s": round(load_s, 3),
                      "total_median_s": round(statistics.median(totals), 4),
                      "total_p95_s": round(totals[min(len(totals) - 1, int(0.95 * len(totals)))], 4),
                      "total_max_s": round(totals[-1], 4), "first_token_median_s": round(statistics.median(firsts), 4),
                      "pieces_median": statistics.median(tokens)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
