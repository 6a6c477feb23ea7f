"""Answer-shape constraints for the transformers backend: a task's GBNF grammar
(`constraints`) compiled for the model's tokenizer, applied as a logits processor.

Two well-kept engines can do this; `ENGINES` maps their names to builders, and
`shape_processor` uses `ENGINE` (see bench/bench_constrained.py for how they were
measured here: both hold a grammar-constrained answer; the faster one is the default):

- xgrammar: `xgr.contrib.hf.LogitsProcessor` over a `GrammarCompiler` for the tokenizer;
- llguidance: an `LLMatcher` per row, its token bitmask applied to the logits.

The tokenizer's compiled form costs about a second on a large vocabulary, and the
grammar's compilation some milliseconds, so both are cached per tokenizer and task.
The end-of-text and end-of-turn tokens (`stop_ids`) are what may end a finished answer.
Nothing here is imported unless a constrained generation runs.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable

from radphi.backends import constraints
from radphi.errors import ModelLoadError

ENGINE = "xgrammar"
_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def _xgrammar_compiler(tokenizer: Any, vocab_size: int, stop_ids: tuple[int, ...]) -> Any:
    import xgrammar as xgr

    info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=list(stop_ids))
    return xgr.GrammarCompiler(info)


@functools.lru_cache(maxsize=64)
def _xgrammar_grammar(tokenizer: Any, vocab_size: int, stop_ids: tuple[int, ...], task: str) -> Any:
    shape = constraints.shape(task)
    assert shape is not None
    return _xgrammar_compiler(tokenizer, vocab_size, stop_ids).compile_grammar(shape.gbnf)


def _xgrammar(tokenizer: Any, task: str, vocab_size: int, stop_ids: tuple[int, ...]) -> Any:
    from xgrammar.contrib.hf import LogitsProcessor

    with _lock:
        compiled = _xgrammar_grammar(tokenizer, vocab_size, stop_ids, task)
    return LogitsProcessor(compiled)  # one per generate() call: it keeps the rows' matchers


@functools.lru_cache(maxsize=8)
def _llg_tokenizer(tokenizer: Any, vocab_size: int, stop_ids: tuple[int, ...]) -> Any:
    import llguidance.hf

    return llguidance.hf.from_tokenizer(tokenizer, n_vocab=vocab_size, eos_token=list(stop_ids))


@functools.lru_cache(maxsize=64)
def _llg_grammar(task: str) -> str:
    from llguidance import LLMatcher
    from llguidance.gbnf_to_lark import gbnf_to_lark

    shape = constraints.shape(task)
    assert shape is not None
    return LLMatcher.grammar_from_lark(gbnf_to_lark(shape.gbnf))


@functools.lru_cache(maxsize=1)
def _llg_processor_class() -> type:
    import torch
    import transformers
    from llguidance import LLMatcher
    from llguidance.torch import allocate_token_bitmask, apply_token_bitmask_inplace, fill_next_token_bitmask

    class LLGuidanceProcessor(transformers.LogitsProcessor):
        """One matcher per row; the first call sees the prompt, later ones the last token."""

        def __init__(self, tokenizer: Any, grammar: str, vocab_size: int):
            self.tokenizer, self.grammar, self.vocab_size = tokenizer, grammar, vocab_size
            self.matchers: list[Any] = []
            self.mask: Any = None

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            if not self.matchers:
                self.matchers = [LLMatcher(self.tokenizer, self.grammar) for _ in range(input_ids.shape[0])]
                self.mask = allocate_token_bitmask(len(self.matchers), self.vocab_size)
            else:
                for i, m in enumerate(self.matchers):
                    if not m.is_stopped():
                        m.consume_token(int(input_ids[i, -1]))
            for i, m in enumerate(self.matchers):
                fill_next_token_bitmask(m, self.mask, i)
            out = scores.to("cpu") if scores.device.type not in ("cpu", "cuda") else scores
            apply_token_bitmask_inplace(out, self.mask.to(out.device))
            return out.to(scores.device) if out is not scores else torch.as_tensor(out)

    return LLGuidanceProcessor


def _llguidance(tokenizer: Any, task: str, vocab_size: int, stop_ids: tuple[int, ...]) -> Any:
    with _lock:
        llt = _llg_tokenizer(tokenizer, vocab_size, stop_ids)
        grammar = _llg_grammar(task)
    return _llg_processor_class()(llt, grammar, vocab_size)


ENGINES: dict[str, Callable[[Any, str, int, tuple[int, ...]], Any]] = {
    "xgrammar": _xgrammar,
    "llguidance": _llguidance,
}


def shape_processor(tokenizer: Any, task: str, vocab_size: int, stop_ids: tuple[int, ...],
                    engine: str = "") -> Any:
    """A fresh logits processor that keeps TASK's answers to their shape (one per generate call)."""
    name = engine or ENGINE
    try:
        return ENGINES[name](tokenizer, task, vocab_size, tuple(sorted(set(stop_ids))))
    except ImportError as exc:
        raise ModelLoadError(f"constrained decoding on transformers needs {name} (pip install {name}); "
                             f"or pass --no-constrained") from exc
