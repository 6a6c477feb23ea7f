"""The workbench's handlers as plain functions, against FakeBackend (no server, no browser):
streaming and the latency line, input checks, errors in the page, Stop on the model's
own thread, label chips and comparison colours with escaping, the batch tab, the
PHI rule for remote models, logs without patient text, auth and the host rule."""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
import time
from pathlib import Path

import httpx2
import pytest

from radphi.backends import Generation, Stream
from radphi.backends.fake import FakeBackend
from radphi.backends.openai_api import OpenAIBackend
from radphi.models_file import ModelEntry
from radphi.ui import auth, batch, compare, impression, labels_tab, qa, report_tools, server
from radphi.ui.context import AppContext, ModelRegistry, UISettings, registry_from_settings
from radphi.ui.render import esc, label_chips, latency_text
from radphi.ui.server import host_problem
from radphi.ui.server import main as server_main

PAYLOAD = "<img src=x onerror=alert(1)> ${alert(2)} {{constructor}} <script>alert(3)</script>"
REPORT = ("EXAMINATION: Chest PA.\nFINDINGS: Small left pleural effusion. Endotracheal tube 4 cm above the "
          "carina. Zebrafinding.\nIMPRESSION: Small effusion.")
GEN = (64, 0.0, "token")  # max new tokens, temperature, format


def make_ctx(tmp_path: Path, backends: dict, *, max_chars: int = 20_000,
             allow_remote: dict | None = None) -> AppContext:
    entries = {name: ModelEntry(name=name, spec=f"fake:{name}", allow_remote=(allow_remote or {}).get(name, False))
               for name in backends}
    registry = ModelRegistry(entries, next(iter(backends)), loader=lambda e: backends[e.name])
    workdir = tmp_path / "work"
    workdir.mkdir(mode=0o700)
    return AppContext(settings=UISettings(max_chars=max_chars), backends=registry, workdir=workdir)


def last(gen):
    out = None
    for out in gen:
        pass
    return out


# ---------------------------------------------------------------- the text tabs

def test_qa_streams_the_answer_and_keeps_the_system_as_metadata_only(tmp_path):
    fake = FakeBackend(answers=["A pneumothorax is air in the pleural space."])
    ctx = make_ctx(tmp_path, {"m": fake})
    steps = list(qa.answer(ctx, "What is a pneumothorax?", "cardiac", "m", *GEN))
    assert len(steps) >= 2  # streamed: partial text before the end
    texts = [s[0] for s in steps]
    assert texts[-1] == "A pneumothorax is air in the pleural space."
    assert all(texts[-1].startswith(t) for t in texts)
    status, record = steps[-1][1], steps[-1][2]
    assert "tok/s" in status or "answer tokens" in status
    assert record["meta"] == {"system": "cardiac"} and record["prediction"] == texts[-1]
    assert record["model"] == "m" and record["model_info"]["format"] == "token"
    assert "cardiac" not in fake.requests[-1].prompt  # metadata, never prompt


def test_impression_finds_the_findings_section_of_a_pasted_report(tmp_path):
    fake = FakeBackend(answers=["Small left effusion."])
    ctx = make_ctx(tmp_path, {"m": fake})
    used, draft, status, _ = last(impression.draft(ctx, REPORT, "m", *GEN))
    assert used == "Small left pleural effusion. Endotracheal tube 4 cm above the carina. Zebrafinding."
    assert draft == "Small left effusion."
    assert "FINDINGS section" in status
    prompt = fake.requests[-1].prompt
    assert "Zebrafinding" in prompt and "Chest PA" not in prompt and "Small effusion." not in prompt


def test_impression_without_findings_says_so(tmp_path):
    ctx = make_ctx(tmp_path, {"m": FakeBackend()})
    _, draft, status, _ = last(impression.draft(ctx, "IMPRESSION: Normal chest.", "m", *GEN))
    assert draft == "" and "No FINDINGS section" in status and "rp-error" in status


@pytest.mark.parametrize("call", [
    lambda ctx, text: qa.answer(ctx, text, None, "m", *GEN),
    lambda ctx, text: impression.draft(ctx, text, "m", *GEN),
    lambda ctx, text: labels_tab.tag(ctx, text, "m", *GEN),
    lambda ctx, text: compare.compare(ctx, text, "prior report", "m", *GEN),
    lambda ctx, text: report_tools.run_tool(ctx, "cleanup", text, "", "m", *GEN),
])
def test_every_tab_refuses_empty_and_oversized_input_with_the_limit(tmp_path, call):
    fake = FakeBackend()
    ctx = make_ctx(tmp_path, {"m": fake}, max_chars=100)
    empty = " ".join(str(x) for x in last(call(ctx, "   ")))
    assert "is empty: type or paste some text first" in empty and "rp-error" in empty
    over = last(call(ctx, "x" * 101))
    message = " ".join(str(x) for x in over)
    assert "101 characters" in message and "limit is 100 characters" in message
    assert fake.requests == []  # nothing reached the model


