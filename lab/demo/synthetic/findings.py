"""All findings: the catalogue by label, pertinent negatives, and normal statements.

The sentence groups here (positive templates per label, negations per label, combined
negations, normal statements per anatomical group) are the ones whose phrasings are
split into a train share and a held-out share (`phrasing.Phrasebook`). Group keys:
`pos:<label>`, `neg:<label>`, `neg:combo`, `normal:<group>`.
"""

from __future__ import annotations

from radphi import labels
from lab.demo.synthetic.catalog_lungs import LUNG_SPECS, PLEURAL_SPECS
from lab.demo.synthetic.catalog_other import OTHER_SPECS
from lab.demo.synthetic.finding_types import FindingSpec

SPECS: tuple[FindingSpec, ...] = LUNG_SPECS + PLEURAL_SPECS + OTHER_SPECS
BY_LABEL: dict[str, FindingSpec] = {spec.label: spec for spec in SPECS}

# The order of the findings section, as radiologists dictate it: lines and tubes,
# lungs, pleura, heart, mediastinum, bones, then below the diaphragm.
GROUPS = ("devices", "lungs", "pleura", "heart", "mediastinum", "bones", "abdomen")

# Impressions list acute findings most urgent first.
URGENCY = (
    "pneumothorax", "hydropneumothorax", "sub-diaphragmatic air", "pneumomediastinum",
    "mediastinal widening", "consolidation", "pneumonia", "aspiration", "airspace opacity",
    "lung opacity", "infiltration", "pulmonary edema/hazy opacity", "fluid overload/heart failure",
    "alveolar hemorrhage", "vascular congestion", "pleural effusion", "lobar/segmental collapse",
    "atelectasis", "lung lesion", "mass/nodule (not otherwise specified)", "lung cancer",
)


def urgency(label: str) -> int:
    return URGENCY.index(label) if label in URGENCY else len(URGENCY) + labels.ABNORMALITY_LABELS.index(label)


# Pertinent negatives: what a report says is absent. A label is only denied when
# neither it nor a label that overlaps it is present (no "No pleural effusion." next to
# costophrenic blunting), so the gold answers never contradict the text.
NEGATIONS: dict[str, tuple[str, ...]] = {
    "pneumothorax": ("No pneumothorax.", "There is no pneumothorax.", "No evidence of pneumothorax.",
                     "No pneumothorax is identified.", "Pneumothorax is not seen."),
    "pleural effusion": ("No pleural effusion.", "There is no pleural effusion.",
                         "No pleural effusions are seen.", "No evidence of pleural effusion.",
                         "Pleural effusion is absent."),
    "consolidation": ("No focal consolidation.", "There is no consolidation.", "No consolidation is seen.",
                      "No evidence of focal consolidation."),
    "pulmonary edema/hazy opacity": ("No pulmonary edema.", "There is no pulmonary edema.",
                                     "No evidence of pulmonary edema.", "Pulmonary edema is not present."),
    "enlarged cardiac silhouette": ("No cardiomegaly.", "There is no cardiomegaly.",
                                    "Cardiomegaly is not seen."),
    "airspace opacity": ("No focal airspace disease.", "No airspace opacity is seen.",
                         "There is no airspace disease."),
    "pneumonia": ("No evidence of pneumonia.", "There are no findings to suggest pneumonia.",
                  "No radiographic evidence of pneumonia."),
    "vascular congestion": ("No pulmonary vascular congestion.", "There is no vascular congestion.",
                            "No evidence of vascular congestion."),
    "pneumomediastinum": ("No pneumomediastinum.", "There is no pneumomediastinum.",
                          "No evidence of pneumomediastinum."),
    "sub-diaphragmatic air": ("No free air under the diaphragm.", "No pneumoperitoneum.",
                              "No free intraperitoneal air is seen."),
    "rib fracture": ("No displaced rib fracture.", "No acute rib fracture is seen.",
                     "There is no rib fracture."),
    "mass/nodule (not otherwise specified)": ("No suspicious pulmonary nodule.",
                                              "No pulmonary nodule is seen.", "No focal nodule or mass."),
}
NEG_CONFLICTS: dict[str, frozenset[str]] = {
    "pneumothorax": frozenset({"hydropneumothorax"}),
    "pleural effusion": frozenset({"hydropneumothorax", "costophrenic angle blunting"}),
    "consolidation": frozenset({"pneumonia", "airspace opacity", "aspiration", "lung opacity",
                                "infiltration", "lobar/segmental collapse"}),
    "pulmonary edema/hazy opacity": frozenset({"fluid overload/heart failure", "alveolar hemorrhage"}),
    "enlarged cardiac silhouette": frozenset({"pericardial effusion"}),
    "airspace opacity": frozenset({"lung opacity", "consolidation", "pneumonia", "infiltration",
                                   "aspiration", "pulmonary edema/hazy opacity", "alveolar hemorrhage"}),
    "pneumonia": frozenset({"consolidation", "aspiration", "airspace opacity", "infiltration",
                            "lung opacity"}),
    "vascular congestion": frozenset({"pulmonary edema/hazy opacity", "fluid overload/heart failure"}),
    "mass/nodule (not otherwise specified)": frozenset({"multiple masses/nodules", "lung lesion",
                                                        "calcified nodule", "lung cancer"}),
}

# Two denials in one sentence, as dictated ("No pleural effusion or pneumothorax.").
COMBO_NAMES = {"pleural effusion": "pleural effusion", "pneumothorax": "pneumothorax",
               "consolidation": "focal consolidation", "pulmonary edema/hazy opacity": "pulmonary edema"}
COMBO_TEMPLATES = (
    "No {n1} or {n2}.",
    "There is no {n1} or {n2}.",
    "No evidence of {n1} or {n2}.",
    "Neither {n1} nor {n2} is seen.",
    "No {n1} or {n2} is identified.",
)

# Statements of normal anatomy, used when nothing in their group is abnormal. None
# of them contains a label word, so they never make a label look present.
NORMALS: dict[str, tuple[str, ...]] = {
    "lungs": ("The lungs are clear.", "Lungs are well expanded and clear.", "Both lungs are clear.",
              "The lungs are clear bilaterally.", "There is no focal lung abnormality."),
    "pleura": ("The costophrenic angles are sharp.", "No pleural abnormality is seen.",
               "The pleural surfaces are smooth."),
    "heart": ("Heart size is normal.", "The cardiac silhouette is normal in size.", "Normal heart size.",
              "Cardiac size is within normal limits."),
    "mediastinum": ("The mediastinal and hilar contours are normal.", "Mediastinal contours are unremarkable.",
                    "Hilar and mediastinal contours are within normal limits.",
                    "The hilar contours are unremarkable."),
    "bones": ("No acute osseous abnormality.", "The osseous structures are intact.",
              "Visualized bones are unremarkable.", "No acute bony abnormality is seen."),
}


def negatable(present: set[str]) -> list[str]:
    """Labels a report may deny, given the labels present."""
    return [label for label in NEGATIONS
            if label not in present and not (NEG_CONFLICTS.get(label, frozenset()) & present)]


def group_of(label: str) -> str:
    return BY_LABEL[label].group
