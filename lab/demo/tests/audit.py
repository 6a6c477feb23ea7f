"""Checks of generated text against the generator's truth: the synthetic corpus's tests' helpers.

- `mentioned_labels(sentence)`: the Chest ImaGenome labels a sentence names, found by
  longest-first matching of word n-grams through `radphi.labels.canonical` (so
  "subcutaneous emphysema" is one label, not also "copd/emphysema").
- `names(sentence, label)`: whether it names the label, by such a word or a spec's cue.
- `template_groups()`: every phrasing group (findings, negations, normal statements,
  devices, questions, general instructions) with its templates.
- `phrasing_regexes(book)`: for each group, regexes of its train-only and held-out
  templates; `phrasing_of(sentence, ...)` says which share a sentence can come from.
"""

from __future__ import annotations

import re
from functools import lru_cache

from radphi import labels as vocab
from lab.demo.synthetic.devices import DEVICE_SPECS, DEVICES
from lab.demo.synthetic.finding_types import (
    ADVERB,
    ALL_LOBES,
    LEVELS,
    RIBS,
    SEVERITY_WORDS,
)
from lab.demo.synthetic.findings import (
    BY_LABEL,
    COMBO_NAMES,
    COMBO_TEMPLATES,
    NEGATIONS,
    NORMALS,
    SPECS,
)
from lab.demo.synthetic.general import DEFINITIONS
from lab.demo.synthetic.phrasing import Phrasebook, alternation, template_regex
from lab.demo.synthetic.questions import QUESTIONS

MAX_NGRAM = 6


def mentioned_labels(sentence: str) -> list[str]:
    """Labels named in `sentence`, longest phrase first, in order of appearance."""
    words = [w.strip(".,;:!?") for w in sentence.split()]
    found: list[str] = []
    i = 0
    while i < len(words):
        for n in range(min(MAX_NGRAM, len(words) - i), 0, -1):
            label = vocab.canonical(" ".join(words[i:i + n]))
            if label is not None:
                found.append(label)
                i += n
                break
        else:
            i += 1
    return found


def names(sentence: str, label: str) -> bool:
    """Whether `sentence` names `label`: by a word `canonical` maps to it, or a cue of its spec."""
    cues = BY_LABEL[label].cues if label in BY_LABEL else ()
    return label in mentioned_labels(sentence) or any(cue in sentence.lower() for cue in cues)


@lru_cache(maxsize=1)
def slot_patterns() -> dict[str, str]:
    """A regex for every slot any template uses, matching every value it can take."""
    places = {place for spec in DEVICE_SPECS for place, _ in spec.places}
    verbs = {verb for spec in DEVICE_SPECS for _, verbs in spec.places for verb in verbs}
    cm = re.escape("{cm}")
    return {
        "side": "left|right|bilateral", "sided": "left-sided|right-sided|bilateral", "s": "s|", "is": "is|are",
        "a": "a |", "lobe": alternation(ALL_LOBES), "sev": alternation(SEVERITY_WORDS),
        "sevly": alternation(ADVERB.values()), "detail": alternation(RIBS + LEVELS),
        "place": "|".join(re.escape(p).replace(cm, r"\d+\.\d") for p in sorted(places, key=len, reverse=True)),
        "verb": alternation(verbs), "n1": alternation(COMBO_NAMES.values()), "n2": alternation(COMBO_NAMES.values()),
        "name": alternation([s.name for s in SPECS] + [d.name for d in DEVICE_SPECS]),
        "ask": alternation(d.ask for d in DEVICE_SPECS),
    }


def template_groups() -> dict[str, tuple[str, ...]]:
    """Every phrasing group whose templates are split into train and held-out shares."""
    groups: dict[str, tuple[str, ...]] = {f"pos:{s.label}": s.templates for s in SPECS}
    groups.update({f"neg:{label}": templates for label, templates in NEGATIONS.items()})
    groups["neg:combo"] = COMBO_TEMPLATES
    groups.update({f"normal:{group}": templates for group, templates in NORMALS.items()})
    groups.update({f"dev:{label}": spec.templates for label, spec in DEVICES.items()})
    groups.update({f"q:{kind}": templates for kind, templates in QUESTIONS.items()})
    groups.update({f"gen:{kind}": templates for kind, templates in DEFINITIONS.items()})
    return groups


def phrasing_regexes(book: Phrasebook) -> dict[str, tuple[list[re.Pattern[str]], list[re.Pattern[str]]]]:
    """{group: (train-only regexes, held-out regexes)} under `book`'s split."""
    patterns = slot_patterns()
    out = {}
    for key, templates in template_groups().items():
        held = book.heldout(key, len(templates))
        regexes = [template_regex(t, patterns) for t in templates]
        out[key] = ([r for i, r in enumerate(regexes) if i not in held], [r for i, r in enumerate(regexes) if i in held])
    return out


def phrasing_of(sentence: str, regexes: dict[str, tuple[list[re.Pattern[str]], list[re.Pattern[str]]]],
                prefix: str = "") -> set[str]:
    """Which shares ("train", "heldout") of any group (with key starting `prefix`) can produce `sentence`."""
    shares = set()
    for key, (train, held) in regexes.items():
        if key.startswith(prefix):
            if any(r.fullmatch(sentence) for r in train):
                shares.add("train")
            if any(r.fullmatch(sentence) for r in held):
                shares.add("heldout")
    return shares
