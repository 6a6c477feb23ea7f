"""Label vocabularies (Chest ImaGenome), their synonyms, and free-text normalisation.

This module owns the two task vocabularies and the mapping from whatever a
report, an annotator or a model writes ("NG tube", "cardiomegaly", "Pleural
effusions.") to one canonical Chest ImaGenome label:

    >>> canonical("NGT")
    'enteric tube'
    >>> canonical("Pleural effusions.", "abnormality")
    'pleural effusion'
    >>> canonical("ngt", "abnormality") is None
    True

Labels are spelled exactly as in Chest ImaGenome 1.0.0 (lower case). None of
them contains a comma or a semicolon, so a list of labels can be joined with
", " and split again; "cardiac pacer and wires" does contain " and ", so never
split a label list on " and ".
"""

from __future__ import annotations

import re
import unicodedata

from radphi.label_synonyms import SYNONYM_GROUPS as _SYNONYM_GROUPS

__all__ = [
    "ABNORMALITY_LABELS", "ANATOMICAL_FINDING_LABELS", "CATEGORY", "DEVICE_LABELS",
    "DISEASE_LABELS", "SYNONYMS", "TECHNICAL_LABELS",
    "TUBES_AND_LINES_LABELS", "TUBES_LINES_DEVICES_LABELS", "VOCABULARIES",
    "canonical", "is_label", "means_no_label", "normalize_text", "synonyms_of",
]

ANATOMICAL_FINDING_LABELS: tuple[str, ...] = (
    "lung opacity", "airspace opacity", "consolidation", "infiltration", "atelectasis",
    "linear/patchy atelectasis", "lobar/segmental collapse", "pulmonary edema/hazy opacity",
    "vascular congestion", "vascular redistribution", "increased reticular markings/ild pattern",
    "pleural effusion", "costophrenic angle blunting", "pleural/parenchymal scarring",
    "bronchiectasis", "enlarged cardiac silhouette", "mediastinal displacement",
    "mediastinal widening", "enlarged hilum", "tortuous aorta", "vascular calcification",
    "pneumomediastinum", "pneumothorax", "hydropneumothorax", "lung lesion",
    "mass/nodule (not otherwise specified)", "multiple masses/nodules", "calcified nodule",
    "superior mediastinal mass/enlargement", "rib fracture", "clavicle fracture",
    "spinal fracture", "hyperaeration", "cyst/bullae", "elevated hemidiaphragm",
    "diaphragmatic eventration (benign)", "sub-diaphragmatic air", "subcutaneous air",
    "hernia", "scoliosis", "spinal degenerative changes", "shoulder osteoarthritis",
    "bone lesion",
)
DISEASE_LABELS: tuple[str, ...] = (
    "pneumonia", "fluid overload/heart failure", "copd/emphysema", "granulomatous disease",
    "interstitial lung disease", "goiter", "lung cancer", "aspiration", "alveolar hemorrhage",
    "pericardial effusion",
)
TECHNICAL_LABELS: tuple[str, ...] = (
    "low lung volumes", "rotated", "artifact", "breast/nipple shadows", "skin fold",
)
TUBES_AND_LINES_LABELS: tuple[str, ...] = (
    "chest tube", "mediastinal drain", "pigtail catheter", "endotracheal tube",
    "tracheostomy tube", "picc", "ij line", "chest port", "subclavian line",
    "swan-ganz catheter", "intra-aortic balloon pump", "enteric tube",
)
DEVICE_LABELS: tuple[str, ...] = (
    "sternotomy wires", "cabg grafts", "aortic graft/repair", "prosthetic valve",
    "cardiac pacer and wires",
)

ABNORMALITY_LABELS: tuple[str, ...] = ANATOMICAL_FINDING_LABELS + DISEASE_LABELS
TUBES_LINES_DEVICES_LABELS: tuple[str, ...] = TUBES_AND_LINES_LABELS + DEVICE_LABELS

VOCABULARIES: dict[str, tuple[str, ...]] = {
    "abnormality": ABNORMALITY_LABELS,
    "tubes_lines_devices": TUBES_LINES_DEVICES_LABELS,
}

CATEGORY: dict[str, str] = {
    **{label: "anatomicalfinding" for label in ANATOMICAL_FINDING_LABELS},
    **{label: "disease" for label in DISEASE_LABELS},
    **{label: "tubesandlines" for label in TUBES_AND_LINES_LABELS},
    **{label: "device" for label in DEVICE_LABELS},
    **{label: "technicalassessment" for label in TECHNICAL_LABELS},
}

# The flat lookup, from the table grouped by label (radphi.label_synonyms).
SYNONYMS: dict[str, str] = {
    synonym: label for label, synonyms in _SYNONYM_GROUPS.items() for synonym in synonyms
}

