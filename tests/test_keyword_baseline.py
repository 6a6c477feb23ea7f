"""The keyword baseline: label matching with negation, first sentences, sections."""

from __future__ import annotations

from radphi.backends import GenParams, Request, load_backend
from radphi.backends.keyword import KeywordBackend, labels_in

REPORT = (" FINAL REPORT\n EXAMINATION: CHEST (PA AND LAT)\n INDICATION: Evaluate for pneumonia.\n"
          " FINDINGS: There is a small left pleural effusion. No pneumothorax. The endotracheal tube terminates "
          "3.4 cm above the carina. Moderate cardiomegaly.\n IMPRESSION: Small left effusion. Discussed with "
          "Dr. ___ at 10:15.\n")


def answer(task, **fields):
    return KeywordBackend().generate(Request.build(task, fields), GenParams()).text


def test_labels_skip_negations_and_the_indication():
    assert labels_in(REPORT, "abnormality") == ["pleural effusion", "enlarged cardiac silhouette"]
    assert labels_in(REPORT, "tubes_lines_devices") == ["endotracheal tube"]
    assert answer("abnormality_labels", report=REPORT) == "pleural effusion, enlarged cardiac silhouette"


def test_other_tasks():
    assert answer("impression_prediction", findings="A. B. C.") == "A. B."
    assert answer("extract_impression", report=REPORT).startswith("Small left effusion.")
    assert "Dr." not in answer("cleanup_report_text", text="Small effusion. Discussed with Dr. ___ at 10:15.")
    assert answer("qa_comprehension", report=REPORT, question="Is there a pneumothorax?") == "No."
    assert answer("qa_comprehension", report=REPORT, question="Is there a pleural effusion?") == "Yes."
    prior = "FINDINGS: Moderate cardiomegaly. Mild pulmonary edema."
    assert answer("qa_temporal_findings", report=REPORT, prior_report=prior) == (
        "Added: pleural effusion. Removed: pulmonary edema/hazy opacity.")
    assert answer("qa_temporal_progression", report=REPORT, prior_report=prior) == (
        "enlarged cardiac silhouette: no change")


def test_resolves_from_its_spec():
    b = load_backend("keyword")
    assert isinstance(b, KeywordBackend) and b.info()["backend"] == "keyword"
