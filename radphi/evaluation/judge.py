"""The LLM judge: relevance and accuracy from 1 to 10, per record, as the paper's GPT-4 judge.

    radphi eval preds.jsonl --out DIR --judge openai:qwen@http://127.0.0.1:8080/v1
    radphi eval preds.jsonl --out DIR --judge openai-chat:gpt-4o@https://api.openai.com/v1 --allow-remote

The judge sees the record's input fields (the context), the ground truth and the
prediction, through the prompt in `judge_prompt.txt` (placeholders {context},
{reference}, {prediction}). Requests go through the OpenAI-compatible backend, so its
privacy rule applies: a non-loopback judge gets report text only with --allow-remote,
PHI-scrubbed. A reply that cannot be read is recorded as missing and counted, never 0.

Judgements are cached in RADPHI_HOME/judge_cache/ (a 0700 directory, a 0600 SQLite
file: the replies may quote report text), keyed by sha256 of (judge model, prompt), so a
rerun sends nothing. `radphi eval --purge-cache` empties it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from radphi import privacy, tasks
from radphi.backends import Backend, GenParams, Request
from radphi.errors import BackendUnavailable, InputError, ModelLoadError, RemoteNotAllowed
from radphi.settings import radphi_home

log = logging.getLogger(__name__)

PROMPT_FILE = Path(__file__).with_name("judge_prompt.txt")
# Room for a short preamble before the scores; the prompt asks for one line of JSON.
JUDGE_PARAMS = GenParams(max_new_tokens=128, temperature=0.0)
MAX_CONSECUTIVE_FAILURES = 3
REMOTE_WARNING = (
    "the judge at {url} is not on this machine: report text goes to it, PHI-scrubbed. "
    "Credentialed datasets such as MIMIC-CXR forbid sending their text to third-party services "
    "(PhysioNet's data use agreement); use a judge on this machine for them."
)
_FIELD_TITLES = {"report": "Report", "prior_report": "Prior report", "question": "Question",
                 "findings": "Findings", "text": "Text"}
_PLACEHOLDER = re.compile(r"\{(context|reference|prediction)\}")

# ---------------------------------------------------------------- prompt


def load_prompt(path: str | os.PathLike | None = None) -> str:
    """The judge prompt template; it must hold {context}, {reference} and {prediction}."""
    text = Path(path or PROMPT_FILE).read_text(encoding="utf-8")
    missing = [p for p in ("{context}", "{reference}", "{prediction}") if p not in text]
    if missing:
        raise InputError(f"judge prompt {path or PROMPT_FILE} lacks the placeholder(s) {', '.join(missing)}")
    return text


def render_prompt(template: str, fields: Mapping[str, str]) -> str:
    """The template with its three placeholders filled in one pass (text may hold braces)."""
    return _PLACEHOLDER.sub(lambda m: str(fields.get(m.group(1), "")), template).strip()


def judge_context(record: Mapping[str, Any]) -> str:
    """The task's input fields, titled, as the judge's context."""
    task = tasks.get_task(str(record.get("task")))
    parts = []
    for name in task.fields + task.optional_fields:
        value = tasks.clean_field(record.get(name))
        if value:
            parts.append(f"{_FIELD_TITLES.get(name, name.replace('_', ' ').capitalize())}: {value}")
    return "\n".join(parts)


@dataclass(frozen=True)
class JudgeRequest(Request):
    """A backend Request for the judge: its prompt comes from the judge template, not a task.

    The privacy rule re-renders a request from its PHI-scrubbed fields through
    `with_fields`, so the judge's fields (context, reference, prediction) are scrubbed
    like a task's; a chat endpoint sends `instruction`.
    """

    template: str = ""

    @classmethod
    def make(cls, template: str, fields: Mapping[str, str]) -> "JudgeRequest":
        clean = {k: str(v or "") for k, v in fields.items()}
        return cls(task="judge", fields=clean, prompt=render_prompt(template, clean), template=template)

    @property
    def instruction(self) -> str:
        return self.prompt

    def with_fields(self, fields: Mapping[str, str], truncated: bool | None = None) -> "JudgeRequest":
        return dataclasses.replace(self, fields=dict(fields), prompt=render_prompt(self.template, fields),
                                   truncated=self.truncated if truncated is None else truncated)


# ---------------------------------------------------------------- reply parsing

_SCALE = re.compile(r"\(?\s*(?:on\s+a\s+scale\s+(?:of|from)\s+)?\b1\s*(?:-|–|—|to)\s*10\b\s*\)?", re.I)
_NUMBER = r"(\d+(?:\.\d+)?)"


def _in_range(value: Any) -> float | None:
    try:
        v = float(str(value).strip().split("/")[0])
    except (TypeError, ValueError):
        return None
    return v if 1.0 <= v <= 10.0 else None


def _from_json(text: str) -> tuple[float | None, float | None]:
    rel = acc = None
    for block in re.findall(r"\{[^{}]*\}", text):
        try:
            obj = json.loads(block)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        for key, value in obj.items():
            k = str(key).lower()
            if rel is None and "relevan" in k:
                rel = _in_range(value)
            elif acc is None and "accura" in k:
                acc = _in_range(value)
    return rel, acc


def _from_prose(text: str, word: str, other: str) -> float | None:
    for m in re.finditer(word + r"\w*", text, re.I):
        tail = text[m.end():m.end() + 60]
        num = re.search(_NUMBER, tail)
        if not num:
            continue
        gap = tail[:num.start()]
        # The number must belong to this word: close by, and not past the other score's name.
        if len(gap) > 40 or re.search(other, gap, re.I) or re.search(r"[.;]\s", gap):
            continue
        return _in_range(num.group(1))
    return None


def parse_judge_reply(text: str | None) -> tuple[float | None, float | None]:
    """(relevance, accuracy) from a judge's reply; None for a score that cannot be read.

    Reads JSON ({"relevance": 8, "accuracy": 7}), "Relevance: 8/10, Accuracy: 7", and
    prose ("I would rate the relevance 8 out of 10 and the accuracy 6"). A score outside
    1-10 is unreadable, and so is a scale written as a score ("on a scale of 1-10").
    """
    if not text:
        return None, None
    body = text.replace("*", "").replace("#", "")
    rel, acc = _from_json(body)
    prose = _SCALE.sub(" ", body)
    if rel is None:
        rel = _from_prose(prose, "relevan", "accura")
    if acc is None:
        acc = _from_prose(prose, "accura", "relevan")
    return rel, acc


# ---------------------------------------------------------------- cache


def cache_dir() -> Path:
    return radphi_home() / "judge_cache"


class JudgeCache:
    """Judgements on disk, keyed by sha256(judge model, prompt); owner-only permissions."""

    FILE = "judgements.sqlite"

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = Path(directory) if directory else cache_dir()
        self.path = self.directory / self.FILE
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(model: str, prompt: str) -> str:
        return hashlib.sha256(json.dumps([model, prompt], ensure_ascii=False).encode("utf-8")).hexdigest()

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(self.directory, 0o700)
            # Created 0600 before SQLite opens it; SQLite gives its journal the same mode.
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
            os.chmod(self.path, 0o600)
            self._conn = sqlite3.connect(self.path, check_same_thread=False)
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS judgements (key TEXT PRIMARY KEY, model TEXT, reply TEXT, "
                "relevance REAL, accuracy REAL, created REAL)"
            )
            self._conn.commit()
        return self._conn

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._connect().execute("SELECT reply FROM judgements WHERE key = ?", (key,)).fetchone()
            if row is None:
                self.misses += 1
                return None
            self.hits += 1
            return row[0]

    def put(self, key: str, model: str, reply: str, relevance: float | None, accuracy: float | None) -> None:
        with self._lock:
            conn = self._connect()
            conn.execute("INSERT OR REPLACE INTO judgements VALUES (?, ?, ?, ?, ?, ?)",
                         (key, model, reply, relevance, accuracy, time.time()))
            conn.commit()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def purge_cache(directory: str | os.PathLike | None = None) -> int:
    """Delete every cached judgement; returns how many files were removed."""
    d = Path(directory) if directory else cache_dir()
    removed = 0
    if d.is_dir():
        for f in d.iterdir():
            if f.is_file():
                f.unlink()
                removed += 1
    return removed


# ---------------------------------------------------------------- the judge


@dataclass
class Judgement:
    relevance: float | None
    accuracy: float | None
    reply: str | None = None
    cached: bool = False
    error: str | None = None

    @property
    def parsed(self) -> bool:
        return self.relevance is not None and self.accuracy is not None


@dataclass
class JudgeCounts:
    judged: int = 0
    cached: int = 0
    requests: int = 0
    unparseable: int = 0
    errors: int = 0

    def __str__(self) -> str:
        return (f"{self.judged} judged: {self.cached} from the cache, {self.requests} requests, "
                f"{self.unparseable} unreadable replies and {self.errors} failed calls (recorded as missing)")


def judge_model_id(spec: str) -> str:
    """The judge's identity in the cache key: its SPEC without the server URL
    (the same model behind another port or host is the same judge)."""
    from radphi.backends.openai_api import parse_spec

    try:
        endpoint, model, _ = parse_spec(spec)
    except ModelLoadError:
        return spec
    return f"{'openai-chat' if endpoint == 'chat' else 'openai'}:{model}"


def load_judge_backend(spec: str, allow_remote: bool | None) -> Backend:
    """The judge's backend, refusing a non-loopback server without the opt-in (before any traffic)."""
    from radphi.backends import backend_kind, load_backend

    if backend_kind(spec) != "openai_api":
        raise ModelLoadError(f"--judge takes an OpenAI-compatible server: openai:MODEL@URL or "
                             f"openai-chat:MODEL@URL, not {spec!r}")
    backend = load_backend(spec, allow_remote=privacy.resolve_allow_remote(allow_remote))
    url = getattr(backend, "base_url", "")
    if not privacy.is_loopback_url(url):
        if not privacy.resolve_allow_remote(allow_remote):
            raise RemoteNotAllowed(privacy.not_allowed_message(url))
        log.warning("%s", REMOTE_WARNING.format(url=url))
    return backend


