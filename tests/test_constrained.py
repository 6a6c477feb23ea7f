"""Constrained answers of the structured tasks (radphi.backends.constraints).

- The answer shapes accept what `radphi.answers` writes and nothing else; a cut-off
  answer fails closed.
- A random-weight model with the constraint answers every structured task in the
  vocabulary (llama.cpp with LlamaGrammar, transformers with xgrammar); without it,
  most answers do not parse. This proves the constraint does the work.
- A server that ignores the grammar gives `constraint_violated` records; a real
  `python -m llama_cpp.server` honours it.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from radphi import answers, labels, runner, tasks
from radphi.backends import Request, constraints
from radphi.backends.base import GenParams
from radphi.backends.hf import HFBackend
from radphi.backends.llamacpp import LlamaCppBackend
from radphi.backends.openai_api import OpenAIBackend
from tests.servers import llama_server

REPORT = "Small left pleural effusion. Endotracheal tube 4 cm above the carina."
PRIOR = "The lungs are clear. No devices."
INPUTS = {
    "abnormality_labels": {"report": REPORT},
    "tubes_lines_devices_labels": {"report": REPORT},
    "qa_temporal_findings": {"report": REPORT, "prior_report": PRIOR},
    "qa_temporal_progression": {"report": REPORT, "prior_report": PRIOR},
}


def parses_into_vocabulary(task: str, text: str) -> bool:
    """The answer has its task's shape, and everything it names is a vocabulary label."""
    if constraints.check(task, text) is not None:
        return False
    parsed = tasks.get_task(task).parse(text)
    if task.endswith("_labels"):
        return not parsed["unknown"] and (bool(parsed["labels"]) or text.strip() == "none")
    if task == "qa_temporal_findings":
        return all(labels.canonical(x, "abnormality") for x in parsed["added"] + parsed["removed"])
    return all(labels.canonical(item["finding"], "abnormality") for item in parsed) and (
        bool(parsed) or text.strip() == answers.format_progression([]))


# --------------------------------------------------------------------------- shapes

def test_shapes_accept_what_the_answer_writers_write():
    good = {
        "abnormality_labels": answers.format_labels(["pleural effusion", "atelectasis"]),
        "tubes_lines_devices_labels": answers.format_labels([]),
        "qa_temporal_findings": answers.format_temporal_findings({"added": ["pneumothorax", "lung opacity"],
                                                                   "removed": []}),
        "qa_temporal_progression": answers.format_progression([
            {"finding": "pleural effusion", "region": "left lower lung zone", "change": "worsened"},
            {"finding": "atelectasis", "region": "", "change": "no change"}]),
    }
    for task, text in good.items():
        assert constraints.check(task, text) is None, (task, text)
        assert parses_into_vocabulary(task, text)
    assert constraints.check("qa_temporal_progression", answers.format_progression([])) is None


@pytest.mark.parametrize("task,text", [
    ("abnormality_labels", "The report shows a pleural effusion."),
    ("abnormality_labels", "pleural effusion, ngt"),            # outside the vocabulary
    ("abnormality_labels", "endotracheal tube"),                 # the other task's vocabulary
    ("abnormality_labels", "pleural effusion, "),                # a list cut after its comma
    ("qa_temporal_findings", "Added: pleural effusion."),         # no Removed part
    ("qa_temporal_progression", "pleural effusion: better"),
])
def test_shapes_refuse_anything_else(task: str, text: str):
    assert constraints.check(task, text) is not None


def test_a_cut_off_answer_fails_closed_even_when_it_looks_complete():
    assert constraints.check("abnormality_labels", "pleural effusion, atelectasis", "stop") is None
    assert "token limit" in constraints.check("abnormality_labels", "pleural effusion, atelectasis", "length")
    assert constraints.shape("impression_prediction") is None
    assert constraints.check("impression_prediction", "anything", "length") is None


# --------------------------------------------------------------------------- random weights



SEEDS = range(4)


def _answers(backend, constrained: bool) -> list[tuple[str, str, object]]:
    out = []
    for task, fields in INPUTS.items():
        request = Request.build(task, fields, "chat")
        for seed in SEEDS:
            params = GenParams(max_new_tokens=160, temperature=1.0, seed=seed, constrained=constrained)
            gen = backend.generate(request, params)
            out.append((task, gen.text, gen))
    return out


@pytest.mark.parametrize("kind", ["llamacpp", "hf"])
def test_random_weights_answer_in_the_vocabulary_only_when_constrained(kind: str, chat_dir: Path, chat_gguf: Path):
    backend = LlamaCppBackend(str(chat_gguf)) if kind == "llamacpp" else HFBackend(str(chat_dir))
    constrained = _answers(backend, True)
    for task, text, gen in constrained:
        assert parses_into_vocabulary(task, text), (task, text)
        assert gen.constraint_violated is False
    free = _answers(backend, False)
    ok = [parses_into_vocabulary(task, text) for task, text, _ in free]
    assert sum(ok) < len(ok) / 2, free
    assert all(gen.constraint_violated is None for _, _, gen in free)  # not constrained: not marked


# --------------------------------------------------------------------------- servers

class _IgnoringServer(BaseHTTPRequestHandler):
    """An OpenAI-compatible completions endpoint that ignores any grammar it is sent."""

    bodies: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        reply = {"id": "x", "object": "text_completion", "created": 0, "model": body["model"],
                 "choices": [{"index": 0, "text": " The report mentions a small effusion and a tube.",
                              "finish_reason": "stop", "logprobs": None}],
                 "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_a_server_that_ignores_the_grammar_yields_constraint_violated_records(tmp_path: Path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _IgnoringServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        backend = OpenAIBackend(f"openai:m@{url}", batch_workers=1, max_retries=0)
        src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
        src.write_text("".join(json.dumps({"id": str(i), "report": REPORT}) + "\n" for i in range(3)))
        runner.run_file("abnormality_labels", backend, src, out, name="m", params=GenParams(max_new_tokens=32),
                        fmt="token", progress=False)
    finally:
        server.shutdown()
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 3
    for record in records:
        assert record["constraint_violated"] is True
        assert "shape" in record["constraint_error"]
    # The grammar was asked for, in the fields llama.cpp's and vLLM's servers read.
    sent = _IgnoringServer.bodies[-1]
    assert sent["grammar"] == constraints.shape("abnormality_labels").gbnf
    assert sent["structured_outputs"] == {"grammar": sent["grammar"]}


def test_a_real_llama_cpp_server_honours_the_grammar(chat_gguf: Path, tmp_path: Path):
    with llama_server(chat_gguf, tmp_path / "server.log", n_ctx=1024, alias="tiny-chat") as url:
        backend = OpenAIBackend(f"openai-chat:tiny-chat@{url}", batch_workers=1)
        assert backend.native_format() == "chat"
        constrained = _answers(backend, True)
        free = _answers(backend, False)
    for task, text, gen in constrained:
        assert parses_into_vocabulary(task, text), (task, text)
        assert gen.constraint_violated is False
    assert sum(parses_into_vocabulary(task, text) for task, text, _ in free) < len(free) / 2
