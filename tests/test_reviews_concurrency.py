"""The review store under load and under a crash, with real processes:

- 20 processes each submit 50 reviews at the same moment: exactly 1,000 land, none lost
  or duplicated, and the 100 of them that all revise one shared review get the versions
  1..100 with no gap or repeat.
- A writer killed with SIGKILL in the middle of a stream of reviews loses none that it
  had been told were committed, and `PRAGMA integrity_check` is ok.

The figures (wall time, reviews per second, latency percentiles) are printed: run with
`pytest tests/test_reviews_concurrency.py -s` to see them. Nothing asserts on time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from radphi.review import ErrorCategory, ReviewDraft, ReviewStore

ROOT = Path(__file__).resolve().parent.parent
PROCESSES, PER_PROCESS = 20, 50
SHARED_EVERY = 10  # every 10th review of each process revises the one shared review

WORKER = r"""
import json, sys, time
from pathlib import Path
from radphi.review import ErrorCategory, ReviewDraft, ReviewStore
db, worker, n, every, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
store = ReviewStore(db)
items = [i.id for i in store.items("load")]
while not go.exists():
    time.sleep(0.002)
start, latencies = time.perf_counter(), []
for k in range(n):
    shared = k % every == 0
    t = time.perf_counter()
    store.submit(ReviewDraft(item_id=items[0] if shared else items[1 + (worker * n + k) % (len(items) - 1)],
                             reviewer="shared" if shared else f"r{worker}", authenticated=True,
                             counts={ErrorCategory.MISSED_FINDING: (k % 3, 1)}, comment=f"w{worker} k{k}",
                             uid=f"w{worker}-k{k}"))
    latencies.append(time.perf_counter() - t)
print(json.dumps({"start": start, "end": time.perf_counter(), "latencies": latencies}))
"""

CRASHER = r"""
import sys
from radphi.review import ErrorCategory, ReviewDraft, ReviewStore
store = ReviewStore(sys.argv[1])
items = [i.id for i in store.items("load")]
k = 0
while True:
    uid = f"crash-{k}"
    store.submit(ReviewDraft(item_id=items[k % len(items)], reviewer="crasher", authenticated=True,
                             counts={ErrorCategory.SEVERITY: (1, 0)}, comment="x" * 2000, uid=uid))
    print(uid, flush=True)  # only after the commit returned
    k += 1
"""


def _store_with_items(path: Path, n: int = 200) -> ReviewStore:
    store = ReviewStore(path)
    store.import_records("load", ((str(i), {"id": f"c{i}", "task": "impression_prediction", "findings": f"F{i}",
                                            "prediction": f"P{i}", "model": "m"}) for i in range(n)), actor="test")
    return store


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_twenty_processes_fifty_reviews_each_land_exactly_once(tmp_path):
    db = tmp_path / "reviews.db"
    store = _store_with_items(db)
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(db), str(w), str(PER_PROCESS), str(SHARED_EVERY),
                               str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
             for w in range(PROCESSES)]
    time.sleep(0.5)  # let them all start and wait at the line
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    total = PROCESSES * PER_PROCESS
    assert store.counts()["reviews"] == total
    with store._read() as conn:
        uids = [r[0] for r in conn.execute("SELECT uid FROM reviews")]
        shared = [r[0] for r in conn.execute("SELECT version FROM reviews WHERE reviewer = 'shared' ORDER BY version")]
        comments = {r[0] for r in conn.execute("SELECT comment FROM reviews")}
    assert sorted(uids) == sorted(f"w{w}-k{k}" for w in range(PROCESSES) for k in range(PER_PROCESS))
    assert shared == list(range(1, PROCESSES * PER_PROCESS // SHARED_EVERY + 1))
    assert len(comments) == total
    assert len(store.audit_log(action="review")) == total
    assert store.integrity_check() == "ok"
    report = store.verify()  # 20 writers interleaved: the ledger still chains every row
    assert report.ok, report.problems[:3]

    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    lat = np.array([x for r in results for x in r["latencies"]]) * 1000
    print(f"\n{PROCESSES} processes x {PER_PROCESS} reviews: {total} in {wall:.2f} s = {total / wall:.0f} reviews/s; "
          f"latency p50 {np.percentile(lat, 50):.1f} ms, p95 {np.percentile(lat, 95):.1f} ms, "
          f"p99 {np.percentile(lat, 99):.1f} ms, max {lat.max():.1f} ms")


def test_sigkill_mid_stream_loses_no_committed_review(tmp_path):
    db = tmp_path / "reviews.db"
    store = _store_with_items(db, 20)
    proc = subprocess.Popen([sys.executable, "-c", CRASHER, str(db)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())
    confirmed: list[str] = []
    deadline = time.monotonic() + 120
    while len(confirmed) < 40 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        confirmed.append(line.strip())
    os.kill(proc.pid, signal.SIGKILL)  # mid-stream: the next review is being written
    rest, _ = proc.communicate(timeout=30)
    confirmed += rest.split()
    assert proc.returncode == -signal.SIGKILL
    assert store.integrity_check() == "ok"
    with store._read() as conn:
        stored = {r[0] for r in conn.execute("SELECT uid FROM reviews")}
        orphans = conn.execute("SELECT COUNT(*) FROM review_errors e LEFT JOIN reviews r ON r.id = e.review_id "
                               "WHERE r.id IS NULL").fetchone()[0]
    assert set(confirmed) <= stored, "a review reported as committed was lost"
    assert len(stored) - len(confirmed) <= 1  # at most the one in flight, and then whole
    assert orphans == 0
    # Every stored review is whole: its four category rows are there.
    assert all(len(r.counts) == 4 for r in store.latest("load"))
    # The store keeps working after the crash.
    after = store.submit(ReviewDraft(item_id=store.items("load")[0].id, reviewer="after", authenticated=True,
                                     counts={ErrorCategory.POSITION: (0, 1)}))
    assert after.version == 1 and store.integrity_check() == "ok"
    report = store.verify()  # the killed write left no half-chained row
    assert report.ok, report.problems[:3]
