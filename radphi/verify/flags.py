"""A checker's flag, the four categories, and the small helpers every rule uses to
word one (radphi.verify.rules for one text against another, radphi.verify.temporal for
an answer against two reports)."""

from __future__ import annotations

from dataclasses import dataclass

from radphi.review.model import ErrorCategory
from radphi.verify.reading import BETTER, STABLE, WORSE, Mention, Reading

MISSED, FALSE = ErrorCategory.MISSED_FINDING, ErrorCategory.FALSE_FINDING
POSITION, SEVERITY = ErrorCategory.POSITION, ErrorCategory.SEVERITY
CHANGE_WORD = {WORSE: "worsened", BETTER: "improved", STABLE: "no change"}


@dataclass(frozen=True)
class Flag:
    """One thing the checker found wrong with an answer."""

    category: ErrorCategory
    significant: bool
    finding: str                 # the canonical label
    output_text: str | None      # the answer's sentence concerned
    evidence: str | None         # the source's sentence concerned
    why: str

    def to_dict(self) -> dict[str, object]:
        return {"category": self.category.value, "significant": self.significant, "finding": self.finding,
                "output_text": self.output_text, "evidence": self.evidence, "why": self.why}


def sentence_of(reading: Reading, mention: Mention | None) -> str | None:
    return reading.sentences[mention.sentence] if mention is not None else None


def quote(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


