"""Extra train-only phrasings, for corpus batches built with `augment=True`.

The demo model (v4) read held-out test sentences badly in two ways:

- It labelled "The costophrenic angles are sharp." (a held-out normal statement) as
  costophrenic angle blunting. In the training phrasings the costophrenic angles, the
  apices, the spine or the aorta are named only when something is wrong with them,
  which real reports do not do. `ANATOMY_NORMALS` adds normal statements that name the
  anatomy.
- It missed findings whose key word it knew, put in a new frame ("Eventration of the
  right hemidiaphragm.", "Sequelae of prior granulomatous disease."). `FRAMES` puts each
  finding's noun phrase (its spec's `describe`) into generic frames, so a finding's key
  words turn up in more contexts.

None of these may be, contain or be contained in a held-out sentence: `extra_phrasings`
drops every template with a filled form that does (word-sequence containment, a
stricter test than the corpus's own, which only asks for a different template), so the
test split's phrasings stay unseen. The extras are a separate, train-only share on top
of each group's templates (`Phrasebook.extras`): a corpus built without them is
byte-identical to one built before they existed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from functools import lru_cache

from lab.demo.synthetic.finding_types import Finding, FindingSpec
from lab.demo.synthetic.findings import (
    COMBO_NAMES,
    COMBO_TEMPLATES,
    NEGATIONS,
    NORMALS,
    SPECS,
)
from lab.demo.synthetic.lexicon import lexicon_phrases
from lab.demo.synthetic.phrasing import Phrasebook, fill

# Normal statements that name their anatomy, per NORMALS group (used only when nothing
# in the group is abnormal). None names a label: tests check it with audit.mentioned_labels.
ANATOMY_NORMALS: dict[str, tuple[str, ...]] = {
    "lungs": ("The lung apices are clear.", "Lung volumes are normal.", "The lungs are well aerated."),
    "pleura": ("The costophrenic angles are clear.", "Normal costophrenic angles.",
               "The costophrenic sulci are well defined."),
    "heart": ("The heart is not enlarged.", "The cardiomediastinal silhouette is normal."),
    "mediastinum": ("The aorta is normal in caliber.", "The aortic contour is unremarkable.", "The hila are normal."),
    "bones": ("The thoracic spine is unremarkable.", "The shoulders are unremarkable.", "The clavicles are intact."),
}

# Generic frames around a finding's noun phrase; none needs verb agreement, so plural
# and bilateral phrases read right in all of them. Three, so that a training draw still
# gives one of the group's own (3 to 5) templates more often than not.
FRAMES = ("{d}.", "Findings of {d}.", "Evidence of {d}.")

_WORD = re.compile(r"[a-z0-9]+")


def words(sentence: str) -> str:
    """The sentence as " word word ... " (lower case, no punctuation), for containment tests."""
    return " " + " ".join(_WORD.findall(sentence.lower())) + " "


def spec_fills(spec: FindingSpec, template: str) -> list[str]:
    """Every sentence TEMPLATE gives for SPEC: one per side, lobe, severity and detail it can take."""
    combos = itertools.product(spec.sides or ("",), spec.lobes or ("",), spec.scale or ("",), spec.details or ("",))
    return sorted({fill(template, Finding(spec.label, side, lobe, sev, detail).slots())
                   for side, lobe, sev, detail in combos})


def heldout_sentences(book: Phrasebook) -> list[str]:
    """Every sentence the held-out share of a finding, negation or normal group can produce."""
    out: list[str] = []
    for spec in SPECS:
        held = book.heldout(f"pos:{spec.label}", len(spec.templates))
        out += [s for i in sorted(held) for s in spec_fills(spec, spec.templates[i])]
    for label, templates in NEGATIONS.items():
        out += [templates[i] for i in sorted(book.heldout(f"neg:{label}", len(templates)))]
    pairs = list(itertools.permutations(COMBO_NAMES.values(), 2))
    out += [fill(COMBO_TEMPLATES[i], {"n1": a, "n2": b})
            for i in sorted(book.heldout("neg:combo", len(COMBO_TEMPLATES))) for a, b in pairs]
    for group, templates in NORMALS.items():
        out += [templates[i] for i in sorted(book.heldout(f"normal:{group}", len(templates)))]
    return out


def overlaps(sentences: Iterable[str], held: list[str]) -> bool:
    """Whether any sentence is, contains or is contained in a held-out sentence (as word sequences)."""
    held_words = [words(h) for h in held]
    return any(a in h or h in a for a in map(words, sentences) for h in held_words)


def extra_phrasings(fraction: float, *, lexicon: bool = False) -> dict[str, tuple[str, ...]]:
    """{group key: extra train-only templates} under a held-out share of FRACTION; with
    LEXICON, also lab.demo.synthetic.lexicon's synonym phrasings of each finding."""
    return dict(_extra_phrasings(fraction, lexicon))


@lru_cache(maxsize=4)
def _extra_phrasings(fraction: float, lexicon: bool) -> tuple[tuple[str, tuple[str, ...]], ...]:
    book = Phrasebook(fraction)
    held = heldout_sentences(book)
    out: dict[str, tuple[str, ...]] = {}
    for spec in SPECS:
        own = set(spec.templates)
        framed = [f.replace("{d}", spec.describe) for f in FRAMES]
        if lexicon:
            train = tuple(spec.templates[i] for i in book.allowed(f"pos:{spec.label}", len(spec.templates), False))
            # One frame each, in turn, so that a synonym is not tied to one frame across findings.
            framed += [FRAMES[i % len(FRAMES)].replace("{d}", phrase)
                       for i, phrase in enumerate(lexicon_phrases(spec, train))]
        kept = [t for t in dict.fromkeys(framed)
                if t not in own and not overlaps(spec_fills(spec, t), held)]
        if kept:
            out[f"pos:{spec.label}"] = tuple(kept)
    for group, sentences in ANATOMY_NORMALS.items():
        kept = [s for s in sentences if s not in NORMALS[group] and not overlaps([s], held)]
        if kept:
            out[f"normal:{group}"] = tuple(kept)
    return tuple(out.items())