def test_no_model_configured_says_how_to_pass_one(tmp_path, monkeypatch):
    monkeypatch.delenv("RADPHI_MODEL", raising=False)
    monkeypatch.setattr("radphi.settings.default_model_spec", lambda: None)
    registry = registry_from_settings(UISettings())
    assert registry.names() == [] and registry.default is None
    ctx = AppContext(settings=UISettings(), backends=registry, workdir=tmp_path)
    _, _, status, _ = last(impression.draft(ctx, "Small effusion.", None, *GEN))
    assert "No model is configured" in status and "python app.py --model path/to/model.gguf" in status


def test_missing_model_file_is_an_error_in_the_page(tmp_path):
    registry = registry_from_settings(UISettings(models=[str(tmp_path / "gone.gguf")]))
    ctx = AppContext(settings=UISettings(), backends=registry, workdir=tmp_path)
    assert registry.names() == ["gone"]
    answer, status, _, _ = last(qa.answer(ctx, "What is an effusion?", None, "gone", *GEN))
    assert answer == "" and "model file not found" in status and "rp-error" in status
    from radphi.ui.common import model_info
    assert "model file not found" in model_info(ctx, "gone")


def test_models_are_named_by_stem_and_the_models_file_is_read(tmp_path):
    (tmp_path / "a.gguf").write_bytes(b"x")
    (tmp_path / "models.toml").write_text(
        '[models.demo]\nspec = "fake:hello"\n[models.gpt]\nspec = "openai-chat:gpt-4@https://api.example.com/v1"\n'
        'allow_remote = true\n')
    reg = registry_from_settings(UISettings(models=[str(tmp_path / "a.gguf"), "/x/a.gguf"],
                                            models_file=tmp_path / "models.toml"))
    assert reg.names() == ["a", "a-2", "demo", "gpt"] and reg.default == "a"
    assert reg.destination("gpt") == {"remote": True, "remote_allowed": True, "url": "https://api.example.com/v1"}
    assert reg.destination("demo")["remote"] is False
    only_file = registry_from_settings(UISettings(models_file=tmp_path / "models.toml"))
    assert only_file.default == "demo"


def test_report_tools_run_their_tasks_and_the_question_follows_the_report(tmp_path):
    fake = FakeBackend(answers=["a"])
    ctx = make_ctx(tmp_path, {"m": fake})
    outs = [last(report_tools.run_tool(ctx, tool, REPORT, "Which side?", "m", *GEN))
            for tool in ("extract_findings", "extract_impression", "cleanup", "ask")]
    # The report's own sections and the clean-up rules need no model; the question does.
    assert outs[0][0] == "Small left pleural effusion. Endotracheal tube 4 cm above the carina. Zebrafinding."
    assert outs[1][0] == "Small effusion." and "own IMPRESSION section" in outs[1][1]
    assert outs[2][0].startswith("FINDINGS: Small left pleural effusion.") and "Chest PA" in outs[2][3]
    assert outs[3][0] == "a" and [r.task for r in fake.requests] == ["qa_comprehension"]
    ask = fake.requests[-1].prompt
    assert ask.index("Zebrafinding") < ask.index("Which side?")  # report first: a shared prefix
    _, status, _, _ = last(report_tools.run_tool(ctx, "ask", REPORT, "", "m", *GEN))
    assert "The question box is empty" in status
    # A report without a findings section goes to the model, grounded unless the box is unticked.
    fake = FakeBackend(answers=["f", "g"])
    (tmp_path / "2").mkdir()
    ctx = make_ctx(tmp_path / "2", {"m": fake})
    headerless = "Small left pleural effusion. No pneumothorax."
    assert last(report_tools.run_tool(ctx, "extract_findings", headerless, "", "m", *GEN))[0] == "f"
    assert fake.params[-1].grounded is True and fake.requests[-1].task == "extract_findings"
    last(report_tools.run_tool(ctx, "extract_findings", headerless, "", "m", *GEN, False))
    assert fake.params[-1].grounded is False


