"""The checker's rules, one at a time, on sentences written for each: negation scope,
hedges, sides, lobes, severity pairs, sizes, device tip positions, change words, and
each task's alignment (radphi.verify)."""

from __future__ import annotations

import pytest

from radphi.verify import check, count_flags, critical, verify, verify_record
from radphi.verify.devices import MALPOSITIONED, WELL_POSITIONED
from radphi.verify.reading import ABSENT, PRESENT, UNCERTAIN, WORSE, read


def status_of(sentence: str, label: str) -> str:
    found = [m for m in read(sentence).mentions if m.label == label]
    assert found, f"{label!r} not found in {sentence!r}"
    return found[0].status


def mention(sentence: str, label: str):
    return next(m for m in read(sentence).mentions if m.label == label)


def test_reading_found_by_the_other_authors_sets():
    """Report wordings the checker misread at first on the other authors' case sets."""
    def one(sentence, label):
        return [m for m in read(sentence).mentions if m.label == label]

    assert [m.status for m in one("There is a new 9 mm nodule in the right upper lobe that was not seen on the radiograph "
                                  "from two years ago.", "mass/nodule (not otherwise specified)")] == [PRESENT]
    assert [m.status for m in one("The mediastinum is mildly widened.", "mediastinal widening")] == [PRESENT]
    assert [m.status for m in one("The mediastinum is not widened.", "mediastinal widening")] == [ABSENT]
    assert [m.position for m in one("The enteric tube is coiled within the stomach.", "enteric tube")] == [WELL_POSITIONED]
    assert [m.position for m in one("Enteric tube coiled in the mid esophagus.", "enteric tube")] == [MALPOSITIONED]
    assert [m.position for m in one("The ET tube is 7 cm above the carina; advancing it by 2 cm is recommended.",
                                    "endotracheal tube")] == [MALPOSITIONED]
    assert {(tuple(sorted(m.sides)), tuple(sorted(m.severity))) for m in
            one("Small right and moderate left layering pleural effusions.", "pleural effusion")} == {
        (("right",), (2,)), (("left",), (3,))}
    assert one("Acute displaced fractures of the left lateral fourth, fifth and sixth ribs.", "rib fracture")
    assert one("Healed fracture deformity of the right clavicle.", "clavicle fracture")
    assert one("The left hilum is larger than before.", "enlarged hilum")


@pytest.mark.parametrize("sentence, label, expected", [
    ("No pleural effusion.", "pleural effusion", ABSENT),
    ("No pleural effusion or pneumothorax.", "pneumothorax", ABSENT),
    ("There is no focal consolidation, effusion, or pneumothorax.", "pneumothorax", ABSENT),
    ("Without evidence of pneumothorax.", "pneumothorax", ABSENT),
    ("The previously seen pneumothorax has resolved.", "pneumothorax", ABSENT),
    ("The endotracheal tube has been removed.", "endotracheal tube", ABSENT),
    ("No pneumothorax, but there is a small left effusion.", "pleural effusion", PRESENT),
    ("No focal consolidation, although there is bibasilar atelectasis.", "atelectasis", PRESENT),
    ("No change in the moderate left pleural effusion.", "pleural effusion", PRESENT),
    ("Pneumonia cannot be excluded.", "pneumonia", UNCERTAIN),
    ("Right lower lobe opacity may represent atelectasis.", "atelectasis", UNCERTAIN),
    ("Right lower lobe opacity may represent atelectasis.", "lung opacity", PRESENT),
    ("Opacity at the right base, infection cannot be excluded.", "pneumonia", UNCERTAIN),
    ("Opacity at the right base, infection cannot be excluded.", "lung opacity", PRESENT),
    ("Possible small left pleural effusion.", "pleural effusion", UNCERTAIN),
    ("Heart size is normal.", "enlarged cardiac silhouette", ABSENT),
    ("The heart is mildly enlarged.", "enlarged cardiac silhouette", PRESENT),
])
def test_negation_and_hedge_scope(sentence, label, expected):
    assert status_of(sentence, label) == expected


