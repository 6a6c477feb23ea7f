"""Sentence templates: slot filling, regexes, and the train/held-out split of each group.

A template is a string with `{slot}` markers ("There {is} {a}{sev} {side} pleural
effusion{s}."). Templates come in groups (one group per finding, per negation, per
device, per question type). Each group's templates are split once into a train share
and a held-out share; the test split is written only with held-out templates, so a
model that memorised the training phrasings is caught there.

    >>> fill("{sev} {side} pleural effusion{s}.", {"sev": "small", "side": "left", "s": ""})
    'Small left pleural effusion.'
    >>> book = Phrasebook(0.25)
    >>> sorted(book.heldout("demo", 4)) == sorted(book.heldout("demo", 4))
    True
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

SLOT = re.compile(r"\{([a-z_0-9]+)\}")


def fill(template: str, slots: Mapping[str, str]) -> str:
    """The template with its slots filled and the first letter capitalised."""
    text = SLOT.sub(lambda m: slots[m.group(1)], template)
    return text[:1].upper() + text[1:]


def slots_of(template: str) -> set[str]:
    return set(SLOT.findall(template))


def template_regex(template: str, slot_patterns: Mapping[str, str]) -> re.Pattern[str]:
    """A regex that fully matches exactly the sentences `template` can produce.

    Each slot becomes an alternation of its possible values (`slot_patterns` holds
    one regex per slot name), so two templates that differ only in their fixed words
    get regexes that do not match each other's sentences.
    """
    parts: list[str] = []
    last = 0
    for match in SLOT.finditer(template):
        parts.append(re.escape(template[last:match.start()]))
        parts.append(f"(?:{slot_patterns[match.group(1)]})")
        last = match.end()
    parts.append(re.escape(template[last:]))
    # Case-insensitive only because fill() capitalises the first letter.
    return re.compile("".join(parts), re.IGNORECASE)


def alternation(values: Iterable[str]) -> str:
    """A regex alternation of literal values, longest first so none shadows a longer one."""
    unique = sorted(set(values), key=lambda v: (-len(v), v))
    return "|".join(re.escape(v) for v in unique)


@dataclass
class Phrasebook:
    """Which templates of each group a split may use.

    The held-out share of a group is a fixed function of the group's key, its size and
    `fraction` (not of the corpus seed), so every corpus built with the same fraction
    holds out the same phrasings and test scores stay comparable across seeds.
    A fraction of 0 turns the split off: every split uses every template.

    `extras` ({group key: templates}) are a train-only share on top of a group's own
    templates (lab.demo.synthetic.augment); without them every draw is as it was.
    """

    fraction: float
    extras: Mapping[str, Sequence[str]] = field(default_factory=dict)
    _cache: dict[tuple[str, int], frozenset[int]] = field(default_factory=dict, repr=False)

    def heldout(self, key: str, n: int) -> frozenset[int]:
        """Indices of the held-out templates of group `key` with `n` templates."""
        if (key, n) not in self._cache:
            if self.fraction <= 0 or n < 2:
                chosen: frozenset[int] = frozenset()
            else:
                # At least one held out and at least one kept for training.
                k = min(n - 1, max(1, int(n * self.fraction + 0.5)))
                chosen = frozenset(random.Random(f"phrasing:{key}").sample(range(n), k))
            self._cache[(key, n)] = chosen
        return self._cache[(key, n)]

    def allowed(self, key: str, n: int, heldout: bool) -> list[int]:
        """The template indices a split may use: held-out ones for test, the rest otherwise."""
        held = self.heldout(key, n)
        if not held:
            return list(range(n))
        return sorted(held) if heldout else [i for i in range(n) if i not in held]

    def pick(self, rng: random.Random, key: str, templates: Sequence[str], heldout: bool) -> tuple[int, str]:
        """(index, template) drawn from the share of `templates` the split may use; a
        train-split draw may also give one of the group's extras (index len(templates) + i)."""
        n = len(templates)
        allowed = self.allowed(key, n, heldout)
        extra = () if heldout else self.extras.get(key, ())
        index = rng.choice(allowed + list(range(n, n + len(extra))) if extra else allowed)
        return index, templates[index] if index < n else extra[index - n]
