"""Throughput of `radphi run` toward an OpenAI-compatible server, by concurrency.

    python bench/bench_concurrency.py                        # the fake slow server, on loopback
    python bench/bench_concurrency.py --delay 0.05 --records 256 --levels 1,8,32,64

    # a real server (vLLM, SGLang, llama.cpp's llama-server), the same path as `radphi run`:
    python bench/bench_concurrency.py --url http://127.0.0.1:8000/v1 --model phi2 \\
        --records data/test.jsonl --limit 1000 --levels 64 --max-new-tokens 128 \\
        --prompts-out bench/out/prompts.jsonl

Each level runs `radphi.runner.run_file` (what `radphi run --concurrency N` runs) over
the same records into a fresh output file, and prints wall time, requests/s, output
tokens/s (the server's `usage`) and the speed-up over the first level. Without --url
it starts tests/fake_openai_server.py, which sleeps --delay seconds per request
(a serving engine's request time, with nothing else limiting it), so the speed-up
measures radphi's own overhead: N in flight should give close to N times serial.

--records takes a JSONL file of the task's records, or a number of synthetic
impression_prediction records. --prompts-out writes the exact prompts, one
`{"prompt": ...}` per line, for vLLM's own client on the same prompts:

    vllm bench serve --backend vllm --base-url http://127.0.0.1:8000 --endpoint /v1/completions \\
        --model MODEL_AS_SERVED --dataset-name custom --dataset-path bench/out/prompts.jsonl \\
        --skip-chat-template --disable-shuffle --num-prompts 1000 --custom-output-len 128 \\
        --max-concurrency 64 --temperature 0

Compare its "Output token throughput (tok/s)" and "Request throughput (req/s)" with
this script's line for the same concurrency (the issue's target: at least 90%).
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from radphi import records, runner, tasks  # noqa: E402  (after the path insert)
from radphi.backends import GenParams, Request  # noqa: E402
from radphi.backends.openai_api import OpenAIBackend  # noqa: E402

SENTENCES = [
    "There is a small left pleural effusion with adjacent basilar atelectasis.",
    "The endotracheal tube terminates 3.4 cm above the carina.",
    "Heart size is mildly enlarged, unchanged from the prior study.",
    "No pneumothorax is seen.",
    "Mild pulmonary vascular congestion without frank edema.",
    "A right internal jugular central venous catheter ends in the mid SVC.",
    "Patchy opacity in the right lower lobe may reflect pneumonia.",
    "Degenerative changes of the thoracic spine.",
]


def fake_server_class() -> type:
    """tests/fake_openai_server.py's server, loaded by path: radgraph's wheel installs a
    top-level `tests` package that would shadow ours in `import tests...`."""
    path = ROOT / "tests" / "fake_openai_server.py"
    spec = importlib.util.spec_from_file_location("radphi_bench_fake_server", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SlowOpenAIServer


def synthetic_records(n: int) -> list[dict]:
    """N impression_prediction records, each findings paragraph a different mix of sentences."""
    out = []
    for i in range(n):
        picked = [SENTENCES[(i * 3 + k * 5) % len(SENTENCES)] for k in range(2 + i % 4)]
        out.append({"id": f"bench-{i:05d}", "findings": f"Study {i}. " + " ".join(dict.fromkeys(picked))})
    return out


def load_records(spec: str, task: str) -> list[dict]:
    if spec.isdigit():
        if task != "impression_prediction":
            raise SystemExit("synthetic records are impression_prediction; pass --records FILE.jsonl for other tasks")
        return synthetic_records(int(spec))
    return records.read_jsonl(spec)


def write_prompts(path: Path, recs: list[dict], task: str, fmt: str) -> None:
    """The prompt of each record as `radphi run` builds it, for `vllm bench serve --dataset-name custom`."""
    prompts = [{"prompt": Request.build(task, rec, fmt).prompt} for rec in recs]  # as the runner builds them
    path.parent.mkdir(parents=True, exist_ok=True)
    records.write_jsonl(path, prompts)
    print(f"wrote {len(prompts)} prompts to {path}", file=sys.stderr)


def run_level(backend: OpenAIBackend, task: str, inp: Path, work: Path, level: int, params: GenParams,
              fmt: str) -> dict:
    out = work / f"out-c{level}.jsonl"
    start = time.perf_counter()
    summary = runner.run_file(task, backend, inp, out, name="bench", params=params, fmt=fmt, progress=False,
                              concurrency=level)
    wall = time.perf_counter() - start
    done = records.read_jsonl(out)
    completion = sum(int(r.get("completion_tokens") or 0) for r in done)
    prompt = sum(int(r.get("prompt_tokens") or 0) for r in done)
    return {"level": level, "written": summary.written, "failed": len(summary.failed), "wall": wall,
            "req_s": summary.written / wall, "out_tok_s": completion / wall, "prompt_tokens": prompt}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a running server's base URL (default: start the fake slow server)")
    ap.add_argument("--model", default="fake", help="the model name the server serves")
    ap.add_argument("--task", default="impression_prediction", choices=list(tasks.TASKS))
    ap.add_argument("--format", default=tasks.DEFAULT_FORMAT, choices=list(tasks.FORMATS))
    ap.add_argument("--records", default="256", help="a JSONL file of records, or a number of synthetic ones")
    ap.add_argument("--limit", type=int, default=0, help="only the first N records of the file")
    ap.add_argument("--levels", default="1,4,16,64", help="concurrency levels to run, in order")
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--delay", type=float, default=0.05, help="the fake server's seconds per request")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds a request may take (queueing included)")
    ap.add_argument("--prompts-out", type=Path, help="write the prompts for `vllm bench serve --dataset-name custom`")
    args = ap.parse_args(argv)

    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    if not levels or min(levels) < 1:
        raise SystemExit("--levels takes positive integers, e.g. 1,16,64")
    recs = load_records(args.records, args.task)
    if args.limit > 0:
        recs = recs[:args.limit]
    params = GenParams(max_new_tokens=args.max_new_tokens)
    if args.prompts_out:
        write_prompts(args.prompts_out, recs, args.task, args.format)

    with tempfile.TemporaryDirectory(prefix="radphi-bench-") as tmp:
        work = Path(tmp)
        inp = work / "in.jsonl"
        records.write_jsonl(inp, recs)
        fake = None
        if args.url:
            url = args.url
        else:
            fake = fake_server_class()(delay=args.delay).__enter__()
            url = fake.url
        try:
            backend = OpenAIBackend(f"openai:{args.model}@{url}", timeout=args.timeout, max_retries=0)
            where = f"fake server, {args.delay * 1000:.0f} ms a request" if fake else url
            print(f"{len(recs)} {args.task} records, max {args.max_new_tokens} new tokens, {where}; "
                  f"default concurrency for this server: {backend.batch_workers}")
            print(f"{'concurrency':>11} {'wall s':>8} {'req/s':>8} {'out tok/s':>10} {'speed-up':>8} "
                  f"{'in flight':>9} {'failed':>6}")
            base = None
            for level in levels:
                if fake:
                    fake.reset_counts()
                row = run_level(backend, args.task, inp, work, level, params, args.format)
                base = base or row["wall"]
                flight = str(fake.max_in_flight) if fake else "-"
                print(f"{level:>11} {row['wall']:>8.2f} {row['req_s']:>8.1f} {row['out_tok_s']:>10.1f} "
                      f"{base / row['wall']:>7.1f}x {flight:>9} {row['failed']:>6}")
        finally:
            if fake:
                fake.__exit__(None, None, None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
