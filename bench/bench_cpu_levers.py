"""Each llama.cpp setting that could speed up the CPU path, measured on a whole request.

    python bench/bench_cpu_levers.py [--gguf FILE] [--runs 3] [--levers build,threads,...]
        [--python noamx=/tmp/lc-noamx/bin/python] [--file q8_0=bench/out/phi2-shaped-q8_0.gguf]

A whole request is the shape the app serves most: a question on a ~400-token report
(qa_comprehension) answered with 60 new tokens (EOS ignored, so every run decodes the
same count), then a follow-up question on the same report (prefix reuse: only the
new question's tokens are evaluated). Each run is a fresh process (OpenMP settings
and the build are fixed at process start; repacking at load), and the variants of a
lever alternate run by run, so a change in machine load hits them alike. Printed per
variant, medians of --runs: prefill and decode tokens/s, the whole request's seconds,
the follow-up's time to first token, the load time, and the CPU share (the process's CPU
time over wall time x threads during the request: well under 100% means other work on
the machine took the cores, and that run's figures say more about the load than the lever).

Levers (the first variant of each is today's default):
  build    the installed build with repacking as the backend decides, against other
           builds (--python LABEL=PYTHON, e.g. a no-AMX build) with repacking off and on
  repack   extra buffer types (weight repacking) off / on
  threads  one per physical core / one
  batch    n_batch/n_ubatch 512/128 (the backend's), 512/256, 512/512
  flash    flash attention off / on / on with a q8_0 KV cache (a quantized V cache needs it)
  mlock    use_mlock off / on
  omp      OMP_WAIT_POLICY=passive (radphi's default, llamacpp_load) / active (spinning, OpenMP's default)
  pages    the weights in 4 KiB pages / in transparent huge pages (glibc's malloc asked for them
           with GLIBC_TUNABLES=glibc.malloc.hugetlb=1, where THP is in "madvise" mode); the
           worker reports how much of its memory the kernel gave as huge pages
  file     the --gguf file and other quantizations of the same model (--file LABEL=GGUF), each
           on every build (the installed one and --python ones), with repacking off and on

Without --gguf it uses the Phi-2-shaped Q4_K_M from bench/phi2_shaped.py. Prints
figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N_NEW = 60
GGML_TYPE = {"f16": 1, "q8_0": 8}


# ---------------------------------------------------------------- the measured process
def worker(spec: dict) -> dict:
    """Load the model as SPEC says, run the request and the follow-up; return the figures."""
    from radphi.backends.llamacpp_load import load_llama  # first: it sets OpenMP's defaults

    import llama_cpp

    s = spec["settings"]
    kwargs = dict(n_ctx=2048, n_threads=s["threads"], n_threads_batch=s["threads"], n_batch=s["n_batch"],
                  n_ubatch=s["n_ubatch"], flash_attn=s["flash"], use_mlock=s["mlock"], verbose=False)
    if s["kv"] != "f16":
        kwargs.update(type_k=GGML_TYPE[s["kv"]], type_v=GGML_TYPE[s["kv"]])
    t0 = time.perf_counter()
    llm = load_llama(spec["gguf"], use_extra_bufts=s["repack"], **kwargs)
    load_s = time.perf_counter() - t0
    first_ids = llm.tokenize(spec["first"].encode(), add_bos=True, special=True)
    second_ids = llm.tokenize(spec["second"].encode(), add_bos=True, special=True)
    llm.eval(first_ids[:8])  # warm the threads and the compute buffers, as a served model is
    llm.reset()

    t0, cpu0 = time.perf_counter(), time.process_time()
    first = None
    n = 0
    for _tok in llm.generate(first_ids, temp=0.0, repeat_penalty=1.0, reset=True):
        if first is None:
            first = time.perf_counter()
        n += 1
        if n == spec["n_new"]:
            break
    end, cpu1 = time.perf_counter(), time.process_time()
    t1 = time.perf_counter()
    for _tok in llm.generate(second_ids, temp=0.0, repeat_penalty=1.0, reset=True):
        break
    follow_up = time.perf_counter() - t1
    return {"load_s": load_s, "prompt_tokens": len(first_ids), "prefill_tps": len(first_ids) / (first - t0),
            "ttft_s": first - t0, "decode_tps": (n - 1) / (end - first), "request_s": end - t0,
            "follow_up_s": follow_up, "cpu_share": (cpu1 - cpu0) / ((end - t0) * s["threads"]),
            "anon_huge_mb": anon_huge_mb(), "system": llama_cpp.llama_print_system_info().decode().strip(),
            "version": llama_cpp.__version__}


def anon_huge_mb() -> float:
    """MB of this process's memory in transparent huge pages (Linux; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
            if line.startswith("AnonHugePages:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# ---------------------------------------------------------------- the levers
def levers(default_threads: int, repack_default: bool, pythons: dict[str, str],
           files: dict[str, str] | None = None) -> dict[str, list[tuple]]:
    """lever -> [(label, settings changes, environment, python label)]; the first is the baseline.
    FILES: label -> GGUF path (the --gguf file first), for the file lever."""
    out = {
        # every file x every build x repacking off and on
        "file": [(f"{flabel}, {py}, repack {'on' if r else 'off'}", {"gguf": path, "repack": r}, {}, py)
                 for flabel, path in (files or {}).items() for py in pythons for r in (False, True)],
        "build": [(f"installed, repack {'on' if repack_default else 'off'}", {}, {}, "installed")],
        "repack": [("repack off", {"repack": False}, {}, "installed"), ("repack on", {"repack": True}, {}, "installed")],
        "threads": [(f"{default_threads} threads", {}, {}, "installed"), ("1 thread", {"threads": 1}, {}, "installed")],
        "batch": [(f"n_batch/n_ubatch {b}/{u}", {"n_batch": b, "n_ubatch": u}, {}, "installed")
                  for b, u in ((512, 128), (512, 256), (512, 512))],
        "flash": [("flash attention off", {}, {}, "installed"), ("flash attention on", {"flash": True}, {}, "installed"),
                  ("flash on, KV cache q8_0", {"flash": True, "kv": "q8_0"}, {}, "installed")],
        "mlock": [("mlock off", {}, {}, "installed"), ("mlock on", {"mlock": True}, {}, "installed")],
        "omp": [("OMP_WAIT_POLICY=passive (radphi's)", {}, {"OMP_WAIT_POLICY": "passive"}, "installed"),
                ("OMP_WAIT_POLICY=active (OpenMP's)", {}, {"OMP_WAIT_POLICY": "active"}, "installed")],
        "pages": [("4 KiB pages", {}, {}, "installed"),
                  ("huge pages (glibc.malloc.hugetlb=1)", {}, {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}, "installed")],
    }
    for label in pythons:
        if label != "installed":
            out["build"] += [(f"{label}, repack off", {"repack": False}, {}, label),
                             (f"{label}, repack on", {"repack": True}, {}, label)]
    return out


def run_worker(python: str, spec: dict, env: dict[str, str]) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_", "GLIBC_TUNABLES"))}
    proc = subprocess.run([python, str(Path(__file__).resolve()), "--worker", json.dumps(spec)],
                          capture_output=True, text=True, env={**clean, **env, "PYTHONPATH": str(ROOT)}, timeout=900)
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:] or ''}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def prompts(gguf: Path) -> tuple[str, str]:
    """A question on a ~400-token report, and a second question on the same report."""
    import llama_cpp

    from bench.bench_cpu_decode import make_report
    from radphi.backends import Request

    vocab = llama_cpp.Llama(model_path=str(gguf), vocab_only=True, verbose=False)
    report = make_report(lambda text: len(vocab.tokenize(text.encode(), add_bos=True, special=True)))
    ask = [Request.build("qa_comprehension", {"report": report, "question": q}).prompt
           for q in ("Is there a pleural effusion?", "Where does the endotracheal tube end?")]
    return ask[0], ask[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--gguf", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--levers", default="build,repack,flash,threads,omp,batch,mlock",
                    help="comma-separated; also: file (with --file)")
    ap.add_argument("--python", action="append", default=[], metavar="LABEL=PYTHON",
                    help="another interpreter with its own llama-cpp-python build (for the build lever)")
    ap.add_argument("--file", action="append", default=[], metavar="LABEL=GGUF",
                    help="another quantization of the same model (for the file lever)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="change the baseline: threads, n_batch, n_ubatch, flash, kv, mlock, repack")
    ap.add_argument("--json", type=Path, help="also write every run's figures here")
    ap.add_argument("--busy", type=int, default=0, metavar="N",
                    help="keep N busy-loop processes running throughout (a machine where other work runs)")
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(json.loads(a.worker))))
        return 0

    from radphi.backends.llamacpp import LlamaCppBackend, physical_cores
    from radphi.backends.llamacpp_load import use_repack

    if a.gguf is None:
        from bench.phi2_shaped import build

        a.gguf = build(ROOT / "bench" / "out")
    pythons = {"installed": sys.executable, **dict(p.split("=", 1) for p in a.python)}
    backend = LlamaCppBackend(str(a.gguf))
    meta = backend.file_metadata()
    repack_default = use_repack(a.gguf, meta.get("quantization", ""))
    files = {meta.get("quantization", a.gguf.name): str(a.gguf), **dict(f.split("=", 1) for f in a.file)}
    base = {"threads": physical_cores(), "n_batch": backend.n_batch, "n_ubatch": backend.n_ubatch,
            "flash": False, "kv": "f16", "mlock": False, "repack": repack_default}
    for item in a.set:
        key, value = item.split("=", 1)
        base[key] = value if key == "kv" else (value.lower() in ("1", "true", "on") if key in ("flash", "mlock", "repack")
                                               else int(value))
    first, second = prompts(a.gguf)
    table = levers(base["threads"], base["repack"], pythons, files)
    print(f"model {a.gguf.name} ({a.gguf.stat().st_size / 1e9:.2f} GB); baseline {base}; {a.runs} alternating runs; "
          f"{a.busy} busy-loop processes beside; "
          f"request: a question on a ~400-token report + {N_NEW} new tokens, then a follow-up question")
    everything = {}
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(a.busy)]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so that `finally` stops the busy loops
    try:
        run_levers(a, table, base, first, second, pythons, everything)
    finally:
        for proc in busy:
            proc.kill()
    if a.json:
        a.json.write_text(json.dumps(everything, indent=1))
    return 0