# The one "no label at all" vocabulary: an answer item that says there is nothing
# ("none", "No abnormalities found.", "no tubes or lines"). Label lists
# (`radphi.answers`) skip such an item instead of reporting it as an unknown name.
_NO_LABEL = re.compile(
    r"^(?:none|no|nil|n/a|na|nothing|normal|no labels?"
    r"|no (?:acute )?(?:abnormalit(?:y|ies)|findings?|devices?|tubes? or lines?|lines? or tubes?)(?: labels?)?"
    r"(?: found| identified| present)?)\.?$")


# Longest name worth normalising; anything longer is prose, not a label.
_MAX_NAME_CHARS = 300

_DASHES = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_QUOTES = re.compile(r"[\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u00ab\u00bb`\"]")
# Bullets and list numbering: "- ", "* ", "• ", "1. ", "2) ", "(3) ", "a) ".
_BULLET = re.compile(r"^(?:[-*\u2022\u25cf\u25e6\u2023>]+|\(?\d{1,3}[.)]|\(?[a-z][)])\s+")
_EDGE_PUNCT = ".,;:!?'*\u2022"
# Applied to a lookup key only: British spellings, so "haemothorax" or
# "oesophageal" need no synonym entries of their own.
_BRITISH = (("haem", "hem"), ("oedem", "edem"), ("oesoph", "esoph"), ("goitre", "goiter"),
            ("artefact", "artifact"), ("tumour", "tumor"), ("isation", "ization"))


def normalize_text(name: str) -> str:
    """Lower-case, unify unicode dashes/quotes, drop bullets and edge punctuation.

    Hyphens inside words are kept ("swan-ganz catheter" stays spelled as the
    label); lookup separately ignores hyphen/space differences.
    """
    if not isinstance(name, str):
        return ""
    # NFKC folds full-width letters and compatibility forms into plain ones.
    text = unicodedata.normalize("NFKC", name).lower()
    text = _DASHES.sub("-", text)
    text = _QUOTES.sub("", text).replace("_", " ").replace("&", " and ")
    text = " ".join(text.split())
    previous = None
    while text != previous:
        previous = text
        text = _BULLET.sub("", text).strip(_EDGE_PUNCT + " ")
        if text.startswith(("(", "[")) and text.endswith((")", "]")) and _balanced(text[1:-1]):
            text = text[1:-1].strip()
    return re.sub(r"\s*/\s*", "/", text)


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _loose(text: str) -> str:
    return re.sub(r"[\s\-]+", "", text)


def _british_to_american(text: str) -> str:
    for british, american in _BRITISH:
        text = text.replace(british, american)
    return text


def _build_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for name, label in [*((label, label) for label in CATEGORY), *SYNONYMS.items()]:
        index.setdefault(_loose(normalize_text(name)), label)
    return index


_INDEX: dict[str, str] = _build_index()


def _lookup(normalized: str) -> str | None:
    key = _loose(normalized)
    for candidate in (key, _british_to_american(key)):
        if candidate in _INDEX:
            return _INDEX[candidate]
    return None


def canonical(name: str, vocabulary: str | None = None) -> str | None:
    """The canonical Chest ImaGenome label for `name`, or None if unknown.

    Tries the exact label, then synonyms, then the same without a trailing
    plural "s" ("chest tubes" -> "chest tube"). With `vocabulary` ("abnormality"
    or "tubes_lines_devices") a label outside that vocabulary gives None;
    without it any Chest ImaGenome label counts, technical ones included.
    Never raises on a str; an unknown vocabulary key is a caller bug and
    raises KeyError.
    """
    allowed = VOCABULARIES[vocabulary] if vocabulary is not None else None
    if not isinstance(name, str) or len(name) > _MAX_NAME_CHARS:
        return None
    normalized = normalize_text(name)
    if not normalized:
        return None
    label = _lookup(normalized)
    # Plural fallback last, and never for "-ss" words ("mass" is not a plural).
    if label is None and normalized.endswith("s") and not normalized.endswith("ss"):
        label = _lookup(normalized[:-1])
    if label is None or (allowed is not None and label not in allowed):
        return None
    return label


def synonyms_of(label: str) -> tuple[str, ...]:
    """The synonyms listed for canonical LABEL (normalised form, as listed), or ()."""
    return _SYNONYM_GROUPS.get(label, ())


def is_label(name: str, vocabulary: str | None = None) -> bool:
    """True when `name` maps to a canonical label (in `vocabulary`, when given)."""
    return canonical(name, vocabulary) is not None


def means_no_label(item: str) -> bool:
    """True when a list item says there is no label at all ("none", "No abnormalities.")."""
    return isinstance(item, str) and _NO_LABEL.match(" ".join(item.lower().split())) is not None
