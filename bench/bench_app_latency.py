"""What the app adds to a streamed answer: time to first token and decode speed through
`python app.py` + gradio_client, against the llama.cpp backend called directly on the
same GGUF, with the same threads.

    .venv/bin/python bench/bench_app_latency.py --model path/to/model.gguf [--runs 7] [--tokens 128]
    .venv/bin/python bench/bench_app_latency.py --build-small --threads 1   # a random ~45M-parameter Phi GGUF

The app runs in its own process (as for a user, whose browser is elsewhere), and so
does the direct path (a worker process of this script), so neither shares a GIL with
the client. The app path is timed twice: through gradio_client (which polls for
messages every 50 ms) and through gradio's HTTP + SSE protocol directly, as a browser
receives it. Runs alternate between the two, each on a prompt the
model has not seen (so no prefix is reused), and the medians are printed. The model's
first run on each path is a warm-up and is not counted. Asserts nothing about time.

Decode speed is (answer tokens - 1) / (time of the last piece - time of the first
piece), as each side sees it: through the app, when the client receives them. The
app's own latency line (the backend's timing inside the server) is printed too.
On a shared 2-core machine the figures move with the neighbours' load; compare
medians of many runs, and use --threads 1 to keep llama.cpp off a busy core's barrier.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.localhost import free_port  # noqa: E402  (after the path insert)

FINDINGS = ("Case {i:03d}. There is a small left pleural effusion with adjacent atelectasis. No pneumothorax. "
            "The endotracheal tube terminates 3.4 cm above the carina. Heart size is normal.")


def build_small(out_dir: Path, hidden: int = 768, layers: int = 6) -> Path:
    """A random Phi-2-shaped model (the tests' tokenizer), exported to an f16 GGUF."""
    from transformers import AutoTokenizer, PhiConfig, PhiForCausalLM

    from tests.tinymodels import build_tiny_phi
    from radphi.training.export_gguf import export_gguf

    tiny = build_tiny_phi(out_dir / "tiny")
    tok = AutoTokenizer.from_pretrained(tiny)
    base = PhiConfig.from_pretrained(tiny)
    config = PhiConfig(**{**base.to_dict(), "hidden_size": hidden, "intermediate_size": 4 * hidden,
                          "num_hidden_layers": layers, "num_attention_heads": 16, "num_key_value_heads": 16,
                          "max_position_embeddings": 2048})
    model = PhiForCausalLM(config)
    small = out_dir / "small"
    model.save_pretrained(small)
    tok.save_pretrained(small)
    return Path(export_gguf(small, out_dir / "small-f16.gguf", quant="f16"))


def direct_run(backend, findings: str, tokens: int) -> dict:
    from radphi.backends import GenParams, Request

    request = Request.build("impression_prediction", {"findings": findings})
    t0 = time.perf_counter()
    first = last = None
    stream = backend.stream(request, GenParams(max_new_tokens=tokens))
    for _ in stream:
        last = time.perf_counter()
        first = first or last
    gen = stream.generation
    return {"ttft": first - t0, "total": last - t0, "decode": (gen.completion_tokens - 1) / (last - first),
            "n": gen.completion_tokens}


def direct_worker(spec: str, threads: int) -> int:
    """Direct path in a process of its own, like the app's: one JSON line of timings per request."""
    import json

    from radphi.backends.llamacpp import LlamaCppBackend

    backend = LlamaCppBackend(spec, n_threads=threads or None)
    for line in sys.stdin:
        findings, tokens = json.loads(line)
        print(json.dumps({**direct_run(backend, findings, tokens), "threads": backend.n_threads}), flush=True)
    return 0


class DirectProcess:
    def __init__(self, spec: str, threads: int):
        self.proc = subprocess.Popen([sys.executable, __file__, "--direct-worker", spec, "--threads", str(threads)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, findings: str, tokens: int) -> dict:
        import json

        self.proc.stdin.write(json.dumps([findings, tokens]) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def app_run(client, model: str, findings: str, tokens: int) -> dict:
    t0 = time.perf_counter()
    job = client.submit(findings, model, tokens, 0.0, "token", api_name="/impression")
    first = last = None
    seen = ""
    for _, draft, _, _ in job:
        if draft and draft != seen:
            last = time.perf_counter()
            first = first or last
            seen = draft
    status = job.outputs()[-1][2]
    n = int(re.search(r"\+ (\d+) answer tokens", status).group(1))
    # What the backend measured inside the app process (the latency line).
    server_tps = float(re.search(r"([\d.]+) tok/s", status).group(1))
    decode = (n - 1) / (last - first) if last > first else float("inf")  # all in one update
    return {"ttft": first - t0, "total": last - t0, "decode": decode, "n": n,
            "server_decode": server_tps}


def raw_run(http, url: str, fn_index: int, model: str, findings: str, tokens: int) -> dict:
    """The app path without gradio_client, which polls its message queue every 50 ms and
    adds that to every update: gradio's own HTTP + SSE protocol, as a browser uses it."""
    import json
    import uuid

    session = uuid.uuid4().hex[:11]
    t0 = time.perf_counter()
    http.post(f"{url}gradio_api/queue/join", json={"data": [findings, model, tokens, 0.0, "token"],
                                                    "fn_index": fn_index, "session_hash": session})
    first = last = None
    with http.stream("GET", f"{url}gradio_api/queue/data?session_hash={session}") as resp:
        for line in resp.iter_lines():
            if not line.startswith("data:"):
                continue
            msg = json.loads(line[5:])
            if msg.get("msg") == "process_completed":
                status = msg["output"]["data"][2]
                break
            if msg.get("msg") != "process_generating":
                continue
            draft = msg["output"]["data"][1]  # the whole value first, then diffs
            if draft:
                last = time.perf_counter()
                first = first or last
    n = int(re.search(r"\+ (\d+) answer tokens", status).group(1))
    return {"ttft": first - t0, "total": last - t0, "decode": (n - 1) / (last - first), "n": n}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a GGUF (default: RADPHI_MODEL or the demo model)")
    parser.add_argument("--build-small", action="store_true", help="build a random ~45M-parameter Phi GGUF to use")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=0, help="llama.cpp threads on both paths (0: physical cores)")
    parser.add_argument("--direct-worker", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.direct_worker:
        return direct_worker(args.direct_worker, args.threads)

    from radphi import settings

    work = Path(tempfile.mkdtemp(prefix="bench-app-"))
    spec = str(build_small(work)) if args.build_small else (args.model or settings.default_model_spec())
    if not spec:
        print("no model: pass --model path/to/model.gguf or --build-small", file=sys.stderr)
        return 2
    size_mb = os.path.getsize(spec) / 1e6
    from gradio_client import Client

    port = free_port()
    cmd = [sys.executable, "app.py", "--model", spec, "--port", str(port), "--threads", str(args.threads)]
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "RADPHI_HOME": str(work / "home")})
    try:
        direct = DirectProcess(spec, args.threads)
        model = Path(spec).stem
        url = f"http://127.0.0.1:{port}/"
        for _ in range(600):
            try:
                client = Client(url, verbose=False)
                break
            except Exception:
                time.sleep(0.2)
        else:
            raise SystemExit("the app did not start")
        threads = direct.run(FINDINGS.format(i=999), args.tokens)["threads"]  # warm-ups, not counted
        app_run(client, model, FINDINGS.format(i=998), args.tokens)
        import httpx

        http = httpx.Client(timeout=120)
        fn_index = next(i for i, d in enumerate(client.config["dependencies"]) if d.get("api_name") == "impression")
        raw_run(http, url, fn_index, model, FINDINGS.format(i=997), args.tokens)
        rows: dict[str, list[dict]] = {"direct": [], "app": [], "raw": []}
        for i in range(args.runs):
            rows["direct"].append(direct.run(FINDINGS.format(i=2 * i), args.tokens))
            rows["app"].append(app_run(client, model, FINDINGS.format(i=2 * i + 1), args.tokens))
            rows["raw"].append(raw_run(http, url, fn_index, model, FINDINGS.format(i=1000 + i), args.tokens))
        direct.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        if args.build_small:
            shutil.rmtree(work, ignore_errors=True)  # the built model, once measured

    def med(path: str, key: str) -> float:
        return statistics.median(r[key] for r in rows[path])

    print(f"model {spec} ({size_mb:.0f} MB), threads {threads}, "
          f"{args.runs} runs of up to {args.tokens} new tokens (median answer {med('direct', 'n'):.0f} tokens)")
    names = {"direct": "backend, directly", "app": "app, gradio_client", "raw": "app, HTTP+SSE"}
    print(f"{'path':20s} {'TTFT ms':>9s} {'answer ms':>10s} {'decode tok/s':>13s}   (medians)")
    for path, label in names.items():
        print(f"{label:20s} {med(path, 'ttft') * 1000:9.1f} {med(path, 'total') * 1000:10.1f} "
              f"{med(path, 'decode'):13.1f}")
    print(f"decode inside the app process, from its latency line: {med('app', 'server_decode'):.1f} tok/s")
    d_direct = med("direct", "total") - med("direct", "ttft")
    for path in ("app", "raw"):
        added_ms = (med(path, "ttft") - med("direct", "ttft")) * 1000
        d_app = med(path, "total") - med(path, "ttft")
        print(f"{names[path]}: adds {added_ms:.1f} ms to the first token (goal < 100 ms) and "
              f"{(d_app / d_direct - 1) * 100:.1f}% to the time from first to last token (goal < 5%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
