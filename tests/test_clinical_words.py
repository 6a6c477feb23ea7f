"""The clinical words whose meaning must never drift, each pinned one by one: the change
words (improved / worsened / no change) as the progression task's answers are read
(radphi.answers) and as report sentences are read (radphi.verify.reading, which
radphi.comparison maps to its rows), and the clinically important label synonyms
(radphi.label_synonyms through radphi.labels.canonical), with laterality kept as written.
Changing, dropping or inverting any one entry fails its own case."""

from __future__ import annotations

import pytest

from radphi import answers, labels
from radphi.comparison import IMPROVED, NEW, PROGRESSION_WORD, RESOLVED, UNCHANGED, WORSENED, compare_reports
from radphi.verify import verify
from radphi.verify.reading import BETTER, STABLE, WORSE, change_in, read

# ------------------------------------------------------------ change words in answers

ANSWER_CHANGE_WORDS = {
    "no change": ("no change", "unchanged", "stable", "no interval change", "same", "similar"),
    "improved": ("improved", "improving", "better", "decreased", "decreasing", "resolved", "resolving", "less"),
    "worsened": ("worse", "worsened", "worsening", "increased", "increasing", "progressed", "progressing", "more",
                 "enlarged", "enlarging"),
}


@pytest.mark.parametrize("word, change", [(w, c) for c, words in ANSWER_CHANGE_WORDS.items() for w in words])
def test_progression_answer_word(word, change):
    assert answers.parse_progression(f"pleural effusion: {word}") == [
        {"finding": "pleural effusion", "region": "", "change": change}]
    assert answers.parse_progression(f"Consolidation in the left lower lobe has {word}.") == [
        {"finding": "Consolidation", "region": "left lower lobe", "change": change}]


def test_the_progression_task_has_exactly_three_changes():
    assert answers.CHANGES == ("improved", "worsened", "no change")


# ------------------------------------------------------------ change words in reports

REPORT_CHANGE_WORDS = {
    WORSE: ("New left pleural effusion.", "Newly seen left pleural effusion.", "Increased left pleural effusion.",
            "Increasing left pleural effusion.", "Worse left pleural effusion.", "Worsening left pleural effusion.",
            "Left pleural effusion, enlarging.", "Left pleural effusion has enlarged since the prior study.",
            "Larger left pleural effusion.", "Left pleural effusion has progressed.",
            "Progression of the left pleural effusion.", "Left pleural effusion has developed.",
            "Developing left pleural effusion.", "Development of a left pleural effusion.",
            "Interval development of a left pleural effusion.", "Interval appearance of a left pleural effusion.",
            "More prominent left pleural effusion.", "More extensive left pleural effusion.",
            "Accumulating left pleural effusion.", "Expanding left pleural effusion.",
            "The left pleural effusion has expanded.", "Bigger left pleural effusion."),
    BETTER: ("Decreased left pleural effusion.", "Decreasing left pleural effusion.",
             "Improved left pleural effusion.", "Improving left pleural effusion.", "Smaller left pleural effusion.",
             "Resolving left pleural effusion.", "Less left pleural effusion.", "Diminished left pleural effusion.",
             "Reduced left pleural effusion.", "Left pleural effusion has regressed.",
             "Clearing left pleural effusion.", "Left pleural effusion, nearly resolved.",
             "Left pleural effusion, partially resolved.", "The left lung has re-expanded.",
             "The left lung has reexpanded.", "Re-expansion of the left lung."),
    STABLE: ("Unchanged left pleural effusion.", "Stable left pleural effusion.", "Stably small left effusion.",
             "No change in the left pleural effusion.", "No significant change in the left pleural effusion.",
             "No interval change in the left pleural effusion.", "Similar left pleural effusion.",
             "Persistent left pleural effusion.", "Left pleural effusion persists.",
             "Left pleural effusion is again seen.", "Left pleural effusion is again noted.",
             "Left pleural effusion is again demonstrated.", "Redemonstrated left pleural effusion.",
             "Grossly unchanged left pleural effusion.", "Left pleural effusion, not changed.",
             "Left pleural effusion, not significantly changed.", "Left pleural effusion remains.",
             "Chronic left pleural effusion.", "Old left rib fracture.", "Healed left rib fracture.",
             "Longstanding left pleural effusion.", "No increase in the left pleural effusion.",
             "No decrease in the left pleural effusion.", "No worsening of the left pleural effusion.",
             "No improvement in the left pleural effusion.", "Without change in the left pleural effusion."),
}


@pytest.mark.parametrize("sentence, change", [(s, c) for c, sentences in REPORT_CHANGE_WORDS.items() for s in sentences])
def test_report_change_word(sentence, change):
    assert change_in(sentence) == change


