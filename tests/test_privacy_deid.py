"""What leaves the machine: the remote-API request body holds none of the identifiers of the
test reports, the opt-in gate is unchanged, and `radphi scrub` (same code) for people
preparing data to share."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx2
import pytest

from radphi import cli
from radphi.backends import GenParams
from radphi.backends.base import Request
from radphi.backends.openai_api import OpenAIBackend
from radphi.deid import libraries, scrub_text
from tests.deid_scoring import identifiers_left, load_set
from radphi.errors import RemoteNotAllowed

FIXTURES = Path(__file__).parent / "fixtures"
REPORTS = [r for r in load_set(FIXTURES / "deid_dev.jsonl") if r["form"] == "report"]


def _recording_backend(bodies: list[bytes], allow_remote):
    def respond(request: httpx2.Request) -> httpx2.Response:
        bodies.append(request.content)
        return httpx2.Response(200, json={
            "id": "c", "object": "chat.completion", "created": 0, "model": "gpt-4",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}})

    return OpenAIBackend("openai-chat:gpt-4@https://api.example.com/v1", api_key="k", allow_remote=allow_remote,
                         max_retries=0, http_client=httpx2.Client(transport=httpx2.MockTransport(respond)))


def test_remote_request_bodies_hold_none_of_the_identifiers(caplog):
    bodies: list[bytes] = []
    backend = _recording_backend(bodies, allow_remote=True)
    with caplog.at_level(logging.DEBUG):
        for record in REPORTS:
            backend.generate(Request.build("extract_impression", {"report": record["text"]}), GenParams())
    assert len(bodies) == len(REPORTS)
    for record, body in zip(REPORTS, bodies):
        sent = json.loads(body)["messages"][0]["content"]
        assert identifiers_left(record, sent) == [], record["id"]
        raw = body.decode("utf-8")
        for phi in record["phi"]:
            assert phi["text"] not in raw and json.dumps(phi["text"])[1:-1] not in raw, (record["id"], phi)
        for keep in record["keep"]:
            assert keep in sent, (record["id"], keep)
    # The log says how many of each kind, never what.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "PHI span(s) scrubbed (" in logged
    assert not any(phi["text"] in logged for record in REPORTS for phi in record["phi"] if len(phi["text"]) > 3)


def test_without_opt_in_nothing_is_sent_and_a_missing_library_sends_nothing(monkeypatch):
    monkeypatch.delenv("RADPHI_ALLOW_REMOTE", raising=False)
    bodies: list[bytes] = []
    request = Request.build("extract_impression", {"report": REPORTS[0]["text"]})
    with pytest.raises(RemoteNotAllowed, match="--allow-remote"):
        _recording_backend(bodies, allow_remote=None).generate(request, GenParams())

    def missing():
        raise libraries.LibraryMissing("the de-identification library presidio-analyzer is not installed")

    monkeypatch.setattr(libraries, "presidio_recognizers", missing)
    with pytest.raises(libraries.LibraryMissing):
        _recording_backend(bodies, allow_remote=True).generate(request, GenParams())
    assert bodies == []


def test_scrub_command_line_by_line_from_a_file_and_stdin(tmp_path, capsys, monkeypatch):
    lines = [r["text"] for r in load_set(FIXTURES / "deid_dev.jsonl") if r["form"] == "string"][:40]
    src = tmp_path / "notes.txt"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli.main(["scrub", str(src)]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines() == [scrub_text(line) for line in lines] and out.err == ""
    monkeypatch.setattr("sys.stdin", open(src, encoding="utf-8"))
    assert cli.main(["scrub", "-", "--report"]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines() == [scrub_text(line) for line in lines]
    assert out.err.startswith("scrubbed 40 lines: ") and "NAME " in out.err and "Smith" not in out.err


def test_scrub_command_jsonl_fields_and_report(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    records = [{"id": "a", "report": "Seen by Dr. Smith on 4-Mar-2021.", "note": ["MRN 00482913", 3],
                "reference": "Dr. Smith"},
               {"id": "b", "report": "Small left effusion, 2.5 cm.", "meta": {"k": 1}}]
    src.write_text("".join(json.dumps(r) + "\n" for r in records) + "\n", encoding="utf-8")
    assert cli.main(["scrub", str(src), "--jsonl", "report", "note", "--report"]) == 0
    out = capsys.readouterr()
    got = [json.loads(line) for line in out.out.splitlines()]
    assert got[0] == {"id": "a", "report": "Seen by Dr. [NAME] on [DATE].", "note": ["MRN [ID]", 3],
                      "reference": "Dr. Smith"}  # only the named fields
    assert got[1] == records[1]
    assert out.err.strip() == "scrubbed 2 records: 3 identifier(s) replaced (NAME 1, DATE 1, ID 1)"


@pytest.mark.parametrize("content, message", [
    ('{"report": "Dr. Smith"}\n[1, 2]\n', "in.jsonl:2: a JSON object is needed, got list"),
    ('{"report": "Dr. Smith"\n', "in.jsonl:1: not JSON"),
])
def test_scrub_command_stops_on_a_bad_record_without_passing_it_on(tmp_path, capsys, content, message):
    src = tmp_path / "in.jsonl"
    src.write_text(content, encoding="utf-8")
    assert cli.main(["scrub", str(src), "--jsonl", "report"]) == 2
    out = capsys.readouterr()
    assert message in out.err and "Traceback" not in out.err
    assert "Smith" not in out.out


def test_scrub_command_bad_input_gets_one_line(tmp_path, capsys):
    assert cli.main(["scrub", str(tmp_path / "missing.txt")]) == 2
    assert capsys.readouterr().err.strip() == f"error: input file not found: {tmp_path / 'missing.txt'}"
    binary = tmp_path / "b.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert cli.main(["scrub", str(binary)]) == 2
    assert "is not UTF-8 text" in capsys.readouterr().err
