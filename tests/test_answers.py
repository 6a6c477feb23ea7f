"""Answer parsers and writers: round trips, messy model output, never raising."""

from __future__ import annotations

import random
import string

import pytest

from radphi import answers, labels, tasks


def test_labels_roundtrip_in_vocabulary_order():
    s = {"labels": ["pleural effusion", "atelectasis", "enlarged cardiac silhouette"], "unknown": ["weird thing"]}
    text = answers.format_labels(s)
    assert text == "atelectasis, pleural effusion, enlarged cardiac silhouette, weird thing"
    assert answers.parse_abnormality_labels(text) == {
        "labels": ["atelectasis", "pleural effusion", "enlarged cardiac silhouette"], "unknown": ["weird thing"]}


def test_every_label_roundtrips_alone_and_all_together():
    for vocab, parse in (("abnormality", answers.parse_abnormality_labels),
                         ("tubes_lines_devices", answers.parse_tubes_lines_devices_labels)):
        names = list(labels.VOCABULARIES[vocab])
        for name in names:
            assert parse(answers.format_labels({"labels": [name], "unknown": []})) == {"labels": [name], "unknown": []}
        assert parse(answers.format_labels({"labels": names[::-1], "unknown": []}))["labels"] == names


def test_empty_labels():
    assert answers.format_labels({"labels": [], "unknown": []}) == "none"
    assert answers.parse_abnormality_labels("none") == {"labels": [], "unknown": []}
    assert answers.parse_abnormality_labels("No abnormalities.") == {"labels": [], "unknown": []}


@pytest.mark.parametrize("text", ["None", "", "nil", "N/A", "nothing", "normal", "No acute abnormality.",
                                  "no tubes or lines", "No lines or tubes", "No abnormalities found.",
                                  "no devices identified"])
def test_every_no_label_answer_is_an_empty_list_in_both_vocabularies(text):
    # labels.means_no_label is the one "no label" vocabulary, for label lists and temporal findings.
    empty = {"labels": [], "unknown": []}
    assert answers.parse_abnormality_labels(text) == answers.parse_tubes_lines_devices_labels(text) == empty
    assert answers.parse_temporal_findings(f"Added: {text or 'none'}. Removed: cardiomegaly.")["added"] == []


def test_label_list_with_synonyms_conjunctions_unknowns_and_an_oxford_and():
    parsed = answers.parse_abnormality_labels(
        "Cardiomegaly; small effusions, pneumonia and CHF, and atelectasis\nbanana, none, effusion, Pleural effusions")
    assert parsed == {"labels": ["atelectasis", "pleural effusion", "enlarged cardiac silhouette", "pneumonia",
                                 "fluid overload/heart failure"], "unknown": ["small effusions", "banana"]}
    # "cardiac pacer and wires" is one label, never split on its "and".
    assert answers.parse_tubes_lines_devices_labels("cardiac pacer and wires, enteric tube")["labels"] == [
        "enteric tube", "cardiac pacer and wires"]


def test_messy_label_output():
    text = "Labels:\n- Cardiomegaly\n- pleural effusions;\n* NG tube\n1. pneumothorax and atelectasis\n- ETT"
    parsed = answers.parse_abnormality_labels(text)
    assert parsed["labels"] == ["atelectasis", "pleural effusion", "enlarged cardiac silhouette", "pneumothorax"]
    # Tubes are real labels of the other vocabulary: outside this task's vocabulary.
    assert parsed["unknown"] == ["enteric tube", "endotracheal tube"]
    tld = answers.parse_tubes_lines_devices_labels("ETT, NG tube, cardiac pacer and wires, Cardiomegaly")
    assert tld["labels"] == ["endotracheal tube", "enteric tube", "cardiac pacer and wires"]
    assert tld["unknown"] == ["enlarged cardiac silhouette"]


def test_temporal_findings_roundtrip():
    s = {"added": ["pleural effusion", "opacity, left base"], "removed": ["pneumothorax"]}
    text = answers.format_temporal_findings(s)
    assert text == "Added: pleural effusion; opacity, left base. Removed: pneumothorax."
    assert answers.parse_temporal_findings(text) == s
    empty = {"added": [], "removed": []}
    assert answers.parse_temporal_findings(answers.format_temporal_findings(empty)) == empty


def test_temporal_findings_keep_labels_that_contain_and():
    s = {"added": ["cardiac pacer and wires"], "removed": ["atelectasis"]}
    assert answers.parse_temporal_findings(answers.format_temporal_findings(s)) == s
    diff = "the main image has additional findings of edema and cardiac pacer and wires than the reference image. "
    assert answers.parse_temporal_findings(diff)["added"] == ["edema", "cardiac pacer and wires"]


def test_temporal_findings_reads_medical_diff_vqa_style():
    text = ("the main image has additional findings of atelectasis, edema, and pleural effusion than the reference image. "
            "the main image is missing the finding of pneumothorax than the reference image. ")
    assert answers.parse_temporal_findings(text) == {
        "added": ["atelectasis", "edema", "pleural effusion"], "removed": ["pneumothorax"]}
    assert answers.parse_temporal_findings("nothing has changed.") == {"added": [], "removed": []}


def test_progression_roundtrip_and_messy():
    s = [
        {"finding": "pleural effusion", "region": "left lung", "change": "worsened"},
        {"finding": "mass/nodule (not otherwise specified)", "region": "", "change": "no change"},
        {"finding": "lung opacity", "region": "right lower lung zone", "change": "improved"},
    ]
    text = answers.format_progression(s)
    assert answers.parse_progression(text) == s
    assert answers.parse_progression(answers.format_progression([])) == []
    messy = "1. Pulmonary edema has improved.\n2. left pleural effusion - unchanged\n- Pneumothorax: worse"
    assert [(x["finding"], x["change"]) for x in answers.parse_progression(messy)] == [
        ("Pulmonary edema", "improved"), ("left pleural effusion", "no change"), ("Pneumothorax", "worsened")]


def test_text_tasks_strip():
    assert answers.parse_text("  No acute process.\n") == "No acute process."
    assert answers.format_text(" x ") == "x"


def _random_texts(n=400, seed=0):
    rng = random.Random(seed)
    alphabet = string.printable + "éü—•…\u200b\ufffd<>{}[]()|"
    words = ["added:", "removed:", "improved", "no change", ":", ";", "\n", "and", ",", "in", "the main image has",
             "additional findings of", "than the reference", "labels:", "-", "1."]
    for _ in range(n):
        parts = [rng.choice(words) if rng.random() < 0.5 else "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
                 for _ in range(rng.randint(0, 30))]
        yield " ".join(parts)
    yield ""
    yield "x" * 200_000


def test_parsers_never_raise_on_garbage():
    for t in tasks.TASKS.values():
        for text in _random_texts():
            t.parse(text)
        t.parse(None)
        t.parse(b"\xff\xfe bytes")


@pytest.mark.parametrize("task", list(tasks.TASKS))
def test_parse_format_parse_is_stable(task):
    t = tasks.TASKS[task]
    for text in _random_texts(120, seed=1):
        once = t.parse(text)
        assert t.parse(t.format_answer(once)) == once
