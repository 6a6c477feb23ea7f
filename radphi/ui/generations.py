"""The answers this app produced, kept in memory by id, so that "Send to review set"
sends the model's own output and the facts it was made with, never text from the page.

A generation is kept only in this process (the most recent `MAX_KEPT`), not on disk:
report text reaches the review database only when a user sends an answer there. The
audit log records every generation's id, model and prompt hash (never its text).
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

MAX_KEPT = 2_000  # answers a busy workstation produces in a day; older ones cannot be sent


@dataclass(frozen=True)
class AppGeneration:
    """One answer as the model gave it, with the SPEC, model hash, format and decoding
    parameters (`model_info`, as `radphi run` records them) and the prompt's hash."""

    uid: str
    task: str
    fields: Mapping[str, str]
    output: str
    model: str
    model_info: Mapping[str, Any]
    prompt_sha256: str
    created_at: str
    stats: Mapping[str, Any] = field(default_factory=dict)


class GenerationLog:
    """Thread-safe, bounded, in memory: `add` when an answer is finished, `get` by id."""

    def __init__(self, max_kept: int = MAX_KEPT):
        self._items: OrderedDict[str, AppGeneration] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_kept

    def add(self, *, task: str, fields: Mapping[str, str], output: str, model: str, model_info: Mapping[str, Any],
            prompt: str, stats: Mapping[str, Any] | None = None) -> AppGeneration:
        gen = AppGeneration(uid=uuid.uuid4().hex, task=task, fields=dict(fields), output=output, model=model,
                            model_info=dict(model_info), prompt_sha256=hashlib.sha256(prompt.encode("utf-8")).hexdigest(),
                            created_at=datetime.now(timezone.utc).isoformat(timespec="microseconds"),
                            stats=dict(stats or {}))
        with self._lock:
            self._items[gen.uid] = gen
            while len(self._items) > self._max:
                self._items.popitem(last=False)
        return gen

    def get(self, uid: str | None) -> AppGeneration | None:
        if not isinstance(uid, str):
            return None
        with self._lock:
            return self._items.get(uid)
