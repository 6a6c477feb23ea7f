"""Measuring a scrubber on a labelled set: identifiers left (recall) and clinical text removed.

A set is JSONL, one record a line (tests/fixtures/deid_dev.jsonl, deid_heldout.jsonl):

    {"id": "dev-001", "form": "string"|"report", "text": "...",
     "phi": [{"kind": "NAME", "text": "Smith"}, ...], "keep": ["2.5 cm", "left lower lobe", ...]}

An identifier counts as left when any of its words (a run of letters of two or more, or of
digits) is still in the scrubbed text more often than it occurs outside the identifiers in
the original: so "Mr. Jones has a Jones fracture" may keep one "Jones", and a half-scrubbed
accession number counts as left. A year alone is not counted (HIPAA Safe Harbor allows
it). Placeholders and MIMIC's "___" are removed before the check. A clinical string counts
as removed when it is not in the scrubbed text verbatim.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from radphi.deid.spans import ALREADY_SCRUBBED

_WORD = re.compile(r"[A-Za-z]{2,}|\d+")
_YEAR = re.compile(r"(?:19|20)\d{2}")


def load_set(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _words(text: str) -> Counter:
    return Counter(_WORD.findall(text))


def _phi_words(phi: dict) -> Counter:
    words = _words(phi["text"])
    if phi["kind"] == "DATE":
        for word in list(words):
            if _YEAR.fullmatch(word):
                del words[word]
    return words


def identifiers_left(record: dict, scrubbed: str) -> list[dict]:
    """The record's identifiers that are still (wholly or partly) in SCRUBBED."""
    text = record["text"]
    claimed: list[tuple[int, int]] = []
    for phi in record["phi"]:
        start = text.find(phi["text"])
        while any(start < e and s < start + len(phi["text"]) for s, e in claimed):
            start = text.find(phi["text"], start + 1)
        claimed.append((start, start + len(phi["text"])))
    outside = list(text)
    for s, e in claimed:
        outside[s:e] = " " * (e - s)
    allowed = _words("".join(outside))
    found = _words(ALREADY_SCRUBBED.sub(" ", scrubbed))
    return [phi for phi in record["phi"] if any(found[w] > allowed[w] for w in _phi_words(phi))]


def clinical_removed(record: dict, scrubbed: str) -> list[str]:
    return [keep for keep in record["keep"] if keep not in scrubbed]


@dataclass
class Score:
    """Totals for one scrubber on one set."""

    identifiers: Counter = field(default_factory=Counter)   # kind -> identifiers in the set
    left: Counter = field(default_factory=Counter)          # kind -> identifiers left in the output
    clinical: int = 0                                       # clinical strings in the set
    removed: int = 0                                        # of which the scrubber removed
    misses: list[tuple[str, str, str]] = field(default_factory=list)      # (record id, kind, identifier)
    over: list[tuple[str, str]] = field(default_factory=list)             # (record id, clinical text)

    def recall(self, kind: str | None = None) -> float:
        n = self.identifiers[kind] if kind else sum(self.identifiers.values())
        left = self.left[kind] if kind else sum(self.left.values())
        return (n - left) / n if n else float("nan")

    @property
    def clinical_precision(self) -> float:
        """Share of the clinical strings kept verbatim."""
        return (self.clinical - self.removed) / self.clinical if self.clinical else float("nan")


def score(records: Iterable[dict], scrub: Callable[[str], str]) -> Score:
    result = Score()
    for record in records:
        out = scrub(record["text"])
        for phi in record["phi"]:
            result.identifiers[phi["kind"]] += 1
        for phi in identifiers_left(record, out):
            result.left[phi["kind"]] += 1
            result.misses.append((record["id"], phi["kind"], phi["text"]))
        result.clinical += len(record["keep"])
        for keep in clinical_removed(record, out):
            result.removed += 1
            result.over.append((record["id"], keep))
    return result
