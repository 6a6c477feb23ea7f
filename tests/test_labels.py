"""Tests for radphi.labels: vocabularies, synonyms, normalisation, canonical()."""

from __future__ import annotations

from collections import defaultdict

import pytest

from radphi import labels
from radphi.labels import (
    ABNORMALITY_LABELS,
    CATEGORY,
    SYNONYMS,
    TECHNICAL_LABELS,
    TUBES_LINES_DEVICES_LABELS,
    VOCABULARIES,
    canonical,
    is_label,
    normalize_text,
)


def test_vocabulary_sizes_match_chest_imagenome():
    assert len(ABNORMALITY_LABELS) == 53
    assert len(TUBES_LINES_DEVICES_LABELS) == 17
    assert len(TECHNICAL_LABELS) == 5
    assert len(set(ABNORMALITY_LABELS)) == 53
    assert len(set(TUBES_LINES_DEVICES_LABELS)) == 17


def test_categories_cover_every_label_once():
    counts = defaultdict(int)
    for category in CATEGORY.values():
        counts[category] += 1
    assert dict(counts) == {"anatomicalfinding": 43, "disease": 10, "tubesandlines": 12,
                            "device": 5, "technicalassessment": 5}
    assert CATEGORY["enlarged cardiac silhouette"] == "anatomicalfinding"
    assert CATEGORY["copd/emphysema"] == "disease"
    assert CATEGORY["enteric tube"] == "tubesandlines"
    assert CATEGORY["cardiac pacer and wires"] == "device"
    assert CATEGORY["skin fold"] == "technicalassessment"


def test_vocabularies_are_disjoint_and_exclude_technical():
    assert set(VOCABULARIES) == {"abnormality", "tubes_lines_devices"}
    abnormality = set(VOCABULARIES["abnormality"])
    devices = set(VOCABULARIES["tubes_lines_devices"])
    assert not abnormality & devices
    assert not (abnormality | devices) & set(TECHNICAL_LABELS)


def test_exact_spellings_from_data_formats():
    for label in ("mass/nodule (not otherwise specified)", "enlarged cardiac silhouette",
                  "sub-diaphragmatic air", "diaphragmatic eventration (benign)",
                  "increased reticular markings/ild pattern", "alveolar hemorrhage"):
        assert label in ABNORMALITY_LABELS
    for label in ("swan-ganz catheter", "intra-aortic balloon pump", "picc", "ij line",
                  "cardiac pacer and wires", "aortic graft/repair"):
        assert label in TUBES_LINES_DEVICES_LABELS


def test_labels_never_contain_list_separators_and_are_normalised():
    for label in CATEGORY:
        assert "," not in label and ";" not in label and "\n" not in label
        assert label == label.lower() == label.strip()
        assert normalize_text(label) == label


def test_every_synonym_targets_a_label_and_never_shadows_one():
    assert all(target in CATEGORY for target in SYNONYMS.values())
    assert not set(SYNONYMS) & set(CATEGORY)
    assert all(normalize_text(key) == key for key in SYNONYMS)
    # Inverting the grouped table must not have silently dropped a duplicate key.
    assert len(SYNONYMS) == sum(len(group) for group in labels._SYNONYM_GROUPS.values())


def test_loose_lookup_keys_do_not_collide():
    targets = defaultdict(set)
    for name, label in [*((label, label) for label in CATEGORY), *SYNONYMS.items()]:
        targets[labels._loose(normalize_text(name))].add(label)
    collisions = {key: found for key, found in targets.items() if len(found) > 1}
    assert collisions == {}


def test_every_label_is_its_own_canonical_form():
    for label in CATEGORY:
        assert canonical(label) == label
    for label in ABNORMALITY_LABELS:
        assert canonical(label, "abnormality") == label
    for label in TUBES_LINES_DEVICES_LABELS:
        assert canonical(label, "tubes_lines_devices") == label


