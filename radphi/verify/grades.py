"""How big a finding is, as a report words it: an ordinal grade (trace 1 .. large 4, a range
giving both ends) and sizes in millimetres, wherever the grade stands (before the name,
after a comma, "now moderate", per side). Read by radphi.verify.reading for every mention.
"""

from __future__ import annotations

import re

# Ordinal severity; a range ("small to moderate") gives both ends.
SEVERITY_WORDS = {
    "trace": 1, "minimal": 1, "tiny": 1, "minimally": 1, "slight": 1, "slightly": 1,
    "small": 2, "mild": 2, "mildly": 2, "smaller": 2,
    "moderate": 3, "moderately": 3, "moderate-sized": 3, "medium": 3,
    "large": 4, "severe": 4, "severely": 4, "extensive": 4, "massive": 4, "marked": 4, "markedly": 4,
    "substantial": 4, "big": 4, "large-sized": 4,
}
# One alternation of the grade words, longest first ("moderately" before "moderate").
GRADE = "|".join(sorted(map(re.escape, SEVERITY_WORDS), key=len, reverse=True))
_RANGE = rf"(?:{GRADE})(?:\s+to\s+(?:{GRADE}))?"

_SEVERITY = re.compile(rf"\b({GRADE})\b")
MEASURE = re.compile(r"(\d+(?:\.\d+)?)\s*(mm|cm)\b")
# A grade set off by a comma after the finding: "Right pneumothorax, large in size." The
# comma ends a finding's own words elsewhere (the next clause is another finding's), so
# this form is read on its own.
APPOSITIVE_GRADE = re.compile(rf"^\s*,\s*(?:(?:now|still|again|which\s+is)\s+)?({_RANGE})\s+in\s+(?:size|extent|amount|volume)\b")
# A grade given to each side after the name ("effusions, moderate on the right and small on the left").
SIDE_GRADES_AFTER = re.compile(rf"^[^.;]{{0,30}}?\b({GRADE})(?:\s+to\s+(?:{GRADE}))?\s+on\s+the\s+(left|right)\s*,?\s+and\s+"
                               rf"({_RANGE})\s+on\s+the\s+(left|right)\b")
# A grade on each side of a pair before one name ("large left and small right effusions").
GRADED_PAIR = re.compile(rf"(?:\b({GRADE})\s+)?\b(left|right)(?:-sided)?\s+and\s+(?:({GRADE})\s+)?(left|right)(?:-sided)?"
                         r"(?:\s+(?:layering|dependent|loculated|free-flowing|simple|complex|subpulmonic))?\s*$")
# "decreased, now moderate, right effusion" (before the name); "has decreased and is now small" (after it).
NOW_GRADE = re.compile(rf"\bnow\s+({GRADE})\b[^.;]*$")
NOW_GRADE_AFTER = re.compile(rf"^[^.;]{{0,40}}?\bnow\s+({GRADE})\b")

_CHANGE_ADVERB = re.compile(r"\b(?:slightly|mildly|minimally|moderately|markedly|severely)\s+(?:increas\w*|decreas\w*"
                            r"|improv\w*|wors\w*|smaller|larger|progress\w*|diminish\w*|less|more)\b")


def no_change_adverbs(text: str) -> str:
    """TEXT without the adverbs that grade a change, not the finding ("slightly increased
    right effusion", "the pneumothorax is slightly smaller"). Applied to the words around
    a mention, never to its own ("mildly increased interstitial markings" is graded)."""
    return _CHANGE_ADVERB.sub(" ", text)


def severity(text: str) -> frozenset[int]:
    """The grades TEXT gives (1..4)."""
    text = re.sub(r"\bsmall\s+(?:bowel|airways?|vessels?)\b", " ", text)
    text = re.sub(r"\bthin\s+(?:crescent|rim|sliver|stripe|band|lucency)\b", " trace ", text)
    return frozenset(SEVERITY_WORDS[m.group(1)] for m in _SEVERITY.finditer(text))


def measures(text: str) -> tuple[float, ...]:
    """The sizes TEXT gives, in millimetres."""
    return tuple(float(v) * (10 if unit == "cm" else 1) for v, unit in MEASURE.findall(text))
