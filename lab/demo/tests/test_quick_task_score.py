"""lab/demo/experiments/quick_task_score.py: the label error counts and the temporal-by-labels probe,
with the keyword backend (no model needed)."""
from __future__ import annotations

from collections import Counter

import pytest

from radphi.backends import load_backend

PRIOR = "FINDINGS: There is a small left pleural effusion.\n\nIMPRESSION: Small left pleural effusion."
NOW = "FINDINGS: There is a right pneumothorax. No pleural effusion.\n\nIMPRESSION: Right pneumothorax."


@pytest.fixture(scope="module")
def qts():
    from lab.demo.experiments import quick_task_score

    return quick_task_score


def test_temporal_by_labels_is_the_difference_of_two_label_answers(qts):
    backend = load_backend("keyword")
    rec = {"task": "qa_temporal_findings", "report": NOW, "prior_report": PRIOR,
           "reference": "Added: pneumothorax. Removed: pleural effusion."}
    assert qts.by_labels(backend, rec, 64) == "Added: pneumothorax. Removed: pleural effusion."
    assert qts.score(backend, "qa_temporal_findings", [rec], 64, temporal_by_labels=True) == [1.0]
    wrong = rec | {"reference": "Added: pneumonia. Removed: none."}
    assert qts.score(backend, "qa_temporal_findings", [wrong], 64, temporal_by_labels=True) == [0.0]


def test_label_errors_are_counted_as_missed_and_false(qts):
    backend = load_backend("keyword")
    rec = {"task": "abnormality_labels", "report": NOW, "reference": "pneumonia, pneumothorax"}
    errors: Counter[str] = Counter()
    [f1] = qts.score(backend, "abnormality_labels", [rec], 64, errors=errors)
    assert errors == Counter({"missed: pneumonia": 1}) and 0.6 < f1 < 0.7
    rec2 = {"task": "abnormality_labels", "report": PRIOR, "reference": "none"}
    qts.score(backend, "abnormality_labels", [rec2], 64, errors=errors)
    assert errors["false: pleural effusion"] == 1
