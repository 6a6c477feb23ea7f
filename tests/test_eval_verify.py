"""`radphi eval` with the checker's flags (radphi.verify): per-record counts in records.csv,
means per 100 records with bootstrap CIs in metrics.csv and the report, --no-verify."""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from radphi.evaluation import run_eval, scoring
from radphi.evaluation.aggregate import PAIR_SEP
from radphi import tasks

FINDINGS = "Small left pleural effusion. No pneumothorax."
# (id, prediction, its flags per category)
CASES = [
    ("i0", "Small right pleural effusion.", {"position": 1}),
    ("i1", "Small left pleural effusion.", {}),
    ("i2", "Small left pleural effusion. Small pneumothorax.", {"false_finding": 1}),
]
FLAG_COLUMNS = list(tasks.FLAG_COLUMNS)


def impression(model: str, cases=CASES) -> list[dict]:
    return [{"id": i, "task": "impression_prediction", "findings": FINDINGS, "reference": "Small left pleural effusion.",
             "prediction": pred, "model": model} for i, pred, _ in cases]


def qa(model: str) -> list[dict]:
    return [{"id": "q0", "task": "radiology_qa", "question": "What is Kerley B?", "reference": "Interstitial lines.",
             "prediction": "Interstitial oedema lines.", "model": model}]


