"""The LLM judge: its reply parser, prompt, cache (permissions, purge), failure handling and
the privacy rule. The end-to-end run against a real llama_cpp.server is in
tests/test_eval_judge_server.py."""

from __future__ import annotations

import json
import logging
import stat

import httpx2
import pytest

from radphi.evaluation import judge as J
from radphi.backends.fake import FakeBackend
from radphi.backends.openai_api import OpenAIBackend
from radphi.errors import BackendUnavailable, InputError, RemoteNotAllowed

PHI_REPORT = "Dr. Smith reviewed the study on 01/02/2020. FINDINGS: Small left pleural effusion."


@pytest.mark.parametrize("reply,expected", [
    ("Relevance: 8/10, Accuracy: 7", (8.0, 7.0)),
    ('{"relevance": 9, "accuracy": 6}', (9.0, 6.0)),
    ('Here is my evaluation:\n```json\n{"Relevance": "8", "Accuracy": "7/10"}\n```', (8.0, 7.0)),
    ("I would rate the relevance as 8 out of 10 and the accuracy 6.", (8.0, 6.0)),
    ("**Relevance**: 9\n**Accuracy**: 5\nThe answer misses the effusion.", (9.0, 5.0)),
    ("Relevance score (1-10): 8. Accuracy score (1-10): 4", (8.0, 4.0)),
    ("On a scale of 1 to 10, relevance 7; accuracy 8", (7.0, 8.0)),
    ("The answer is highly relevant (9) but only partly accurate (5).", (9.0, 5.0)),
    ("Accuracy: 3\nRelevance: 10/10", (10.0, 3.0)),
    ("Relevance: 7.5\nAccuracy: 8", (7.5, 8.0)),
])
def test_parser_reads_realistic_replies(reply, expected):
    assert J.parse_judge_reply(reply) == expected


@pytest.mark.parametrize("reply,expected", [
    ("Relevance: high. Accuracy: low.", (None, None)),
    ("Relevance: 12, Accuracy: 0", (None, None)),  # outside 1-10
    ("8 7", (None, None)),  # bare numbers belong to nothing
    ("", (None, None)),
    (None, (None, None)),
    ('{"relevance": "good", "accuracy": 7', (None, 7.0)),  # broken JSON, prose fallback
    ("Relevance: high. Accuracy: 7", (None, 7.0)),
    ("ÄÖ the the <output> 3 ,,, relevant", (None, None)),
])
def test_parser_leaves_unreadable_scores_missing(reply, expected):
    assert J.parse_judge_reply(reply) == expected


def test_prompt_is_data_and_fills_in_one_pass():
    template = J.load_prompt()
    assert J.PROMPT_FILE.name == "judge_prompt.txt"
    for placeholder in ("{context}", "{reference}", "{prediction}"):
        assert placeholder in template
    text = J.render_prompt("C={context} R={reference} P={prediction}",
                           {"context": "a {prediction} b", "reference": "{x}", "prediction": "p"})
    assert text == "C=a {prediction} b R={x} P=p"


def test_custom_prompt_without_placeholders_is_refused(tmp_path):
    bad = tmp_path / "p.txt"
    bad.write_text("Rate this: {context}")
    with pytest.raises(InputError, match="reference"):
        J.load_prompt(bad)


def test_context_titles_the_task_inputs():
    rec = {"task": "qa_comprehension", "report": "Small effusion.", "question": "Is there an effusion?"}
    assert J.judge_context(rec) == "Report: Small effusion.\nQuestion: Is there an effusion?"


RECORDS = [
    {"id": str(i), "task": "qa_comprehension", "report": f"Report {i}.", "question": "Effusion?",
     "reference": "Yes.", "prediction": f"Answer {i}."}
    for i in range(4)
]


