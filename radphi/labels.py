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

__all__ = [
    "ABNORMALITY_LABELS", "ANATOMICAL_FINDING_LABELS", "CATEGORY", "DEVICE_LABELS",
    "DISEASE_LABELS", "NO_LABEL_PHRASES", "SYNONYMS", "TECHNICAL_LABELS",
    "TUBES_AND_LINES_LABELS", "TUBES_LINES_DEVICES_LABELS", "VOCABULARIES",
    "canonical", "is_label", "normalize_text", "split_label_list", "synonyms_of",
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

# Grouped by target so a reader can audit each label's synonyms in one place;
# SYNONYMS (the flat lookup) is built from it below. Keys are written in
# normalised form. Hyphen/space variants ("intra aortic", "intraaortic") need
# no entry: lookup ignores hyphens and spaces (see _loose).
_SYNONYM_GROUPS: dict[str, tuple[str, ...]] = {
    # anatomicalfinding
    "lung opacity": ("opacity", "opacities", "pulmonary opacity", "parenchymal opacity",
                     "opacification", "lung opacification"),
    "airspace opacity": ("airspace disease", "airspace opacities", "alveolar opacity"),
    "consolidation": ("consolidations", "consolidative opacity", "lobar consolidation"),
    "infiltration": ("infiltrate", "infiltrates", "pulmonary infiltrate"),
    "atelectasis": ("atelectatic change", "atelectatic changes"),
    "linear/patchy atelectasis": ("linear atelectasis", "patchy atelectasis",
                                  "plate-like atelectasis", "discoid atelectasis",
                                  "subsegmental atelectasis"),
    "lobar/segmental collapse": ("collapse", "lobar collapse", "segmental collapse",
                                 "lobe collapse", "lobar atelectasis"),
    "pulmonary edema/hazy opacity": ("edema", "oedema", "pulmonary edema", "pulmonary oedema",
                                     "hazy opacity", "hazy opacities", "interstitial edema",
                                     "alveolar edema"),
    "vascular congestion": ("pulmonary vascular congestion", "congestion", "venous congestion",
                            "pulmonary venous congestion", "vascular engorgement"),
    "vascular redistribution": ("cephalization", "cephalisation",
                                "pulmonary vascular redistribution"),
    "increased reticular markings/ild pattern": (
        "increased reticular markings", "ild pattern", "reticular markings", "reticular opacities",
        "reticulation", "reticular pattern", "increased interstitial markings",
        "interstitial markings"),
    "pleural effusion": ("effusion", "effusions", "pleural effusions", "pleural fluid",
                         "hydrothorax", "hemothorax"),
    "costophrenic angle blunting": ("blunting of the costophrenic angle", "costophrenic blunting",
                                    "blunted costophrenic angle", "cp angle blunting"),
    "pleural/parenchymal scarring": ("scarring", "scar", "pleural scarring",
                                     "parenchymal scarring", "pleural thickening"),
    "bronchiectasis": ("bronchiectatic changes",),
    "enlarged cardiac silhouette": ("cardiomegaly", "enlarged heart", "heart enlargement",
                                    "cardiac enlargement", "enlarged heart size",
                                    "enlarged cardiac size"),
    "mediastinal displacement": ("mediastinal shift", "shift of the mediastinum",
                                 "tracheal deviation"),
    "mediastinal widening": ("widened mediastinum", "wide mediastinum",
                             "widening of the mediastinum"),
    "enlarged hilum": ("enlarged hila", "hilar enlargement", "hilar prominence", "prominent hila",
                       "hilar adenopathy", "hilar lymphadenopathy"),
    "tortuous aorta": ("aortic tortuosity", "tortuosity of the aorta", "unfolded aorta",
                       "unfolding of the aorta"),
    "vascular calcification": ("aortic calcification", "atherosclerotic calcification",
                               "calcified aorta", "aortic knob calcification",
                               "aortic atherosclerosis"),
    "pneumomediastinum": ("mediastinal emphysema",),
    "pneumothorax": ("ptx", "pneumothoraces", "tension pneumothorax"),
    "lung lesion": ("lesion", "pulmonary lesion"),
    "mass/nodule (not otherwise specified)": ("mass", "nodule", "mass/nodule", "lung nodule",
                                              "pulmonary nodule", "lung mass", "pulmonary mass",
                                              "nodular opacity", "nodular density"),
    # A plural nodule mention is the "multiple" label, not the singular via the
    # plural fallback, which is why these are listed explicitly.
    "multiple masses/nodules": ("nodules", "masses", "masses/nodules", "multiple nodules",
                                "multiple masses", "pulmonary nodules", "lung nodules"),
    "calcified nodule": ("calcified granuloma",),
    "superior mediastinal mass/enlargement": ("superior mediastinal mass",
                                              "superior mediastinal enlargement",
                                              "mediastinal mass"),
    "rib fracture": ("rib fx", "fractured rib", "broken rib"),
    "clavicle fracture": ("clavicular fracture", "fractured clavicle", "clavicle fx"),
    "spinal fracture": ("vertebral fracture", "compression fracture", "spine fracture",
                        "vertebral compression fracture", "vertebral body fracture"),
    "hyperaeration": ("hyperinflation", "hyperexpansion", "hyperinflated lungs",
                      "hyperexpanded lungs", "hyperaerated lungs", "overinflation"),
    "cyst/bullae": ("cyst", "bulla", "bullae", "bleb", "blebs", "bullous disease",
                    "bullous changes", "lung cyst", "pneumatocele"),
    "elevated hemidiaphragm": ("raised hemidiaphragm", "elevated diaphragm",
                               "elevation of the hemidiaphragm", "diaphragmatic elevation"),
    "diaphragmatic eventration (benign)": ("diaphragmatic eventration", "eventration"),
    "sub-diaphragmatic air": ("free air", "pneumoperitoneum", "free intraperitoneal air",
                              "free subdiaphragmatic air", "subdiaphragmatic free air"),
    "subcutaneous air": ("subcutaneous emphysema", "surgical emphysema", "subcutaneous gas",
                         "soft tissue air"),
    "hernia": ("hiatal hernia", "hiatus hernia", "diaphragmatic hernia",
               "paraesophageal hernia", "bochdalek hernia", "morgagni hernia"),
    "scoliosis": ("levoscoliosis", "dextroscoliosis", "kyphoscoliosis", "spinal curvature",
                  "curvature of the spine"),
    # Bare "degenerative changes" is left out: on a chest film it is as often
    # the shoulder as the spine.
    "spinal degenerative changes": ("degenerative changes of the spine",
                                    "degenerative changes in the spine", "spondylosis",
                                    "thoracic spondylosis", "degenerative disc disease"),
    "shoulder osteoarthritis": ("shoulder arthritis", "glenohumeral osteoarthritis",
                                "degenerative changes of the shoulder",
                                "acromioclavicular osteoarthritis"),
    "bone lesion": ("osseous lesion", "bony lesion", "lytic lesion", "sclerotic lesion",
                    "blastic lesion", "bone metastasis", "bone metastases",
                    "osseous metastasis", "osseous metastases"),
    # disease
    "pneumonia": ("pna", "bronchopneumonia", "lobar pneumonia"),
    "fluid overload/heart failure": ("chf", "heart failure", "congestive heart failure",
                                     "fluid overload", "volume overload", "cardiac failure",
                                     "cardiac decompensation", "hypervolemia"),
    "copd/emphysema": ("copd", "emphysema", "chronic obstructive pulmonary disease",
                       "emphysematous changes", "chronic obstructive lung disease"),
    "granulomatous disease": ("prior granulomatous disease", "old granulomatous disease",
                              "healed granulomatous disease", "granulomatous infection"),
    # "ild" (the disease) and "ild pattern" (the finding) are distinct labels.
    "interstitial lung disease": ("ild", "interstitial disease", "pulmonary fibrosis", "ipf",
                                  "usual interstitial pneumonia", "uip", "nsip"),
    "goiter": ("goitre", "thyroid goiter", "enlarged thyroid", "thyromegaly",
               "thyroid enlargement"),
    "lung cancer": ("lung carcinoma", "bronchogenic carcinoma", "lung malignancy",
                    "pulmonary malignancy", "lung neoplasm", "primary lung cancer", "nsclc",
                    "sclc"),
    "aspiration": ("aspiration pneumonia", "aspiration pneumonitis"),
    "alveolar hemorrhage": ("alveolar haemorrhage", "pulmonary hemorrhage",
                            "pulmonary haemorrhage", "diffuse alveolar hemorrhage", "dah"),
    "pericardial effusion": ("pericardial effusions", "pericardial fluid"),
    # technicalassessment
    "low lung volumes": ("low lung volume", "low volumes", "hypoinflation", "poor inspiration",
                         "shallow inspiration"),
    "rotated": ("rotation", "patient rotation"),
    "artifact": ("artifacts", "artefact", "artefacts"),
    "breast/nipple shadows": ("breast shadow", "breast shadows", "nipple shadow",
                              "nipple shadows"),
    "skin fold": ("skinfold", "skin folds"),
    # tubesandlines
    "chest tube": ("thoracostomy tube", "chest drain", "pleural drain", "pleural tube",
                   "intercostal drain"),
    "mediastinal drain": ("mediastinal tube", "pericardial drain"),
    "pigtail catheter": ("pigtail", "pigtail drain"),
    # Bare "et" is left out: too often "et al." or a typo.
    "endotracheal tube": ("ett", "et tube", "ett tube", "endotracheal", "breathing tube"),
    "tracheostomy tube": ("trach", "trach tube", "tracheostomy", "tracheotomy tube"),
    "picc": ("picc line", "picc catheter", "peripherally inserted central catheter",
             "peripherally inserted central venous catheter"),
    # A central venous catheter may sit in the internal jugular, subclavian or
    # femoral vein. Unqualified, it is mapped to "ij line" because the internal
    # jugular is the usual site on the ICU films these labels come from; a
    # report that names the site ("subclavian catheter", "PICC") maps there.
    "ij line": ("internal jugular line", "internal jugular catheter", "ij catheter",
                "ij central line", "internal jugular central venous catheter", "jugular line",
                "central venous catheter", "cvc", "cvl", "central line", "central venous line"),
    "chest port": ("port", "port-a-cath", "portacath", "mediport", "chest wall port",
                   "power port", "implanted port", "infusion port", "venous access port"),
    "subclavian line": ("subclavian catheter", "subclavian central line",
                        "subclavian venous catheter", "subclavian cvc"),
    # "pac" is left out: it also means premature atrial contraction.
    "swan-ganz catheter": ("swan ganz", "swan", "pa catheter", "pulmonary artery catheter"),
    "intra-aortic balloon pump": ("iabp", "balloon pump", "intra-aortic balloon",
                                  "aortic balloon pump"),
    "enteric tube": ("ng tube", "ngt", "og tube", "ogt", "nasogastric tube", "orogastric tube",
                     "feeding tube", "dobhoff", "dobhoff tube", "dobbhoff", "dht", "nj tube",
                     "nasojejunal tube", "nasoenteric tube", "gastric tube"),
    # device
    "sternotomy wires": ("median sternotomy", "sternotomy", "sternotomy wire",
                         "median sternotomy wires", "sternal wires", "sternal wire",
                         "sternal cerclage wires"),
    "cabg grafts": ("cabg", "cabg graft", "coronary artery bypass graft",
                    "coronary artery bypass grafts", "bypass grafts"),
    "aortic graft/repair": ("aortic graft", "aortic repair", "aortic stent graft",
                            "aortic stent", "endovascular aortic repair", "evar", "tevar"),
    "prosthetic valve": ("valve replacement", "prosthetic heart valve", "mechanical valve",
                         "bioprosthetic valve", "valve prosthesis", "artificial valve",
                         "aortic valve replacement", "mitral valve replacement", "avr", "mvr",
                         "tavr", "tavi"),
    # "icd" is read as implantable cardioverter-defibrillator, the American
    # usage of MIMIC; in British usage it can mean an intercostal drain.
    "cardiac pacer and wires": ("pacemaker", "pacer", "icd", "aicd", "cardiac pacer",
                                "cardiac pacemaker", "pacemaker leads", "pacemaker wires",
                                "pacer leads", "pacer wires", "pacing wires",
                                "epicardial pacing wires", "defibrillator",
                                "implantable cardioverter defibrillator", "pacemaker/icd",
                                "dual chamber pacemaker", "biventricular pacemaker"),
}

SYNONYMS: dict[str, str] = {
    synonym: label for label, synonyms in _SYNONYM_GROUPS.items() for synonym in synonyms
}

# Answers that mean "no label at all" in a label list; split_label_list skips
# them instead of reporting them as unknown.
NO_LABEL_PHRASES: frozenset[str] = frozenset({
    "none", "no", "nil", "n/a", "na", "nothing", "normal", "no findings", "no finding",
    "no abnormality", "no abnormalities", "no acute abnormality", "no devices",
    "no tubes or lines", "no lines or tubes",
})

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


def split_label_list(text: str, vocabulary: str | None = None) -> tuple[list[str], list[str]]:
    """Split a comma/semicolon/newline separated label list into (labels, unknown).

    Labels are canonical, deduplicated, in order of first mention. Pieces in
    NO_LABEL_PHRASES are dropped silently. A leading "and " on the last item
    ("a, b, and c") is ignored; a piece is split on " and " only when it is
    not itself a name, since "cardiac pacer and wires" is one label.
    """
    labels: list[str] = []
    unknown: list[str] = []
    if not isinstance(text, str):
        return labels, unknown
    for raw in re.split(r"[,;\n]+", text):
        piece = normalize_text(raw)
        if piece.startswith("and "):
            piece = piece[4:]
        if not piece or piece in NO_LABEL_PHRASES:
            continue
        label = canonical(piece, vocabulary)
        parts = [label] if label else [canonical(part, vocabulary) for part in piece.split(" and ")]
        if label is None and (len(parts) == 1 or None in parts):
            unknown.append(piece)
            continue
        for part in parts:
            if part is not None and part not in labels:
                labels.append(part)
    return labels, unknown
