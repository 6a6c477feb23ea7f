"""The lexical metrics, each a pure `(prediction, reference) -> float` on the 0-1 scale.

Named as in `radphi.tasks.Task.metrics`:

    f1, precision, recall   unigram scores as LLaVA-Med computes them (`radphi.evaluation.llava_f1`)
    bleu1                   nltk `sentence_bleu(weights=(1, 0, 0, 0))` on the whitespace tokens
                            of the normalised texts, as LLaVA-Med's run_eval.py computes it
    rougeL                  the F-measure of `rouge_score.RougeScorer(['rougeL'])` on the raw texts

BLEU-1 and ROUGE-L are computed here with the same arithmetic as nltk and rouge-score
(tests/test_eval_metrics.py checks equality on many inputs), but much faster: nltk's
Fractions and rouge-score's O(n*m) Python table cost minutes on 50,000 findings, while
ROUGE-L's LCS here is the bit-parallel algorithm (Allison-Dix / Hyyroe) on Python ints.

    >>> round(rouge_l("small left effusion", "left pleural effusion"), 4)
    0.6667
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from radphi.evaluation.llava_f1 import f1_from_counts, normalize_answer, normalize_word, word_counts
from radphi.tasks import TEXT_METRICS

log = logging.getLogger(__name__)

_ROUGE_TOKEN = re.compile(r"[a-z0-9]+")

# The order of `lexical_rows`' tuples: the tasks' TEXT_METRICS.
LEXICAL_METRICS = TEXT_METRICS


def rouge_tokens(text: str) -> list[str]:
    """rouge-score's default tokens (no stemming): lower-case runs of a-z and 0-9."""
    return _ROUGE_TOKEN.findall(text.lower())


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two token lists (bit-parallel)."""
    if not a or not b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    masks: dict[str, int] = {}
    for i, token in enumerate(a):
        masks[token] = masks.get(token, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for token in b:
        m = masks.get(token)
        if m is None:
            continue
        u = v & m
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def rouge_l_from_tokens(pred: list[str], ref: list[str]) -> float:
    if not pred or not ref:
        return 0.0
    lcs = lcs_length(ref, pred)
    precision = lcs / len(pred)
    recall = lcs / len(ref)
    # rouge_score.scoring.fmeasure, same operations, same floats.
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure, as `RougeScorer(['rougeL']).score(reference, prediction).fmeasure`."""
    return rouge_l_from_tokens(rouge_tokens(prediction or ""), rouge_tokens(reference or ""))


def bleu1_from_tokens(hyp: list[str], ref: list[str]) -> float:
    """nltk's sentence_bleu([ref], hyp, weights=(1, 0, 0, 0)), without its warning.

    nltk: BP * exp(sum(w_n * log p_n)); the orders with weight 0 add 0 * log(tiny) = 0,
    and a hypothesis without a unigram match scores 0.
    """
    if not hyp:
        return 0.0
    ref_counts = Counter(ref)
    matches = sum(min(count, ref_counts.get(tok, 0)) for tok, count in Counter(hyp).items())
    if matches == 0:
        return 0.0
    c, r = len(hyp), len(ref)
    bp = 1 if c > r else math.exp(1 - r / c)
    return bp * math.exp(math.fsum([math.log(matches / c)]))


def bleu1(prediction: str, reference: str) -> float:
    """BLEU-1 on the whitespace tokens of the LLaVA-Med-normalised texts; empty prediction: 0."""
    return bleu1_from_tokens(normalize_answer(prediction or "").split(), normalize_answer(reference or "").split())


def f1(prediction: str, reference: str) -> float:
    return lexical_scores(prediction, reference)["f1"]


def precision(prediction: str, reference: str) -> float:
    return lexical_scores(prediction, reference)["precision"]


def recall(prediction: str, reference: str) -> float:
    return lexical_scores(prediction, reference)["recall"]


def lexical_scores(prediction: str, reference: str) -> dict[str, float]:
    """All five lexical metrics at once, normalising each text once (what scoring uses)."""
    pred = normalize_answer(prediction or "")
    ref = normalize_answer(reference or "")
    f, p, r = f1_from_counts(word_counts(normalize_word(pred)), word_counts(normalize_word(ref)))
    return {
        "f1": f,
        "precision": p,
        "recall": r,
        "bleu1": bleu1_from_tokens(pred.split(), ref.split()),
        "rougeL": rouge_l(prediction or "", reference or ""),
    }


def lexical_rows(pairs: list[tuple[str, str]]) -> list[tuple[float, float, float, float, float]]:
    """(f1, precision, recall, bleu1, rougeL) for each (prediction, reference): a picklable
    batch function for worker processes."""
    out = []
    for prediction, reference in pairs:
        s = lexical_scores(prediction, reference)
        out.append(tuple(s[m] for m in LEXICAL_METRICS))
    return out

