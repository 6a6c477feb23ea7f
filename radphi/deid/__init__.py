"""De-identification of report text: the one scrubber for text that leaves the machine.

Used by the remote-API path (`radphi.privacy.prepare_for_remote`, hence the OpenAI-compatible
backends, the LLM judge and `cleanup-targets`) and by `radphi scrub` (`radphi.deid.cli`), so
what a user checks with `radphi scrub` is what a remote server gets.

The pipeline: a field library first (`radphi.deid.libraries`: presidio-analyzer's pattern
recognizers), then the radiology-specific rules (`radphi.deid.rules`); overlapping findings
are joined, text already de-identified (MIMIC's "___", our placeholders) and clinical text
that looks like an identifier (vertebral levels, measurements, clock-face positions) is left
alone, and each identifier becomes a typed placeholder (`radphi.deid.spans.PLACEHOLDERS`):

    >>> scrub_text("KIM, JENNIFER MD discussed with Dr. ___ at 10:15; 92-year-old, 2.5 cm RUL nodule.")
    '[NAME] MD discussed with Dr. ___ at [TIME]; [AGE>89]-year-old, 2.5 cm RUL nodule.'

This is pattern matching: it lowers the risk, it does not certify text as de-identified
(a name that is also a common word, or an identifier inside a finding, can slip through).
The opt-in before anything is sent remains the real protection.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from radphi.deid import rules
from radphi.deid.libraries import LIBRARIES, LibraryMissing
from radphi.deid.spans import KINDS, PLACEHOLDERS, Span, merge, replace, scrubbed_regions, subtract

__all__ = ["DEFAULT_LIBRARIES", "KINDS", "LibraryMissing", "PLACEHOLDERS", "Scrubbed", "Span", "find_spans",
           "scrub", "scrub_text"]

# Chosen on the dev set (bench/bench_deid.py): presidio's pattern recognizers plus our rules
# found as much as adding philter's regexes too, and philter's removed clinical words.
DEFAULT_LIBRARIES: tuple[str, ...] = ("presidio",)


@dataclass(frozen=True)
class Scrubbed:
    """Scrubbed text and how many identifiers of each kind were replaced (never the identifiers)."""

    text: str
    counts: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def find_spans(text: str, libraries: Sequence[str] = DEFAULT_LIBRARIES, use_rules: bool = True) -> list[Span]:
    """The merged identifier spans of TEXT: LIBRARIES' findings, then the radiology rules'."""
    found: list[Span] = []
    for name in libraries:
        found.extend(LIBRARIES[name](text))
    if use_rules:
        found.extend(rules.find(text))
    if not found:
        return []
    shielded = scrubbed_regions(text) + [m.span() for m in rules.CLINICAL.finditer(text)]
    kept: list[Span] = []
    for span in found:
        kept.extend(subtract(span, shielded, text))
    return merge(kept)


def scrub(text: str, libraries: Sequence[str] = DEFAULT_LIBRARIES, use_rules: bool = True) -> Scrubbed:
    """TEXT with every identifier found replaced by its typed placeholder, and the counts per kind."""
    if not isinstance(text, str) or not text:
        return Scrubbed("")
    new_text, counts = replace(text, find_spans(text, libraries, use_rules))
    return Scrubbed(new_text, counts)


def scrub_text(text: str) -> str:
    """scrub(TEXT).text."""
    return scrub(text).text