def write(path: Path, recs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return path


def parse(*argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    run_eval.add_arguments(parser)
    return parser.parse_args([str(a) for a in argv])


def metrics_table(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "metrics.csv", keep_default_na=False, na_values=[""])


def test_column_names_follow_the_checker_categories():
    from radphi.verify import CATEGORIES

    assert FLAG_COLUMNS == [f"flags_{c.value}" for c in CATEGORIES] + ["flags_significant"]
    # Every task with a source lists them; radiology QA and general instructions (no source) do not.
    for task in tasks.TASKS:
        listed = set(FLAG_COLUMNS) <= set(tasks.TASKS[task].columns)
        assert listed == (task not in ("radiology_qa", tasks.GENERAL_TASK)), task


def test_flags_per_100_records_with_cis(tmp_path):
    preds = write(tmp_path / "a.jsonl", impression("A") + qa("A"))
    out = tmp_path / "out"
    assert run_eval.main(parse(preds, "--out", out, "--bootstrap", "200", "--seed", "1", "--no-progress")) == 0

    records = pd.read_csv(out / "records.csv").set_index("id")
    assert set(FLAG_COLUMNS) <= set(records.columns)
    for rid, _, flags in CASES:  # counts per record, not scaled
        for col in FLAG_COLUMNS[:-1]:
            assert records.loc[rid, col] == flags.get(col[len("flags_"):], 0), (rid, col)
        assert records.loc[rid, "flags_significant"] == sum(flags.values())
    assert records.loc["q0", FLAG_COLUMNS].isna().all()  # no source for radiology QA: missing, not 0

    table = metrics_table(out)
    assert {"ci_low", "ci_high", "n", "n_missing"} <= set(table.columns)
    imp = table[(table["task"] == "impression_prediction") & (table["stratum"] == "all")].set_index("metric")
    expected = {"flags_missed_finding": 0.0, "flags_false_finding": 100 / 3, "flags_position": 100 / 3,
                "flags_severity": 0.0, "flags_significant": 200 / 3}
    for metric, value in expected.items():
        row = imp.loc[metric]
        assert row["value"] == pytest.approx(value), metric
        assert row["ci_low"] <= row["value"] <= row["ci_high"], metric
        assert (row["n"], row["n_missing"]) == (3, 0)
    assert round(imp.loc["flags_position", "value"], 2) == 33.33
    assert imp.loc["flags_position", "ci_high"] > imp.loc["flags_position", "ci_low"]  # a real interval
    assert imp.loc["f1", "value"] <= 1  # the lexical metrics stay on their 0-1 scale beside them
    assert not table[(table["task"] == "radiology_qa") & table["metric"].str.startswith("flags_")].shape[0]

    page = (out / "report.html").read_text()
    assert "Position errors per 100 records" in page
    assert re.search(r'<td title="n = 3">(<b>)?33\.33(</b>)? <span class="ci">\[', page)  # value and CI
    assert "checker flags (radphi.verify; lower is better)" in page and "flags per 100 records" in page


def test_two_models_paired_difference_and_lowest_in_bold(tmp_path):
    worse = [(i, "Small right pleural effusion. Large pneumothorax.", {}) for i, _, _ in CASES]
    a = write(tmp_path / "a.jsonl", impression("A"))
    b = write(tmp_path / "b.jsonl", impression("B", worse))
    out = tmp_path / "out"
    assert run_eval.main(parse(a, b, "--out", out, "--bootstrap", "100", "--no-progress")) == 0
    table = metrics_table(out)
    rows = table[(table["stratum"] == "all") & (table["metric"] == "flags_position")].set_index("model")
    assert rows.loc["A", "value"] == pytest.approx(100 / 3) and rows.loc["B", "value"] == pytest.approx(100.0)
    diff = rows.loc[f"A{PAIR_SEP}B"]
    assert diff["value"] == pytest.approx(100 / 3 - 100) and diff["ci_low"] <= diff["value"] <= diff["ci_high"]
    # In the paper-shaped table the fewer flags are the better value: A's cell is bold.
    page = (out / "report.html").read_text()
    assert "<b>33.33</b>" in page and "<b>100.00</b>" not in page


def test_no_verify_leaves_the_flags_out(tmp_path):
    preds = write(tmp_path / "a.jsonl", impression("A") + qa("A"))
    out = tmp_path / "out"
    assert run_eval.main(parse(preds, "--out", out, "--bootstrap", "50", "--no-verify", "--no-progress")) == 0
    records = pd.read_csv(out / "records.csv")
    assert not [c for c in records.columns if c.startswith("flags_")]
    assert "f1" in records.columns
    table = metrics_table(out)
    assert not table["metric"].str.startswith("flags_").any() and "f1" in set(table["metric"])
    assert "per 100 records" not in (out / "report.html").read_text()
    assert parse("x.jsonl").no_verify is False  # on by default


def test_flags_need_no_reference():
    recs = [dict(r, id=r["id"]) for r in impression("A")]
    for r in recs:
        del r["reference"]
    frame = scoring.score_records(recs)
    assert frame["flags_position"].tolist() == [1.0, 0.0, 0.0]
    assert frame["flags_false_finding"].tolist() == [0.0, 0.0, 1.0]


def test_workers_give_the_same_flags(monkeypatch):
    monkeypatch.setattr(scoring, "VERIFY_PARALLEL_MIN", 4)
    monkeypatch.setattr(scoring, "_VERIFY_CHUNK", 2)
    recs = impression("A") * 3
    assert scoring.compute_verify(recs, workers=2) == scoring.compute_verify(recs, workers=1)


def test_a_checker_failure_is_missing_not_fatal(monkeypatch):
    import radphi.verify

    real = radphi.verify.verify_record

    def flaky(rec):
        if rec["id"] == "i1":
            raise RuntimeError("checker bug")
        return real(rec)

    monkeypatch.setattr(radphi.verify, "verify_record", flaky)
    notes: list[str] = []
    frame = scoring.score_records(impression("A"), notes=notes).set_index("id")
    assert math.isnan(frame.loc["i1", "flags_position"]) and frame.loc["i0", "flags_position"] == 1.0
    assert any("checker flags are missing for 1 record" in n for n in notes)


def test_a_slow_checker_run_says_how_to_speed_it_up(monkeypatch):
    monkeypatch.setattr(scoring, "SLOW_VERIFY_S", -1.0)
    notes: list[str] = []
    scoring.score_records(impression("A"), notes=notes)
    assert any("--workers N" in n and "--no-verify" in n for n in notes)