@pytest.mark.parametrize("name, expected", [
    ("ng tube", "enteric tube"), ("NGT", "enteric tube"), ("OG tube", "enteric tube"),
    ("nasogastric tube", "enteric tube"), ("Feeding tube", "enteric tube"),
    ("Dobhoff", "enteric tube"), ("NG-tube", "enteric tube"),
    ("ETT", "endotracheal tube"), ("ET tube", "endotracheal tube"),
    ("endotracheal", "endotracheal tube"),
    ("cardiomegaly", "enlarged cardiac silhouette"), ("enlarged heart", "enlarged cardiac silhouette"),
    ("heart enlargement", "enlarged cardiac silhouette"),
    ("effusion", "pleural effusion"), ("pleural effusions", "pleural effusion"),
    ("PTX", "pneumothorax"), ("CHF", "fluid overload/heart failure"),
    ("heart failure", "fluid overload/heart failure"), ("COPD", "copd/emphysema"),
    ("emphysema", "copd/emphysema"), ("subcutaneous emphysema", "subcutaneous air"),
    ("pacemaker", "cardiac pacer and wires"), ("pacer", "cardiac pacer and wires"),
    ("ICD", "cardiac pacer and wires"), ("AICD", "cardiac pacer and wires"),
    ("central venous catheter", "ij line"), ("CVC", "ij line"),
    ("internal jugular line", "ij line"), ("subclavian catheter", "subclavian line"),
    ("port", "chest port"), ("Port-a-cath", "chest port"), ("portacath", "chest port"),
    ("PA catheter", "swan-ganz catheter"), ("pulmonary artery catheter", "swan-ganz catheter"),
    ("Swan Ganz", "swan-ganz catheter"), ("IABP", "intra-aortic balloon pump"),
    ("intraaortic balloon pump", "intra-aortic balloon pump"),
    ("intra aortic balloon pump", "intra-aortic balloon pump"),
    ("trach", "tracheostomy tube"), ("edema", "pulmonary edema/hazy opacity"),
    ("pulmonary oedema", "pulmonary edema/hazy opacity"),
    ("hazy opacity", "pulmonary edema/hazy opacity"),
    ("nodule", "mass/nodule (not otherwise specified)"),
    ("mass", "mass/nodule (not otherwise specified)"),
    ("pulmonary nodules", "multiple masses/nodules"),
    ("atelectasis", "atelectasis"), ("collapse", "lobar/segmental collapse"),
    ("hiatal hernia", "hernia"), ("free air", "sub-diaphragmatic air"),
    ("pneumoperitoneum", "sub-diaphragmatic air"),
    ("subdiaphragmatic air", "sub-diaphragmatic air"),
    ("median sternotomy", "sternotomy wires"), ("valve replacement", "prosthetic valve"),
    ("linear atelectasis", "linear/patchy atelectasis"),
    ("patchy atelectasis", "linear/patchy atelectasis"),
    ("ILD pattern", "increased reticular markings/ild pattern"),
    ("ILD", "interstitial lung disease"),
    ("alveolar haemorrhage", "alveolar hemorrhage"), ("haemothorax", "pleural effusion"),
    ("goitre", "goiter"), ("artefacts", "artifact"),
])
def test_synonyms_and_abbreviations(name, expected):
    assert canonical(name) == expected


@pytest.mark.parametrize("name, expected", [
    ("chest tubes", "chest tube"), ("Rib fractures", "rib fracture"),
    ("calcified nodules", "calcified nodule"), ("PICCs", "picc"),
    ("sternotomy wire", "sternotomy wires"),
])
def test_plural_fallback(name, expected):
    assert canonical(name) == expected


@pytest.mark.parametrize("name", [
    "Pleural effusion.", "  pleural   effusion ", "- pleural effusion", "* Pleural effusion",
    "1. pleural effusion", "2) pleural effusion", "\u2022 pleural effusion",
    '"pleural effusion"', "\u201cPleural Effusion\u201d", "(pleural effusion)",
    "PLEURAL EFFUSION;", "pleural_effusion",
])
def test_normalisation_of_punctuation_bullets_and_case(name):
    assert canonical(name) == "pleural effusion"


def test_normalize_text_keeps_label_internal_punctuation():
    assert normalize_text("Mass/Nodule (Not Otherwise Specified).") == \
        "mass/nodule (not otherwise specified)"
    assert normalize_text("copd / emphysema") == "copd/emphysema"
    assert normalize_text("Swan\u2013Ganz catheter") == "swan-ganz catheter"
    assert normalize_text("cardiac pacer & wires") == "cardiac pacer and wires"
    assert normalize_text("\uff30\uff29\uff23\uff23") == "picc"  # full-width letters


def test_vocabulary_restriction():
    assert canonical("ngt", "tubes_lines_devices") == "enteric tube"
    assert canonical("ngt", "abnormality") is None
    assert canonical("cardiomegaly", "abnormality") == "enlarged cardiac silhouette"
    assert canonical("cardiomegaly", "tubes_lines_devices") is None
    assert canonical("skin fold") == "skin fold"
    assert canonical("skin fold", "abnormality") is None
    assert canonical("skin fold", "tubes_lines_devices") is None
    with pytest.raises(KeyError):
        canonical("ngt", "technical")


def test_unknown_and_hostile_inputs_give_none():
    for name in ("", "   ", "-", "banana", "glass", "mass effect on the trachea",
                 "x" * 1_000_000, "\u0000\ud800\U0001f600", "pleural effusion" * 50,
                 "(((", ")))", "ss", "s"):
        assert canonical(name) is None
        assert canonical(name, "abnormality") is None
    assert canonical(None) is None  # type: ignore[arg-type]


def test_is_label():
    assert is_label("Cardiomegaly")
    assert is_label("pacemaker", "tubes_lines_devices")
    assert not is_label("pacemaker", "abnormality")
    assert not is_label("not a finding")


def test_synonyms_of_lists_a_label_s_synonyms_that_map_back_to_it():
    from radphi.labels import canonical, synonyms_of

    assert "pleural thickening" in synonyms_of("pleural/parenchymal scarring")
    assert all(canonical(s) == "hernia" for s in synonyms_of("hernia"))
    assert synonyms_of("not a label") == ()
