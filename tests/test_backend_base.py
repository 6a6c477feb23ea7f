"""Shared backend machinery: stop strings in streams, fitting prompts to the context, specs."""

from __future__ import annotations

import pytest

from radphi.backends import GenParams, Request, backend_kind, fit_request, load_backend
from radphi.backends.base import StopScanner
from radphi.backends.fake import FakeBackend
from radphi.errors import InputError, ModelLoadError


def feed_all(stops, pieces):
    sc = StopScanner(stops)
    out = "".join(sc.feed(p) for p in pieces) + sc.flush()
    return out, sc.stopped


def test_stop_scanner_across_pieces():
    assert feed_all(("<|endoftext|>",), ["No acute", " process.<|endo", "ftext|> junk"]) == ("No acute process.", True)
    assert feed_all(("\nInstruct:",), ["a\nIns", "tr", "uct: more"]) == ("a", True)
    assert feed_all(("<instruct>",), ["a <in", "put> b"]) == ("a <input> b", False)
    assert feed_all((), ["x", "y"]) == ("xy", False)


def test_fake_stream_stops_at_format_stop_string():
    backend = FakeBackend(answers=["Small effusion. <|endoftext|> trailing"])
    req = Request.build("impression_prediction", {"findings": "x"})
    stream = backend.stream(req, GenParams())
    assert stream.text() == "Small effusion. "
    assert stream.generation.finish_reason == "stop"


def words(text: str) -> int:
    return len(text.split())


def test_fit_request_cuts_the_report_middle_and_keeps_the_question():
    report = "HEAD " + "middle " * 500 + "TAIL"
    req = Request.build("qa_comprehension", {"report": report, "question": "Is there an effusion?"})
    fitted = fit_request(req, GenParams(max_new_tokens=50), 300, words)
    assert fitted.truncated
    assert words(fitted.prompt) <= 250
    assert fitted.fields["report"].startswith("HEAD") and fitted.fields["report"].endswith("TAIL")
    assert "[...]" in fitted.fields["report"]
    assert fitted.fields["question"] == "Is there an effusion?"
    assert fitted.prompt.endswith("Question: Is there an effusion?\n<output>")


def test_fit_request_refuses_when_nothing_can_be_cut():
    req = Request.build("radiology_qa", {"question": "why " * 400})
    with pytest.raises(InputError, match="context holds 300 tokens"):
        fit_request(req, GenParams(max_new_tokens=50), 300, words)


def test_fit_request_leaves_short_prompts_alone():
    req = Request.build("extract_findings", {"report": "short"})
    assert fit_request(req, GenParams(), 2048, words) is req


def test_backend_kinds():
    assert backend_kind("m/model.Q4_K_M.gguf") == "llamacpp"
    assert backend_kind("openai:rad-phi2@http://127.0.0.1:8000/v1") == "openai_api"
    assert backend_kind("openai-chat:gpt-4@https://api.example.com/v1") == "openai_api"
    assert backend_kind("microsoft/phi-2") == "hf"
    assert backend_kind("fake:hello") == "fake"
    with pytest.raises(ModelLoadError, match="empty model SPEC"):
        backend_kind("  ")


def test_missing_gguf_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="model file not found"):
        load_backend(str(tmp_path / "nope.gguf"))


def test_load_backend_shares_one_instance():
    assert load_backend("fake:x") is load_backend("fake:x")
    assert load_backend("fake:x") is not load_backend("fake:y")
