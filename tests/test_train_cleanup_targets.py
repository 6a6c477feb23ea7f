"""The cleanup-target writer: resumable, through any SPEC; toward a non-loopback server
only with the explicit opt-in, PHI-scrubbed, after the MIMIC-CXR data-use warning."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx2
import pytest

from radphi.backends.fake import FakeBackend
from radphi.backends.openai_api import OpenAIBackend
from radphi.errors import RemoteNotAllowed
from radphi.records import read_jsonl
from radphi.training import cleanup_targets as ct

F = Path(__file__).parent / "fixtures" / "train"
REPORTS = str(F / "mimic-cxr-reports")
SPLIT_CSV = str(F / "mimic-cxr-2.0.0-split.csv")


def test_mimic_sections_are_the_inputs_with_their_split():
    items = {i["id"]: i for i in ct.mimic_sections(REPORTS, SPLIT_CSV)}
    assert items["50414267-findings"]["text"].startswith("The right lower lobe opacity has improved.")
    assert items["56699142-impression"]["split"] == "test"
    assert items["51029426-impression"]["meta"] == {"study_id": "51029426", "section": "impression",
                                                    "dataset": "mimic_cxr"}
    assert "51029426-findings" not in items  # no findings section


def test_writer_resumes_without_duplicates(tmp_path: Path):
    out = tmp_path / "pairs.jsonl"
    items = list(ct.mimic_sections(REPORTS, SPLIT_CSV))
    first = FakeBackend("fake", answers=["Clean one.", "Clean two."])
    # A run that stops after two answers: the fake then answers nothing, which counts as failed.
    counts = ct.write_cleanup_targets(items, out, spec="fake", backend=FakeBackend("fake:"))
    assert counts["written"] == 0 and counts["failed"] == len(items)
    counts = ct.write_cleanup_targets(items[:2], out, spec="fake", backend=first)
    assert counts == {"written": 2, "skipped_done": 0, "failed": 0}
    rest = FakeBackend("fake:Clean rest.")
    counts = ct.write_cleanup_targets(items, out, spec="fake", backend=rest)
    assert counts == {"written": len(items) - 2, "skipped_done": 2, "failed": 0}
    assert len(rest.requests) == len(items) - 2  # the done ones were not asked again
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [i["id"] for i in items]
    assert rows[0]["reference"] == "Clean one." and rows[-1]["reference"] == "Clean rest."
    assert rows[0]["task"] == "cleanup_report_text" and rows[0]["meta"]["target_model"] == "fake"
    assert rest.requests[0].task == "cleanup_report_text" and rest.requests[0].fields["text"] == items[2]["text"]
    # The pairs are what the cleanup loader reads.
    from radphi.training.loaders import load_source

    loaded = load_source({"loader": "cleanup", "path": str(out), "split_csv": SPLIT_CSV})
    assert len(loaded) == len(items) and {r["split"] for r in loaded} == {"train", "validation", "test"}


def test_remote_server_refused_without_opt_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("RADPHI_ALLOW_REMOTE", raising=False)
    sent: list = []
    client = httpx2.Client(transport=httpx2.MockTransport(lambda r: sent.append(r) or httpx2.Response(500)))
    backend = OpenAIBackend("openai-chat:gpt-4@https://api.example.com/v1", http_client=client, max_retries=0)
    with pytest.raises(RemoteNotAllowed, match="data-use agreement"):
        ct.write_cleanup_targets([{"id": "a", "text": "Seen by Dr. Smith."}], tmp_path / "o.jsonl",
                                 spec=backend.spec, backend=backend)
    assert sent == [] and not (tmp_path / "o.jsonl").exists()
    rc = ct.cli(["--model", "openai-chat:gpt-4@https://api.example.com/v1", "--reports", REPORTS,
                 "--out", str(tmp_path / "cli.jsonl")])
    assert rc == 2 and not (tmp_path / "cli.jsonl").exists()


def test_remote_with_opt_in_warns_and_sends_scrubbed_text(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.WARNING)
    bodies: list[dict] = []

    def respond(request: httpx2.Request) -> httpx2.Response:
        bodies.append(json.loads(request.content))
        return httpx2.Response(200, json={
            "id": "c1", "object": "chat.completion", "created": 0, "model": "gpt-4",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Effusion."}}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}})

    client = httpx2.Client(transport=httpx2.MockTransport(respond))
    backend = OpenAIBackend("openai-chat:gpt-4@https://api.example.com/v1", http_client=client, max_retries=0,
                            allow_remote=True, api_key="sk-test")
    counts = ct.write_cleanup_targets([{"id": "a", "text": "Effusion, discussed with Dr. Smith on 01/02/2020."}],
                                      tmp_path / "o.jsonl", spec=backend.spec, backend=backend, allow_remote=True)
    assert counts["written"] == 1
    assert "data-use agreement" in caplog.text and "api.example.com" in caplog.text
    sent = bodies[0]["messages"][0]["content"]
    assert "Smith" not in sent and "01/02/2020" not in sent and "Dr. [NAME]" in sent
    assert read_jsonl(tmp_path / "o.jsonl")[0]["reference"] == "Effusion."


def test_loopback_server_needs_no_opt_in():
    backend = OpenAIBackend("openai:tiny@http://127.0.0.1:9/v1")
    assert ct.check_destination(backend, allow_remote=False) is False
    assert ct.check_destination(FakeBackend(), allow_remote=False) is False


def test_jsonl_inputs_of_another_task_are_cleaned_through_the_runner(tmp_path: Path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "r1", "task": "extract_findings", "text": "Effusion, increased."}) + "\n"
                   + json.dumps({"id": "r2", "text": "  "}) + "\n" + json.dumps({"text": "Atelectasis."}) + "\n")
    backend = FakeBackend("fake", answers=["Effusion.", ""])
    counts = ct.write_cleanup_targets(ct.jsonl_inputs(str(src)), tmp_path / "o.jsonl", spec="fake", backend=backend)
    # r2 has no text; the third line's empty answer is not written, so a rerun asks again.
    assert counts == {"written": 1, "skipped_done": 0, "failed": 1}
    rows = read_jsonl(tmp_path / "o.jsonl")
    assert [(r["id"], r["task"], r["reference"]) for r in rows] == [("r1", "cleanup_report_text", "Effusion.")]
    again = ct.write_cleanup_targets(ct.jsonl_inputs(str(src)), tmp_path / "o.jsonl", spec="fake",
                                     backend=FakeBackend("fake:Atelectasis."))
    assert again == {"written": 1, "skipped_done": 1, "failed": 0}
