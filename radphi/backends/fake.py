"""A fake backend: answers from a queue, or a fixed text, or echoes the instruction.

For tests and for UI work without a model (`--model fake` or `fake:Some answer`).
Token counts are whitespace words, so tests can reason about them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Iterable, Iterator

from radphi.backends.base import (Generation, GenParams, Request, StopScanner, Stream, StreamingBackend, fit_request,
                                  timed_generation)


class FakeBackend(StreamingBackend):
    def __init__(self, spec: str = "fake", *, answers: Iterable[str] = (), context_length: int = 2048, delay: float = 0.0):
        self.spec = spec
        self._fixed = spec.split(":", 1)[1] if spec.startswith("fake:") else None
        self._queue: deque[str] = deque(answers)
        self._context_length = context_length
        self.delay = delay
        self.requests: list[Request] = []
        self.params: list[GenParams] = []  # what each request was decoded with
        self._lock = threading.Lock()

    @property
    def context_length(self) -> int:
        return self._context_length

    def queue(self, *answers: str) -> None:
        self._queue.extend(answers)

    def info(self) -> dict[str, Any]:
        return {"spec": self.spec, "backend": "fake", "device": "cpu", "quantization": "none",
                "context_length": self._context_length, "model_hash": None}

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def _answer(self, request: Request) -> str:
        with self._lock:
            self.requests.append(request)
            if self._queue:
                return self._queue.popleft()
        return self._fixed if self._fixed is not None else f"echo: {request.instruction}"

    def _pieces(self, request: Request, params: GenParams, counter: list[int]) -> Iterator[str]:
        words = self._answer(request).split(" ")[: params.max_new_tokens]
        scanner = StopScanner(request.stop_strings(params))
        for i, word in enumerate(words):
            if self.delay:
                time.sleep(self.delay)
            counter[0] += 1
            out = scanner.feed(word if i == 0 else " " + word)
            if out:
                yield out
            if scanner.stopped:
                return
        tail = scanner.flush()
        if tail:
            yield tail

    def stream(self, request: Request, params: GenParams) -> Stream:
        request = fit_request(request, params, self._context_length, self.count_tokens)
        self.params.append(params)
        start = time.perf_counter()
        counter = [0]
        first: list[float] = []

        def pieces() -> Iterator[str]:
            for piece in self._pieces(request, params, counter):
                if not first:
                    first.append(time.perf_counter())
                yield piece

        def finish(text: str) -> Generation:
            reason = "length" if counter[0] >= params.max_new_tokens else "stop"
            return timed_generation(text, start=start, first=first[0] if first else None,
                                    prompt_tokens=self.count_tokens(request.prompt),
                                    completion_tokens=counter[0], finish_reason=reason, request=request,
                                    params=params)

        return Stream(pieces(), finish)
