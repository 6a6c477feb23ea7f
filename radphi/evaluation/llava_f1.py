"""Unigram F1, precision and recall exactly as LLaVA-Med computes them (the paper's choice).

The spec is microsoft/LLaVA-Med: `llava/eval/eval_metrics/glossary.py` (`normalize_word`),
`evaluate_metrics.py` (`calculate_f1score`), applied as `llava/eval/run_eval.py` does:
lower-case, `normalize_word`, then `calculate_f1score`, which normalises once more. This
is our own code; its quirks are kept on purpose, since they are part of the numbers:

- Punctuation (`PUNCT`, the colon is not in it): a mark is deleted everywhere when any one
  of its occurrences touches a space, or when the text holds a digit-comma-digit; otherwise
  each occurrence becomes a space. The test is made on the text as it came in, not as the
  other marks leave it.
- A period not followed by a digit is removed, but only the first 32 of them: the original
  passes `re.UNICODE` (== 32) where `re.sub` takes its `count`. Its `(?!<=\\d)` is a
  lookahead that never fails, so it is left out here.
- Words: none and zero..ten become digits, the articles a/an/the are dropped, contractions
  written without their apostrophe get it back ("dont" -> "don't"), commas are removed.
- Counting: tp sums the candidate's counts of the words found in both texts, fp the
  candidate's counts of words missing from the reference, fn the reference's counts of
  words missing from the candidate. An empty text, or tp == 0, scores 0 on all three.

    >>> f1_precision_recall("The two effusions", "two effusions.")
    (1.0, 1.0, 1.0)
"""

from __future__ import annotations

import logging
import re
from collections import Counter

log = logging.getLogger(__name__)

PUNCT = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!")
_PUNCT_SET = frozenset(PUNCT)
_TO_NOTHING = {ord(p): None for p in PUNCT}
_DIGIT_COMMA_DIGIT = re.compile(r"\d,\d")
_PERIOD = re.compile(r"\.(?!\d)")
_PERIOD_COUNT = 32  # re.UNICODE, passed as `count` in the original

NUMBER_WORDS = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}
ARTICLES = frozenset({"a", "an", "the"})


def _contractions() -> dict[str, str]:
    """The VQA-evaluation contraction table used by LLaVA-Med.

    Keys with capitals ("Im", "Ive", "Id've") are left out: the text is lower-cased
    before the lookup, so they never match. "somebody'd" -> "somebodyd" is the
    original's own (backwards) entry and is kept.
    """
    table: dict[str, str] = {}
    # Plain ones: the key is the value without its apostrophe(s).
    for value in (
        "ain't aren't can't could've couldn't didn't doesn't don't hadn't hasn't haven't he'd "
        "he's how'd how'll how's isn't it'd it'll ma'am mightn't might've mustn't must've "
        "needn't not've o'clock oughtn't shan't should've shouldn't somebody'll somebody's "
        "someone'd someone'll someone's something'd something'll that's there'd there're "
        "there's they'd they'll they're they've wasn't we've weren't what'll what're what's "
        "what've when's where'd where's where've who'd who'll who's who've why'll why're why's "
        "won't would've wouldn't y'all you'd you'll you're you've"
    ).split():
        table[value.replace("'", "")] = value
    # Double contractions: written without either apostrophe, or missing one of them.
    for value in (
        "couldn't've hadn't've he'd've it'd've mightn't've shouldn't've somebody'd've "
        "someone'd've something'd've there'd've they'd've who'd've wouldn't've y'all'd've you'd've"
    ).split():
        first, second = value.rsplit("'", 1)
        head, _, mid = first.partition("'")
        table[head + mid + "'" + second] = value  # e.g. couldnt've
        table[first + second] = value  # e.g. couldn'tve
    table.update({
        "shed've": "she'd've", "she'dve": "she'd've",
        "wed've": "we'd've", "we'dve": "we'd've",
        "twas": "'twas", "yall'll": "y'all'll", "y'allll": "y'all'll",
        "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've",
        "ow's'at": "'ow's'at", "'ows'at": "'ow's'at", "'ow'sat": "'ow's'at",
        "let's": "let's", "she's": "she's", "somebody'd": "somebodyd",
    })
    return table


CONTRACTIONS = _contractions()
# One lookup per word: number words -> digits, articles -> "" (dropped), contractions restored.
# The three key sets are disjoint, and the only replacements that are keys map to
# themselves ("let's", "she's"), so this equals the original's three steps in order.
_WORD_MAP: dict[str, str] = {**CONTRACTIONS, **{a: "" for a in ARTICLES}, **NUMBER_WORDS}


def normalize_word(text: str) -> str:
    """LLaVA-Med's `normalize_word` (one pass), quirks included (see the module docstring)."""
    if _PUNCT_SET.intersection(text):
        if _DIGIT_COMMA_DIGIT.search(text):
            text = text.translate(_TO_NOTHING)
        else:
            # Each mark is judged on the incoming text; replacing marks only ever yields
            # spaces or nothing, so one translate with a per-text table is equivalent to
            # the original's sequence of replaces.
            table = {
                ord(p): (None if (p + " " in text or " " + p in text) else " ")
                for p in _PUNCT_SET.intersection(text)
            }
            text = text.translate(table)
    if "." in text:
        text = _PERIOD.sub("", text, count=_PERIOD_COUNT)
    get = _WORD_MAP.get
    return " ".join([w for w in (get(word, word) for word in text.lower().split()) if w]).replace(",", "")


def normalize_answer(text: str) -> str:
    """What run_eval.py makes of an answer before scoring: lower-cased, normalised once."""
    return normalize_word(text.lower())


def word_counts(normalized: str) -> Counter:
    """LLaVA-Med's `split_sentence(text, 1)`: lower-cased whitespace tokens and their counts."""
    return Counter(normalized.lower().split())


def f1_from_counts(cand: Counter, ref: Counter) -> tuple[float, float, float]:
    """(f1, precision, recall) from the two texts' word counts, as `calculate_f1score` counts."""
    if not cand or not ref:
        return 0.0, 0.0, 0.0
    tp = fp = 0
    for word, count in cand.items():
        if word in ref:
            tp += count
        else:
            fp += count
    if tp == 0:
        return 0.0, 0.0, 0.0
    fn = sum(count for word, count in ref.items() if word not in cand)
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    return 2 * precision * recall / (precision + recall), precision, recall


def calculate_f1score(candidate: str, reference: str) -> tuple[float, float, float]:
    """LLaVA-Med's `calculate_f1score`: normalises both texts (again) and counts words."""
    return f1_from_counts(word_counts(normalize_word(candidate)), word_counts(normalize_word(reference)))


def f1_precision_recall(prediction: str, reference: str) -> tuple[float, float, float]:
    """(f1, precision, recall) of a prediction against its reference, as run_eval.py scores it."""
    return calculate_f1score(normalize_answer(prediction or ""), normalize_answer(reference or ""))
