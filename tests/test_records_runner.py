"""JSONL records and `radphi run`'s runner, on the fake backend."""

from __future__ import annotations

import json

import pytest

from radphi import records, runner
from radphi.backends import GenParams
from radphi.backends.fake import FakeBackend
from radphi.errors import BackendUnavailable


def write_lines(path, lines: list[bytes]) -> None:
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_bad_lines_are_reported_with_numbers(tmp_path):
    p = tmp_path / "in.jsonl"
    write_lines(p, [
        json.dumps({"id": "a", "findings": "x"}).encode(),
        b'{"id": "b", "findings": "caf\xe9"}',  # latin-1, not UTF-8
        b"not json",
        b"[1, 2]",
        b"",
        json.dumps({"id": "c", "findings": "y"}).encode(),
    ])
    errors: list[records.BadLine] = []
    got = records.read_jsonl(p, errors)
    assert [r["id"] for r in got] == ["a", "c"]
    assert [(e.line, e.reason.split(" (")[0]) for e in errors] == [
        (2, "not UTF-8 text"), (3, "not valid JSON"), (4, "expected a JSON object, got list")]


def _run(tmp_path, backend, inp, **kw):
    out = tmp_path / "out.jsonl"
    summary = runner.run_file("impression_prediction", backend, inp, out, name="m", params=GenParams(max_new_tokens=50),
                              progress=False, **kw)
    return summary, records.read_jsonl(out)


def test_run_writes_the_record_shape_and_passes_unknown_keys(tmp_path):
    inp = tmp_path / "in.jsonl"
    records.write_jsonl(inp, [
        {"id": "1", "findings": "Small left effusion.", "reference": "Effusion.", "meta": {"system": "chest"}, "x": 1},
    ])
    backend = FakeBackend(answers=["Small left pleural effusion."])
    summary, out = _run(tmp_path, backend, inp)
    assert summary.written == 1 and not summary.failed
    rec = out[0]
    assert rec["prediction"] == "Small left pleural effusion."
    assert rec["parsed"] == "Small left pleural effusion."
    assert rec["task"] == "impression_prediction" and rec["model"] == "m"
    assert rec["x"] == 1 and rec["meta"] == {"system": "chest"} and rec["reference"] == "Effusion."
    assert rec["model_info"]["format"] == "token" and rec["model_info"]["decoding"]["temperature"] == 0.0
    assert rec["prompt_tokens"] > 0 and rec["completion_tokens"] == 4 and rec["seconds"] >= 0
    assert backend.requests[0].prompt.startswith("<instruct>Given the findings")


def test_run_is_resumable_and_bad_records_do_not_stop_it(tmp_path):
    inp = tmp_path / "in.jsonl"
    write_lines(inp, [
        json.dumps({"id": "1", "findings": "a"}).encode(),
        json.dumps({"id": "2", "findings": ""}).encode(),  # empty field
        b"\xff\xfe",                                         # not UTF-8
        json.dumps({"id": "3", "findings": "c"}).encode(),
        json.dumps({"id": "4", "task": "abnormality_labels", "report": "r"}).encode(),
    ])
    backend = FakeBackend("fake:ok")
    summary, out = _run(tmp_path, backend, inp)
    assert [r["id"] for r in out] == ["1", "3"]
    assert len(summary.failed) == 3
    assert any(":2: impression_prediction: empty or missing input field(s): findings" in m for m in summary.failed)
    assert any(":3: not UTF-8" in m for m in summary.failed)
    assert any(":5: record is for task 'abnormality_labels'" in m for m in summary.failed)
    # Second run: nothing new to do.
    summary2, out2 = _run(tmp_path, backend, inp)
    assert summary2.written == 0 and summary2.skipped_done == 2 and len(out2) == 2


def test_batches_give_the_same_output_as_single(tmp_path):
    inp = tmp_path / "in.jsonl"
    records.write_jsonl(inp, [{"id": str(i), "findings": f"finding {i}"} for i in range(5)])
    s1, out1 = _run(tmp_path, FakeBackend(), inp, batch_size=2)
    assert [r["prediction"] for r in out1] == [
        f"echo: Given the findings from a radiology report: finding {i} Based on the above findings from a radiology "
        "report, write an impression." for i in range(5)]


class DownBackend(FakeBackend):
    def generate(self, request, params):
        raise BackendUnavailable("could not reach the model server at http://127.0.0.1:9/v1")


def test_server_down_stops_the_run_clearly(tmp_path):
    inp = tmp_path / "in.jsonl"
    records.write_jsonl(inp, [{"id": "1", "findings": "a"}])
    with pytest.raises(BackendUnavailable, match="could not reach"):
        _run(tmp_path, DownBackend(), inp)