# ---------------------------------------------------------------- chips and colours, escaped

def test_labels_show_two_chip_groups_and_unknown_names_apart(tmp_path):
    fake = FakeBackend(answers=["pleural effusion, NG tube, zebra sign", "endotracheal tube, NGT"])
    ctx = make_ctx(tmp_path, {"m": fake})
    chips, raw, status, _ = last(labels_tab.tag(ctx, REPORT, "m", *GEN))
    abn, dev, unk = chips.split('class="rp-group ')[1:]
    assert abn.startswith("rp-group-abnormality") and ">pleural effusion<" in abn
    assert dev.startswith("rp-group-device") and ">endotracheal tube<" in dev and ">enteric tube<" in dev
    assert unk.startswith("rp-group-unknown") and ">zebra sign<" in unk
    assert ">enteric tube<" not in unk  # named in the wrong group, but already a device chip
    assert "pleural effusion, NG tube, zebra sign" in raw and "endotracheal tube, NGT" in raw
    assert status.count("answer tokens") == 2


def test_compare_colours_new_red_resolved_green_and_shows_the_models_answers(tmp_path):
    fake = FakeBackend(answers=["Added: right lower lobe opacity. Removed: endotracheal tube.",
                                "pleural effusion in the left lung: worsened\natelectasis: improved"])
    ctx = make_ctx(tmp_path, {"m": fake})
    view, raw, status, _ = last(compare.compare(ctx, compare.EXAMPLE_CURRENT, compare.EXAMPLE_PRIOR, "m", *GEN))
    new = view.split('data-change="new"')[1].split("</tr>")[0]
    resolved = view.split('data-change="resolved"')[1].split("</tr>")[0]
    assert 'data-finding="lung opacity"' in new and "#b91c1c" in new and ">added<" in new  # red
    assert 'data-finding="endotracheal tube"' in resolved and "#15803d" in resolved and ">removed<" in resolved
    worsened = view.split('data-change="worsened"')[1].split("</tr>")[0]
    assert "Moderate left pleural effusion, increased." in worsened and "Small left pleural effusion." in worsened
    assert [r.task for r in fake.requests] == ["qa_temporal_findings", "qa_temporal_progression"]


def test_report_text_and_model_output_are_escaped_everywhere(tmp_path):
    fake = FakeBackend(answers=[PAYLOAD, PAYLOAD, f"Added: {PAYLOAD}. Removed: none.", f"{PAYLOAD}: worsened"])
    ctx = make_ctx(tmp_path, {"m": fake})
    chips, _, _, _ = last(labels_tab.tag(ctx, PAYLOAD, "m", *GEN))
    view, _, _, _ = last(compare.compare(ctx, PAYLOAD, PAYLOAD, "m", *GEN))
    for html in (chips, view, esc(PAYLOAD)):
        assert "<img" not in html and "<script" not in html and "${" not in html and "{{" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in chips and "&lt;img src=x onerror=alert(1)&gt;" in view
    assert esc("a&b") == "a&amp;b" and esc(None) == ""


def test_latency_line_says_ttft_speed_counts_and_stops():
    gen = Generation(text="x", prompt_tokens=40, completion_tokens=11, seconds=1.1, first_token_seconds=0.1)
    line = latency_text(gen)
    assert "first token 100 ms" in line and "10.0 tok/s" in line and "40 prompt + 11 answer tokens" in line
    gen.finish_reason = "cancelled"
    assert latency_text(gen).endswith("stopped")
    assert "none" in label_chips({"labels": [], "unknown": []}, {"labels": [], "unknown": []})


# ---------------------------------------------------------------- Stop, errors, logs

class ThreadRecordingBackend(FakeBackend):
    """Streams forever; records which threads iterate and close its stream."""

    def __init__(self):
        super().__init__("fake")
        self.threads: set[int] = set()
        self.closed_on: int | None = None

    def stream(self, request, params):
        def pieces():
            try:
                for i in range(100_000):
                    self.threads.add(threading.get_ident())
                    time.sleep(0.005)
                    yield f"w{i} "
            finally:
                self.closed_on = threading.get_ident()
        return Stream(pieces(), lambda text: Generation(text=text, completion_tokens=len(text.split())))


