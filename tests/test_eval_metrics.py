"""BLEU-1 and ROUGE-L against nltk and rouge-score on the same inputs; the LCS; the bundle."""

from __future__ import annotations

import random
import warnings

import pytest
from nltk.translate.bleu_score import sentence_bleu
from rouge_score import rouge_scorer

from radphi.evaluation import metrics
from radphi.evaluation.llava_f1 import f1_precision_recall, normalize_answer

PAIRS = [
    ("Small left pleural effusion.", "Small left pleural effusion."),
    ("No acute cardiopulmonary process.", "No acute cardiopulmonary abnormality. Stable cardiomegaly."),
    ("Mild pulmonary edema, improved.", "Interval improvement of mild pulmonary edema."),
    ("The the the the", "the cat"),
    ("Effusion", "Large right-sided pleural effusion with adjacent atelectasis, unchanged from 2 days ago."),
    ("Right IJ line tip in the SVC; two (2) tubes.", "right ij catheter tip at the cavoatrial junction"),
    ("pneumothorax", "no pneumothorax"),
    ("Heart size normal. Lungs clear. No effusion.", "Lungs are clear. Heart size is normal."),
]
WORDS = "the a no left right pleural effusion small pneumothorax heart size normal two, cm. (x) - ; opacity".split()


def random_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [(" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 25))),
             " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 25)))) for _ in range(n)]


def nltk_bleu1(pred: str, ref: str) -> float:
    # As LLaVA-Med's run_eval.py: whitespace tokens of the normalised, lower-cased texts.
    hyp = normalize_answer(pred).lower().split()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sentence_bleu(references=[normalize_answer(ref).lower().split()], hypothesis=hyp, weights=(1, 0, 0, 0))


@pytest.mark.parametrize("pred,ref", PAIRS)
def test_bleu1_equals_nltk(pred, ref):
    assert metrics.bleu1(pred, ref) == nltk_bleu1(pred, ref)


def test_bleu1_equals_nltk_on_random_pairs():
    pairs = random_pairs(400, seed=3)
    values = [metrics.bleu1(p, r) for p, r in pairs]
    assert values == [nltk_bleu1(p, r) for p, r in pairs]
    assert 0 < sum(v > 0 for v in values) < len(values)  # both kinds of case were exercised


def test_bleu1_brevity_penalty_and_empty_prediction():
    # 1 of 1 unigram matches, but the hypothesis is 1 token against 3: BP = exp(1 - 3/1).
    assert metrics.bleu1("effusion", "large effusion noted") == pytest.approx(2.718281828459045 ** -2)
    assert metrics.bleu1("", "effusion") == 0.0
    assert metrics.bleu1("the", "effusion") == 0.0  # empty once normalised


def test_bleu1_emits_no_warning_on_zero_counts():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert metrics.bleu1("pneumothorax", "effusion") == 0.0
        assert metrics.bleu1("small effusion", "effusion") > 0.0  # zero bigram counts: nltk warns
    assert caught == []


@pytest.mark.parametrize("pred,ref", PAIRS)
def test_rouge_l_equals_rouge_score(pred, ref):
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    assert metrics.rouge_l(pred, ref) == scorer.score(ref, pred)["rougeL"].fmeasure


def test_rouge_l_equals_rouge_score_on_random_pairs():
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    pairs = random_pairs(400, seed=4) + [("é café x", "cafe x"), ("", "a"), ("a", "")]
    mine = [metrics.rouge_l(p, r) for p, r in pairs]
    assert mine == [scorer.score(r, p)["rougeL"].fmeasure for p, r in pairs]
    assert len(set(mine)) > 20


def _lcs_table(a: list[str], b: list[str]) -> int:
    t = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            t[i][j] = t[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(t[i - 1][j], t[i][j - 1])
    return t[-1][-1]


def test_bit_parallel_lcs_matches_the_dynamic_programme():
    rng = random.Random(5)
    for _ in range(300):
        a = [rng.choice("abcde") for _ in range(rng.randint(0, 90))]
        b = [rng.choice("abcde") for _ in range(rng.randint(0, 90))]
        assert metrics.lcs_length(a, b) == _lcs_table(a, b)
    assert metrics.lcs_length(list("abcbdab"), list("bdcaba")) == 4


def test_lexical_scores_bundle_matches_each_function():
    for pred, ref in PAIRS:
        scores = metrics.lexical_scores(pred, ref)
        f, p, r = f1_precision_recall(pred, ref)
        assert scores == {"f1": f, "precision": p, "recall": r, "bleu1": metrics.bleu1(pred, ref),
                          "rougeL": metrics.rouge_l(pred, ref)}
    assert metrics.lexical_rows([("a b", "b")])[0][0] == metrics.f1("a b", "b")


def test_worker_processes_give_the_same_scores_in_order():
    from radphi.evaluation.scoring import PARALLEL_MIN_PAIRS, compute_lexical

    pairs = random_pairs(PARALLEL_MIN_PAIRS, seed=9)
    parallel = compute_lexical(pairs, workers=2)
    assert parallel == compute_lexical(pairs, workers=1)
    assert parallel[17] == metrics.lexical_rows([pairs[17]])[0]
