"""De-identification bench: recall per identifier kind, clinical text removed, and speed.

    python bench/bench_deid.py                 # dev set and held-out set, every scrubber
    python bench/bench_deid.py --show combined # also list what the combined scrubber missed/removed

Scrubbers compared:
- today: the rules radphi used before radphi.deid (radphi/reports.py at commit a738501, read
  from git so no copy of them stays in the code; "___" for every identifier),
- presidio, philter: each library alone (offline pattern recognizers / regex filters),
- rules: radphi.deid.rules alone,
- combined (what radphi ships, radphi.deid.scrub): presidio, then the rules,
- philter+rules and presidio+philter+rules.

The held-out set was written before the rules, in other wording: its figures are the
honest estimate. Speed is records per second over the dev set (and over its whole reports)
repeated, in one process, after a warm-up (the libraries load once per process: about 1.5 s).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from radphi.deid import find_spans, scrub  # noqa: E402
from tests.deid_scoring import load_set, score  # noqa: E402
from radphi.deid.spans import replace  # noqa: E402

TODAY_COMMIT = "a738501"
KIND_ORDER = ("NAME", "DATE", "TIME", "AGE", "PHONE", "EMAIL", "URL", "IP", "ID", "SERIAL", "SSN", "ADDRESS")


def today_scrubber():
    """The pre-radphi.deid scrubber, loaded from git history; None where git cannot give it."""
    try:
        source = subprocess.run(["git", "show", f"{TODAY_COMMIT}:radphi/reports.py"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("reports_today")
    exec(compile(source, f"{TODAY_COMMIT}:radphi/reports.py", "exec"), module.__dict__)
    return lambda text: module.scrub_phi_counted(text)[0]


def _spans_scrubber(libraries, use_rules):
    return lambda text: replace(text, find_spans(text, libraries, use_rules))[0]


def scrubbers() -> dict:
    out = {}
    today = today_scrubber()
    if today is not None:
        out["today"] = today
    out.update({
        "presidio": _spans_scrubber(("presidio",), False),
        "philter": _spans_scrubber(("philter",), False),
        "rules": _spans_scrubber((), True),
        "combined": lambda text: scrub(text).text,
        "philter+rules": _spans_scrubber(("philter",), True),
        "presidio+philter+rules": _spans_scrubber(("presidio", "philter"), True),
    })
    return out


def table(title: str, records: list[dict], fns: dict) -> dict:
    scores = {name: score(records, fn) for name, fn in fns.items()}
    first = next(iter(scores.values()))
    kinds = [k for k in KIND_ORDER if first.identifiers[k]] + sorted(set(first.identifiers) - set(KIND_ORDER))
    width = max(len(n) for n in fns) + 2
    print(f"\n{title}: {len(records)} records, {sum(first.identifiers.values())} identifiers, "
          f"{first.clinical} clinical strings")
    print("recall per kind (identifiers removed / identifiers)")
    print(" " * width + "".join(f"{k:>9s}" for k in kinds) + f"{'ALL':>9s}{'left':>6s}")
    print(" " * width + "".join(f"{'n=' + str(first.identifiers[k]):>9s}" for k in kinds))
    for name, s in scores.items():
        print(f"{name:{width}s}" + "".join(f"{s.recall(k):9.2f}" for k in kinds)
              + f"{s.recall():9.3f}{sum(s.left.values()):6d}")
    print("clinical text: strings removed (over-scrubbing), precision = kept / all")
    for name, s in scores.items():
        print(f"{name:{width}s}removed {s.removed:3d} of {s.clinical}   precision {s.clinical_precision:.3f}")
    return scores


def speed(label: str, records: list[dict], fns: dict, repeat: int) -> None:
    texts = [r["text"] for r in records] * repeat
    chars = sum(len(t) for t in texts)
    print(f"\nspeed, {label}: {len(texts)} records ({chars / len(texts):.0f} characters on average), one process")
    for name, fn in fns.items():
        fn(texts[0])  # warm-up: library loading is not per record
        start = time.perf_counter()
        for text in texts:
            fn(text)
        seconds = time.perf_counter() - start
        print(f"  {name:24s}{len(texts) / seconds:9.0f} records/s  {chars / seconds / 1e3:8.0f} k chars/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=ROOT / "tests/fixtures/deid_dev.jsonl")
    parser.add_argument("--heldout", type=Path, default=ROOT / "tests/fixtures/deid_heldout.jsonl")
    parser.add_argument("--repeat", type=int, default=5, help="passes over the dev set for the speed figure")
    parser.add_argument("--show", metavar="SCRUBBER", help="list the misses and removals of one scrubber")
    args = parser.parse_args(argv)
    fns = scrubbers()
    if "today" not in fns:
        print(f"(today's rules skipped: git show {TODAY_COMMIT} failed; run from a clone)")
    results = {}
    for title, path in (("DEV SET", args.dev), ("HELD-OUT SET", args.heldout)):
        results[title] = table(title, load_set(path), fns)
    dev = load_set(args.dev)
    speed("dev strings and reports", dev, fns, args.repeat)
    speed("whole reports", [r for r in dev if r["form"] == "report"], fns, args.repeat * 5)
    if args.show:
        for title, scores in results.items():
            s = scores[args.show]
            print(f"\n{args.show} on the {title.lower()}:")
            for rid, kind, text in s.misses:
                print(f"  left    {rid} {kind:8s} {text!r}")
            for rid, text in s.over:
                print(f"  removed {rid} {text!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
