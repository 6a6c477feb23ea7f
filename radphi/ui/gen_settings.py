"""Generation settings from the page (or an API call) that cannot break a run.

- Max new tokens is capped by the chosen model's context minus the prompt
  (`fit_new_tokens`): a request over it is lowered, and the page says so, instead of
  failing. The slider's maximum follows the model's context (`slider_maximum`).
- The seed: with a temperature above 0 and "new seed per click", every run samples with
  a fresh seed, which the page and the record show, so any answer can be repeated
  (`resolve_seed`). Greedy decoding ignores the seed.
- An answer cut by the token limit is said to be cut (`cut_off_text`), never shown as
  if it were complete.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from typing import Any

from radphi.backends import GenParams, Request
from radphi.errors import InputError

log = logging.getLogger(__name__)

# The slider's maximum when a model does not say how long its context is.
MAX_NEW_TOKENS_LIMIT = 2048
# Below this much room after the prompt, max new tokens is not lowered further: the
# input's middle is shortened instead (backends.fit_request), since an answer of a
# handful of tokens is of no use.
MIN_ANSWER_TOKENS = 64
SEED_LIMIT = 2**31 - 1  # what every backend takes (llama.cpp's uint32, torch, OpenAI's int)


def resolve_seed(seed: Any, new_seed: Any, temperature: Any) -> int:
    """The seed to decode with: a fresh one when sampling (temperature > 0) with NEW_SEED,
    else SEED as given (0 when empty). InputError for a seed that is not a whole number
    from 0 to 2,147,483,647."""
    try:
        sampling = float(temperature) > 0.0
    except (TypeError, ValueError):
        sampling = False
    if sampling and new_seed is not False and new_seed is not None:
        return secrets.randbelow(SEED_LIMIT) + 1
    if seed is None or seed == "":
        return 0
    try:
        value = float(seed)
    except (TypeError, ValueError):
        raise InputError(f"The seed must be a whole number, not {seed!r}.") from None
    if value != int(value) or not 0 <= value <= SEED_LIMIT:
        raise InputError(f"The seed must be a whole number from 0 to {SEED_LIMIT:,}, not {seed}.")
    return int(value)


def gen_params(max_new_tokens: Any, temperature: Any, grounded: Any = True, constrained: Any = True,
               seed: Any = 0, new_seed: Any = False) -> GenParams:
    """GenParams from the page's controls; InputError with a message for bad values. Max new
    tokens has no fixed ceiling here: `fit_new_tokens` caps it by the model's context."""
    try:
        n = float(max_new_tokens)
        t = float(temperature)
    except (TypeError, ValueError):
        raise InputError("Max new tokens must be a whole number, and the temperature a number.") from None
    if n != int(n) or n < 1:
        raise InputError(f"Max new tokens must be a whole number of 1 or more, not {max_new_tokens}.")
    if not 0.0 <= t <= 2.0:
        raise InputError(f"The temperature must be between 0 and 2, not {t:g}.")
    return GenParams(max_new_tokens=int(n), temperature=t, grounded=grounded is not False,
                     constrained=constrained is not False, seed=resolve_seed(seed, new_seed, t))


def prompt_token_count(backend: Any, request: Request) -> int:
    """The prompt's tokens as the model receives them (its chat template applied)."""
    tokens = getattr(backend, "prompt_tokens", None)
    if callable(tokens):
        return len(tokens(request))
    return int(backend.count_tokens(request.prompt))


def fit_new_tokens(backend: Any, request: Request, params: GenParams) -> tuple[GenParams, str | None]:
    """PARAMS with max new tokens capped by the model's context minus the prompt, and a
    notice for the page when it was lowered (None when it fits as asked).

    When the prompt leaves less than `MIN_ANSWER_TOKENS`, the cap is that floor and the
    backend shortens the input's middle to make room (its own notice says so). A model
    that cannot count (a server that is down) is left to fail with its own message."""
    asked = params.max_new_tokens
    try:
        context = int(backend.context_length)
        prompt = prompt_token_count(backend, request)
    except Exception as exc:  # noqa: BLE001 - the generation itself reports a real failure
        log.info("could not count the prompt against the context: %s", type(exc).__name__)
        return params, None
    room = context - prompt
    if asked <= room:
        return params, None
    if room >= MIN_ANSWER_TOKENS:
        return replace(params, max_new_tokens=room), (
            f"Max new tokens lowered from {asked:,} to {room:,}: the model's context holds {context:,} tokens "
            f"and this prompt takes {prompt:,}.")
    floor = max(1, min(asked, MIN_ANSWER_TOKENS, context // 2))
    if floor == asked:
        return params, None
    return replace(params, max_new_tokens=floor), (
        f"Max new tokens lowered from {asked:,} to {floor:,}: the model's context holds {context:,} tokens and "
        f"this prompt takes {prompt:,}, so the input is shortened to leave room for the answer.")


def slider_maximum(info: dict[str, Any] | None) -> int:
    """The max-new-tokens slider's maximum for a model: its context length (an answer can
    never be longer), else `MAX_NEW_TOKENS_LIMIT`."""
    try:
        context = int((info or {}).get("context_length") or 0)
    except (TypeError, ValueError):
        context = 0
    return context if context > 1 else MAX_NEW_TOKENS_LIMIT


def cut_off_text(tokens: int, what: str = "the answer is incomplete") -> str:
    """What the page says of an answer that the token limit cut."""
    return (f"Cut off at {tokens:,} tokens (the max new tokens limit): {what}. "
            f"Raise max new tokens and run again to see the rest.")
