"""Identifier spans: the typed placeholders, merging what several detectors found, rewriting text.

Every detector (the field library, our radiology rules) returns `Span`s. They are merged
here (overlaps joined, so nothing a detector found is partly left), spans that touch text
which is already de-identified are dropped, and the text is rewritten with one typed
placeholder per span:

    >>> replace("Seen by Dr. Smith on 3/4/2021.", [Span(12, 17, "NAME"), Span(21, 29, "DATE")])
    ('Seen by Dr. [NAME] on [DATE].', Counter({'NAME': 1, 'DATE': 1}))
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

# Kind -> placeholder. A placeholder names what was there, so a model still reads a sentence.
PLACEHOLDERS: dict[str, str] = {
    "NAME": "[NAME]", "DATE": "[DATE]", "TIME": "[TIME]", "AGE": "[AGE>89]", "PHONE": "[PHONE]",
    "EMAIL": "[EMAIL]", "URL": "[URL]", "IP": "[IP]", "ID": "[ID]", "SSN": "[SSN]", "ADDRESS": "[ADDRESS]",
}
KINDS = tuple(PLACEHOLDERS)
# When two detectors find the same stretch as different kinds, the more specific kind wins
# ("123-45-6789" is an SSN before it is a generic ID).
_SPECIFIC = {kind: rank for rank, kind in enumerate(
    ("SSN", "EMAIL", "URL", "IP", "PHONE", "DATE", "TIME", "AGE", "NAME", "ADDRESS", "ID"))}

# Text that is already de-identified: our placeholders and MIMIC's "___". A detector may not
# rewrite them (that keeps scrubbing idempotent and MIMIC text MIMIC-shaped).
ALREADY_SCRUBBED = re.compile(r"_{2,}|\[(?:NAME|DATE|TIME|AGE>89|PHONE|EMAIL|URL|IP|ID|SSN|ADDRESS)\]")


@dataclass(frozen=True, order=True)
class Span:
    """TEXT[start:end] is an identifier of KIND (one of KINDS)."""

    start: int
    end: int
    kind: str


def scrubbed_regions(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in ALREADY_SCRUBBED.finditer(text)]


def subtract(span: Span, regions: Iterable[tuple[int, int]], text: str) -> list[Span]:
    """SPAN less REGIONS: the pieces left that still hold a letter or digit."""
    pieces = [(span.start, span.end)]
    for r_start, r_end in regions:
        next_pieces = []
        for start, end in pieces:
            if r_end <= start or r_start >= end:
                next_pieces.append((start, end))
                continue
            if start < r_start:
                next_pieces.append((start, r_start))
            if r_end < end:
                next_pieces.append((r_end, end))
        pieces = next_pieces
    out = []
    for start, end in pieces:
        # Where a piece was cut, drop the separators the cut left ("123-45-6789. " -> "123-45-6789").
        if start != span.start:
            while start < end and not text[start].isalnum():
                start += 1
        if end != span.end:
            while end > start and not text[end - 1].isalnum():
                end -= 1
        if end > start and any(ch.isalnum() for ch in text[start:end]):
            out.append(Span(start, end, span.kind))
    return out


def merge(spans: Iterable[Span]) -> list[Span]:
    """Overlapping spans joined into one; it takes the kind of its longest part (ties: the more specific)."""
    merged: list[tuple[int, int, Span]] = []  # (start, end, longest member)
    for span in sorted(spans):
        if merged and span.start < merged[-1][1]:
            start, end, longest = merged[-1]
            if (span.end - span.start, -_SPECIFIC[span.kind]) > (longest.end - longest.start,
                                                                   -_SPECIFIC[longest.kind]):
                longest = span
            merged[-1] = (start, max(end, span.end), longest)
        else:
            merged.append((span.start, span.end, span))
    return [Span(start, end, longest.kind) for start, end, longest in merged]


def replace(text: str, spans: Iterable[Span]) -> tuple[str, Counter]:
    """TEXT with each (merged) span replaced by its kind's placeholder, and the count per kind."""
    out: list[str] = []
    counts: Counter = Counter()
    pos = 0
    for span in merge(spans):
        out.append(text[pos:span.start])
        out.append(PLACEHOLDERS[span.kind])
        counts[span.kind] += 1
        pos = span.end
    out.append(text[pos:])
    return "".join(out), counts