class Judge:
    """Scores records with a judge backend, through the cache."""

    def __init__(self, backend: Backend, *, model_id: str | None = None, template: str | None = None,
                 cache: JudgeCache | None = None, params: GenParams = JUDGE_PARAMS, workers: int | None = None):
        self.backend = backend
        self.model_id = model_id or judge_model_id(backend.spec)
        self.template = template if template is not None else load_prompt()
        self.cache = cache or JudgeCache()
        self.params = params
        self.workers = workers or int(getattr(backend, "batch_workers", 1) or 1)
        self.counts = JudgeCounts()
        self._failures = 0
        self._lock = threading.Lock()

    def request_for(self, record: Mapping[str, Any]) -> JudgeRequest:
        fields = {"context": judge_context(record), "reference": tasks.clean_field(record.get("reference")),
                  "prediction": tasks.clean_field(record.get("prediction"))}
        return JudgeRequest.make(self.template, fields)

    def judge_one(self, record: Mapping[str, Any]) -> Judgement:
        request = self.request_for(record)
        key = JudgeCache.key(self.model_id, request.prompt)
        cached = self.cache.get(key)
        if cached is not None:
            rel, acc = parse_judge_reply(cached)
            return self._count(Judgement(rel, acc, cached, cached=True))
        with self._lock:
            give_up = self._failures >= MAX_CONSECUTIVE_FAILURES
        if give_up:
            return self._count(Judgement(None, None, error="judge skipped after repeated failures"))
        try:
            with self._lock:
                self.counts.requests += 1
            reply = self.backend.generate(request, self.params).text
        except (BackendUnavailable, InputError) as exc:
            with self._lock:
                self._failures += 1
                if self._failures == MAX_CONSECUTIVE_FAILURES:
                    log.error("judge: %d calls in a row failed; the remaining records are left unjudged: %s",
                              MAX_CONSECUTIVE_FAILURES, exc)
            return self._count(Judgement(None, None, error=str(exc)))
        with self._lock:
            self._failures = 0
        rel, acc = parse_judge_reply(reply)
        self.cache.put(key, self.model_id, reply, rel, acc)
        return self._count(Judgement(rel, acc, reply))

    def _count(self, j: Judgement) -> Judgement:
        with self._lock:
            self.counts.judged += 1
            self.counts.cached += j.cached
            if j.error:
                self.counts.errors += 1
            elif not j.parsed:
                self.counts.unparseable += 1
        return j

    def judge_many(self, records: Iterable[Mapping[str, Any]], progress: bool = True) -> list[Judgement]:
        """Judgements in the records' order, with a progress bar (judge calls can be slow)."""
        items = list(records)
        bar = None
        if progress and items:
            from tqdm import tqdm

            bar = tqdm(total=len(items), desc="judge", unit="rec")

        def one(record: Mapping[str, Any]) -> Judgement:
            try:
                return self.judge_one(record)
            finally:
                if bar:
                    bar.update(1)

        try:
            if self.workers <= 1 or len(items) <= 1:
                return [one(r) for r in items]
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                return list(pool.map(one, items))
        finally:
            if bar:
                bar.close()
