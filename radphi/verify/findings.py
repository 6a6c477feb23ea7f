"""What the checker knows about findings as a radiologist would: which matter (the
significance of a flag), which support one another (an impression's "pneumonia" for
the findings' "consolidation"), and which are urgent (the critical-findings banner).
"""

from __future__ import annotations

import re

from radphi import labels
from radphi.verify.devices import MALPOSITIONED
from radphi.verify.reading import ACUTE_PROCESS, ANY_DEVICE, BETTER, STABLE, WORSE, Mention

# Findings whose omission or invention changes what a clinician does.
SIGNIFICANT: frozenset[str] = frozenset({
    "pneumothorax", "hydropneumothorax", "pneumomediastinum", "sub-diaphragmatic air", "subcutaneous air",
    "mediastinal widening", "mediastinal displacement", "superior mediastinal mass/enlargement", "consolidation",
    "airspace opacity", "infiltration", "lung opacity", "pneumonia", "aspiration", "pulmonary edema/hazy opacity",
    "fluid overload/heart failure", "alveolar hemorrhage", "lobar/segmental collapse", "pleural effusion",
    "pericardial effusion", "lung lesion", "mass/nodule (not otherwise specified)", "multiple masses/nodules",
    "lung cancer", "rib fracture", "clavicle fracture", "spinal fracture", "bone lesion",
    "enlarged cardiac silhouette", "vascular congestion", "enlarged hilum", "interstitial lung disease",
    "increased reticular markings/ild pattern",
})
# Significant whatever words come with them ("stable small pneumothorax" still matters).
ALWAYS_SIGNIFICANT: frozenset[str] = frozenset({
    "pneumothorax", "hydropneumothorax", "pneumomediastinum", "sub-diaphragmatic air", "mediastinal widening",
    "mediastinal displacement",
})
DEVICES: frozenset[str] = frozenset(labels.TUBES_LINES_DEVICES_LABELS) | {ANY_DEVICE}
TECHNICAL: frozenset[str] = frozenset(labels.TECHNICAL_LABELS)

_CHRONIC = re.compile(r"\b(?:old|healed|healing|chronic|remote|stable|stably|unchanged|longstanding|long-standing"
                      r"|again seen|redemonstrat\w*|trace|minimal|tiny)\b")

_EXPECTED = re.compile(r"\b(?:expected|as expected|post-?operative\s+(?:change|appearance|period)|postsurgical)\b")

# Findings that support each other: the same process named at another level
# (a sign and the diagnosis it suggests, a kind and its family).
_FAMILIES: tuple[frozenset[str], ...] = tuple(frozenset(group) for group in (
    {"pneumonia", "consolidation", "airspace opacity", "lung opacity", "infiltration", "aspiration"},
    {"pulmonary edema/hazy opacity", "fluid overload/heart failure", "vascular congestion", "vascular redistribution"},
    {"atelectasis", "linear/patchy atelectasis", "lobar/segmental collapse", "lung opacity"},
    {"pleural effusion", "costophrenic angle blunting", "hydropneumothorax"},
    {"pneumothorax", "hydropneumothorax"},
    {"lung lesion", "mass/nodule (not otherwise specified)", "multiple masses/nodules", "lung cancer"},
    {"calcified nodule", "granulomatous disease"},
    # Hyperinflated lungs suggest emphysema, and bullae are part of it; but hyperinflation
    # is no evidence of bullae (an answer that invents them beside "hyperinflated lungs"
    # must be flagged), so the three are two pairs, not one family.
    {"copd/emphysema", "hyperaeration"},
    {"copd/emphysema", "cyst/bullae"},
    {"interstitial lung disease", "increased reticular markings/ild pattern", "pleural/parenchymal scarring"},
    {"mediastinal widening", "superior mediastinal mass/enlargement"},
    {"pulmonary edema/hazy opacity", "lung opacity", "airspace opacity"},
))


# Pairs (finding, other) where OTHER is no support for FINDING although FINDING supports
# OTHER: a bulla is evidence of emphysema, but "emphysema" is no evidence of a bulla, so
# an answer that adds bullae to a report of emphysema invents them.
_ONE_WAY: frozenset[tuple[str, str]] = frozenset({
    ("cyst/bullae", "copd/emphysema"),
    # An opacity is no evidence of a lobe's collapse (which needs volume loss), though a
    # collapse is an opacity.
    ("lobar/segmental collapse", "lung opacity"),
})


