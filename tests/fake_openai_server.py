"""A fake, slow OpenAI-compatible completions server on loopback that counts the requests
in flight: for the concurrency tests (tests/test_concurrency.py) and the speed-up
benchmark (bench/bench_concurrency.py).

Each `POST /v1/completions` sleeps `delay(prompt)` seconds (as a serving engine's
request takes time while others run beside it) and answers `reply_for(prompt)`, so a
test can tell which answer belongs to which record. `GET /v1/models` names `owned_by`,
and `GET /props` advertises `total_slots` when given, as vLLM and llama.cpp's server do.
A prompt containing a string in `broken` gets HTTP 503; one containing a string in
`refused` gets HTTP 400, as vLLM answers a prompt longer than its context.

Hand-written over the standard library's ThreadingHTTPServer: a few lines, and no
server library to install for tests.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


def reply_for(prompt: str) -> str:
    """The fake's answer to PROMPT: different for each prompt, the same every time."""
    return "answer " + hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:12]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the default backlog of 5 would drop (and delay) a burst of connections


class SlowOpenAIServer:
    """Use as a context manager; `url` is the base URL (ending in /v1)."""

    def __init__(self, delay: float | Callable[[str], float] = 0.1, *, owned_by: str = "fake",
                 total_slots: int | None = None, broken: tuple[str, ...] = (), refused: tuple[str, ...] = ()):
        self.delay = delay if callable(delay) else (lambda _prompt, d=float(delay): d)
        self.owned_by = owned_by
        self.total_slots = total_slots
        self.broken = broken
        self.refused = refused
        self.in_flight = 0
        self.max_in_flight = 0
        self.completions = 0
        self.finished: list[str] = []  # prompts, in the order their answers were sent
        self.gets: list[str] = []
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def reset_counts(self) -> None:
        with self._lock:
            self.max_in_flight = self.in_flight
            self.completions = 0
            self.finished.clear()

    def __enter__(self) -> "SlowOpenAIServer":
        self._httpd = _Server(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._httpd is not None and self._thread is not None
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------------ answers

    def complete(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        prompt = str(body.get("prompt", ""))
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay(prompt))
        finally:
            with self._lock:
                self.in_flight -= 1
                self.completions += 1
                self.finished.append(prompt)
        if any(r in prompt for r in self.refused):
            return 400, {"error": {"message": "This model's maximum context length is 2048 tokens.",
                                   "type": "BadRequestError"}}
        if any(b in prompt for b in self.broken):
            return 503, {"error": {"message": "the fake server broke on this prompt", "type": "server_error"}}
        text = reply_for(prompt)
        return 200, {
            "id": "cmpl-fake", "object": "text_completion", "created": int(time.time()), "model": body.get("model"),
            "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split()),
                      "total_tokens": len(prompt.split()) + len(text.split())},
        }


def _handler(server: SlowOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the openai client expects
        # Headers and body go out in two writes: with Nagle's algorithm on, the second
        # waits for the client's delayed ACK (40 ms a request on Linux).
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:  # quiet: pytest captures nothing useful from it
            pass

        def _send(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            server.gets.append(self.path)
            if self.path == "/v1/models":
                self._send(200, {"object": "list",
                                 "data": [{"id": "fake", "object": "model", "owned_by": server.owned_by}]})
            elif self.path == "/props" and server.total_slots is not None:
                self._send(200, {"total_slots": server.total_slots})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._send(400, {"error": {"message": "not JSON"}})
                return
            if self.path == "/v1/completions":
                self._send(*server.complete(body))
            else:
                self._send(404, {"error": "not found"})

    return Handler
