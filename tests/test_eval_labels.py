"""Label metrics on small hand-made sets; the temporal tasks' set metrics."""

from __future__ import annotations

import numpy as np
import pytest

from radphi.evaluation import labels_metrics as lm
from radphi.evaluation.aggregate import summarize
from radphi.evaluation.scoring import score_records


def test_set_prf_hand_computed():
    assert lm.set_prf({"a", "b", "c"}, {"b", "c", "d", "e"}) == (2 / 3, 2 / 4, 4 / 7)
    assert lm.set_prf(set(), set()) == (1.0, 1.0, 1.0)  # both empty: a correct "none"
    assert lm.set_prf(set(), {"a"}) == (0.0, 0.0, 0.0)
    assert lm.set_prf({"a"}, set()) == (0.0, 0.0, 0.0)


def test_micro_prf_from_sums():
    p, r, f = lm.micro_prf(np.array([3.0, 0.0]), np.array([1.0, 0.0]), np.array([2.0, 0.0]))
    assert p[0] == 0.75 and r[0] == 0.6 and f[0] == pytest.approx(2 * 3 / (6 + 1 + 2))
    assert (p[1], r[1], f[1]) == (0.0, 0.0, 0.0)  # no counts at all: 0, not NaN


def test_label_sets_use_the_task_parser_and_keep_unknown_names():
    s = lm.label_set("abnormality_labels", "Cardiomegaly, pleural effusions, made-up thing")
    assert "enlarged cardiac silhouette" in s and "pleural effusion" in s
    assert "made up thing" in s  # a made-up label counts against precision
    assert lm.label_set("abnormality_labels", "none") == frozenset()
    assert lm.label_set("tubes_lines_devices_labels", "NGT, ET tube") == {"enteric tube", "endotracheal tube"}


RECORDS = [  # (prediction, reference) for abnormality_labels, hand-made
    ("pleural effusion, atelectasis", "pleural effusion"),              # tp 1 fp 1 fn 0
    ("none", "none"),                                                  # both empty
    ("pneumothorax", "pneumothorax, pleural effusion"),                # tp 1 fp 0 fn 1
    ("atelectasis", "pneumothorax"),                                   # tp 0 fp 1 fn 1
]


def label_frame():
    recs = [{"id": str(i), "model": "m", "task": "abnormality_labels", "report": "r", "prediction": p, "reference": r}
            for i, (p, r) in enumerate(RECORDS)]
    return score_records(recs)


def test_per_record_label_scores():
    frame = label_frame()
    assert list(frame["label_precision"]) == [0.5, 1.0, 1.0, 0.0]
    assert list(frame["label_recall"]) == [1.0, 1.0, 0.5, 0.0]
    assert list(frame["label_f1"]) == pytest.approx([2 / 3, 1.0, 2 / 3, 0.0])
    assert list(frame["label_tp"]) == [1, 0, 1, 0] and list(frame["label_fn"]) == [0, 0, 1, 1]


def test_sample_micro_and_per_label_rows():
    table = summarize(label_frame(), n_resamples=50, seed=0).set_index("metric")
    assert table.loc["label_precision", "value"] == pytest.approx(2.5 / 4)  # sample-averaged
    # micro: tp 2, fp 2, fn 2
    assert table.loc["label_micro_precision", "value"] == 0.5
    assert table.loc["label_micro_recall", "value"] == 0.5
    assert table.loc["label_micro_f1", "value"] == 0.5
    # per label: pleural effusion tp 1 (rec 0), fn 1 (rec 2); support 2
    row = table.loc["label_recall:pleural effusion"]
    assert row["value"] == 0.5 and row["n"] == 2
    assert table.loc["label_precision:atelectasis", "value"] == 0.0
    assert table.loc["label_precision:atelectasis", "n"] == 0  # never in a reference
    assert table.loc["label_f1:pneumothorax", "value"] == pytest.approx(2 / 3)


def test_temporal_findings_sets():
    scores = lm.temporal_findings_scores("Added: pleural effusion; edema. Removed: none.",
                                         "Added: pleural effusion. Removed: atelectasis.")
    assert (scores["added_precision"], scores["added_recall"]) == (0.5, 1.0)
    assert scores["removed_f1"] == 0.0 and scores["removed_recall"] == 0.0
    both_none = lm.temporal_findings_scores("Added: none. Removed: none.", "Added: none. Removed: none.")
    assert both_none["added_f1"] == 1.0 and both_none["removed_f1"] == 1.0


def test_progression_accuracy_over_reference_findings():
    ref = "edema: improved\npleural effusion in the left lung: no change"
    assert lm.progression_accuracy("Edema: improved\npleural effusion in left lung: no change", ref) == 1.0
    assert lm.progression_accuracy("edema: worsened\npleural effusion in left lung: no change", ref) == 0.5
    assert lm.progression_accuracy("nothing to say", ref) == 0.0
    assert lm.progression_accuracy("No findings to compare.", "No findings to compare.") == 1.0


def test_temporal_records_get_set_and_lexical_columns():
    recs = [{"id": "1", "model": "m", "task": "qa_temporal_findings", "report": "r", "prior_report": "p",
             "prediction": "Added: edema. Removed: none.", "reference": "Added: edema. Removed: none."}]
    row = score_records(recs).iloc[0]
    assert row["added_f1"] == 1.0 and row["f1"] == 1.0 and row["rougeL"] == 1.0
    assert np.isnan(row["judge_relevance"])  # no judge: missing, not 0
