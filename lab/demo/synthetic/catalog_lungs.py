"""The catalogue of lung and pleural findings: how reports phrase each label.

Written for this project (no report text was copied). Every positive template names
its finding with a word that `radphi.labels.canonical` maps to the label (or one of
the spec's `cues`), and mentions the side, lobe and severity whenever the finding has
them, so answers about them are always in the text; tests/test_synthetic_phrasing.py
checks both.
"""

from __future__ import annotations

from lab.demo.synthetic.finding_types import (
    ALL_LOBES,
    BOTH_LUNGS,
    GRADE,
    LOWER_LOBES,
    LR,
    LRB,
    SIZE,
    UPPER_LOBES,
)
from lab.demo.synthetic.finding_types import (
    FindingSpec as F,
)

LUNG_SPECS: tuple[F, ...] = (
    F("lung opacity", "lungs", (
        "There is a patchy opacity in the {lobe}.",
        "Patchy opacity is seen in the {lobe}.",
        "{lobe} opacity.",
        "Ill-defined opacity projects over the {lobe}.",
        "An area of increased opacity is present in the {lobe}.",
        "Focal opacification of the {lobe} is noted.",
    ), "{lobe} opacity", "lung opacity", lobes=ALL_LOBES, weight=5),
    F("airspace opacity", "lungs", (
        "There is airspace opacity in the {lobe}.",
        "{lobe} airspace opacity.",
        "Airspace disease is present in the {lobe}.",
        "Patchy airspace opacities are noted in the {lobe}.",
        "Focal airspace disease involves the {lobe}.",
    ), "{lobe} airspace opacity", "airspace opacity", lobes=ALL_LOBES, weight=2),
    F("consolidation", "lungs", (
        "There is consolidation in the {lobe}.",
        "{lobe} consolidation.",
        "Focal consolidation is present in the {lobe}.",
        "Dense consolidation occupies the {lobe}.",
        "A consolidative opacity is seen in the {lobe}.",
        "Lobar consolidation of the {lobe} is noted.",
    ), "{lobe} consolidation", "consolidation", lobes=ALL_LOBES, weight=4),
    F("infiltration", "lungs", (
        "There is an infiltrate in the {lobe}.",
        "{lobe} infiltrate.",
        "Patchy infiltrates are seen in the {lobe}.",
        "An infiltrate is noted at the {lobe}.",
        "A focal infiltrate projects over the {lobe}.",
    ), "{lobe} infiltrate", "infiltrate", lobes=ALL_LOBES, weight=1.5),
    F("atelectasis", "lungs", (
        "{sev} atelectasis in the {lobe}.",
        "There is {sev} {lobe} atelectasis.",
        "{sev} {lobe} atelectasis is present.",
        "{sev} atelectatic changes are seen in the {lobe}.",
        "The {lobe} shows {sev} atelectasis.",
        "Atelectasis, {sev}, involves the {lobe}.",
    ), "{sev} {lobe} atelectasis", "atelectasis", scale=GRADE, lobes=LOWER_LOBES, weight=6),
    F("linear/patchy atelectasis", "lungs", (
        "Linear atelectasis in the {lobe}.",
        "Plate-like atelectasis is seen in the {lobe}.",
        "There is subsegmental atelectasis in the {lobe}.",
        "Discoid atelectasis at the {lobe}.",
        "Patchy atelectasis is noted in the {lobe}.",
    ), "{lobe} linear atelectasis", "linear atelectasis", lobes=LOWER_LOBES, weight=2.5),
    F("lobar/segmental collapse", "lungs", (
        "Collapse of the {lobe}.",
        "There is {lobe} collapse.",
        "Complete {lobe} collapse is present.",
        "Segmental collapse in the {lobe}.",
        "Lobar collapse involving the {lobe}.",
    ), "{lobe} collapse", "lobar collapse", lobes=ALL_LOBES, weight=1),
    F("pneumonia", "lungs", (
        "Findings are concerning for pneumonia in the {lobe}.",
        "{lobe} pneumonia.",
        "There is a {lobe} pneumonia.",
        "The appearance is compatible with pneumonia in the {lobe}.",
        "Focal {lobe} pneumonia is suspected.",
        "Bronchopneumonia involves the {lobe}.",
    ), "{lobe} pneumonia", "pneumonia", lobes=ALL_LOBES, weight=4),
    F("aspiration", "lungs", (
        "Findings in the {lobe} may reflect aspiration.",
        "Aspiration in the {lobe} is suspected.",
        "{lobe} aspiration.",
        "Changes of aspiration are seen in the {lobe}.",
        "Aspiration pneumonitis is likely in the {lobe}.",
    ), "{lobe} aspiration", "aspiration", lobes=LOWER_LOBES, weight=1),
    F("lung lesion", "lungs", (
        "A lesion is seen in the {lobe}.",
        "{lobe} lesion.",
        "There is a pulmonary lesion in the {lobe}.",
        "A cavitary lesion is present in the {lobe}.",
        "An indeterminate lesion projects over the {lobe}.",
    ), "{lobe} lesion", "lung lesion", lobes=ALL_LOBES, weight=0.8),
    F("mass/nodule (not otherwise specified)", "lungs", (
        "A nodule is present in the {lobe}.",
        "There is a {lobe} nodule.",
        "{lobe} pulmonary nodule.",
        "A mass is seen in the {lobe}.",
        "A nodular opacity projects over the {lobe}.",
        "A rounded lung nodule is seen in the {lobe}.",
    ), "{lobe} nodule", "pulmonary nodule", lobes=ALL_LOBES, weight=2),
    F("multiple masses/nodules", "lungs", (
        "Multiple pulmonary nodules are seen bilaterally.",
        "There are multiple nodules throughout both lungs.",
        "Innumerable nodules are present in both lungs.",
        "Bilateral pulmonary nodules.",
        "Numerous lung nodules are scattered through both lungs.",
    ), "multiple pulmonary nodules", "multiple nodules", regions=BOTH_LUNGS, weight=0.8),
    F("calcified nodule", "lungs", (
        "A calcified nodule is seen in the {lobe}.",
        "{lobe} calcified granuloma.",
        "There is a small calcified nodule in the {lobe}.",
        "Calcified granuloma in the {lobe}.",
        "A densely calcified nodule projects over the {lobe}.",
    ), "{lobe} calcified nodule", "calcified nodule", lobes=ALL_LOBES, weight=1, acute=False),
    F("bronchiectasis", "lungs", (
        "Bronchiectasis in the {lobe}.",
        "There is {lobe} bronchiectasis.",
        "Bronchiectatic changes are seen in the {lobe}.",
        "Cylindrical bronchiectasis involves the {lobe}.",
    ), "{lobe} bronchiectasis", "bronchiectasis", lobes=ALL_LOBES, weight=0.6),
    F("cyst/bullae", "lungs", (
        "Bullae in the {lobe}.",
        "A large bulla occupies the {lobe}.",
        "Bullous changes are seen in the {lobe}.",
        "There is a {lobe} bleb.",
        "A thin-walled cyst is seen in the {lobe}.",
    ), "{lobe} bullae", "bullae", lobes=UPPER_LOBES, weight=0.6),
    F("lung cancer", "lungs", (
        "Known {lobe} lung cancer.",
        "The known bronchogenic carcinoma in the {lobe} is visible.",
        "{lobe} lung malignancy.",
        "There is a primary lung cancer in the {lobe}.",
    ), "{lobe} lung cancer", "lung cancer", lobes=ALL_LOBES, weight=0.5),
    F("increased reticular markings/ild pattern", "lungs", (
        "There are increased reticular markings throughout both lungs.",
        "Diffuse reticular opacities are present bilaterally.",
        "Bilateral interstitial markings are increased.",
        "A reticular pattern is seen in both lungs.",
        "Coarse reticulation is noted at both lung bases.",
    ), "increased reticular markings", "reticular markings", regions=BOTH_LUNGS, weight=1.5),
    F("interstitial lung disease", "lungs", (
        "Findings are consistent with known interstitial lung disease.",
        "Chronic interstitial lung disease.",
        "Changes of pulmonary fibrosis are present bilaterally.",
        "The appearance is compatible with ILD.",
    ), "interstitial lung disease", "interstitial lung disease", regions=BOTH_LUNGS, weight=0.7),
    F("pulmonary edema/hazy opacity", "lungs", (
        "There is {sev} pulmonary edema.",
        "{sev} interstitial edema is present.",
        "Findings are consistent with {sev} pulmonary edema.",
        "{sev} pulmonary edema.",
        "The lungs demonstrate {sev} edema.",
        "Hazy opacities are compatible with {sev} edema.",
    ), "{sev} pulmonary edema", "pulmonary edema", scale=GRADE, regions=BOTH_LUNGS, weight=5),
    F("vascular congestion", "lungs", (
        "There is {sev} pulmonary vascular congestion.",
        "{sev} vascular congestion.",
        "Pulmonary vascular congestion is {sev}.",
        "{sev} pulmonary venous congestion is present.",
        "{sev} vascular engorgement is seen.",
    ), "{sev} pulmonary vascular congestion", "vascular congestion", scale=GRADE,
      regions=BOTH_LUNGS, weight=3),
    F("vascular redistribution", "lungs", (
        "There is cephalization of the pulmonary vessels.",
        "Pulmonary vascular redistribution is noted.",
        "Vascular redistribution to the upper lobes.",
        "Mild cephalization is seen.",
    ), "pulmonary vascular redistribution", "vascular redistribution", regions=BOTH_LUNGS, weight=0.8),
    F("hyperaeration", "lungs", (
        "Hyperinflated lungs.",
        "There is hyperinflation.",
        "Hyperinflation of the lungs is noted.",
        "The chest shows hyperexpansion.",
    ), "hyperinflated lungs", "hyperinflation", regions=BOTH_LUNGS, weight=1.2),
    F("copd/emphysema", "lungs", (
        "Emphysematous changes are present.",
        "Changes of COPD.",
        "Emphysema is noted in both upper lobes.",
        "Findings are consistent with emphysema.",
    ), "emphysema", "emphysema", regions=BOTH_LUNGS, weight=1.5),
    F("fluid overload/heart failure", "lungs", (
        "Findings are consistent with congestive heart failure.",
        "The appearance suggests fluid overload.",
        "Changes of CHF.",
        "The constellation of findings suggests volume overload.",
    ), "fluid overload", "heart failure", regions=BOTH_LUNGS, weight=1.5),
    F("alveolar hemorrhage", "lungs", (
        "Findings could represent pulmonary hemorrhage.",
        "Alveolar hemorrhage is suspected.",
        "The pattern is compatible with diffuse alveolar hemorrhage.",
        "Pulmonary hemorrhage is a consideration.",
    ), "alveolar hemorrhage", "alveolar hemorrhage", regions=BOTH_LUNGS, weight=0.3),
    F("granulomatous disease", "lungs", (
        "Sequelae of prior granulomatous disease.",
        "Findings of old granulomatous disease.",
        "Healed granulomatous disease is noted.",
        "Evidence of prior granulomatous infection.",
    ), "prior granulomatous disease", "granulomatous disease", regions=BOTH_LUNGS, weight=1,
      acute=False),
    F("pleural/parenchymal scarring", "lungs", (
        "{side} apical pleural thickening is noted.",
        "There is {side} apical scarring.",
        "Chronic {side} apical scarring is present.",
        "{side} apical pleural-parenchymal scarring.",
        "{side} apical pleural scarring is seen.",
    ), "{side} apical scarring", "apical scarring", sides=LRB, regions=("{side} apical zone",),
      weight=1.2, acute=False),
)

