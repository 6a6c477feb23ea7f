"""RadGraph F1 is optional: without the package or its model files it is reported as missing
(never 0), with one line saying what to do, and the run goes on."""

from __future__ import annotations

import importlib.util
import json
import math
from types import SimpleNamespace

import pytest

from evaluation import radgraph_metric as rg
from evaluation.aggregate import summarize
from evaluation.scoring import score_records

RECORDS = [
    {"id": str(i), "model": "m", "task": "impression_prediction", "findings": "Small effusion.",
     "reference": "Small left pleural effusion.", "prediction": p}
    for i, p in enumerate(["Small left pleural effusion.", "No acute process."])
]


@pytest.fixture
def no_radgraph(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "radgraph" else real(name, *a))


@pytest.fixture
def fake_radgraph_installed(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: SimpleNamespace(name=name) if name == "radgraph" else real(name, *a))


def test_missing_package_is_reported_in_one_line(no_radgraph):
    status = rg.radgraph_status()
    assert not status.available
    assert "\n" not in status.message
    assert "radgraph package is not installed" in status.message and "pip install radgraph" in status.message
    scores, message = rg.radgraph_f1_scores(["a"], ["b"])
    assert scores is None and message == status.message
    assert math.isnan(rg.radgraph_f1("a", "b"))


def test_missing_model_files_are_reported_with_where_they_were_looked_for(fake_radgraph_installed, tmp_path):
    status = rg.radgraph_status("radgraph", cache_dir=tmp_path)
    assert not status.available
    assert "model files are not on disk" in status.message and str(tmp_path / "radgraph") in status.message
    assert "\n" not in status.message


def test_missing_bert_model_is_reported(fake_radgraph_installed, tmp_path):
    model_dir = tmp_path / "radgraph-xl"
    model_dir.mkdir()
    (model_dir / "weights.th").write_bytes(b"")
    (model_dir / "config.json").write_text(json.dumps(
        {"model": {"embedder": {"token_embedders": {"bert": {"model_name": "nobody/no-such-bert-xyz"}}}}}))
    status = rg.radgraph_status("radgraph-xl", cache_dir=tmp_path)
    assert not status.available and "nobody/no-such-bert-xyz" in status.message


def test_a_radgraph_that_fails_to_load_is_missing_not_an_error(monkeypatch, tmp_path):
    monkeypatch.setattr(rg, "radgraph_status", lambda *a, **k: rg.RadGraphStatus(True, "ok", tmp_path / "radgraph"))
    monkeypatch.setitem(__import__("sys").modules, "radgraph", None)  # `from radgraph import ...` fails
    scores, message = rg.radgraph_f1_scores(["a"], ["b"])
    assert scores is None and "radgraph failed" in message


def test_scoring_reports_radgraph_as_missing_and_scores_the_rest(no_radgraph):
    notes: list[str] = []
    frame = score_records(RECORDS, notes=notes)
    assert frame["radgraph_f1"].isna().all()
    assert frame["rougeL"].tolist()[0] == 1.0
    assert any("radgraph_f1 is missing" in n for n in notes)
    table = summarize(frame, n_resamples=20).set_index("metric")
    assert math.isnan(table.loc["radgraph_f1", "value"])
    assert table.loc["radgraph_f1", "n"] == 0 and table.loc["radgraph_f1", "n_missing"] == 2
    assert table.loc["rougeL", "n"] == 2