@pytest.mark.parametrize("sentence, label, sides", [
    ("L IJ introducer sheath tip in the left brachiocephalic vein.", "ij line", {"left"}),
    ("R basilar atelectasis.", "atelectasis", {"right"}),
    ("Small bilateral effusions, L>R.", "pleural effusion", {"left", "right"}),
    ("Opacities in the right lower lobe and, to a lesser extent, the left lower lobe.", "lung opacity", {"left", "right"}),
    ("A calcified right lower lobe granuloma.", "calcified nodule", {"right"}),
    ("Small left pleural effusion.", "pleural effusion", {"left"}),
    ("Pneumothorax on the right.", "pneumothorax", {"right"}),
    ("Bibasilar atelectasis.", "atelectasis", {"left", "right"}),
    ("Bilateral pleural effusions, left greater than right.", "pleural effusion", {"left", "right"}),
    ("Small left effusion and right lower lobe atelectasis.", "pleural effusion", {"left"}),
    ("Small left effusion and right lower lobe atelectasis.", "atelectasis", {"right"}),
    ("Right PICC terminates in the right atrium.", "picc", {"right"}),
    ("Left-sided chest tube in place.", "chest tube", {"left"}),
])
def test_sides(sentence, label, sides):
    assert set(mention(sentence, label).sides) == sides


@pytest.mark.parametrize("sentence, label, zones", [
    ("Diffuse reticular opacities with a basal predominance.", "increased reticular markings/ild pattern", {"lower"}),
    ("New right upper lobe opacity.", "lung opacity", {"upper"}),
    ("Consolidation in the left lower lobe.", "consolidation", {"lower"}),
    ("Apical pneumothorax.", "pneumothorax", {"upper"}),
    ("Retrocardiac opacity.", "lung opacity", {"lower"}),
    ("Lingular atelectasis.", "atelectasis", {"lingula"}),
    ("Right middle lobe pneumonia.", "pneumonia", {"middle"}),
])
def test_lobe_zones(sentence, label, zones):
    assert set(mention(sentence, label).zones) == zones


@pytest.mark.parametrize("sentence, label, levels", [
    ("Trace left pleural effusion.", "pleural effusion", {1}),
    ("Small left pleural effusion.", "pleural effusion", {2}),
    ("Small-to-moderate right effusion.", "pleural effusion", {2, 3}),
    ("Large right pleural effusion.", "pleural effusion", {4}),
    ("Severe pulmonary edema.", "pulmonary edema/hazy opacity", {4}),
    ("Mild cardiomegaly.", "enlarged cardiac silhouette", {2}),
    # A grade inside the mention, or set off by a comma after it.
    ("The cardiac silhouette is moderately enlarged.", "enlarged cardiac silhouette", {3}),
    ("The heart is large.", "enlarged cardiac silhouette", set()),
    ("Right pneumothorax, large in size.", "pneumothorax", {4}),
    ("Bilateral pleural effusions, small to moderate in size, unchanged.", "pleural effusion", {2, 3}),
    # An adverb of a change grades the change, not the finding ...
    ("Slightly increased right pleural effusion.", "pleural effusion", set()),
    ("The left pleural effusion has mildly decreased.", "pleural effusion", set()),
    # ... unless the change word is the finding's own name.
    ("Mildly increased interstitial markings.", "increased reticular markings/ild pattern", {2}),
])
def test_severity_words(sentence, label, levels):
    assert set(mention(sentence, label).severity) == levels


def test_measurements_are_read_in_millimetres():
    assert mention("A 2.5 cm nodule in the right upper lobe.", "mass/nodule (not otherwise specified)").measures == (25.0,)
    assert mention("The endotracheal tube terminates 4 cm above the carina.", "endotracheal tube").measures == (40.0,)