def test_cache_makes_a_rerun_cost_nothing_and_has_owner_only_permissions(radphi_home):
    fake = FakeBackend(answers=["Relevance: 8, Accuracy: 7", "no idea", '{"relevance": 5, "accuracy": 9}', "9/10"])
    judge = J.Judge(fake, model_id="fake-judge")
    first = judge.judge_many(RECORDS, progress=False)
    assert [(j.relevance, j.accuracy) for j in first] == [(8, 7), (None, None), (5, 9), (None, None)]
    assert judge.counts.requests == 4 and judge.counts.unparseable == 2 and judge.counts.cached == 0
    judge.cache.close()

    cache_dir = radphi_home / "judge_cache"
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    for f in cache_dir.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f

    again = J.Judge(fake, model_id="fake-judge")
    second = again.judge_many(RECORDS, progress=False)
    assert len(fake.requests) == 4  # nothing new reached the backend
    assert again.counts.cached == 4 and again.counts.requests == 0 and again.counts.unparseable == 2
    assert [(j.relevance, j.accuracy) for j in second] == [(j.relevance, j.accuracy) for j in first]

    # Another judge model, or another prompt, is another key.
    other = J.Judge(FakeBackend("fake:Relevance: 2, Accuracy: 2"), model_id="other-judge")
    assert other.judge_one(RECORDS[0]).relevance == 2
    reworded = J.Judge(fake, model_id="fake-judge", template=J.load_prompt() + "\nBe strict.")
    fake.queue("Relevance: 1, Accuracy: 1")
    assert reworded.judge_one(RECORDS[0]).relevance == 1 and len(fake.requests) == 5


def test_purge_cache_empties_it(radphi_home):
    fake = FakeBackend("fake:Relevance: 8, Accuracy: 7")
    judge = J.Judge(fake, model_id="f")
    judge.judge_many(RECORDS[:2], progress=False)
    judge.cache.close()
    assert J.purge_cache() >= 1
    assert not any((radphi_home / "judge_cache").iterdir())
    J.Judge(fake, model_id="f").judge_many(RECORDS[:2], progress=False)
    assert len(fake.requests) == 4  # asked again after the purge


class Down(FakeBackend):
    def generate(self, request, params):
        self.requests.append(request)
        raise BackendUnavailable("could not reach the model server at http://127.0.0.1:9/v1")


def test_failed_calls_are_missing_and_the_judge_stops_after_three_in_a_row():
    down = Down()
    judge = J.Judge(down, model_id="down", workers=1)
    results = judge.judge_many(RECORDS + RECORDS, progress=False)
    assert all(j.relevance is None and j.accuracy is None and j.error for j in results)
    assert len(down.requests) == J.MAX_CONSECUTIVE_FAILURES
    assert judge.counts.errors == 8 and judge.counts.unparseable == 0


def test_remote_judge_is_refused_without_opt_in(monkeypatch):
    monkeypatch.delenv("RADPHI_ALLOW_REMOTE", raising=False)
    with pytest.raises(RemoteNotAllowed) as err:
        J.load_judge_backend("openai-chat:gpt-4@https://judge.example.com/v1", allow_remote=None)
    assert "--allow-remote" in str(err.value) and "MIMIC-CXR" in str(err.value)
    with pytest.raises(Exception, match="OpenAI-compatible"):
        J.load_judge_backend("fake", allow_remote=None)


def test_remote_judge_with_opt_in_warns_and_gets_scrubbed_text(caplog):
    with caplog.at_level(logging.WARNING):
        J.load_judge_backend("openai-chat:gpt-4@https://judge2.example.com/v1", allow_remote=True)
    assert any("MIMIC-CXR" in r.getMessage() for r in caplog.records)

    bodies: list[dict] = []

    def respond(request: httpx2.Request) -> httpx2.Response:
        bodies.append(json.loads(request.content))
        return httpx2.Response(200, json={
            "id": "c", "object": "chat.completion", "created": 0, "model": "gpt-4",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": '{"relevance": 9, "accuracy": 8}'}}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 9, "total_tokens": 18}})

    backend = OpenAIBackend("openai-chat:gpt-4@https://judge.example.com/v1", api_key="k", allow_remote=True,
                            max_retries=0, http_client=httpx2.Client(transport=httpx2.MockTransport(respond)))
    rec = dict(RECORDS[0], report=PHI_REPORT)
    j = J.Judge(backend, model_id="openai-chat:gpt-4").judge_one(rec)
    assert (j.relevance, j.accuracy) == (9.0, 8.0)
    sent = bodies[0]["messages"][0]["content"]
    assert "Small left pleural effusion" in sent and "The ground-truth answer is" in sent
    assert "01/02/2020" not in sent and "Smith" not in sent and "Dr. [NAME]" in sent and "[DATE]" in sent
    assert "relevance" in sent and "<instruct>" not in sent  # the judge prompt, as the user message