def test_stop_closes_the_stream_on_the_thread_that_iterates_it(tmp_path):
    backend = ThreadRecordingBackend()
    ctx = make_ctx(tmp_path, {"m": backend})
    handler = qa.answer(ctx, "Go on forever?", None, "m", 2048, 0.0, "token")
    text = ""
    while not text:
        text = next(handler)[0]
    # gradio closes a cancelled generator from its event-loop thread, not the one that ran next()
    closer = threading.Thread(target=handler.close)
    closer.start()
    closer.join(5)
    deadline = time.time() + 5
    while backend.closed_on is None and time.time() < deadline:
        time.sleep(0.01)
    assert backend.closed_on is not None, "Stop did not close the backend's stream"
    assert backend.threads == {backend.closed_on}  # one thread iterated and closed it
    assert backend.closed_on not in (threading.get_ident(), closer.ident)


def test_unexpected_error_is_a_message_not_a_stack_trace(tmp_path, caplog):
    class Broken(FakeBackend):
        def stream(self, request, params):
            raise ZeroDivisionError("secret report text in a message")

    ctx = make_ctx(tmp_path, {"m": Broken()})
    with caplog.at_level(logging.INFO):
        answer, status, _, _ = last(qa.answer(ctx, "Why?", None, "m", *GEN))
    assert "Unexpected error (ZeroDivisionError)" in status and "Traceback" not in status
    assert "secret report text" not in status and "secret report text" not in caplog.text


def test_logs_carry_lengths_and_hashes_not_patient_text(tmp_path, caplog):
    ctx = make_ctx(tmp_path, {"m": FakeBackend(answers=["Zebraimpression."])})
    with caplog.at_level(logging.DEBUG):
        last(impression.draft(ctx, REPORT, "m", *GEN))
    assert "Zebrafinding" not in caplog.text and "Zebraimpression" not in caplog.text
    assert "chars sha256:" in caplog.text


def test_server_down_is_reported_in_the_page(tmp_path):
    import socket
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = OpenAIBackend(f"openai:tiny@http://127.0.0.1:{port}/v1", max_retries=0, timeout=5)
    ctx = make_ctx(tmp_path, {"m": down})
    answer, status, _, _ = last(qa.answer(ctx, "Anyone there?", None, "m", *GEN))
    assert answer == "" and "could not reach the model server" in status and f"127.0.0.1:{port}" in status


def _sse_reply(text: str):
    chunk = {"id": "c", "object": "text_completion", "created": 0, "model": "m"}
    events = [{**chunk, "choices": [{"index": 0, "text": text, "finish_reason": "stop"}]},
              {**chunk, "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}}]
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"
    return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})


@pytest.mark.parametrize("opted_in", [False, True])
def test_remote_model_gets_text_only_with_opt_in_and_scrubbed(tmp_path, opted_in, monkeypatch):
    monkeypatch.setenv("RADPHI_ALLOW_REMOTE", "1")  # the environment must not opt a model in
    sent: list[dict] = []

    def handle(request):
        sent.append(json.loads(request.content))
        return _sse_reply("Small effusion.")

    client = httpx2.Client(transport=httpx2.MockTransport(handle))
    entry = ModelEntry(name="cloud", spec="openai:m@https://api.example.com/v1", allow_remote=opted_in)
    registry = ModelRegistry({"cloud": entry}, "cloud")
    monkeypatch.setattr(registry, "_loader", lambda e: OpenAIBackend(
        e.spec, allow_remote=bool(e.backend_options().get("allow_remote", False)), http_client=client,
        api_key="k", max_retries=0))
    ctx = AppContext(settings=UISettings(), backends=registry, workdir=tmp_path)
    from radphi.ui.common import model_info
    info = model_info(ctx, "cloud")
    report = "FINDINGS: Seen by Dr. Smith on 01/02/2020. Small effusion."
    _, draft, status, _ = last(impression.draft(ctx, report, "cloud", *GEN))
    if opted_in:
        assert "leaves this machine" in info and "api.example.com" in info
        assert draft == "Small effusion." and len(sent) == 1
        assert "Smith" not in sent[0]["prompt"] and "01/02/2020" not in sent[0]["prompt"]
        assert "Dr. [NAME]" in sent[0]["prompt"]
    else:
        assert "does not set allow_remote = true" in info
        assert sent == [] and draft == "" and "refusing to send report text" in status


# ---------------------------------------------------------------- batch