def run_levers(a, table, base, first, second, pythons, everything) -> None:
    for lever in a.levers.split(","):
        variants = table[lever]
        rows: dict[str, list[dict]] = {v[0]: [] for v in variants}
        for _ in range(a.runs):
            for label, change, env, py in variants:
                settings = {**base, **{k: v for k, v in change.items() if k != "gguf"}}
                spec = {"gguf": change.get("gguf", str(a.gguf)), "settings": settings, "first": first,
                        "second": second, "n_new": N_NEW}
                rows[label].append(run_worker(pythons[py], spec, env))
                r = rows[label][-1]
                print(f"  {lever} / {label}: " + (r["error"] if "error" in r else
                      f"prefill {r['prefill_tps']:.1f}, decode {r['decode_tps']:.2f} tok/s, request "
                      f"{r['request_s']:.1f} s, follow-up {r['follow_up_s']:.2f} s, huge pages "
                      f"{r.get('anon_huge_mb', 0):.0f} MB"), file=sys.stderr, flush=True)
        everything[lever] = rows
        print(f"\n[{lever}]  {'prefill tok/s':>13s} {'decode tok/s':>12s} {'request s':>9s} {'follow-up s':>11s} "
              f"{'load s':>6s} {'CPU share':>9s}")
        for label, runs in rows.items():
            ok = [r for r in runs if "error" not in r]
            if len(ok) < len(runs):
                print(f"  {label}: {len(runs) - len(ok)} of {len(runs)} runs failed: "
                      f"{next(r['error'] for r in runs if 'error' in r)}")
            if not ok:
                continue
            med = {k: statistics.median(r[k] for r in ok) for k in ("prefill_tps", "decode_tps", "request_s",
                                                                   "follow_up_s", "load_s", "cpu_share")}
            print(f"  {label:44s} {med['prefill_tps']:8.1f} {med['decode_tps']:12.2f} {med['request_s']:9.2f} "
                  f"{med['follow_up_s']:11.3f} {med['load_s']:6.1f} {med['cpu_share']:9.0%}")
        sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
