"""What a finding is: its catalogue entry (FindingSpec) and one sampled instance (Finding).

A FindingSpec holds everything the generator knows about one Chest ImaGenome
abnormality label: the sentence templates that report it, the noun phrase used in
impressions and answers, which sides, lobes and severities it can take, and the
ImaGenome region (bbox name) that temporal progression names. A Finding is one
draw from a spec; `slots()` turns it into the values the templates' `{slots}` need.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SIZE = ("small", "moderate", "large")
GRADE = ("mild", "moderate", "severe")
ADVERB = {"mild": "mildly", "moderate": "moderately", "severe": "severely",
          "small": "slightly", "large": "markedly"}

# Lobes a lobar finding may sit in, and the ImaGenome lung zone each maps to. The
# lingula is left out on purpose: "{lobe} consolidation" would read "lingula
# consolidation".
LOBE_REGION = {
    "right upper lobe": "right upper lung zone", "right middle lobe": "right mid lung zone",
    "right lower lobe": "right lower lung zone", "left upper lobe": "left upper lung zone",
    "left lower lobe": "left lower lung zone",
}
ALL_LOBES = tuple(LOBE_REGION)
LOWER_LOBES = ("right lower lobe", "left lower lobe", "right middle lobe")
UPPER_LOBES = ("right upper lobe", "left upper lobe")
RIBS = ("fourth", "fifth", "sixth", "seventh", "eighth", "ninth")
LEVELS = ("T6", "T7", "T8", "T9", "T10", "T11", "T12", "L1")
LR = ("left", "right")
LRB = ("left", "right", "bilateral")
BOTH_LUNGS = ("left lung", "right lung")

# Words that stand for a severity in templates ({sev}) and adverbs ({sevly}).
SEVERITY_WORDS = tuple(dict.fromkeys(SIZE + GRADE))


@dataclass(frozen=True)
class FindingSpec:
    """One abnormality label and how reports phrase it."""

    label: str                        # canonical Chest ImaGenome label
    group: str                        # lungs | pleura | heart | mediastinum | bones | abdomen
    templates: tuple[str, ...]        # positive sentences; split train / held-out
    describe: str                     # noun phrase for impressions and answers
    name: str                         # what a question calls it
    sides: tuple[str, ...] = ("",)
    scale: tuple[str, ...] = ()       # severity words, mildest first
    lobes: tuple[str, ...] = ()       # for lobar findings
    details: tuple[str, ...] = ()     # rib ordinals or vertebral levels
    regions: tuple[str, ...] = ()     # ImaGenome bbox names, may hold {side}
    weight: float = 1.0               # relative prevalence
    acute: bool = True                # whether the impression mentions it
    cues: tuple[str, ...] = ()        # words naming it that labels.SYNONYMS does not hold


@dataclass(frozen=True)
class Finding:
    """One finding of one study."""

    label: str
    side: str = ""
    lobe: str = ""
    severity: str = ""
    detail: str = ""

    def slots(self) -> dict[str, str]:
        side = self.lobe.split(" ")[0] if self.lobe else self.side
        both = side == "bilateral"
        return {
            "side": side, "sided": side if both or not side else f"{side}-sided",
            "s": "s" if both else "", "is": "are" if both else "is", "a": "" if both else "a ",
            "lobe": self.lobe, "sev": self.severity, "sevly": ADVERB.get(self.severity, ""),
            "detail": self.detail,
        }

    def location(self) -> str:
        """Where it is, as an answer names it: the lobe, the side or the level."""
        return self.lobe or self.side or self.detail


def sample_finding(spec: FindingSpec, rng: random.Random) -> Finding:
    return Finding(
        label=spec.label,
        side=rng.choice(spec.sides) if not spec.lobes else "",
        lobe=rng.choice(spec.lobes) if spec.lobes else "",
        severity=rng.choice(spec.scale) if spec.scale else "",
        detail=rng.choice(spec.details) if spec.details else "",
    )


def regions(spec: FindingSpec, finding: Finding) -> list[str]:
    """The ImaGenome regions a finding occupies; a bilateral one occupies both sides."""
    if finding.lobe:
        return [LOBE_REGION[finding.lobe]]
    sides = ["left", "right"] if finding.side == "bilateral" else [finding.side]
    out: list[str] = []
    for pattern in spec.regions:
        for side in sides if "{side}" in pattern else [""]:
            region = pattern.replace("{side}", side)
            if region not in out:
                out.append(region)
    return out
