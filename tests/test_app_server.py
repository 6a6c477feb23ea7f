"""The real app server on a free loopback port with the tiny GGUF: every tab's endpoint
through gradio_client, greedy parity with the backend called directly, two users at
once, Stop through the server, no outside connection at start-up or while serving,
and `python app.py` itself (no model, the host rule, sign-in, cleanup at exit)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from radphi.backends import GenParams, Request
from radphi.backends.llamacpp import LlamaCppBackend
from tests.localhost import free_port, wait_until_serving
from radphi.models_file import ModelEntry
from radphi.ui.context import UISettings, create_context
from radphi.ui.server import build_app, launch_app
from tests.test_ui_handlers import ThreadRecordingBackend

ROOT = Path(__file__).resolve().parent.parent
FINDINGS = "There is a small left pleural effusion. No pneumothorax."
REPORT = f"FINDINGS: {FINDINGS}\nIMPRESSION: Small left effusion."
N = 24  # max new tokens for the tiny model


def start_app(settings: UISettings, mp: pytest.MonkeyPatch, extra: dict | None = None):
    """create_context + build + launch in this process; `extra` adds named backends."""
    mp.setenv("GRADIO_TEMP_DIR", "")  # restored afterwards; create_context points it into its workdir
    ctx = create_context(settings)
    if extra:
        base = ctx.backends._loader
        for name in extra:
            ctx.backends.entries[name] = ModelEntry(name=name, spec=f"fake:{name}")
        ctx.backends._loader = lambda e: extra[e.name] if e.name in extra else base(e)
    demo = build_app(ctx)
    launch_app(demo, ctx, block=False, quiet=True)
    return demo, ctx, f"http://127.0.0.1:{settings.port}/"


@pytest.fixture(scope="module")
def server(tiny_phi_gguf, tmp_path_factory):
    slow = ThreadRecordingBackend()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RADPHI_HOME", str(tmp_path_factory.mktemp("home")))
        # One llama.cpp thread: on a 2-core CI box shared with other work, two threads
        # spin at barriers and slow the tiny model by orders of magnitude.
        settings = UISettings(port=free_port(), models=[str(tiny_phi_gguf)], concurrency=4, threads=1)
        demo, ctx, url = start_app(settings, mp, {"slow": slow})
        from gradio_client import Client

        client = Client(url, verbose=False)
        yield {"url": url, "ctx": ctx, "client": client, "slow": slow, "spec": str(tiny_phi_gguf)}
        demo.close()
        ctx.close()


@pytest.fixture(scope="module")
def direct(tiny_phi_gguf):
    """The same GGUF in a backend of its own, called directly: the reference answers."""
    backend = LlamaCppBackend(str(tiny_phi_gguf), n_threads=1)  # as the app's: the same float sums

    def greedy(task: str, fields: dict, n: int = N) -> str:
        return backend.generate(Request.build(task, fields), GenParams(max_new_tokens=n)).text

    return greedy


def test_every_tab_answers_through_gradio_client(server, tmp_path):
    c, model = server["client"], "tiny-phi-f32"
    answer, status, record, _, data = c.predict("What is a pneumothorax?", "chest", model, N, 0.0, "token",
                                                api_name="/qa")
    assert data["state"] == "done" and data["completion_tokens"] == record["completion_tokens"]
    assert data["finish_reason"] == record["finish_reason"] in ("stop", "length")
    assert isinstance(answer, str) and "answer tokens" in status and record["meta"] == {"system": "chest"}
    assert record["model_info"]["backend"] == "llamacpp" and record["completion_tokens"] <= N
    used, draft, status, _, _ = c.predict(REPORT, model, N, 0.0, "token", api_name="/impression")
    assert used == FINDINGS and "FINDINGS section" in status
    chips, raw, status, _, data = c.predict(REPORT, model, N, 0.0, "token", api_name="/labels")
    assert data["state"] == "done" and [t["task"] for t in data["tasks"]] == ["abnormality_labels",
                                                                              "tubes_lines_devices_labels"]
    assert 'class="rp-labels"' in chips and "Abnormality labels:" in raw and status.count("answer tokens") == 2
    view, raw, status, _, _ = c.predict(REPORT, "FINDINGS: Clear.", model, N, 0.0, "token", api_name="/compare")
    assert "rp-compare-table" in view and 'data-change="new"' in view and status.count("answer tokens") == 2
    calls = {"extract_findings": (REPORT, model, N, 0.0, "token", True), "extract_impression": (REPORT, model, N),
             "cleanup": (REPORT,), "ask": (REPORT, "Which side?", model, N, 0.0, "token")}
    for tool, args in calls.items():
        out, status, _, removed, data = c.predict(*args, api_name=f"/{tool}")
        assert isinstance(out, str) and "rp-removed" in removed, tool
        # The report's own sections and the clean-up rules need no model; the question does.
        assert ("answer tokens" in status) == (tool == "ask") == data["model_run"], tool
        assert data["state"] == "done", tool
    out, *_ = c.predict(REPORT, model, N, 0.0, "token", True, api_name="/extract_findings")
    assert out == FINDINGS
    upload = tmp_path / "batch.jsonl"
    upload.write_text(json.dumps({"id": "r1", "findings": FINDINGS}) + "\n" + "{broken\n")
    from gradio_client import handle_file

    result, summary, table, data = c.predict(handle_file(str(upload)), "impression_prediction", model, N, 0.0,
                                             "token", api_name="/batch")
    rows = [json.loads(line) for line in Path(result).read_text().splitlines()]
    assert [r["id"] for r in rows] == ["r1"] and rows[0]["model"] == model and "prediction" in rows[0]
    assert "1 line done, 1 not done" in summary and "line 2: not valid JSON" in summary
    assert [row[:2] for row in table["data"]] == [["r1", rows[0]["prediction"]]]
    assert data["state"] == "done" and (data["done"], data["total"]) == (1, 1) and data["results_file"]
    # The upload and the results stayed in the app's private directory.
    workdir = server["ctx"].workdir
    assert any(workdir.rglob("batch.jsonl")) and any(workdir.rglob("input.jsonl"))


def test_every_endpoint_describes_itself_with_named_parameters(server):
    api = httpx.get(f"{server['url']}gradio_api/info", timeout=30).json()  # what gradio_client reads
    endpoints = api["named_endpoints"]
    assert not api["unnamed_endpoints"]
    for name, ep in endpoints.items():
        assert ep["description"] and "partial(" not in ep["description"], name  # its own docstring
        names = [p["parameter_name"] for p in ep["parameters"]]
        assert all(n and not n.startswith("param_") for n in names), (name, names)
    params = {name: [p["parameter_name"] for p in ep["parameters"]] for name, ep in endpoints.items()}
    settings = ["model", "max_new_tokens", "temperature", "fmt"]
    assert params["/extract_findings"] == params["/extract_impression"] == ["report", *settings, "grounded", "seed",
                                                                            "new_seed"]
    assert params["/cleanup"] == ["report"] and params["/ask"] == ["report", "question", *settings, "seed", "new_seed"]
    assert params["/review_submit"] == ["review"]
    assert endpoints["/qa"]["description"] == "Answer a radiology question, streamed."
    # The status comes back as data beside the HTML line on every generating endpoint.
    for name in ("/qa", "/impression", "/labels", "/compare", "/extract_findings", "/ask", "/batch"):
        assert endpoints[name]["returns"][-1]["component"] == "Json", name


def test_errors_show_in_the_page_and_the_app_stays_up(server):
    c = server["client"]
    _, draft, status, _, data = c.predict("", "tiny-phi-f32", N, 0.0, "token", api_name="/impression")
    assert data == {"state": "error", "message": "The findings box is empty: type or paste some text first."}
    assert draft == "" and "is empty" in status
    big = "x" * 20_001
    _, _, status, _, _ = c.predict(big, "tiny-phi-f32", N, 0.0, "token", api_name="/impression")
    assert "the limit is 20,000 characters" in status
    _, status, _, _, _ = c.predict("Still up?", None, "tiny-phi-f32", 4, 0.0, "token", api_name="/qa")
    assert "answer tokens" in status


def test_impression_through_the_app_equals_the_backends_greedy_output(server, direct):
    _, draft, _, _, _ = server["client"].predict(FINDINGS, "tiny-phi-f32", N, 0.0, "token", api_name="/impression")
    expected = direct("impression_prediction", {"findings": FINDINGS})
    assert expected and draft == expected


def test_two_users_at_once_each_get_their_own_answer(server, direct, tiny_phi_gguf):
    from gradio_client import Client

    questions = ["What is a pneumothorax?", "Define atelectasis on a chest radiograph."]
    n = 200  # long enough for the two answers to overlap in time
    expected = [direct("radiology_qa", {"question": q}, n) for q in questions]
    assert expected[0] != expected[1]
    clients = [Client(server["url"], verbose=False) for _ in questions]
    model = server["ctx"].backends.backend("tiny-phi-f32")
    # Hold the model while both requests arrive, so they really are at the model at once
    # and must queue on its lock (the tiny model would otherwise finish one before the next).
    with model._lock:
        jobs = [cl.submit(q, None, "tiny-phi-f32", n, 0.0, "token", api_name="/qa")
                for cl, q in zip(clients, questions)]
        time.sleep(1.5)
        assert not any(job.done() for job in jobs)
    answers = [job.result(timeout=120)[0] for job in jobs]
    assert answers == expected


def test_stop_through_the_server_closes_the_stream_on_its_own_thread(server):
    slow = server["slow"]
    job = server["client"].submit("Talk forever", None, "slow", 2048, 0.0, "token", api_name="/qa")
    deadline = time.time() + 30
    while not slow.threads and time.time() < deadline:
        time.sleep(0.05)
    assert slow.threads, "the slow model never started"
    job.cancel()
    while slow.closed_on is None and time.time() < deadline:
        time.sleep(0.05)
    assert slow.closed_on is not None, "cancelling did not stop the model"
    assert slow.threads == {slow.closed_on}
    # The model is free again: the next request completes.
    _, status, _, _, _ = server["client"].predict("After stop?", None, "tiny-phi-f32", 4, 0.0, "token", api_name="/qa")
    assert "answer tokens" in status


def _loopback(host: str) -> bool:
    from radphi.privacy import is_loopback_host

    return host == "" or is_loopback_host(host)


def test_no_outside_connection_at_start_up_or_while_serving(tiny_phi_gguf, monkeypatch, tmp_path):
    attempts: list[str] = []
    real_connect, real_connect_ex, real_gai = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def check(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(str(address[0])):
            attempts.append(str(address))
            raise OSError("outside connection blocked by the test")

    def connect(sock, address):
        check(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        check(sock, address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not _loopback(host.decode() if isinstance(host, bytes) else str(host)):
            attempts.append(f"dns {host}")
            raise socket.gaierror("name lookups blocked by the test")
        return real_gai(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(OSError):  # the guard works
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    assert attempts
    attempts.clear()

    settings = UISettings(port=free_port(), models=[str(tiny_phi_gguf)], threads=1)
    demo, ctx, url = start_app(settings, monkeypatch)
    try:
        from gradio_client import Client

        page = httpx.get(url, timeout=30)
        assert page.status_code == 200
        _, draft, status, _, _ = Client(url, verbose=False).predict(FINDINGS, "tiny-phi-f32", 8, 0.0, "token",
                                                               api_name="/impression")
        assert "answer tokens" in status
    finally:
        demo.close()
        ctx.close()
    assert attempts == []
    assert "fonts.googleapis" not in page.text and "fonts.gstatic" not in page.text


# ---------------------------------------------------------------- python app.py itself

def _spawn(args: list[str], tmp_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("RADPHI_MODEL", "GRADIO_TEMP_DIR")}
    env["RADPHI_HOME"] = str(tmp_path / "home")
    env["RADPHI_MODEL"] = "none"  # as if the embedded demo model were absent
    return subprocess.Popen([sys.executable, "app.py", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait_up(proc: subprocess.Popen, url: str, timeout: float = 90) -> None:
    try:
        wait_until_serving(proc, url, timeout, ok=(200, 401))
    except RuntimeError as exc:
        out = proc.stdout.read() if proc.poll() is not None else ""
        raise AssertionError(f"app did not come up: {exc}\n{out}") from exc


def test_app_py_refuses_a_non_loopback_host_without_auth(tmp_path):
    proc = _spawn(["--host", "0.0.0.0", "--port", str(free_port())], tmp_path)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "refusing to listen on 0.0.0.0" in out and "--auth FILE" in out


def test_app_py_without_a_model_starts_signs_in_and_cleans_up(tmp_path, monkeypatch):
    from radphi.ui import auth

    users = tmp_path / "users.txt"
    auth.add_user(users, "alice", "correct horse")
    port = free_port()
    proc = _spawn(["--port", str(port), "--auth", str(users)], tmp_path)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_up(proc, url)
        from gradio_client import Client

        with pytest.raises(Exception):
            Client(url, auth=("alice", "wrong password"), verbose=False)
        client = Client(url, auth=("alice", "correct horse"), verbose=False)
        config = json.dumps(client.config)
        assert "No model is configured" in config and "python app.py --model path/to/model.gguf" in config
        assert "Decision support, not a diagnosis" in config
        _, _, status, _, _ = client.predict("Small effusion.", None, 8, 0.0, "token", api_name="/impression")
        assert "No model is configured" in status  # an answer in the page, and the app stays up
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    match = re.search(r"private work directory (\S+)", out)
    assert match, out
    assert not Path(match.group(1)).exists(), "the private directory outlived the app"
    assert "Running on local URL:  http://127.0.0.1:" in out