def test_batch_csv_runs_reports_bad_rows_and_writes_radphi_run_records(tmp_path):
    ctx = make_ctx(tmp_path, {"m": FakeBackend("fake:An impression.")}, max_chars=50)
    upload = tmp_path / "in.csv"
    upload.write_text('id,findings,extra\na,Small effusion.,keep me\nb,,\nc,"' + "x" * 60 + '",\n'
                      'd,Clear lungs.,\n', encoding="utf-8")
    path, summary = batch.run_batch(ctx, str(upload), "impression_prediction", "m", *GEN)
    rows = [json.loads(line) for line in Path(path).read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "d"]
    assert rows[0]["prediction"] == "An impression." and rows[0]["extra"] == "keep me"
    assert {"task", "parsed", "model", "model_info", "prompt_tokens", "completion_tokens", "finish_reason",
            "seconds"} <= set(rows[0])
    assert "2 rows done, 2 not done" in summary
    assert "row 2: impression_prediction: empty or missing input field(s): findings" in summary
    assert "row 3: field &#x27;findings&#x27; is 60 characters long; the limit is 50" in summary
    assert Path(path).is_relative_to(ctx.workdir)
    assert stat.S_IMODE(os.stat(ctx.workdir).st_mode) == 0o700


def test_batch_jsonl_bad_line_is_reported_not_fatal(tmp_path):
    ctx = make_ctx(tmp_path, {"m": FakeBackend("fake:none")})
    upload = tmp_path / "in.jsonl"
    upload.write_text('{"id": "1", "report": "Effusion."}\nnot json\n{"id": "3", "report": "Tube."}\n')
    path, summary = batch.run_batch(ctx, str(upload), "abnormality_labels", "m", *GEN)
    rows = [json.loads(line) for line in Path(path).read_text().splitlines()]
    assert [r["id"] for r in rows] == ["1", "3"] and rows[0]["parsed"] == {"labels": [], "unknown": []}
    assert "line 2: not valid JSON" in summary


def test_batch_refuses_missing_columns_and_other_files(tmp_path):
    ctx = make_ctx(tmp_path, {"m": FakeBackend()})
    csv_file = tmp_path / "in.csv"
    csv_file.write_text("id,text\n1,hello\n")
    path, summary = batch.run_batch(ctx, str(csv_file), "abnormality_labels", "m", *GEN)
    assert path is None and "in.csv has no column &#x27;report&#x27;" in summary
    other = tmp_path / "in.txt"
    other.write_text("x")
    assert "Upload a .csv or .jsonl file (in.txt is a .txt file)" in batch.run_batch(
        ctx, str(other), "abnormality_labels", "m", *GEN)[1]
    assert "Upload a CSV or JSONL file first" in batch.run_batch(ctx, None, "abnormality_labels", "m", *GEN)[1]


# ---------------------------------------------------------------- auth and the host rule

def test_password_hashes_are_salted_and_verified(tmp_path):
    a, b = auth.hash_password("correct horse"), auth.hash_password("correct horse")
    assert a != b and a.startswith("scrypt$")
    assert auth.verify_password("correct horse", a) and not auth.verify_password("wrong horse", a)
    users = tmp_path / "users.txt"
    auth.add_user(users, "alice", "correct horse")
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    check = auth.authenticator(auth.load_users(users))
    assert check("alice", "correct horse") and not check("alice", "nope") and not check("bob", "correct horse")
    users.chmod(0o644)
    with pytest.raises(Exception, match="chmod 600"):
        auth.load_users(users)


def test_auth_cli_adds_a_user(tmp_path, monkeypatch):
    import io
    users = tmp_path / "u.txt"
    monkeypatch.setattr("sys.stdin", io.StringIO("longenough1\n"))
    assert auth.main(["add", "carol", "--file", str(users), "--password-stdin"]) == 0
    assert auth.authenticator(auth.load_users(users))("carol", "longenough1")


def test_non_loopback_host_without_auth_refuses_to_start(tmp_path, capsys, monkeypatch):
    assert host_problem(UISettings(host="127.0.0.1")) is None
    assert host_problem(UISettings(host="localhost")) is None and host_problem(UISettings(host="::1")) is None
    assert host_problem(UISettings(host="0.0.0.0", auth_file=tmp_path / "u")) is None
    launched = []
    monkeypatch.setattr(server, "launch_app", lambda *a, **k: launched.append(1))
    import argparse
    parser = argparse.ArgumentParser()
    server.add_arguments(parser)
    assert server_main(parser.parse_args(["--host", "0.0.0.0"])) == 2
    err = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0" in err and "--auth FILE" in err
    assert server_main(parser.parse_args(["--host", "10.0.0.5", "--auth", str(tmp_path / "missing")])) == 2
    assert "auth file not found" in capsys.readouterr().err
    assert launched == []
    assert parser.parse_args([]).host == "127.0.0.1"  # the default bind is loopback