@pytest.mark.parametrize("sentence, label, position", [
    ("The endotracheal tube terminates in the right mainstem bronchus.", "endotracheal tube", MALPOSITIONED),
    ("Endotracheal tube tip is too low and should be withdrawn 2 cm.", "endotracheal tube", MALPOSITIONED),
    ("The enteric tube is coiled in the esophagus.", "enteric tube", MALPOSITIONED),
    ("Nasogastric tube terminates in the stomach.", "enteric tube", WELL_POSITIONED),
    ("Endotracheal tube terminates 4 cm above the carina.", "endotracheal tube", WELL_POSITIONED),
    ("Right internal jugular catheter ends in the mid SVC.", "ij line", WELL_POSITIONED),
    ("Tubes in standard position.", "support devices", WELL_POSITIONED),
])
def test_device_tip_positions(sentence, label, position):
    assert mention(sentence, label).position == position


def test_change_words():
    assert mention("Interval increase in the left effusion.", "pleural effusion").change == WORSE
    assert mention("Improved right lower lobe consolidation.", "consolidation").change == "better"
    assert mention("Unchanged mild cardiomegaly.", "enlarged cardiac silhouette").change == "stable"


FINDINGS = ("There is a new right upper lobe opacity. A right internal jugular line terminates in the mid SVC. "
            "No pneumothorax. Small left pleural effusion. Mild scoliosis.")


def flags_of(prediction: str, task: str = "impression_prediction", **fields):
    fields = fields or {"findings": FINDINGS}
    return {(f.category.value, f.finding, f.significant) for f in verify(task, fields, prediction)}


def test_a_complete_impression_has_no_significant_flag_and_the_minor_omission_is_minor():
    flags = flags_of("New right upper lobe opacity, concerning for pneumonia. Small left pleural effusion. "
                     "Right IJ line in the SVC.")
    assert flags == {("missed_finding", "scoliosis", False)}


def test_no_acute_process_for_a_new_opacity_is_a_significant_miss():
    flags = flags_of("No acute cardiopulmonary process.")
    assert ("missed_finding", "lung opacity", True) in flags
    assert ("missed_finding", "pleural effusion", True) in flags


def test_a_flipped_side_is_a_position_flag_only():
    flags = flags_of("New right upper lobe opacity. Small left pleural effusion. Left IJ line in good position.")
    assert flags == {("position", "ij line", True), ("missed_finding", "scoliosis", False)}


def test_another_lobe_is_a_position_flag():
    assert ("position", "lung opacity", True) in flags_of("New right lower lobe opacity. Small left effusion.")


def test_severity_two_steps_apart_is_significant_and_one_step_is_not():
    assert ("severity", "pleural effusion", True) in flags_of("New right upper lobe opacity. Large left effusion.")
    assert ("severity", "pleural effusion", False) in flags_of("New right upper lobe opacity. Moderate left effusion.")


def test_invented_findings_and_a_negated_one_are_false_findings():
    flags = flags_of("New right upper lobe opacity. Small left effusion. Right rib fracture, mediastinal shift "
                     "and a balloon pump. Small right pneumothorax.")
    assert {("false_finding", "rib fracture", True), ("false_finding", "mediastinal displacement", True),
            ("false_finding", "intra-aortic balloon pump", True), ("false_finding", "pneumothorax", True)} <= flags
    why = next(f.why for f in verify("impression_prediction", {"findings": FINDINGS}, "Small pneumothorax.")
               if f.finding == "pneumothorax")
    assert "No pneumothorax" in why  # the negating sentence is the evidence


def test_a_dropped_hedge_is_a_minor_severity_flag():
    findings = "Right lower lobe opacity, pneumonia cannot be excluded."
    assert flags_of("Right lower lobe pneumonia.", findings=findings) == {("severity", "pneumonia", False)}
    assert flags_of("Right lower lobe opacity, possibly pneumonia.", findings=findings) == set()


def test_a_malpositioned_tube_called_well_positioned_is_flagged():
    findings = "The endotracheal tube terminates in the right mainstem bronchus and should be withdrawn."
    assert flags_of("Endotracheal tube in standard position.", findings=findings) == \
        {("position", "endotracheal tube", True)}
    assert ("missed_finding", "endotracheal tube", True) in flags_of("No acute process.", findings=findings)


