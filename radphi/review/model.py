"""Human review of model outputs: the error categories, the records, and their validation.

    from radphi.review import ErrorCategory, ErrorCount, ReviewDraft, ReviewStore
    store = ReviewStore()                      # $RADPHI_HOME/reviews.db (WAL, owner-only)
    store.import_run_files("pilot", ["rad-phi2.jsonl", "mistral.jsonl"], actor="alice")
    case = store.next_case("pilot", "alice", authenticated=True)
    store.submit_case([ReviewDraft(item_id=i.id, reviewer="alice", authenticated=True,
                                   counts={ErrorCategory.MISSED_FINDING: ErrorCount(significant=1)})
                       for i in case.items])

The paper's radiologist scored four categories (missed findings, false findings,
position-related and severity-related errors); GREEN and ReXVal add two about
comparisons with a prior study. A set chooses its taxonomy; every counted error is
clinically significant or not.

Where the rest of `radphi.review` lives: `schema` (the file, its permissions and
migrations), `chain` (the tamper-evident ledger and `verify`), `store` (ReviewStore),
`sets` (sets, items, imports and generations), `reviewing` (reviews and case answers),
`blinding` (secret assignment and pseudonyms), `exports` (export and restore), `stats`,
`checker` and `report` (the dashboard), `cli` (`radphi review ...`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping

from radphi.errors import InputError

log = logging.getLogger(__name__)

MAX_COUNT = 50  # errors of one category in one output; more is a typo, not a report
MAX_COMMENT_CHARS = 10_000
MAX_CORRECTED_CHARS = 50_000
MAX_NAME_CHARS = 64
MAX_SECONDS = 7 * 24 * 3600.0
ROLES = ("reviewer", "admin")


class ErrorCategory(Enum):
    """What a reviewer counts; the value is the stable key stored and exported."""

    MISSED_FINDING = "missed_finding"
    FALSE_FINDING = "false_finding"
    POSITION = "position"
    SEVERITY = "severity"
    FALSE_COMPARISON = "false_comparison"
    MISSED_COMPARISON = "missed_comparison"

    @property
    def title(self) -> str:
        return _TITLES[self][0]

    @property
    def description(self) -> str:
        return _TITLES[self][1]


_TITLES = {
    ErrorCategory.MISSED_FINDING: ("Missed findings", "a finding of the reference that the output omits"),
    ErrorCategory.FALSE_FINDING: ("False findings", "a finding the output reports that is not there"),
    ErrorCategory.POSITION: ("Position-related errors", "a finding in the wrong place, side or anatomic location"),
    ErrorCategory.SEVERITY: ("Severity-related errors", "a finding's size, grade or severity misjudged"),
    ErrorCategory.FALSE_COMPARISON: ("Comparison not in the reference",
                                     "mentions a comparison with a prior study that the reference does not make"),
    ErrorCategory.MISSED_COMPARISON: ("Omitted comparison",
                                      "omits a comparison with a prior study that describes a change"),
}


class Taxonomy(Enum):
    """Which categories a review set scores."""

    PAPER = "paper"  # the paper's four
    GREEN = "green"  # GREEN / ReXVal: the four plus the two comparison categories

    @property
    def categories(self) -> tuple[ErrorCategory, ...]:
        four = (ErrorCategory.MISSED_FINDING, ErrorCategory.FALSE_FINDING, ErrorCategory.POSITION,
                ErrorCategory.SEVERITY)
        return four if self is Taxonomy.PAPER else four + (ErrorCategory.FALSE_COMPARISON,
                                                          ErrorCategory.MISSED_COMPARISON)


class ReviewError(InputError):
    """A review or import that the store refuses; nothing was written."""


class NotYourReview(ReviewError):
    """A reviewer tried to change another reviewer's review."""


@dataclass(frozen=True)
class ErrorCount:
    """Errors of one category in one output, split by clinical significance."""

    significant: int = 0
    insignificant: int = 0

    @property
    def total(self) -> int:
        return self.significant + self.insignificant


@dataclass(frozen=True)
class ReviewSet:
    id: int
    name: str
    taxonomy: Taxonomy
    task: str | None
    created_at: str
    created_by: str
    closed_at: str | None = None
    # A blinded study: reviewers must sign in, and only admins add outputs. A practice set
    # (study=False) takes typed names and the app's one-click sends.
    study: bool = True

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @property
    def kind(self) -> str:
        return "blinded study" if self.study else "practice set"


@dataclass(frozen=True)
class Item:
    """One model output for one input of a set; keyed by (set, input id, model)."""

    id: int
    set_id: int
    input_id: str
    model: str
    task: str | None
    inputs: dict[str, Any]
    reference: str | None
    prediction: str  # the model's own output, exactly as generated or imported
    n_findings: int | None = None
    record: dict[str, Any] = field(default_factory=dict)
    generation_uid: str | None = None  # the app's generation it came from, if any
    edited_text: str | None = None  # the user's edit of the output, kept apart from it
    added_by: str | None = None

    @property
    def edited(self) -> bool:
        return self.edited_text is not None


