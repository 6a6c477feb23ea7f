"""How the transformers backend runs `generate`: on one model thread, with a static
cache compiled into CUDA graphs on the GPU, stoppable, with first-token timing.

Measured on an H200 with a Phi-2-sized model in bf16 (shared/ENVIRONMENT_NOTES.md):
plain `generate` decodes one stream at about 15 tok/s, every step paying Python and
kernel-launch overhead; a static KV cache with
`CompileConfig(fullgraph=True, mode="reduce-overhead", dynamic=False)` replays the
decode step as CUDA graphs at 207-219 tok/s, after a first call of about 44 s that
compiles. So the backend compiles once, in `HFBackend.warmup()` run in the
background at start-up, and keeps every later call on the same compiled shapes:

- The static cache is always `context_length` long (`max_cache_len`), so a longer
  prompt or answer never changes a shape; with `dynamic=False` a new shape would
  recompile (44 s again) and, past torch's recompile limit, fall back to eager.
- Every model call runs on one long-lived thread (`ModelThread`): CUDA graphs that
  torch.compile records belong to the thread that recorded them, and recording or
  replaying them from several threads is fragile (pytorch/pytorch#123177).

Batches use the plain dynamic cache: at batch 32 and more the GPU is busy enough
that launch overhead does not matter (520 tok/s at 32, 1,660 at 128, uncompiled).
The prefill always runs uncompiled (transformers compiles the decode step only).
Nothing here imports torch at module level.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable, Sequence

from radphi.backends.base import GenParams

log = logging.getLogger(__name__)


def static_cache_kwargs(context_length: int) -> dict[str, Any]:
    """`generate` keyword arguments for single-stream decoding with CUDA graphs."""
    from transformers import GenerationConfig
    from transformers.generation import CompileConfig

    kwargs: dict[str, Any] = {
        "cache_implementation": "static",
        # An equal config (a dataclass) reuses transformers' compiled call; a different one recompiles.
        "compile_config": CompileConfig(fullgraph=True, mode="reduce-overhead", dynamic=False),
    }
    if hasattr(GenerationConfig(), "max_cache_len"):
        kwargs["max_cache_len"] = context_length
    else:  # an older transformers sizes the cache per call (the largest so far)
        log.warning("this transformers has no max_cache_len; a longer request may recompile")
    return kwargs


class ModelThread:
    """Runs submitted calls one at a time on a single thread.

    A daemon thread, so an interrupted app exits without waiting for a generation.
    """

    def __init__(self, name: str = "radphi-hf-model"):
        self._queue: queue.SimpleQueue[tuple[Future, Callable[..., Any], tuple, dict]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        self._queue.put((fut, fn, args, kwargs))
        return fut

    def _loop(self) -> None:
        while True:
            fut, fn, args, kwargs = self._queue.get()
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the caller, who turns it into a user error
                fut.set_exception(exc)
            else:
                fut.set_result(result)


class TokenClock:
    """A streamer for `generate` that notes when the first new token reaches the host
    (the first `put` is the prompt), passing everything on to `inner`."""

    def __init__(self, inner: Any = None):
        self.inner = inner
        self.first: float | None = None
        self._seen_prompt = False

    def put(self, value: Any) -> None:
        if self._seen_prompt and self.first is None:
            self.first = time.perf_counter()
        self._seen_prompt = True
        if self.inner is not None:
            self.inner.put(value)

    def end(self) -> None:
        if self.inner is not None:
            self.inner.end()


@functools.lru_cache(maxsize=None)
def _cancel_criteria_class() -> type:
    import torch
    from transformers import StoppingCriteria

    class CancelCriteria(StoppingCriteria):
        """Stops every sequence once `event` is set (a closed Stream)."""

        def __init__(self, event: threading.Event):
            self.event = event

        def __call__(self, input_ids, scores, **kwargs):
            return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)

    return CancelCriteria


def run_generate(model: Any, tokenizer: Any, prompts: Sequence[Sequence[int]], params: GenParams, *,
                 device: str, eos_ids: Sequence[int], stop_texts: Sequence[str], static_length: int | None,
                 streamer: Any = None, cancel: threading.Event | None = None, logits_processor: Any = None) -> Any:
    """Generate for token-id prompts, left-padded into one batch; returns the new ids (CPU).

    `static_length`: use the compiled static-cache path with a cache that long (one
    prompt on CUDA only). `cancel`: an Event that stops generation at the next token.
    `logits_processor`: one more processor, such as an answer-shape constraint.
    """
    import torch

    width = max(len(p) for p in prompts)
    pad = tokenizer.pad_token_id
    input_ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    mask = torch.zeros_like(input_ids)
    for i, p in enumerate(prompts):
        input_ids[i, width - len(p):] = torch.tensor(list(p), dtype=torch.long)
        mask[i, width - len(p):] = 1
    kwargs: dict[str, Any] = {"max_new_tokens": params.max_new_tokens, "eos_token_id": list(eos_ids),
                              "pad_token_id": pad}
    if stop_texts:
        kwargs.update(stop_strings=list(stop_texts), tokenizer=tokenizer)
    if params.greedy:
        kwargs["do_sample"] = False
    else:  # top_k=0 switches top-k off, as in GenParams
        kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=params.top_k)
        torch.manual_seed(params.seed)
    if static_length and len(prompts) == 1:
        kwargs.update(static_cache_kwargs(static_length))
    if logits_processor is not None:
        from transformers import LogitsProcessorList

        kwargs["logits_processor"] = LogitsProcessorList([logits_processor])
    if cancel is not None:
        from transformers import StoppingCriteriaList

        kwargs["stopping_criteria"] = StoppingCriteriaList([_cancel_criteria_class()(cancel)])
    try:
        with torch.inference_mode():
            out = model.generate(input_ids=input_ids.to(device), attention_mask=mask.to(device),
                                 streamer=streamer, **kwargs)
    except BaseException:
        if streamer is not None:
            streamer.end()  # a reader waiting for text would otherwise wait forever
        raise
    return out[:, width:].cpu()
