"""Each training loader on fixture files written in its dataset's real layout
(tests/fixtures/train), and THE SPLIT RULE: every report task takes MIMIC-CXR's split of
its current study; pairs whose prior study is in another split are dropped."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from radphi import answers, tasks
from radphi.training.loaders import load_source
from radphi.training.loaders.common import clean_report, norm_id
from radphi.training.loaders.diff_vqa import level_rank, progression_of, split_difference_answer
from radphi.training.loaders.imagenome import scene_graph_files
from radphi.training.loaders.mimic_sections import CUSTOM_INDICES, CUSTOM_SECTION_NAMES, official_sections, rule_sections
from radphi.training.loaders.splits import MimicSplits, SplitCounter, normalize_split
from radphi.training.loaders.tally import collecting

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


@pytest.mark.parametrize("where", ["", "silver_dataset", "silver_dataset/scene_graph",
                                   "silver_dataset/scene_graph/scene_graph"])
def test_imagenome_finds_the_nested_scene_graphs_from_any_level(where):
    # The fixture sits where public readers of the real release find the files:
    # silver_dataset/scene_graph/scene_graph/*_SceneGraph.json.
    files = scene_graph_files(F / "chest-imagenome" / where)
    assert len(files) == 7 and all(p.parent.name == "scene_graph" == p.parent.parent.name for p in files)


def test_imagenome_without_scene_graphs_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match="no \\*_SceneGraph.json files under .*every depth"):
        scene_graph_files(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        scene_graph_files(tmp_path / "nope")


def test_imagenome_reads_a_file_found_twice_once(tmp_path):
    import shutil

    root = tmp_path / "imagenome"
    shutil.copytree(F / "chest-imagenome", root)
    nested = root / "silver_dataset" / "scene_graph" / "scene_graph"
    one = sorted(nested.glob("*.json"))[0]
    shutil.copy(one, root / "silver_dataset" / "scene_graph" / one.name)
    with collecting() as tally:
        files = scene_graph_files(root)
    assert len(files) == 7 and (root / "silver_dataset" / "scene_graph" / one.name) in files
    assert tally.as_dict() == {"chest_imagenome": {"duplicate_scene_graph_file": 1}}


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
    temporal = {r["id"]: r for r in recs if r["task"] == "qa_temporal_findings"}
    # the test-study pair with a train prior is dropped; the area question (a level change only) makes none
    assert sorted(temporal) == ["diffvqa-50414267-53189527-row0", "diffvqa-57375967-58000001-row13"]
    first = temporal["diffvqa-50414267-53189527-row0"]
    assert first["reference"] == "Added: pleural effusion. Removed: atelectasis."
    assert first["split"] == "train" and first["meta"]["prior_study_id"] == "53189527"
    comp = {(r["meta"]["study_id"], r["question"]): r for r in recs if r["task"] == "qa_comprehension"}
    assert len(comp) == 8
    presence = comp[("50414267", "is there evidence of pleural effusion in this image?")]
    assert presence["split"] == "train" and presence["reference"] == "yes"  # Diff-VQA said "val"
    assert comp[("56699142", "which view is this image taken?")]["split"] == "test"
    assert comp[("57375967", "what level is the pulmonary edema?")]["split"] == "validation"
    # The generator's other wordings are read by question_type, never by wording.
    assert comp[("50414267", "is there edema?")]["reference"] == "no"
    assert comp[("57375967", "what abnormalities are seen in the left lower lung?")]["reference"] == "edema"
    assert comp[("57375967", "is this AP view?")]["reference"] == "yes"
    text = caplog.text
    assert "moved_to_mimic_split=1" in text and "duplicate=1" in text and "dropped_prior_in_other_split=1" in text


def test_diff_vqa_level_changes_become_progression_never_nothing_changed(caplog):
    caplog.set_level(logging.INFO)
    opts = {"loader": "diff_vqa", "questions_csv": str(F / "mimic_pair_questions.csv"), "reports": REPORTS,
            "split_csv": SPLIT_CSV, "question_types": ["difference"]}
    with collecting() as tally:
        recs = load_source(opts)
    got = [(r["id"], r["task"], r["split"], r["reference"]) for r in recs]
    assert got == [
        ("diffvqa-50414267-53189527-row0", "qa_temporal_findings", "train",
         "Added: pleural effusion. Removed: atelectasis."),
        ("diffvqa-50414267-53189527-row12-progression", "qa_temporal_progression", "train",
         "pleural effusion in left lung: worsened"),
        ("diffvqa-57375967-58000001-row13", "qa_temporal_findings", "validation",
         "Added: none. Removed: pleural effusion."),
        ("diffvqa-57375967-58000001-row13-progression", "qa_temporal_progression", "validation", "edema: improved"),
    ]
    assert not any(r["reference"] == "Added: none. Removed: none." and "level of" in r["meta"]["answer"] for r in recs)
    prog = recs[1]
    assert prog["prior_report"].startswith("EXAMINATION: CHEST (PA AND LAT)\nINDICATION: ___F with cough")
    assert answers.parse_progression(prog["reference"]) == [
        {"finding": "pleural effusion", "region": "left lung", "change": "worsened"}]
    rules = tally.as_dict()
    assert rules["medical_diff_vqa/qa_temporal_findings"]["level_change_only_not_findings"] == 2
    assert rules["medical_diff_vqa/qa_temporal_findings"]["level_change_removed_from_findings"] == 1
    assert rules["medical_diff_vqa/qa_temporal_progression"]["level_change_to_progression"] == 2
    assert rules["medical_diff_vqa/qa_temporal_progression"]["level_change_unordered"] == 1  # acute -> increasing
    assert "level_change_to_progression=2" in caplog.text

    excluded = load_source(dict(opts, level_changes="exclude"))
    assert [r["task"] for r in excluded] == ["qa_temporal_findings", "qa_temporal_findings"]
    with pytest.raises(ValueError, match="level_changes"):
        load_source(dict(opts, level_changes="maybe"))


def test_diff_vqa_level_order():
    assert level_rank("mild") < level_rank("mild to moderate") < level_rank("moderate") < level_rank("severe")
    assert level_rank("acute") is None and level_rank("increasing") is None
    assert progression_of({"finding": "edema", "before": "moderate", "after": "mild"}, "")["change"] == "improved"
    assert progression_of({"finding": "edema", "before": "small", "after": "mild"}, "") is None  # same grade
    changes, rest = split_difference_answer(
        "the level of edema has changed from mild to severe. the level of atelectasis has changed from moderate "
        "to minimal. the main image has additional findings of a, b, and c than the reference image. ")
    assert [(c["finding"], c["before"], c["after"]) for c in changes] == [
        ("edema", "mild", "severe"), ("atelectasis", "moderate", "minimal")]
    assert rest == "the main image has additional findings of a, b, and c than the reference image."


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


def test_supernatural_old_checkout_without_language_keys_is_assumed_english(caplog):
    caplog.set_level(logging.INFO)
    with collecting() as tally:
        recs = load_source({"loader": "supernatural", "root": str(F / "natural-instructions-old"),
                            "validation_per_task": 1})
    got = [(r["id"], r["split"], r["instruction"].split("\n\n")[1], r["reference"]) for r in recs]
    assert got == [
        ("task1401_word_antonyms-0", "train", "tall", "short"),
        ("task1401_word_antonyms-1", "train", "early", "late"),
        ("task1401_word_antonyms-2", "train", "open", "closed"),   # the first output
        ("task1401_word_antonyms-4", "validation", "full", "empty"),  # index 3 has no input
        ("task1402_word_length-0", "test", "dog", "3"),
        ("task1402_word_length-1", "test", "horse", "5"),
    ]
    assert recs[0]["instruction"].startswith("You are given a word. Write its opposite (antonym) as a single word.")
    rules = tally.as_dict()["super_natural_instructions"]
    assert rules["assumed_english_no_language_keys"] == 2 and rules["instance_without_input_or_output"] == 1
    assert "no language keys" in caplog.text and "assumed English" in caplog.text


def test_supernatural_test_tasks_take_the_first_100_instances_in_file_order(tmp_path):
    import json
    import shutil

    root = tmp_path / "ni"
    shutil.copytree(F / "natural-instructions", root)
    task = json.loads((root / "tasks" / "task0290_tellmewhy_answerability.json").read_text())
    task["Instances"] = [{"id": f"task0290-{k:03d}", "input": f"Story {k}. Question: why?",
                          "output": ["Answerable" if k % 2 else "Not Answerable"]} for k in range(130)]
    (root / "tasks" / "task0290_tellmewhy_answerability.json").write_text(json.dumps(task))
    opts = {"loader": "supernatural", "root": str(root), "max_per_task": 7, "seed": 3}
    with collecting() as tally:
        test = [r for r in load_source(opts) if r["split"] == "test"]
    assert [r["id"] for r in test] == [f"task0290-{k:03d}" for k in range(100)]  # not a sample, not capped
    assert tally.as_dict()["super_natural_instructions"]["test_beyond_first_instances"] == 30
    train = [r for r in load_source(opts) if r["meta"]["source_task"] == "task1146_country_capital"]
    assert len(train) == 5  # max_per_task caps train tasks only (5 usable instances)


def test_mimic_cxr_honours_mit_lcp_hand_written_section_rules(caplog):
    caplog.set_level(logging.INFO)
    assert len(CUSTOM_SECTION_NAMES) + len(CUSTOM_INDICES) == 54
    assert sum(1 for a, b in CUSTOM_INDICES.values() if a == b == 0) == 8
    recs = by_id(load_source({"loader": "mimic_cxr", "reports": REPORTS, "split_csv": SPLIT_CSV}))
    # s50913680: the conclusion sits under RECOMMENDATION(S); the findings are the findings.
    assert recs["mimic-50913680-extract_impression"]["reference"] == (
        "Left basilar opacity, possibly atelectasis or early pneumonia. Follow-up radiograph in six weeks.")
    assert recs["mimic-50913680-extract_findings"]["reference"] == (
        "Streaky opacity at the left base. No pleural effusion. Heart size is normal.")
    assert recs["mimic-50913680-impression_prediction"]["findings"].startswith("Streaky opacity")
    # s50196495: the conclusion is characters 59-399 of the file; no findings from its broken sections.
    assert recs["mimic-50196495-extract_impression"]["reference"].startswith(
        "Right-sided PICC terminates in the low SVC. Mild cardiomegaly is unchanged.")
    assert recs["mimic-50196495-extract_impression"]["reference"].endswith("thoracic spine are noted.")
    assert not any(k.startswith("mimic-50196495-") and not k.endswith("extract_impression") for k in recs)
    # s58235663: no findings at all by the rules, though our own parser would find a FINDINGS section.
    assert not any("58235663" in k for k in recs)
    for rule in ("official_rule_section_name=1", "official_rule_conclusion_span=1", "official_rule_no_findings=1"):
        assert rule in caplog.text


def test_official_section_splitting_matches_the_parser_on_a_report():
    text = (F / "mimic-cxr-reports/files/p10/p10000032/s50414267.txt").read_text()
    names = [name for name, _ in official_sections(text)]
    assert names == ["preamble", "examination", "indication", "technique", "comparison", "findings", "impression"]
    assert rule_sections("50414267", text) is None


def test_loader_options_are_checked_with_one_line_messages():
    with pytest.raises(ValueError, match="unknown option.*bogus"):
        load_source({"loader": "radiopaedia", "path": "x", "bogus": 1})
    with pytest.raises(ValueError, match="missing option.*split_csv"):
        load_source({"loader": "mimic_cxr", "reports": REPORTS})


def test_limit_reads_little_and_keeps_n_per_task_and_split():
    recs = load_source({"loader": "diff_vqa", "questions_csv": str(F / "mimic_pair_questions.csv"),
                        "reports": REPORTS, "split_csv": SPLIT_CSV}, limit=3)
    assert [r["id"] for r in recs] == ["diffvqa-50414267-53189527-row0", "diffvqa-50414267-row1",
                                       "diffvqa-50414267-row2"]