@dataclass(frozen=True)
class Case:
    """An input of a set with every model's output for it."""

    set_id: int
    input_id: str
    items: tuple[Item, ...]

    @property
    def inputs(self) -> dict[str, Any]:
        return self.items[0].inputs if self.items else {}

    @property
    def reference(self) -> str | None:
        return next((i.reference for i in self.items if i.reference), None)


@dataclass(frozen=True)
class ReviewDraft:
    """What a reviewer submits for one output: counts, optional corrected text, comment.

    `uid` makes a resubmission after a lost answer idempotent; the store makes one if absent.
    `label` is the blinded label (A, B, ...) the output was shown under.
    """

    item_id: int
    reviewer: str
    authenticated: bool
    counts: Mapping[ErrorCategory, ErrorCount] = field(default_factory=dict)
    corrected_text: str | None = None
    comment: str = ""
    seconds: float = 0.0
    label: str | None = None
    uid: str | None = None


@dataclass(frozen=True)
class Review:
    """One stored version of a review. The latest version of (item, reviewer) counts."""

    uid: str
    item_id: int
    reviewer: str
    authenticated: bool
    version: int
    counts: dict[ErrorCategory, ErrorCount]
    corrected_text: str | None
    comment: str
    seconds: float
    created_at: str
    label: str | None = None

    def count(self, category: ErrorCategory) -> ErrorCount:
        return self.counts.get(category, ErrorCount())

    @property
    def total(self) -> int:
        return sum(c.total for c in self.counts.values())


PREFERENCES = ("item", "equal", "none")  # one output is better, they are equal, not answered


@dataclass(frozen=True)
class CaseReview:
    """What a reviewer said of a whole case: which output is better (the pairwise
    preference) and the time spent on the case. The latest version counts."""

    uid: str
    set_id: int
    input_id: str
    reviewer: str
    authenticated: bool
    version: int
    preference: str  # one of PREFERENCES
    preferred_item_id: int | None
    seconds: float
    created_at: str
    assignment_id: int | None = None


def check_name(name: Any, what: str = "reviewer name") -> str:
    """A reviewer or set name: 1-64 printable characters, trimmed."""
    if not isinstance(name, str) or not name.strip():
        raise ReviewError(f"the {what} is empty")
    name = name.strip()
    if len(name) > MAX_NAME_CHARS:
        raise ReviewError(f"the {what} is {len(name)} characters long; the limit is {MAX_NAME_CHARS}")
    if not name.isprintable():
        raise ReviewError(f"the {what} contains control characters")
    return name


def _check_int(value: Any, where: str) -> int:
    # bool is an int to Python, and 2.5 errors are not a count: both are refused.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and (not math.isfinite(value) or not value.is_integer())):
        raise ReviewError(f"{where} must be a whole number, got {value!r}")
    value = int(value)
    if value < 0:
        raise ReviewError(f"{where} cannot be negative (got {value})")
    if value > MAX_COUNT:
        raise ReviewError(f"{where} is {value}; at most {MAX_COUNT} errors of one category can be counted "
                          f"in one output")
    return value


def category_of(key: ErrorCategory | str) -> ErrorCategory:
    if isinstance(key, ErrorCategory):
        return key
    try:
        return ErrorCategory(key)
    except ValueError:
        raise ReviewError(f"unknown error category {key!r}; known: "
                          f"{', '.join(c.value for c in ErrorCategory)}") from None


def check_counts(counts: Mapping[Any, Any], taxonomy: Taxonomy) -> dict[ErrorCategory, ErrorCount]:
    """Every category of the taxonomy with a valid count (missing ones are 0); a category
    outside the set's taxonomy with errors is refused."""
    if not isinstance(counts, Mapping):
        raise ReviewError("counts must map error categories to counts")
    out = {c: ErrorCount() for c in taxonomy.categories}
    for key, value in counts.items():
        cat = category_of(key)
        if isinstance(value, ErrorCount):
            sig, insig = value.significant, value.insignificant
        elif isinstance(value, Mapping):
            sig, insig = value.get("significant", 0), value.get("insignificant", 0)
        elif isinstance(value, (tuple, list)) and len(value) == 2:
            sig, insig = value
        else:
            raise ReviewError(f"{cat.title}: give (significant, insignificant) counts, got {value!r}")
        count = ErrorCount(_check_int(sig, f"{cat.title} (clinically significant)"),
                           _check_int(insig, f"{cat.title} (not significant)"))
        if cat not in out:
            if count.total:
                raise ReviewError(f"{cat.title} is not scored in this set (taxonomy {taxonomy.value})")
            continue
        out[cat] = count
    return out


def check_text(value: Any, limit: int, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ReviewError(f"the {what} must be text")
    if len(value) > limit:
        raise ReviewError(f"the {what} is {len(value):,} characters long; the limit is {limit:,}")
    return value


def check_seconds(value: Any) -> float:
    try:
        seconds = float(value or 0.0)
    except (TypeError, ValueError):
        raise ReviewError(f"time spent must be a number of seconds, got {value!r}") from None
    if not math.isfinite(seconds) or not 0.0 <= seconds <= MAX_SECONDS:
        raise ReviewError(f"time spent must be between 0 and {MAX_SECONDS:.0f} seconds, got {value!r}")
    return seconds
