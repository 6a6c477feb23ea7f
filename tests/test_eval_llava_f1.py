"""Unigram F1, precision and recall as LLaVA-Med computes them: hand-computed cases,
quirks included (see radphi/evaluation/llava_f1.py)."""

from __future__ import annotations

import pytest

from radphi.evaluation.llava_f1 import CONTRACTIONS, calculate_f1score, f1_precision_recall, normalize_answer, normalize_word
from radphi.evaluation.metrics import f1, precision, recall


def prf(pred: str, ref: str) -> tuple[float, float, float]:
    return tuple(round(x, 6) for x in f1_precision_recall(pred, ref))  # type: ignore[return-value]


def test_identical_answers_score_one():
    assert prf("Small left pleural effusion", "small left pleural effusion") == (1.0, 1.0, 1.0)


def test_repeated_candidate_word_counts_every_time_in_tp():
    # tp sums the candidate's counts of shared words: 3, not min(3, 1) = 1.
    assert prf("effusion effusion effusion", "effusion") == (1.0, 1.0, 1.0)
    # candidate {left: 2, right: 1}, reference {left: 1, lung: 1}: tp 2, fp 1, fn 1.
    f, p, r = f1_precision_recall("left left right", "left lung")
    assert (p, r) == (2 / 3, 2 / 3)
    assert f == pytest.approx(2 / 3)


def test_partial_overlap_hand_computed():
    # {mild, cardiomegaly, noted} vs {cardiomegaly, is, present}: tp 1, fp 2, fn 2.
    f, p, r = f1_precision_recall("mild cardiomegaly noted", "cardiomegaly is present")
    assert (p, r) == (1 / 3, 1 / 3)
    assert f == pytest.approx(1 / 3)


def test_number_words_become_digits():
    assert prf("Two nodules", "2 nodules") == (1.0, 1.0, 1.0)
    assert prf("none", "0") == (1.0, 1.0, 1.0)
    assert prf("ten ribs", "10 ribs") == (1.0, 1.0, 1.0)
    # Only zero..ten (and none): eleven stays a word.
    assert normalize_answer("eleven seven") == "eleven 7"


def test_articles_are_dropped():
    assert prf("The heart is an enlarged one", "heart is enlarged 1") == (1.0, 1.0, 1.0)
    assert normalize_answer("A the an") == ""


def test_contractions_get_their_apostrophe_back():
    assert prf("dont", "don't") == (1.0, 1.0, 1.0)
    assert CONTRACTIONS["dont"] == "don't"
    # The original table's own backwards entry is kept.
    assert normalize_word("somebody'd") == "somebodyd"


def test_punctuation_touching_a_space_is_deleted_everywhere():
    # "-" touches a space once, so every "-" is deleted: "right-sided" -> "rightsided".
    assert normalize_answer("right-sided - left") == "rightsided left"
    f, p, r = f1_precision_recall("right-sided - left", "right sided left")
    assert (p, r) == (0.5, 1 / 3)  # {rightsided, left} vs {right, sided, left}
    assert f == pytest.approx(0.4)


def test_punctuation_not_touching_a_space_becomes_a_space():
    assert normalize_answer("right-sided effusion(small)") == "right sided effusion small"
    assert prf("left-sided", "left sided") == (1.0, 1.0, 1.0)
    # Each mark is judged on its own: "(" touches a space, "-" does not.
    assert normalize_answer("a-b (c") == "b c"  # "a" is an article once "-" becomes a space


def test_digit_comma_digit_deletes_all_marks():
    assert normalize_answer("1,000 (approx)") == "1000 approx"
    assert normalize_answer("(approx)") == "approx"
    assert normalize_answer("x(approx)") == "x approx"


def test_colon_is_not_punctuation():
    assert normalize_answer("impression: normal") == "impression: normal"
    assert prf("impression: normal", "impression normal") == (0.5, 0.5, 0.5)


def test_periods_only_the_first_32_per_pass():
    assert normalize_answer("Effusion. 1.5 cm.") == "effusion 1.5 cm"
    # Two passes (run_eval's normalize_word, then calculate_f1score's): 64 periods go.
    words = [f"w{i}" for i in range(70)]
    with_periods = " ".join(w + "." for w in words)
    assert normalize_answer(with_periods).count(".") == 70 - 32
    f, p, r = f1_precision_recall(with_periods, " ".join(words))
    assert (p, r) == (64 / 70, 64 / 70)


def test_empty_texts_and_no_overlap_score_zero():
    assert prf("", "effusion") == (0.0, 0.0, 0.0)
    assert prf("effusion", "") == (0.0, 0.0, 0.0)
    assert prf("", "") == (0.0, 0.0, 0.0)
    assert prf("the", "effusion") == (0.0, 0.0, 0.0)  # only an article: empty after normalising
    assert prf("pneumothorax", "effusion") == (0.0, 0.0, 0.0)


def test_case_is_ignored_and_metric_functions_agree():
    pred, ref = "LEFT Effusion, small", "small left effusion"
    assert prf(pred, ref) == (1.0, 1.0, 1.0)
    f_, p_, r_ = f1_precision_recall("mild cardiomegaly", "cardiomegaly")
    assert (f1("mild cardiomegaly", "cardiomegaly"), precision("mild cardiomegaly", "cardiomegaly"),
            recall("mild cardiomegaly", "cardiomegaly")) == (f_, p_, r_)
    assert p_ == 0.5 and r_ == 1.0


def test_calculate_f1score_normalises_again():
    # Called on raw text it still normalises (once): the same as one pass of run_eval.
    assert calculate_f1score("The two effusions.", "2 effusions") == (1.0, 1.0, 1.0)