def test_label_list_each_label_needs_a_positive_mention():
    report = "FINDINGS: No pleural effusion. Mild cardiomegaly. Calcified granuloma in the left lung."
    flags = flags_of("pleural effusion, enlarged cardiac silhouette", "abnormality_labels", report=report)
    assert flags == {("false_finding", "pleural effusion", True), ("missed_finding", "calcified nodule", False)}


def test_indication_is_not_read_as_a_finding():
    report = "INDICATION: Evaluate for pneumonia.\nFINDINGS: The lungs are clear. No effusion."
    assert flags_of("none", "abnormality_labels", report=report) == set()


def test_temporal_added_and_removed_are_checked_against_both_reports():
    current = "FINDINGS: New small right pleural effusion. The endotracheal tube has been removed. Mild cardiomegaly."
    prior = "FINDINGS: Endotracheal tube 4 cm above the carina. Mild cardiomegaly."
    fields = {"report": current, "prior_report": prior}
    assert flags_of("Added: pleural effusion. Removed: endotracheal tube.", "qa_temporal_findings", **fields) == set()
    flags = flags_of("Added: enlarged cardiac silhouette. Removed: none.", "qa_temporal_findings", **fields)
    assert ("false_finding", "enlarged cardiac silhouette", True) in flags
    assert ("missed_finding", "pleural effusion", True) in flags
    assert ("missed_finding", "endotracheal tube", False) in flags


def test_progression_against_the_change_wording():
    fields = {"report": "FINDINGS: Interval increase in the left pleural effusion.",
              "prior_report": "FINDINGS: Small left pleural effusion."}
    assert flags_of("pleural effusion: worsened", "qa_temporal_progression", **fields) == set()
    assert flags_of("pleural effusion: improved", "qa_temporal_progression", **fields) == \
        {("severity", "pleural effusion", True)}


def test_extraction_flags_a_dropped_clause_with_a_finding_or_hedge():
    report = ("FINDINGS: Worsening pulmonary edema. Right lower lobe opacity, though infection cannot be excluded. "
              "No pneumothorax.\nIMPRESSION: Worsening edema.")
    flags = flags_of("Right lower lobe opacity. No pneumothorax.", "extract_findings", report=report)
    assert ("missed_finding", "pulmonary edema/hazy opacity", True) in flags
    assert ("missed_finding", "pneumonia", True) in flags
    kept = flags_of("Worsening pulmonary edema. Right lower lobe opacity, though infection cannot be excluded. "
                    "No pneumothorax.", "extract_findings", report=report)
    assert kept == set()


def test_qa_yes_no_against_the_report():
    report = "FINDINGS: Small right apical pneumothorax. No effusion."
    assert flags_of("Yes, a small right apical pneumothorax.", "qa_comprehension", report=report,
                    question="Is there a pneumothorax?") == set()
    assert flags_of("No.", "qa_comprehension", report=report, question="Is there a pneumothorax?") == \
        {("missed_finding", "pneumothorax", True)}
    assert flags_of("Yes.", "qa_comprehension", report=report, question="Is there a pleural effusion?") == \
        {("false_finding", "pleural effusion", True)}
    assert ("position", "pneumothorax", True) in flags_of(
        "A small left apical pneumothorax.", "qa_comprehension", report=report, question="Which side?")


def test_no_source_no_flags_and_bad_input_is_harmless():
    assert verify("radiology_qa", {"question": "What is a pneumothorax?"}, "Air in the pleural space.") == []
    assert verify("impression_prediction", {"findings": ""}, "Small effusion.") == []
    assert verify("impression_prediction", {"findings": "x" * 50_000}, "") == []
    assert isinstance(verify("impression_prediction", {"findings": "\ufffd\x00 effusion"}, "\udcff"), list)


def test_record_and_counts():
    record = {"task": "impression_prediction", "findings": "Small left pleural effusion.",
              "prediction": "Small right pleural effusion."}
    flags = verify_record(record)
    assert count_flags(flags) == {"missed_finding": 0, "false_finding": 0, "position": 1, "severity": 0}
    assert flags[0].to_dict()["evidence"] == "Small left pleural effusion."


