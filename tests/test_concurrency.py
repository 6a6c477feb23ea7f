"""Concurrency toward servers: `radphi run --concurrency`, the runner's in-order writing,
the default taken from what a server advertises, and the Batch tab on the same path.

A fake slow OpenAI-compatible server on loopback (tests/fake_openai_server.py) sleeps
on each completion and counts the requests in flight.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx2
import pytest

from radphi import cli, records, runner
from radphi.backends import GenParams, Request
from radphi.backends.fake import FakeBackend
from radphi.backends.openai_api import OpenAIBackend
from radphi.errors import BackendUnavailable, InputError
from tests.fake_openai_server import SlowOpenAIServer, reply_for

TASK = "impression_prediction"
PARAMS = GenParams(max_new_tokens=16)


def findings_records(n: int, marker: dict[int, str] | None = None) -> list[dict]:
    marker = marker or {}
    return [{"id": f"r{i:02d}", "findings": f"Finding number {i}. {marker.get(i, '')}".strip()} for i in range(n)]


def write_input(path: Path, recs: list[dict]) -> Path:
    records.write_jsonl(path, recs)
    return path


def prompt_of(record: dict, task: str = TASK) -> str:
    fields = {k: v for k, v in record.items() if k != "id"}
    return Request.build(task, fields).prompt


def backend_for(server: SlowOpenAIServer, **kw) -> OpenAIBackend:
    return OpenAIBackend(f"openai:fake@{server.url}", max_retries=0, timeout=30, **kw)


def run(backend, inp: Path, out: Path, task: str = TASK, **kw) -> runner.RunSummary:
    return runner.run_file(task, backend, inp, out, name="fake", params=PARAMS, progress=False, **kw)


def cli_run(url: str, inp: Path, out: Path, *extra: str) -> tuple[int, float]:
    start = time.perf_counter()
    code = cli.main(["run", TASK, "--model", f"openai:fake@{url}", "--input", str(inp), "--output", str(out),
                     "--no-progress", "--max-new-tokens", "16", *extra])
    return code, time.perf_counter() - start


# ---------------------------------------------------------------- the test


def test_concurrency_32_keeps_16_in_flight_and_is_10x_faster_than_serial(tmp_path, capsys):
    recs = findings_records(64)
    inp = write_input(tmp_path / "in.jsonl", recs)
    with SlowOpenAIServer(delay=0.1) as server:
        code, serial = cli_run(server.url, inp, tmp_path / "serial.jsonl", "--concurrency", "1")
        assert code == 0 and server.max_in_flight == 1 and server.completions == 64
        server.reset_counts()
        code, concurrent = cli_run(server.url, inp, tmp_path / "concurrent.jsonl", "--concurrency", "32")
        assert code == 0 and server.completions == 64
        assert 16 <= server.max_in_flight <= 32
    assert serial / concurrent >= 10, f"serial {serial:.2f} s, --concurrency 32 {concurrent:.2f} s"
    assert "64 written, 0 already done, 0 failed (32 requests at a time)" in capsys.readouterr().err
    serial_out = records.read_jsonl(tmp_path / "serial.jsonl")
    concurrent_out = records.read_jsonl(tmp_path / "concurrent.jsonl")
    # In input order, each record with its own answer, the same as the serial run's.
    assert [r["id"] for r in concurrent_out] == [r["id"] for r in recs]
    assert [r["prediction"] for r in concurrent_out] == [reply_for(prompt_of(r)) for r in recs]
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]  # noqa: E731
    assert strip(concurrent_out) == strip(serial_out)


def test_default_toward_a_loopback_vllm_keeps_many_in_flight(tmp_path, capsys):
    recs = findings_records(64)
    inp = write_input(tmp_path / "in.jsonl", recs)
    with SlowOpenAIServer(delay=0.2, owned_by="vllm") as server:
        code, _ = cli_run(server.url, inp, tmp_path / "out.jsonl")
        assert code == 0
        assert server.max_in_flight >= 32  # 64 by default; the threads need a moment to start
    assert "(64 requests at a time)" in capsys.readouterr().err
    assert [r["id"] for r in records.read_jsonl(tmp_path / "out.jsonl")] == [r["id"] for r in recs]


def test_negative_concurrency_is_refused_in_one_line(tmp_path, capsys):
    inp = write_input(tmp_path / "in.jsonl", findings_records(1))
    assert cli.main(["run", TASK, "--model", "fake", "--input", str(inp), "--output", str(tmp_path / "o.jsonl"),
                     "--concurrency", "-2"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --concurrency must be 1 or more (0: decided from the model), not -2")


# ---------------------------------------------------------------- order, failures, resuming


def test_slow_early_records_hold_up_no_one_and_output_stays_in_order(tmp_path):
    recs = findings_records(40)
    slow = {prompt_of(r) for r in recs[:4]}
    inp = write_input(tmp_path / "in.jsonl", recs)
    with SlowOpenAIServer(delay=lambda p: 1.0 if p in slow else 0.02) as server:
        start = time.perf_counter()
        summary = run(backend_for(server), inp, tmp_path / "out.jsonl", concurrency=16)
        elapsed = time.perf_counter() - start
        finished = list(server.finished)
    assert summary.written == 40 and not summary.failed
    # The fast records were answered while the slow ones ran, not after them...
    assert set(finished[-4:]) == slow
    assert elapsed < 2.5  # serially: 4 x 1.0 s + 36 x 0.02 s
    # ...and yet the output is in input order.
    out = records.read_jsonl(tmp_path / "out.jsonl")
    assert [r["id"] for r in out] == [r["id"] for r in recs]
    assert [r["prediction"] for r in out] == [reply_for(prompt_of(r)) for r in recs]


def test_a_failing_record_is_reported_and_the_others_are_written(tmp_path):
    recs = [{"id": f"q{i}", "question": f"What does finding {i} suggest?"} for i in range(12)]
    recs[5]["question"] = "Why? " * 5000  # a question is never cut: too long for the context
    inp = write_input(tmp_path / "in.jsonl", recs)
    with SlowOpenAIServer(delay=0.05) as server:
        summary = run(backend_for(server), inp, tmp_path / "out.jsonl", task="radiology_qa", concurrency=8)
    assert summary.written == 11 and len(summary.failed) == 1
    assert f"{inp}:6: input too long" in summary.failed[0]
    assert [r["id"] for r in records.read_jsonl(tmp_path / "out.jsonl")] == [r["id"] for r in recs if r["id"] != "q5"]


def test_a_request_the_server_refuses_fails_that_record_only(tmp_path):
    recs = findings_records(20, marker={7: "OVERLONG"})
    inp = write_input(tmp_path / "in.jsonl", recs)
    with SlowOpenAIServer(delay=0.02, refused=("OVERLONG",)) as server:
        summary = run(backend_for(server), inp, tmp_path / "out.jsonl", concurrency=8)
    assert summary.written == 19 and len(summary.failed) == 1
    assert "refused this request (HTTP 400)" in summary.failed[0] and "maximum context length" in summary.failed[0]
    assert [r["id"] for r in records.read_jsonl(tmp_path / "out.jsonl")] == [f"r{i:02d}" for i in range(20) if i != 7]


def test_a_server_error_stops_the_run_keeps_what_finished_and_resumes(tmp_path):
    recs = findings_records(40, marker={10: "BROKEN"})
    inp = write_input(tmp_path / "in.jsonl", recs)
    out = tmp_path / "out.jsonl"
    with SlowOpenAIServer(delay=0.1, broken=("BROKEN",)) as server:
        backend = backend_for(server)
        with pytest.raises(BackendUnavailable, match="HTTP 503"):
            run(backend, inp, out, concurrency=8)
        first = [r["id"] for r in records.read_jsonl(out)]
        # Everything before the failure, and what was running beside it, in input order.
        assert first[:10] == [f"r{i:02d}" for i in range(10)]
        assert "r10" not in first and first == sorted(first) and len(first) < 40
        assert len(first) >= 12  # at least some that ran beside the broken one were kept
        server.broken = ()
        summary = run(backend, inp, out, concurrency=8)
    assert summary.skipped_done == len(first) and summary.written == 40 - len(first)
    final = records.read_jsonl(out)
    assert sorted(r["id"] for r in final) == [r["id"] for r in recs]
    by_id = {r["id"]: r for r in final}
    assert all(by_id[r["id"]]["prediction"] == reply_for(prompt_of(r)) for r in recs)


# ---------------------------------------------------------------- the default


@pytest.mark.parametrize("owned_by, total_slots, expected", [
    ("vllm", None, 64), ("sglang", None, 64), ("llamacpp", 6, 6), ("me", None, 1), ("llamacpp", 1, 1),
])
def test_default_follows_what_a_loopback_server_advertises(owned_by, total_slots, expected):
    with SlowOpenAIServer(owned_by=owned_by, total_slots=total_slots) as server:
        backend = backend_for(server)
        assert backend.batch_workers == expected
        assert runner.resolve_concurrency(backend) == expected
        asked = list(server.gets)
        assert backend.batch_workers == expected and server.gets == asked  # asked once


def test_explicit_concurrency_asks_the_server_nothing():
    with SlowOpenAIServer(owned_by="vllm") as server:
        assert runner.resolve_concurrency(backend_for(server), 5) == 5
        assert backend_for(server, batch_workers=3).batch_workers == 3
        assert server.gets == []


def test_remote_api_gets_a_few_at_a_time_without_being_asked():
    sent: list[str] = []

    def handle(request: httpx2.Request) -> httpx2.Response:
        sent.append(str(request.url))
        return httpx2.Response(500)

    backend = OpenAIBackend("openai-chat:gpt-4@https://api.example.com/v1", api_key="k",
                            http_client=httpx2.Client(transport=httpx2.MockTransport(handle)))
    assert backend.batch_workers == 4 and sent == []


def test_in_process_models_run_one_at_a_time():
    assert runner.resolve_concurrency(FakeBackend(), 8) == 1
    assert runner.resolve_concurrency(FakeBackend()) == 1
    with pytest.raises(InputError, match="1 or more"):
        runner.resolve_concurrency(FakeBackend(), -1)


# ---------------------------------------------------------------- the Batch tab


def test_batch_tab_runs_through_the_same_concurrent_path(tmp_path):
    from radphi.models_file import ModelEntry
    from radphi.ui import batch
    from radphi.ui.context import AppContext, ModelRegistry, UISettings

    recs = findings_records(24)
    upload = tmp_path / "upload.jsonl"
    upload.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    with SlowOpenAIServer(delay=0.2, owned_by="vllm") as server:
        entry = ModelEntry(name="vllm", spec=f"openai:fake@{server.url}")
        registry = ModelRegistry({"vllm": entry}, "vllm", loader=lambda e: backend_for(server))
        workdir = tmp_path / "work"
        workdir.mkdir(mode=0o700)
        ctx = AppContext(settings=UISettings(), backends=registry, workdir=workdir)
        path, summary = batch.run_batch(ctx, str(upload), TASK, "vllm", 16, 0.0, "token")
        assert server.max_in_flight >= 12
    rows = [json.loads(line) for line in Path(path).read_text().splitlines()]
    assert [r["id"] for r in rows] == [r["id"] for r in recs]
    assert [r["prediction"] for r in rows] == [reply_for(prompt_of(r)) for r in recs]
    assert "24 lines done (24 requests at a time)" in summary
