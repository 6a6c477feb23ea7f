"""The OpenAI-compatible backend and the privacy rule.

A real `python -m llama_cpp.server` on a tiny GGUF answers on loopback; its greedy
answers must equal llama-cpp-python's own, in-process. The chat path, the privacy
rule and error handling use an httpx2 MockTransport: no test sends anything to a
non-loopback address.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import httpx2
import pytest

from radphi.backends.base import GenParams, Request
from radphi.backends.openai_api import (
    QA_CHAT_SUFFIX, OpenAIBackend, cut_at_stops, estimate_tokens, parse_spec, stops_to_send,
)
from radphi.errors import BackendUnavailable, ModelLoadError, RemoteNotAllowed
from radphi.privacy import is_loopback_url, prepare_for_remote
from tests.servers import free_port, llama_server as start_llama_server

N_CTX = 512
PHI_REPORT = (
    "Dr. Smith reviewed the study on 01/02/2020 at 10:15. MRN 12345678. "
    "FINDINGS: Small left pleural effusion. IMPRESSION: Small left pleural effusion."
)


# ---------------------------------------------------------------- a real server


@pytest.fixture(scope="module")
def llama_server(tiny_phi_gguf: Path, tmp_path_factory: pytest.TempPathFactory):
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    with start_llama_server(tiny_phi_gguf, log_path, n_ctx=N_CTX, alias="tiny") as url:
        yield url


@pytest.fixture(scope="module")
def reference_llama(tiny_phi_gguf: Path):
    import llama_cpp

    return llama_cpp.Llama(model_path=str(tiny_phi_gguf), n_ctx=N_CTX, verbose=False)


@pytest.fixture
def server_backend(llama_server: str) -> OpenAIBackend:
    return OpenAIBackend(f"openai:tiny@{llama_server}", context_length=N_CTX, max_retries=0)


REQUESTS = [
    Request.build("impression_prediction", {"findings": "Small left pleural effusion. No pneumothorax."}),
    Request.build("radiology_qa", {"question": "What does a widened mediastinum suggest?"}),
    Request.build("abnormality_labels", {"report": "Moderate cardiomegaly with mild pulmonary edema."}),
]


def reference(llm: Any, request: Request, params: GenParams) -> dict:
    return llm.create_completion(
        request.prompt, max_tokens=params.max_new_tokens, temperature=0.0, repeat_penalty=1.0,
        stop=list(request.stop_strings(params)),
    )


def test_greedy_generate_equals_in_process_llama_cpp(server_backend, reference_llama):
    # Free decoding on both sides (the reference sends no grammar); test_constrained.py
    # covers grammar-constrained requests to this server.
    params = GenParams(max_new_tokens=24, constrained=False)
    texts = []
    for request in REQUESTS:
        gen = server_backend.generate(request, params)
        ref = reference(reference_llama, request, params)
        assert gen.text == ref["choices"][0]["text"]
        assert gen.prompt_tokens == ref["usage"]["prompt_tokens"] > 0
        assert gen.completion_tokens == ref["usage"]["completion_tokens"]
        texts.append(gen.text)
    # The comparison is only worth something if the model said something.
    assert any(len(t) > 5 for t in texts)


def test_stream_matches_generate_and_sets_generation(server_backend, reference_llama):
    params = GenParams(max_new_tokens=24, constrained=False)
    for request in REQUESTS:
        whole = server_backend.generate(request, params)
        stream = server_backend.stream(request, params)
        pieces = list(stream)
        assert "".join(pieces) == whole.text
        gen = stream.generation
        assert gen is not None and gen.text == whole.text
        # llama-cpp-python's server sends no usage in streams: the prompt is counted
        # by its tokenizer endpoint, the answer by its streamed chunks (one a token).
        assert gen.prompt_tokens == whole.prompt_tokens
        if whole.text:
            assert len(pieces) > 1
            assert gen.first_token_seconds is not None and 0 < gen.first_token_seconds <= gen.seconds
            assert gen.completion_tokens == whole.completion_tokens
            assert gen.completion_tokens > 0


def test_count_tokens_uses_the_servers_tokenizer(server_backend, reference_llama):
    prompt = REQUESTS[0].prompt
    exact = len(reference_llama.tokenize(prompt.encode("utf-8"), special=True))
    assert server_backend.count_tokens(prompt) == exact
    assert exact != estimate_tokens(prompt)  # else this test could not tell them apart


def test_max_new_tokens_gives_finish_length(server_backend, reference_llama):
    params = GenParams(max_new_tokens=3)
    request = REQUESTS[1]
    ref = reference(reference_llama, request, params)
    gen = server_backend.generate(request, params)
    assert gen.text == ref["choices"][0]["text"]
    assert gen.finish_reason == ref["choices"][0]["finish_reason"]
    assert gen.completion_tokens <= 3


def test_generate_batch_keeps_order(server_backend):
    params = GenParams(max_new_tokens=8)
    singles = [server_backend.generate(r, params).text for r in REQUESTS]
    batch = [g.text for g in server_backend.generate_batch(REQUESTS, params)]
    assert batch == singles


def test_server_down_raises_backend_unavailable_naming_the_url():
    url = f"http://127.0.0.1:{free_port()}/v1"
    backend = OpenAIBackend(f"openai:tiny@{url}", max_retries=0, timeout=5)
    with pytest.raises(BackendUnavailable) as err:
        backend.generate(REQUESTS[0], GenParams(max_new_tokens=4))
    assert url in str(err.value) and "connection refused" in str(err.value) and "Is it running?" in str(err.value)
    with pytest.raises(BackendUnavailable):
        backend.stream(REQUESTS[0], GenParams(max_new_tokens=4))


# ---------------------------------------------------------------- MockTransport


class Recorder:
    """An httpx2 client whose transport records each request and answers with `respond`."""

    def __init__(self, respond: Callable[[httpx2.Request], httpx2.Response]):
        self.requests: list[httpx2.Request] = []
        self._respond = respond
        self.client = httpx2.Client(transport=httpx2.MockTransport(self._handle))

    def _handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self._respond(request)

    def bodies(self) -> list[dict]:
        return [json.loads(r.content) for r in self.requests]


def chat_reply(text: str = "A short answer.", prompt_tokens: int = 30, completion_tokens: int = 4):
    def respond(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={
            "id": "c1", "object": "chat.completion", "created": 0, "model": "gpt-4",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        })
    return respond


def completion_reply(text: str):
    def respond(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={
            "id": "c1", "object": "text_completion", "created": 0, "model": "tiny",
            "choices": [{"index": 0, "finish_reason": "stop", "text": text, "logprobs": None}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        })
    return respond


def sse(*events: dict) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"


def test_chat_message_is_the_bare_instruction_with_the_qa_suffix():
    rec = Recorder(chat_reply("Mediastinal widening may suggest aortic injury."))
    backend = OpenAIBackend("openai-chat:gpt-4@http://127.0.0.1:9/v1", http_client=rec.client, max_retries=0)
    qa = REQUESTS[1]
    gen = backend.generate(qa, GenParams(max_new_tokens=64))
    assert gen.text == "Mediastinal widening may suggest aortic injury."
    assert (gen.prompt_tokens, gen.completion_tokens) == (30, 4)
    body = rec.bodies()[-1]
    assert rec.requests[-1].url.path == "/v1/chat/completions"
    assert body["model"] == "gpt-4" and body["max_tokens"] == 64 and body["temperature"] == 0
    assert body["messages"] == [{"role": "user", "content": qa.instruction + QA_CHAT_SUFFIX}]
    assert body["messages"][0]["content"].endswith("Answer in less than 50 words.")
    assert "<instruct>" not in json.dumps(body) and "<output>" not in json.dumps(body)
    assert "stop" not in body  # the raw format's stop strings mean nothing to a chat model
    assert "repeat_penalty" not in body  # llama.cpp's extras only go to completions servers

    backend.generate(REQUESTS[0], GenParams())
    content = rec.bodies()[-1]["messages"][0]["content"]
    assert content == REQUESTS[0].instruction and "50 words" not in content


def test_chat_stream_reads_usage_from_the_last_chunk():
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4"}
    events = [
        {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
        {**chunk, "choices": [{"index": 0, "delta": {"content": "No acute"}, "finish_reason": None}]},
        {**chunk, "choices": [{"index": 0, "delta": {"content": " process."}, "finish_reason": "stop"}]},
        {**chunk, "choices": [], "usage": {"prompt_tokens": 21, "completion_tokens": 3, "total_tokens": 24}},
    ]
    rec = Recorder(lambda r: httpx2.Response(200, content=sse(*events), headers={"content-type": "text/event-stream"}))
    backend = OpenAIBackend("openai-chat:gpt-4@http://localhost:9/v1", http_client=rec.client, max_retries=0)
    stream = backend.stream(REQUESTS[0], GenParams())
    assert stream.text() == "No acute process."
    assert rec.bodies()[-1]["stream_options"] == {"include_usage": True}
    assert (stream.generation.prompt_tokens, stream.generation.completion_tokens) == (21, 3)


def test_stop_strings_beyond_four_are_applied_locally():
    rec = Recorder(completion_reply("Effusion. STOP5 and more"))
    backend = OpenAIBackend("openai:tiny@http://127.0.0.1:9/v1", http_client=rec.client, max_retries=0)
    params = GenParams(stop=("STOP1", "STOP2", "STOP3", "STOP5"))
    gen = backend.generate(REQUESTS[0], params)
    sent = rec.bodies()[-1]["stop"]
    assert len(sent) == 4 and "STOP5" not in sent and sent[:2] == ["<|endoftext|>", "<instruct>"]
    assert gen.text == "Effusion. "
    body = rec.bodies()[-1]
    assert body["prompt"] == REQUESTS[0].prompt
    assert body["repeat_penalty"] == 1.0 and body["min_p"] == 0.0


def test_stops_to_send_and_cut():
    assert stops_to_send(("<|endoftext|>", "\nInstruct:", "Instruct:")) == ["<|endoftext|>", "Instruct:"]
    assert stops_to_send(tuple("abcdef")) == list("abcd")
    assert cut_at_stops("x Instruct: y", ("\nInstruct:", "Instruct:")) == ("x ", True)
    assert cut_at_stops("plain", ("Z",)) == ("plain", False)


def test_http_error_becomes_backend_unavailable_with_the_servers_message():
    rec = Recorder(lambda r: httpx2.Response(500, json={"error": {"message": "model exploded"}}))
    backend = OpenAIBackend("openai:tiny@http://127.0.0.1:9/v1", http_client=rec.client, max_retries=0)
    with pytest.raises(BackendUnavailable) as err:
        backend.generate(REQUESTS[0], GenParams())
    assert "500" in str(err.value) and "model exploded" in str(err.value) and "127.0.0.1:9/v1" in str(err.value)


def test_broken_stream_becomes_backend_unavailable():
    class Broken(httpx2.SyncByteStream):
        def __iter__(self):
            yield b'data: {"id":"c","object":"text_completion","created":0,"model":"t",' \
                  b'"choices":[{"index":0,"text":"Small ","finish_reason":null}]}\n\n'
            raise httpx2.ReadError("connection reset by peer")

    rec = Recorder(lambda r: httpx2.Response(200, stream=Broken(), headers={"content-type": "text/event-stream"}))
    backend = OpenAIBackend("openai:tiny@http://127.0.0.1:9/v1", http_client=rec.client, max_retries=0)
    stream = backend.stream(REQUESTS[0], GenParams())
    with pytest.raises(BackendUnavailable) as err:
        list(stream)
    assert "127.0.0.1:9/v1" in str(err.value) and "reset" in str(err.value)


def test_timeout_becomes_backend_unavailable():
    def respond(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("read timed out", request=request)

    rec = Recorder(respond)
    backend = OpenAIBackend("openai:tiny@http://127.0.0.1:9/v1", http_client=rec.client, max_retries=0, timeout=7)
    with pytest.raises(BackendUnavailable) as err:
        backend.generate(REQUESTS[0], GenParams())
    assert "timed out" in str(err.value) and "7 s" in str(err.value) and "127.0.0.1:9/v1" in str(err.value)


def test_closing_an_unread_stream_closes_the_response():
    closed = []

    class Body(httpx2.SyncByteStream):
        def __iter__(self):
            yield sse({"id": "c", "object": "text_completion", "created": 0, "model": "t",
                       "choices": [{"index": 0, "text": "Small", "finish_reason": None}]})

        def close(self):
            closed.append(True)

    def respond(request: httpx2.Request) -> httpx2.Response:
        if request.url.path != "/v1/completions":
            return httpx2.Response(404)  # the tokenizer probes
        return httpx2.Response(200, stream=Body(), headers={"content-type": "text/event-stream"})

    rec = Recorder(respond)
    backend = OpenAIBackend("openai:tiny@http://127.0.0.1:9/v1", http_client=rec.client, max_retries=0)
    stream = backend.stream(REQUESTS[0], GenParams())
    assert not closed
    stream.close()
    assert closed and stream.generation is not None and stream.generation.finish_reason == "cancelled"


def test_count_tokens_uses_vllms_tokenize_shape():
    import json

    asked = []

    def respond(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content or b"{}")
        asked.append((request.url.path, sorted(body)))
        if request.url.path == "/tokenize" and "prompt" in body:  # vLLM: /tokenize at the root, {"prompt": ...}
            return httpx2.Response(200, json={"count": 7, "max_model_len": 2048, "tokens": list(range(7))})
        if request.url.path == "/tokenize":
            return httpx2.Response(400, json={"error": {"message": "field required: prompt"}})
        return httpx2.Response(404)

    rec = Recorder(respond)
    backend = OpenAIBackend("openai:phi2@http://127.0.0.1:9/v1", http_client=rec.client, max_retries=0)
    assert backend.count_tokens("Small left pleural effusion.") == 7
    assert asked[-1] == ("/tokenize", ["add_special_tokens", "prompt"])
    asked.clear()
    assert backend.count_tokens("No pneumothorax.") == 7 and len(asked) == 1  # the route found is kept


# ---------------------------------------------------------------- privacy


@pytest.mark.parametrize("url", ["https://api.example.com/v1", "http://10.1.2.3:8000/v1"])
def test_remote_without_opt_in_raises_before_any_traffic(url, monkeypatch):
    monkeypatch.delenv("RADPHI_ALLOW_REMOTE", raising=False)
    rec = Recorder(chat_reply())
    request = Request.build("extract_impression", {"report": PHI_REPORT})
    for spec in (f"openai-chat:gpt-4@{url}", f"openai:tiny@{url}"):
        backend = OpenAIBackend(spec, api_key="test-key", http_client=rec.client, max_retries=0)
        with pytest.raises(RemoteNotAllowed) as err:
            backend.generate(request, GenParams())
        assert "--allow-remote" in str(err.value) and "RADPHI_ALLOW_REMOTE=1" in str(err.value)
        assert "MIMIC-CXR" in str(err.value)
        with pytest.raises(RemoteNotAllowed):
            backend.stream(request, GenParams())
        assert backend.count_tokens("x" * 40) == 10  # an estimate: no report text leaves to count
    assert rec.requests == []


def test_explicit_no_beats_the_environment(monkeypatch):
    monkeypatch.setenv("RADPHI_ALLOW_REMOTE", "1")
    rec = Recorder(chat_reply())
    backend = OpenAIBackend("openai-chat:gpt-4@https://api.example.com/v1", api_key="k",
                            http_client=rec.client, allow_remote=False)
    with pytest.raises(RemoteNotAllowed):
        backend.generate(REQUESTS[0], GenParams())
    assert rec.requests == []


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_remote_with_opt_in_sends_scrubbed_text(how, monkeypatch, caplog):
    if how == "environment":
        monkeypatch.setenv("RADPHI_ALLOW_REMOTE", "1")
    else:
        monkeypatch.delenv("RADPHI_ALLOW_REMOTE", raising=False)
    rec = Recorder(chat_reply("Small left pleural effusion."))
    backend = OpenAIBackend("openai-chat:gpt-4@https://api.example.com/v1", api_key="test-key",
                            http_client=rec.client, max_retries=0,
                            allow_remote=True if how == "argument" else None)
    request = Request.build("extract_impression", {"report": PHI_REPORT})
    with caplog.at_level("WARNING", logger="radphi.privacy"):
        gen = backend.generate(request, GenParams())
    assert gen.text == "Small left pleural effusion."
    sent = rec.requests[-1]
    assert sent.url.host == "api.example.com" and sent.headers["authorization"] == "Bearer test-key"
    content = rec.bodies()[-1]["messages"][0]["content"]
    for phi in ("Smith", "01/02/2020", "10:15", "12345678"):
        assert phi not in content
    assert "Dr. [NAME]" in content and "[DATE] at [TIME]" in content and "MRN [ID]" in content
    assert "Small left pleural effusion." in content and "IMPRESSION" in content
    assert any("PHI span(s) scrubbed" in r.getMessage() for r in caplog.records)


def test_prepare_for_remote_scrubs_every_field_and_rerenders():
    request = Request.build("qa_temporal_findings", {"report": PHI_REPORT, "prior_report": "Seen by Dr. Jones on 3/4/2019."})
    assert prepare_for_remote(request, "http://127.0.0.1:8080/v1", allow_remote=False) is request
    out = prepare_for_remote(request, "https://api.example.com/v1", allow_remote=True)
    assert "Jones" not in out.fields["prior_report"] and "Smith" not in out.fields["report"]
    assert "Jones" not in out.prompt and "12345678" not in out.prompt and out.prompt.startswith("<instruct>")


@pytest.mark.parametrize("url,expected", [
    ("http://127.0.0.1:8080/v1", True),
    ("http://127.9.9.9/v1", True),
    ("http://localhost:8000/v1", True),
    ("http://LOCALHOST/v1", True),
    ("http://[::1]:8000/v1", True),
    ("127.0.0.1:8080/v1", True),
    ("http://10.1.2.3:8000/v1", False),
    ("http://192.168.1.5/v1", False),
    ("http://0.0.0.0:8000/v1", False),
    ("https://api.openai.com/v1", False),
    ("http://localhost.example.com/v1", False),
    ("http://127.0.0.1.nip.io/v1", False),
    ("http://[::2]/v1", False),
    ("", False),
])
def test_is_loopback_url(url, expected):
    assert is_loopback_url(url) is expected


@pytest.mark.parametrize("host,expected", [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True), (" LOCALHOST. ", True),
    ("::ffff:127.0.0.1", True), ("fe80::1%eth0", False), ("0.0.0.0", False), ("::", False), ("", False),
    ("192.168.1.5", False), ("example.com", False),
])
def test_is_loopback_host_is_the_one_check_for_bind_addresses_and_urls(host, expected):
    from radphi.privacy import is_loopback_host

    assert is_loopback_host(host) is expected


# ---------------------------------------------------------------- SPEC and info


def test_spec_url_and_info(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert parse_spec("openai:tiny@http://127.0.0.1:8080/v1") == ("completions", "tiny", "http://127.0.0.1:8080/v1")
    assert parse_spec("openai-chat:gpt-4") == ("chat", "gpt-4", None)
    with pytest.raises(ModelLoadError, match="OPENAI_BASE_URL"):
        OpenAIBackend("openai:tiny")
    with pytest.raises(ModelLoadError):
        parse_spec("openai:@http://127.0.0.1/v1")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8080")  # a bare host gets /v1
    backend = OpenAIBackend("openai:tiny")
    info = backend.info()
    assert info["base_url"] == "http://127.0.0.1:8080/v1" and info["device"] == "local server"
    assert info["endpoint"] == "completions" and info["backend"] == "openai_api" and info["context_length"] == 4096
    remote = OpenAIBackend("openai-chat:gpt-4@https://api.example.com/v1/", context_length=8192).info()
    assert (remote["device"], remote["endpoint"], remote["context_length"]) == ("remote", "chat", 8192)
    assert remote["base_url"] == "https://api.example.com/v1"


def test_remote_without_a_key_says_so(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    rec = Recorder(chat_reply())
    backend = OpenAIBackend("openai-chat:gpt-4@https://api.example.com/v1", http_client=rec.client, allow_remote=True)
    with pytest.raises(ModelLoadError, match="OPENAI_API_KEY"):
        backend.generate(REQUESTS[0], GenParams())
    assert rec.requests == []


def test_load_backend_resolves_openai_specs():
    from radphi.backends import clear_cache, load_backend

    clear_cache()
    backend = load_backend("openai-chat:gpt-4@http://127.0.0.1:9/v1")
    assert isinstance(backend, OpenAIBackend) and backend.endpoint == "chat"
    clear_cache()
