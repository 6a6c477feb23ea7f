"""The `chat` prompt format's part that every local backend shares: putting a
request's messages through the model's own chat template, and finding the
template's end-of-turn marker to stop on.

The template itself is rendered by the model's library: llama-cpp-python's
`Jinja2ChatFormatter` over the GGUF's `tokenizer.chat_template` (llamacpp.py), and
transformers' `tokenizer.apply_chat_template` (hf.py). Each hands this module a
`render(messages, add_generation_prompt) -> str`.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from radphi.errors import InputError

log = logging.getLogger(__name__)

Render = Callable[[list[dict[str, str]], bool], str]

# An assistant turn with this content shows what the template writes after an answer.
_MARK = "\u2063radphi-end-of-answer\u2063"


def render_chat(render: Render, messages: list[dict[str, str]], *, add_generation_prompt: bool = True) -> str:
    """The prompt text for MESSAGES. A template that refuses a system message (Gemma's,
    Mistral's first ones raise) gets it folded into the user message instead."""
    try:
        return render(messages, add_generation_prompt)
    except Exception as exc:  # jinja2's TemplateError, or the template's own raise_exception
        if messages and messages[0]["role"] == "system" and len(messages) > 1:
            folded = [{"role": messages[1]["role"], "content": messages[0]["content"] + "\n\n" + messages[1]["content"]},
                      *messages[2:]]
            log.info("the chat template refused a system message (%s); folding it into the user message",
                     type(exc).__name__)
            try:
                return render(folded, add_generation_prompt)
            except Exception as exc2:
                exc = exc2
        raise InputError(f"the model's chat template failed to render the prompt: {type(exc).__name__}: {exc}") from exc


def render_request(render: Render, request: Any, user: str | None = None) -> str:
    """The exact text a model receives for REQUEST (a `radphi.backends.Request`): the chat
    template applied in the chat format, else the prompt as it is; USER replaces the
    request's user message (to count a shortened one). Shared by every local backend."""
    if not request.chat:
        return request.prompt if user is None else user
    return render_chat(render, request.chat_messages(user))


def answer_tail(render: Render) -> str:
    """What the template writes right after an assistant's answer, leading spaces and
    line breaks dropped: it starts with the end-of-turn marker (`<|end|>`, `<|im_end|>`,
    `<|eot_id|>`, `<end_of_turn>`, `</s>`). "" when the template shows none."""
    try:
        text = render([{"role": "user", "content": "Hello."}, {"role": "assistant", "content": _MARK}], False)
    except Exception:  # a template that insists on a generation prompt: nothing to learn here
        return ""
    _, found, tail = text.partition(_MARK)
    return tail.lstrip(" \n") if found else ""


def end_of_turn(render: Render, special_tokens: Any) -> tuple[str, ...]:
    """The template's end-of-turn marker among SPECIAL_TOKENS (the vocabulary's special
    token texts), as a one-item tuple; () when the template writes none there (the
    model's end-of-text token then ends the answer)."""
    tail = answer_tail(render)
    hits = sorted((t for t in special_tokens if t and tail.startswith(t)), key=len, reverse=True)
    return (hits[0],) if hits else ()
