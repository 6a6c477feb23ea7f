"""How many requests at once an OpenAI-compatible server should get: the backend's
`batch_workers`, which `radphi run --concurrency`, the Batch tab and the LLM judge
start from.

A serving engine (vLLM, SGLang) batches every request in flight, so one request at a
time leaves it nearly idle. A server that decodes one request at a time queues the
rest, and a queued request spends its timeout waiting. So the number depends on the
server, asked once, with GETs that carry no report text:

- a remote API: REMOTE_WORKERS, without asking (a few at a time stay within rate limits);
- a loopback server whose `/v1/models` says it is vLLM or SGLang (`owned_by`): ENGINE_WORKERS;
- a loopback server whose `/props` advertises `total_slots` (llama.cpp's `llama-server
  --parallel N`): N, as more would only queue;
- any other loopback server (llama-cpp-python's, which decodes one request at a time,
  one we do not know, or none answering): 1.

Hand-written: no library maps a server to its parallel capacity.
"""

from __future__ import annotations

import logging
from typing import Any

from radphi.backends.openai_support import transport_errors

log = logging.getLogger(__name__)

ENGINE_WORKERS = 64   # keeps vLLM's continuous batching busy for a Phi-2-sized model
REMOTE_WORKERS = 4
MAX_SLOTS = 256
ENGINES = ("vllm", "sglang")
PROBE_TIMEOUT = 5.0


def _get_json(http: Any, url: str, timeout: float) -> Any:
    try:
        resp = http.get(url, timeout=timeout)
    except transport_errors() as exc:
        log.debug("%s did not answer: %s", url, exc)
        return None
    if resp.status_code != 200:
        return None
    try:
        return resp.json()
    except ValueError:
        return None


def engine_of(models: Any) -> str | None:
    """'vllm' or 'sglang' when a `/v1/models` listing names one of them as its owner."""
    data = models.get("data") if isinstance(models, dict) else None
    for entry in data if isinstance(data, list) else ():
        owner = str(entry.get("owned_by", "")).lower() if isinstance(entry, dict) else ""
        if owner in ENGINES:
            return owner
    return None


def suggested_workers(http: Any, base_url: str, *, loopback: bool, timeout: float = PROBE_TIMEOUT) -> int:
    """How many requests to keep in flight toward the server at BASE_URL (see the module doc)."""
    if not loopback:
        return REMOTE_WORKERS
    timeout = min(timeout, PROBE_TIMEOUT)
    engine = engine_of(_get_json(http, base_url + "/models", timeout))
    if engine:
        log.info("%s is %s: %d requests at a time", base_url, engine, ENGINE_WORKERS)
        return ENGINE_WORKERS
    root = base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url
    props = _get_json(http, root + "/props", timeout)
    slots = props.get("total_slots") if isinstance(props, dict) else None
    if isinstance(slots, int) and not isinstance(slots, bool) and slots > 0:
        n = min(slots, MAX_SLOTS)
        log.info("%s advertises %d parallel slots: %d requests at a time", base_url, slots, n)
        return n
    log.info("%s advertises no parallel slots: one request at a time (pass --concurrency N to change it)",
             base_url)
    return 1
