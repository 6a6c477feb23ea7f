"""Scores of candidate continuations under a transformers model, for grounded decoding.

`option_scores` runs on the backend's model thread (as every model call does): one
batched forward pass of the prompt-and-answer followed by each option's first tokens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def option_scores(model: Any, base: Sequence[int], options: Sequence[Sequence[int]], end_ids: Sequence[int],
                  device: str, pad_id: int = 0) -> tuple[list[float], float]:
    """(each option's mean log-probability over its tokens, the log-probability of ending)
    after the token sequence BASE."""
    import torch

    width = len(base) + max((len(o) for o in options), default=0)
    rows = [list(base) + list(o) + [pad_id] * (width - len(base) - len(o)) for o in options] or [list(base)]
    mask = [[1] * (len(base) + len(o)) + [0] * (width - len(base) - len(o)) for o in options] or [[1] * len(base)]
    with torch.no_grad():
        ids = torch.tensor(rows, device=device)
        logits = model(input_ids=ids, attention_mask=torch.tensor(mask, device=device)).logits.float()
        logp = torch.log_softmax(logits[:, len(base) - 1:, :], dim=-1)
    scores = []
    for r, opt in enumerate(options):
        vals = [logp[r, j, t].item() for j, t in enumerate(opt)]
        scores.append(sum(vals) / len(vals) if vals else -math.inf)
    end = max((logp[0, 0, t].item() for t in end_ids if t is not None and 0 <= t < logp.shape[-1]),
              default=-math.inf)
    return scores, end