def test_critical_banner_findings():
    names = {c.name for c in critical([("input", "Large right tension pneumothorax with mediastinal shift.")])}
    assert {"tension pneumothorax", "mediastinal shift"} <= names
    assert critical([("input", "No pneumothorax.")]) == []
    assert {c.name for c in critical([("input", "The ETT is in the right mainstem bronchus.")])} == \
        {"malpositioned endotracheal tube"}
    assert {c.name for c in critical([("input", "Free air under the right hemidiaphragm.")])} == \
        {"free air under the diaphragm"}


def test_check_gives_evidence_for_each_sentence():
    result = check("impression_prediction", {"findings": FINDINGS}, "Small right pleural effusion. Mild scoliosis.")
    first, second = result.sentences
    assert first.evidence == ["Small left pleural effusion."] and first.flags[0].category.value == "position"
    assert second.evidence == ["Mild scoliosis."] and not second.flags
    assert {f.finding for f in result.missed} == {"lung opacity", "ij line"}


def test_the_reviewer_tab_never_shows_the_checker():
    """Flags beside a blinded case would bias the review (the Dashboard shows them instead)."""
    import inspect

    from radphi.ui import review

    source = inspect.getsource(review)
    assert "check_view" not in source and "radphi.verify" not in source


def test_the_larger_side_of_a_bilateral_finding_is_a_position_fact():
    findings = "Bilateral pleural effusions, right greater than left."
    assert flags_of("Bilateral pleural effusions, right greater than left.", findings=findings) == set()
    assert flags_of("Bilateral pleural effusions, left greater than right.", findings=findings) == \
        {("position", "pleural effusion", True)}


@pytest.mark.parametrize("source, draft", [
    ("Swan-Ganz catheter terminates in the right interlobar pulmonary artery.",
     "Swan-Ganz catheter coiled in the right ventricle; recommend repositioning."),
    ("Left arm PICC terminates at the cavoatrial junction.", "Left PICC terminates in the left subclavian vein."),
    ("Port-A-Cath catheter tip in the low SVC.", "Chest port catheter tip in the left brachiocephalic vein."),
    ("Nasogastric tube terminates in the gastric fundus.", "Nasogastric tube terminates in the distal esophagus."),
    ("Pacemaker leads terminate in the right atrium and right ventricle, unchanged.",
     "The pacer lead has retracted into the right atrium."),
])
def test_a_stated_tip_place_is_contradicted_by_a_malpositioned_draft(source, draft):
    flags = flags_of(draft, findings=source)
    assert any(category == "position" and significant for category, _, significant in flags), flags


def test_a_stated_tip_place_is_not_contradicted_by_a_draft_that_repeats_it():
    assert flags_of("Right PICC tip at the cavoatrial junction.",
                    findings="Right PICC terminates at the cavoatrial junction.") == set()


def test_a_site_word_names_a_generic_central_line():
    assert mention("Right subclavian central venous line terminates in the SVC.", "subclavian line")


def test_a_finding_the_source_denies_is_false_even_beside_a_related_one():
    findings = "Opacification of the right lower hemithorax, consistent with collapse. No evidence of pulmonary edema."
    assert ("false_finding", "pulmonary edema/hazy opacity", True) in flags_of("Mild pulmonary edema.",
                                                                                findings=findings)


def test_an_expected_postoperative_finding_left_out_is_minor():
    findings = "Mild widening of the mediastinum is expected in the immediate postoperative period."
    assert flags_of("Expected postoperative appearance.", findings=findings) == \
        {("missed_finding", "mediastinal widening", False)}


def test_a_tip_place_said_only_in_a_sentence_without_the_device_does_not_crash():
    # The source's only place for the catheter sits in a sentence that names no device:
    # the answer's other place is flagged against the catheter's own sentence.
    findings = "Swan-Ganz catheter in place. The tip projects over the right pulmonary artery. No pneumothorax."
    flags = verify("impression_prediction", {"findings": findings}, "Swan-Ganz catheter tip in the right atrium.")
    assert ("position", "swan-ganz catheter", True) in {(f.category.value, f.finding, f.significant) for f in flags}
