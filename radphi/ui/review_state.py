"""The Reviewer tab's state and input: what the server keeps of one reviewer's page
(`Session`), the panel's shape (outputs, categories, numbers), and a review given as one
object by an API client (`values_from_object`), turned into the panel's values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from radphi.review.model import ErrorCategory, ReviewError

MAX_OUTPUTS = 4  # outputs shown per case (models per set); more are refused at start
LABELS = "ABCDEFGH"
CATEGORIES = tuple(ErrorCategory)  # every category has inputs; a set's taxonomy shows its own
NUMBERS_PER_SLOT = 2 * len(CATEGORIES)
EQUAL = "Equal (no difference)"


@dataclass
class Session:
    """What the server remembers about one reviewer's page (gradio keeps State server-side)."""

    reviewer: str = ""
    authenticated: bool = False
    set_name: str | None = None
    input_id: str | None = None
    slots: list[tuple[str, int]] = field(default_factory=list)  # (label, item id) in display order
    assignment_id: int | None = None
    shown_at: float = 0.0


REVIEW_OBJECT = ('{"outputs": {"A": {"missed_finding": [significant, not significant], ..., "corrected_text": '
                 '"...", "comment": "..."}, "B": {...}}, "better": "A" | "B" | "equal" | null}')


def values_from_object(session: Session, review: Any) -> tuple[str | None, list[Any]]:
    """The panel's (preference, values) for a review given as one object (`REVIEW_OBJECT`):
    per output label of the shown case, error counts by category name (a pair: significant,
    not significant; a missing category counts 0), an optional corrected text and comment;
    and which output is better. ReviewError for anything else."""
    if not isinstance(review, dict):
        raise ReviewError(f"The review must be one object: {REVIEW_OBJECT}.")
    unknown = set(review) - {"outputs", "better"}
    if unknown:
        raise ReviewError(f"Unknown key(s) {', '.join(sorted(map(str, unknown)))} in the review; it takes "
                          f"outputs and better.")
    outputs = review.get("outputs") or {}
    shown = [label for label, _ in session.slots]
    if not isinstance(outputs, dict) or set(outputs) - set(shown):
        raise ReviewError(f"The review's outputs must be keyed by the shown labels ({', '.join(shown) or 'none'}).")
    names = {c.value: c for c in CATEGORIES}
    values: list[Any] = []
    for label in shown + [None] * (MAX_OUTPUTS - len(shown)):
        given = outputs.get(label) or {} if label else {}
        if not isinstance(given, dict):
            raise ReviewError(f"Output {label}: give an object of counts, corrected_text and comment.")
        extra = set(given) - set(names) - {"corrected_text", "comment"}
        if extra:
            raise ReviewError(f"Output {label}: unknown error category {', '.join(sorted(map(str, extra)))}; the "
                              f"categories are {', '.join(names)}.")
        for c in CATEGORIES:
            pair = given.get(c.value, (0, 0))
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ReviewError(f"Output {label}, {c.value}: give two counts, [significant, not significant].")
            values += list(pair)
        values += [given.get("corrected_text") or "", given.get("comment") or ""]
    better = review.get("better")
    if better in (None, ""):
        return None, values
    if str(better).lower() == "equal":
        return EQUAL, values
    return f"Output {better}", values


def _number(value: Any) -> Any:
    """An empty number box counts as 0; anything else goes to the store's checks as it is."""
    return 0 if value is None or value == "" else value