def related(a: str, b: str) -> bool:
    """True when finding A (the one being checked: a claim of the answer, or a finding of
    the source) is accounted for by finding B in the other text."""
    return a == b or ((a, b) not in _ONE_WAY and any(a in family and b in family for family in _FAMILIES))


def is_device(label: str) -> bool:
    return label in DEVICES


def missed_significance(mention: Mention, *, keep_chronic: bool = False) -> bool:
    """Whether leaving out MENTION (of the source) is a significant omission."""
    if is_device(mention.label):
        return mention.position == MALPOSITIONED
    if mention.label in TECHNICAL or mention.label == ACUTE_PROCESS:
        return False
    if _EXPECTED.search(mention.modifiers):
        return False  # "expected after surgery": the report itself calls it no surprise
    if mention.label in ALWAYS_SIGNIFICANT:
        return True
    words = mention.modifiers
    if not keep_chronic and (_CHRONIC.search(words) or mention.change == STABLE or min(mention.severity, default=2) <= 1):
        return False
    if keep_chronic and min(mention.severity, default=2) <= 1:
        return False
    if mention.change == WORSE:
        return True
    return mention.label in SIGNIFICANT


def false_significance(label: str) -> bool:
    """Whether an invented LABEL is a significant error."""
    return label in SIGNIFICANT or (is_device(label) and label != ANY_DEVICE)


def dropped_grade_significance(label: str, levels: frozenset[int]) -> bool:
    """Whether losing the source's grade of LABEL matters: a significant finding graded
    moderate or worse ("large pneumothorax" copied as "pneumothorax"), or sized in mm/cm
    (LEVELS empty: a nodule's size decides its follow-up)."""
    return label in SIGNIFICANT and (not levels or max(levels) >= 3)


def position_significance(label: str) -> bool:
    return label in SIGNIFICANT or is_device(label)


def severity_significance(label: str, out: Mention, src: list[Mention]) -> bool:
    """Significant when the finding matters and the difference is large: two steps or
    more, either end large/severe, or a change that goes the other way."""
    if label not in SIGNIFICANT:
        return False
    if out.severity and any(m.severity for m in src):
        src_levels = {level for m in src for level in m.severity}
        gap = min(abs(a - b) for a in out.severity for b in src_levels)
        if gap >= 2 or 4 in out.severity or 4 in src_levels:
            return True
    if out.measures and any(m.measures for m in src):
        src_sizes = [size for m in src for size in m.measures]
        ratio = max(min(max(a, b) / max(min(a, b), 0.1) for b in src_sizes) for a in out.measures)
        if ratio >= 1.5:
            return True
    changes = {m.change for m in src if m.change}
    return bool(out.change and changes and out.change not in changes
                and ({out.change} | changes) >= {WORSE} and bool(({out.change} | changes) & {BETTER, STABLE}))


# --- urgent findings -----------------------------------------------------------

_URGENT = {
    "pneumothorax": "pneumothorax",
    "hydropneumothorax": "hydropneumothorax",
    "pneumomediastinum": "pneumomediastinum",
    "sub-diaphragmatic air": "free air under the diaphragm",
    "mediastinal widening": "widened mediastinum",
    "mediastinal displacement": "mediastinal shift",
}
_URGENT_DEVICES = ("endotracheal tube", "enteric tube", "tracheostomy tube")


_POSTOPERATIVE = re.compile(r"post-?operative|postop|status post|s/p\b|after (?:surgery|resection)")


def urgent_name(mention: Mention, context: str = "") -> str | None:
    """What the banner calls MENTION, if it names an urgent finding; else None. CONTEXT
    is the whole text the mention is in (a film after surgery is said so elsewhere)."""
    if not mention.positive:
        return None
    label = mention.label
    if label == "pneumothorax" and "tension" in mention.modifiers:
        return "tension pneumothorax"
    if label in _URGENT:
        return _URGENT[label]
    if label in _URGENT_DEVICES and mention.position == MALPOSITIONED:
        return f"malpositioned {label}"
    if label == "pleural effusion" and 4 in mention.severity and re.search(r"\bshift|displace", mention.modifiers):
        return "large pleural effusion with mediastinal shift"
    if label in ("consolidation", "airspace opacity", "pneumonia") and mention.change == WORSE \
            and _POSTOPERATIVE.search(context.lower() or mention.modifiers):
        return "new consolidation after surgery"
    return None
