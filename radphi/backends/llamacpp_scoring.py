"""Scores of candidate continuations under a llama.cpp model, for grounded decoding
(radphi.grounding): the llama.cpp counterpart of hf_scoring.py. The model is the backend's
loaded `llama_cpp.Llama`; the caller holds the backend's lock.
"""

from __future__ import annotations

import math
from typing import Any


def logits_rows(llm: Any, batch: list[int], n_past: int) -> Any:
    """Logits for every token of BATCH, decoded after the first N_PAST tokens in the cache.

    `Llama.eval` keeps only the last token's logits unless the whole model was loaded
    with `logits_all` (an n_ctx x n_vocab buffer), so this decodes the batch itself
    through llama-cpp-python's own context and batch objects.
    """
    import numpy as np

    llm._ctx.kv_cache_seq_rm(-1, n_past, -1)
    llm._batch.set_batch(batch=batch, n_past=n_past, logits_all=True)
    llm._ctx.decode(llm._batch)
    n_vocab = llm.n_vocab()
    rows = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(len(batch) * n_vocab,))
    return rows.reshape(len(batch), n_vocab).astype(np.float64)

def option_scorer(llm: Any, prompt: list[int], end_ids: set[int]) -> Any:
    """`radphi.grounding.Scorer` for this model: each option's mean log-probability over
    its first tokens, and the log-probability of ending, after the prompt and answer."""
    import numpy as np

    from radphi.grounding import DEFAULT

    def log_softmax(rows: Any) -> Any:
        rows = rows - rows.max(axis=-1, keepdims=True)
        return rows - np.log(np.exp(rows).sum(axis=-1, keepdims=True))

    def score(answer: str, options: Any, n_tokens: int = DEFAULT.score_tokens) -> tuple[list[float], float]:
        base = prompt + (llm.tokenize(answer.encode("utf-8"), add_bos=False, special=False) if answer else [])
        cached = llm.input_ids[: llm.n_tokens].tolist()
        common = 0
        while common < min(len(cached), len(base) - 1) and cached[common] == base[common]:
            common += 1
        llm.n_tokens = common
        if len(base) - 1 > common:
            llm.eval(base[common:-1])
        past = llm.n_tokens
        # Never past the context: near its end fewer tokens are scored, and with no
        # room at all only ending remains.
        room = min(n_tokens, llm.n_ctx() - len(base))
        scores, end = [], -math.inf
        for i, text in enumerate(options):
            ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)[:max(0, room)]
            lp = log_softmax(logits_rows(llm, [base[-1]] + ids, past))
            scores.append(float(np.mean([lp[j, t] for j, t in enumerate(ids)])) if ids else -math.inf)
            if i == 0:  # every row starts from the same context: ending is read off the first
                end = max(float(lp[0, t]) for t in end_ids)
        llm.n_tokens = past
        return scores, end

    return score