@pytest.mark.parametrize("current, change", [
    ("Decreased left pleural effusion.", IMPROVED),
    ("Increased left pleural effusion.", WORSENED),
    ("Unchanged left pleural effusion.", UNCHANGED),
    ("No pleural effusion.", RESOLVED),
])
def test_comparison_reads_the_change_words(current, change):
    rows = {c.finding: c.change for c in compare_reports(current, "Moderate left pleural effusion.")}
    assert rows == {"pleural effusion": change}
    if change == RESOLVED:  # swapping the reports swaps resolved and new
        assert {c.finding: c.change for c in compare_reports("Moderate left pleural effusion.", current)} == {
            "pleural effusion": NEW}


def test_comparison_rows_say_what_the_progression_task_says():
    assert PROGRESSION_WORD == {NEW: "worsened", WORSENED: "worsened", IMPROVED: "improved",
                                RESOLVED: "improved", UNCHANGED: "no change"}


# ------------------------------------------------------------ label synonyms

CLINICAL_SYNONYMS = {
    # tubes and lines: a tube read as another sits in another organ
    "NG tube": "enteric tube", "NGT": "enteric tube", "OG tube": "enteric tube", "nasogastric tube": "enteric tube",
    "orogastric tube": "enteric tube", "feeding tube": "enteric tube", "Dobhoff tube": "enteric tube",
    "nasojejunal tube": "enteric tube",
    "ETT": "endotracheal tube", "ET tube": "endotracheal tube", "breathing tube": "endotracheal tube",
    "trach": "tracheostomy tube", "tracheostomy": "tracheostomy tube",
    "thoracostomy tube": "chest tube", "chest drain": "chest tube", "pleural drain": "chest tube",
    "PICC line": "picc", "peripherally inserted central catheter": "picc",
    "central venous catheter": "ij line", "CVC": "ij line", "internal jugular catheter": "ij line",
    "subclavian catheter": "subclavian line", "Port-a-cath": "chest port",
    "Swan-Ganz": "swan-ganz catheter", "PA catheter": "swan-ganz catheter",
    "IABP": "intra-aortic balloon pump", "pacemaker": "cardiac pacer and wires", "AICD": "cardiac pacer and wires",
    "sternotomy": "sternotomy wires", "TAVR": "prosthetic valve",
    # air where it must not be, each in its own place
    "PTX": "pneumothorax", "tension pneumothorax": "pneumothorax",
    "mediastinal emphysema": "pneumomediastinum",
    "subcutaneous emphysema": "subcutaneous air", "surgical emphysema": "subcutaneous air",
    "emphysema": "copd/emphysema",
    "free air": "sub-diaphragmatic air", "pneumoperitoneum": "sub-diaphragmatic air",
    # fluid: pleural is not pericardial
    "pleural fluid": "pleural effusion", "hemothorax": "pleural effusion", "haemothorax": "pleural effusion",
    "pericardial fluid": "pericardial effusion",
    # opposites of volume
    "hyperinflation": "hyperaeration", "hyperexpanded lungs": "hyperaeration",
    "hypoinflation": "low lung volumes", "poor inspiration": "low lung volumes",
    # the heart and the mediastinum
    "cardiomegaly": "enlarged cardiac silhouette", "CHF": "fluid overload/heart failure",
    "pulmonary edema": "pulmonary edema/hazy opacity",
    "mediastinal shift": "mediastinal displacement", "widened mediastinum": "mediastinal widening",
    # one nodule is not many; a finding pattern is not the disease
    "nodule": "mass/nodule (not otherwise specified)", "nodules": "multiple masses/nodules",
    "ILD": "interstitial lung disease", "ILD pattern": "increased reticular markings/ild pattern",
    "collapse": "lobar/segmental collapse", "PNA": "pneumonia",
}


@pytest.mark.parametrize("synonym, label", CLINICAL_SYNONYMS.items())
def test_clinical_synonym(synonym, label):
    assert labels.canonical(synonym) == label


def test_no_synonym_names_a_side():
    # Labels carry no laterality; the side stays with the sentence (next test).
    sided = [s for group in labels.SYNONYMS for s in group.split() if s in ("left", "right", "bilateral")]
    assert sided == []


@pytest.mark.parametrize("sentence, label, side", [
    ("Left PTX.", "pneumothorax", "left"),
    ("Right hemothorax.", "pleural effusion", "right"),
    ("Left chest drain in place.", "chest tube", "left"),
    ("Right IJ catheter terminates in the SVC.", "ij line", "right"),
    ("Left-sided subcutaneous emphysema.", "subcutaneous air", "left"),
])
def test_laterality_is_never_flipped(sentence, label, side):
    other = {"left": "right", "right": "left"}[side]
    mirrored = sentence.replace(side.capitalize(), other.capitalize())
    for text, expected in ((sentence, side), (mirrored, other)):
        [mention] = [m for m in read(text).mentions if m.label == label]
        assert mention.sides == frozenset({expected}), text
    # An answer that puts the finding on the other side is flagged.
    assert any(f.category.value == "position" and f.finding == label
               for f in verify("impression_prediction", {"findings": sentence}, mirrored))