PLEURAL_SPECS: tuple[F, ...] = (
    F("pleural effusion", "pleura", (
        "There {is} {a}{sev} {side} pleural effusion{s}.",
        "{sev} {side} pleural effusion{s}.",
        "{sev} {side} pleural effusion{s} {is} present.",
        "{side} pleural effusion{s}, {sev} in size.",
        "A {sev} amount of {side} pleural fluid is seen.",
        "{sev} {side} effusion{s} {is} noted.",
        "There {is} {a}{sev} {side} effusion{s}.",
    ), "{sev} {side} pleural effusion{s}", "pleural effusion", sides=LRB, scale=SIZE,
      regions=("{side} costophrenic angle",), weight=8),
    F("pneumothorax", "pleura", (
        "There is a {sev} {side} pneumothorax.",
        "{sev} {side} pneumothorax.",
        "A {sev} {side} apical pneumothorax is present.",
        "{sev} {sided} pneumothorax is seen.",
        "{side} pneumothorax, {sev} in size.",
        "A {sev} pneumothorax is present on the {side}.",
    ), "{sev} {side} pneumothorax", "pneumothorax", sides=LR, scale=SIZE,
      regions=("{side} apical zone",), weight=2.5),
    F("hydropneumothorax", "pleura", (
        "There is a {sev} {side} hydropneumothorax.",
        "{sev} {side} hydropneumothorax with an air-fluid level.",
        "A {sev} hydropneumothorax is seen on the {side}.",
        "{sev} {sided} hydropneumothorax.",
    ), "{sev} {side} hydropneumothorax", "hydropneumothorax", sides=LR, scale=SIZE,
      regions=("{side} lung",), weight=0.4),
    F("costophrenic angle blunting", "pleura", (
        "{side} costophrenic angle blunting.",
        "There is {side} costophrenic angle blunting.",
        "{side} costophrenic blunting is noted.",
        "{side} CP angle blunting is seen.",
        "Mild {side} costophrenic angle blunting.",
    ), "{side} costophrenic angle blunting", "costophrenic angle blunting", sides=LRB,
      regions=("{side} costophrenic angle",), weight=1.5),
)
