"""Each training loader on fixture files written in its dataset's real layout
(tests/fixtures/train), and THE SPLIT RULE: every report task takes MIMIC-CXR's split of
its current study; pairs whose prior study is in another split are dropped."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from radphi import answers, tasks
from training.loaders import load_source
from training.loaders.common import clean_report, norm_id
from training.loaders.splits import MimicSplits, SplitCounter, normalize_split

F = Path(__file__).parent / "fixtures" / "train"
SPLIT_CSV = str(F / "mimic-cxr-2.0.0-split.csv")
REPORTS = str(F / "mimic-cxr-reports")


def by_id(records: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in records}


def assert_record_shape(rec: dict) -> None:
    assert set(rec) >= {"id", "task", "reference", "split", "meta"}
    assert rec["split"] in ("train", "validation", "test")
    assert rec["reference"].strip()
    if rec["task"] in tasks.TASKS:
        # Every input field is present and renders a prompt.
        assert tasks.render_prompt(rec["task"], rec).startswith("<instruct>")


def test_split_table_reads_mimic_layout_and_normalises_names():
    splits = MimicSplits.load(SPLIT_CSV)
    assert splits.split_of("50414267") == "train"
    assert splits.split_of("s57375967") == "validation"  # "validate" in the file
    assert splits.split_of(56699142) == "test"
    assert splits.split_of("99999999") is None
    assert splits.study_of_dicom["7a8b9c0d-1e2f3a4b-5c6d7e8f-9a0b1c2d-3e4f5a6b"] == "56699142"
    assert [normalize_split(s) for s in ("validate", "val", "valid", "TRAIN", "bogus")] == [
        "validation", "validation", "validation", "train", None]
    assert norm_id("s50414267") == norm_id(50414267.0) == "50414267"


def test_split_rule_moves_and_drops_with_counts():
    splits = MimicSplits.load(SPLIT_CSV)
    c = SplitCounter("t")
    assert splits.assign("50414267", prior="53189527", own="val", counter=c) == "train"   # moved
    assert splits.assign("56699142", prior="50414267", counter=c) is None                # test <- train prior
    assert splits.assign("12345678", counter=c) is None
    assert c.counts == {"moved_to_mimic_split": 1, "kept_train": 1, "dropped_prior_in_other_split": 1,
                        "dropped_study_not_in_mimic_split": 1}


def test_mimic_report_is_cleaned_but_keeps_deidentification():
    text = (F / "mimic-cxr-reports/files/p10/p10000032/s50414267.txt").read_text()
    cleaned = clean_report(text)
    assert not cleaned.startswith("FINAL REPORT")
    assert "FINDINGS:\nThe right lower lobe opacity has improved. A new small left pleural effusion is present." in cleaned
    assert "Dr. ___" in cleaned


def test_mimic_cxr_loader_sections_tasks_and_splits(caplog):
    caplog.set_level(logging.INFO)
    recs = by_id(load_source({"loader": "mimic_cxr", "reports": REPORTS, "split_csv": SPLIT_CSV}))
    for rec in recs.values():
        assert_record_shape(rec)
    pred = recs["mimic-50414267-impression_prediction"]
    assert pred["findings"].startswith("The right lower lobe opacity has improved.")
    assert pred["reference"].startswith("Improving right lower lobe pneumonia.")
    assert pred["split"] == "train" and pred["meta"]["study_id"] == "50414267"
    assert recs["mimic-56699142-extract_impression"]["split"] == "test"
    assert recs["mimic-57375967-extract_findings"]["split"] == "validation"
    # An impression-only report gives only the impression task; one without headers gives none.
    assert "mimic-51029426-extract_impression" in recs and "mimic-51029426-extract_findings" not in recs
    assert not any("52000345" in rid for rid in recs)
    assert "no_findings_or_impression=1" in caplog.text


def test_mimic_cxr_loader_uses_clean_targets_when_given():
    recs = by_id(load_source({"loader": "mimic_cxr", "reports": REPORTS, "split_csv": SPLIT_CSV,
                              "clean_targets": str(F / "cleanup_pairs.jsonl"), "tasks": ["extract_findings"]}))
    assert {r["task"] for r in recs.values()} == {"extract_findings"}
    rec = recs["mimic-50414267-extract_findings"]
    assert rec["reference"].startswith("Right lower lobe opacity. Small left pleural effusion.")
    assert rec["meta"]["cleaned"] is True
    assert recs["mimic-53189527-extract_findings"]["meta"]["cleaned"] is False


def test_imagenome_labels_are_the_union_of_yes_labels_per_study():
    recs = by_id(load_source({"loader": "imagenome", "scene_graphs": str(F / "chest-imagenome"),
                              "reports": REPORTS, "split_csv": SPLIT_CSV}))
    for rec in recs.values():
        assert_record_shape(rec)
    # Two images (PA + lateral) of one study; technical and "no" labels are left out.
    abn = recs["imagenome-50414267-abnormality_labels"]
    assert abn["reference"] == "lung opacity, pleural effusion"
    assert len(abn["meta"]["dicom_ids"]) == 2
    assert answers.parse_abnormality_labels(abn["reference"])["labels"] == ["lung opacity", "pleural effusion"]
    assert recs["imagenome-53189527-abnormality_labels"]["reference"] == "lung opacity, atelectasis, pneumonia"
    assert recs["imagenome-51029426-abnormality_labels"]["reference"] == "none"
    tld = recs["imagenome-52000345-tubes_lines_devices_labels"]
    assert tld["reference"] == "sternotomy wires, cardiac pacer and wires"
    assert recs["imagenome-57375967-tubes_lines_devices_labels"]["split"] == "validation"
    # Studies without devices give no tubes record by default.
    assert "imagenome-51029426-tubes_lines_devices_labels" not in recs
    assert recs["imagenome-56699142-abnormality_labels"]["split"] == "test"


def test_imagenome_progression_follows_the_split_rule(caplog):
    caplog.set_level(logging.INFO)
    recs = load_source({"loader": "imagenome", "scene_graphs": str(F / "chest-imagenome"), "reports": REPORTS,
                        "split_csv": SPLIT_CSV, "tasks": ["qa_temporal_progression"]})
    assert [r["id"] for r in recs] == ["imagenome-50414267-53189527-qa_temporal_progression"]
    rec = recs[0]
    assert rec["prior_report"].startswith("EXAMINATION: CHEST (PA AND LAT)\nINDICATION: ___F with cough")
    # Deduplicated over the study's two images, sorted.
    assert answers.parse_progression(rec["reference"]) == [
        {"finding": "lung opacity", "region": "right lower lung zone", "change": "improved"},
        {"finding": "pleural effusion", "region": "left costophrenic angle", "change": "worsened"},
    ]
    # 56699142 (test) against 50414267 (train) is dropped; an unknown prior image too.
    assert "dropped_prior_in_other_split=1" in caplog.text
    assert "dropped_prior_image_unknown=1" in caplog.text


def test_diff_vqa_tasks_splits_and_dedupe(caplog):
    caplog.set_level(logging.INFO)
    recs = load_source({"loader": "diff_vqa", "questions_csv": str(F / "mimic_pair_questions.csv"),
                        "reports": REPORTS, "split_csv": SPLIT_CSV})
    for rec in recs:
        assert_record_shape(rec)
    temporal = [r for r in recs if r["task"] == "qa_temporal_findings"]
    assert len(temporal) == 1  # the test-study pair with a train prior is dropped
    assert temporal[0]["reference"] == "Added: pleural effusion. Removed: atelectasis."
    assert temporal[0]["split"] == "train" and temporal[0]["meta"]["prior_study_id"] == "53189527"
    comp = {(r["meta"]["study_id"], r["question"]): r for r in recs if r["task"] == "qa_comprehension"}
    assert len(comp) == 4
    presence = comp[("50414267", "is there evidence of pleural effusion in this image?")]
    assert presence["split"] == "train" and presence["reference"] == "yes"  # Diff-VQA said "val"
    assert comp[("56699142", "which view is this image taken?")]["split"] == "test"
    assert comp[("57375967", "what level is the pulmonary edema?")]["split"] == "validation"
    text = caplog.text
    assert "moved_to_mimic_split=1" in text and "duplicate=1" in text and "dropped_prior_in_other_split=1" in text


def test_no_test_study_text_reaches_training_through_any_task():
    sources = [
        {"loader": "mimic_cxr", "reports": REPORTS, "split_csv": SPLIT_CSV},
        {"loader": "imagenome", "scene_graphs": str(F / "chest-imagenome"), "reports": REPORTS, "split_csv": SPLIT_CSV},
        {"loader": "diff_vqa", "questions_csv": str(F / "mimic_pair_questions.csv"), "reports": REPORTS,
         "split_csv": SPLIT_CSV},
        {"loader": "cleanup", "path": str(F / "cleanup_pairs.jsonl"), "split_csv": SPLIT_CSV},
    ]
    records = [r for s in sources for r in load_source(s)]
    test_text = "Small left pleural effusion is unchanged"  # only in test study 56699142's report
    trainish = [r for r in records if r["split"] != "test"]
    assert trainish and any(r["split"] == "test" for r in records)
    for rec in trainish:
        assert test_text not in " ".join(str(v) for k, v in rec.items() if k != "meta"), rec["id"]


def test_supernatural_english_tasks_definition_plus_input():
    recs = load_source({"loader": "supernatural", "root": str(F / "natural-instructions"),
                        "validation_per_task": 1})
    ids = by_id(recs)
    assert "task0877-aa" not in ids  # Spanish task left out
    paris = ids["task1146-0a1b"]
    assert paris["task"] == "instruction" and paris["reference"] == "Paris" and paris["split"] == "train"
    assert paris["instruction"] == ("In this task, you are given a country name and you need to return its "
                                    "capital city.\n\nFrance")
    assert ids["task1146-3a4b"]["reference"] == "Nairobi"  # the first output
    assert "task1146-5e6f" not in ids  # no output
    assert [r["split"] for r in recs if r["meta"]["source_task"] == "task1146_country_capital"].count("validation") == 1
    assert {r["split"] for r in recs if r["meta"]["source_task"].startswith("task0290")} == {"test"}  # holds NaN


def test_supernatural_cap_is_a_stable_sample():
    opts = {"loader": "supernatural", "root": str(F / "natural-instructions"), "max_per_task": 2, "include_test": False}
    first, second = load_source(opts), load_source(opts)
    assert len(first) == 2 and [r["id"] for r in first] == [r["id"] for r in second]


def test_radiopaedia_summary_articles_are_held_out_and_system_kept(caplog):
    recs = load_source({"loader": "radiopaedia", "path": str(F / "radiopaedia_qa.jsonl"), "validation_fraction": 0})
    assert len(recs) == 8  # one empty question and one bad line skipped
    assert "radiopaedia_qa.jsonl:10" in caplog.text
    held = {r["question"] for r in recs if r["split"] == "test"}
    assert held == {"What is a pneumothorax?", "Which vertebral level is most often affected by spondylolysis?"}
    scaphoid = next(r for r in recs if r["reference"] == "scaphoid")
    assert scaphoid["system"] == "Musculoskeletal" == scaphoid["meta"]["system"] and scaphoid["split"] == "train"
    all_val = load_source({"loader": "radiopaedia", "path": str(F / "radiopaedia_qa.jsonl"), "validation_fraction": 1.0})
    assert {r["split"] for r in all_val} == {"validation", "test"}


def test_cleanup_pairs_take_the_mimic_split():
    recs = by_id(load_source({"loader": "cleanup", "path": str(F / "cleanup_pairs.jsonl"), "split_csv": SPLIT_CSV}))
    assert recs["56699142-impression"]["split"] == "test"  # the line said train
    assert recs["50414267-impression"]["reference"] == "Right lower lobe pneumonia. Small left pleural effusion."
    assert recs["free-1"]["split"] == "train" and recs["free-1"]["task"] == "cleanup_report_text"


def test_unknown_loader_and_task_are_refused():
    with pytest.raises(ValueError, match="unknown loader"):
        load_source({"loader": "nope"})
    with pytest.raises(ValueError, match="unknown task"):
        load_source({"loader": "mimic_cxr", "reports": REPORTS, "split_csv": SPLIT_CSV, "tasks": ["abnormality_labels"]})


def test_records_loader_reads_the_project_shape(tmp_path: Path):
    path = tmp_path / "r.jsonl"
    path.write_text(
        '{"id": "a", "task": "impression_prediction", "findings": "Effusion.", "reference": "Effusion."}\n'
        '{"id": "b", "task": "nope", "reference": "x"}\n'
        '{"id": "c", "task": "impression_prediction", "findings": "", "reference": "x"}\n'
        '{"id": "d", "task": "instruction", "instruction": "Say hi.", "reference": "hi", "split": "val"}\n')
    recs = load_source({"loader": "records", "path": str(path)})
    assert [(r["id"], r["split"]) for r in recs] == [("a", "train"), ("d", "validation")]
