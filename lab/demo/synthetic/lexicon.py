"""Lexicon phrasings: a finding named by its radphi.labels synonyms, for augmented batches.

The demo model (v8) missed findings on the test split whose held-out sentence names them
with a word that the finding's training phrasings never use ("Right apical pleural
thickening is noted." for pleural/parenchymal scarring, "Hyperinflation of the lungs"
for hyperaeration), and read "pleural fluid" as fluid overload. The keyword baseline
gets these right because it knows the label lexicon: `radphi.labels` lists each Chest
ImaGenome label's synonyms (written with the core vocabulary, before the synthetic
corpus existed). This module gives the model that same lexicon as training data: each
finding's noun phrase (its spec's `describe`) with its key term swapped for a synonym,
put into augment's generic FRAMES.

It is a train-only share on top of augment's extras, and the same guard applies: a
phrasing that is, contains or is contained in a held-out sentence (as word sequences)
is dropped, so no test sentence is ever seen. What the model learns from it is
vocabulary -- which words name which label -- not the test split's sentence frames.

No library does this (it is specific to this corpus's templates), hence hand-written.
"""

from __future__ import annotations

import itertools
import re

from radphi.labels import synonyms_of
from lab.demo.synthetic.finding_types import FindingSpec

# At most this many lexicon phrasings per finding, so that a training draw still gives
# one of the group's own templates about half the time.
PER_FINDING = 2
_SLOT = re.compile(r"\{[a-z_0-9]+\}")
# The lexicon is written in normalised (lower-case) form; reports write these in capitals.
ABBREVIATIONS = frozenset(["ptx", "pna", "ipf", "uip", "nsip", "dah", "ild", "chf", "copd", "nsclc", "sclc"])


def _written(synonym: str) -> str:
    return " ".join(w.upper() if w in ABBREVIATIONS else w for w in synonym.split())


def _template_words(templates: tuple[str, ...]) -> set[str]:
    return {w for t in templates for w in re.findall(r"[a-z]+", _SLOT.sub(" ", t.lower()))}


def lexicon_phrases(spec: FindingSpec, train_templates: tuple[str, ...]) -> list[str]:
    """Noun phrases naming SPEC's finding with a lexicon synonym that brings a word none of
    its TRAIN_TEMPLATES uses; slots ({side}, {lobe}, {sev}...) kept from `describe`, so the
    gold structure (side, region, severity) still matches the sentence."""
    synonyms = [s for s in synonyms_of(spec.label) if "/" not in s]
    terms = sorted([spec.label, *synonyms], key=len, reverse=True)
    describe = spec.describe
    key = next((t for t in terms if re.search(rf"\b{re.escape(t)}\b", describe)), None)
    known = _template_words(train_templates)
    if key is None and _SLOT.search(describe):
        return []  # the synonym cannot carry the side or lobe that the gold answers name
    out: list[str] = []
    for synonym in synonyms:
        plural_of_known = synonym.endswith("s") and synonym[:-1] in terms
        if synonym == key or plural_of_known or set(re.findall(r"[a-z]+", synonym)) <= known:
            continue
        # A swapped plural marker ("effusion{s}") would give "hydrothoraxs".
        phrase = _written(synonym) if key is None else \
            re.sub(rf"\b{re.escape(key)}\b(\{{s\}})?", _written(synonym), describe, count=1)
        words = phrase.lower().split()
        if phrase not in out and all(a != b for a, b in itertools.pairwise(words)):
            out.append(phrase)
    return out[:PER_FINDING]
