"""RadGraph F1 is optional: without the package or its model files it is reported as missing
(never 0), with one line saying what to do, and the run goes on."""

from __future__ import annotations

import importlib.util
import json
import math
from types import SimpleNamespace

import pytest

from radphi.evaluation import radgraph_metric as rg
from radphi.evaluation.aggregate import summarize
from radphi.evaluation.scoring import score_records

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


# --- the real radgraph package (installed by requirements.txt), its model replaced -------------------
# Its weights come from a hub and its model cannot load under transformers 5, so only the model
# is replaced: a lexicon tagger between the package's own preprocessing and postprocessing. The
# package's F1RadGraph, reward code and return value are the real ones.

LEXICON = {"small": "OBS-DP", "effusion": "OBS-DP", "edema": "OBS-DP", "left": "ANAT-DP", "pleural": "ANAT-DP"}


@pytest.fixture
def real_radgraph(monkeypatch, tmp_path):
    pkg = pytest.importorskip("radgraph.radgraph")
    from radgraph import utils as pkg_utils

    calls: list[list[str]] = []

    class StubModelRadGraph(pkg.RadGraph):
        def __init__(self, batch_size=1, cuda=None, model_type=None, model_cache_dir=None, **kwargs):
            import torch

            torch.nn.Module.__init__(self)  # no files read, no weights loaded
            self.model_type = model_type
            self.received_cache_dir = model_cache_dir

        def forward(self, hyps):
            calls.append(list(hyps))
            results = []
            for item in pkg_utils.preprocess_reports(hyps, self.model_type):
                tokens = item["sentences"][0]
                ner = [[i, i, LEXICON[t.lower()]] for i, t in enumerate(tokens) if t.lower() in LEXICON]
                results.append({"doc_key": item["doc_key"], "sentences": [tokens], "predicted_ner": [ner],
                                "predicted_relations": [[]]})
            return pkg_utils.postprocess_reports(results)

    monkeypatch.setattr(pkg, "RadGraph", StubModelRadGraph)
    monkeypatch.setattr(rg, "radgraph_status", lambda *a, **k: rg.RadGraphStatus(True, "ok", tmp_path / "radgraph"))
    return calls


def test_our_call_unpacks_the_real_f1radgraph_return_value(real_radgraph):
    preds = ("Small left pleural effusion.", "No acute process.", "Left pleural effusion.", "Edema.", "")
    refs = ("Small left pleural effusion.", "Small left pleural effusion.", "Small left pleural effusion.", "",
            "Small effusion.")
    scores, message = rg.radgraph_f1_scores(preds, refs)
    assert message == "ok"
    # 1.0 (same entities); 0.0 (none found); 4/7 (2 of 3 and 2 of 4 entities: "Left" != "left");
    # missing (an empty reference is no reference); 0.0 (an empty prediction)
    assert scores[:3] == [1.0, 0.0, pytest.approx(4 / 7)]
    assert math.isnan(scores[3]) and scores[4] == 0.0
    # The package got two lists of strings (it leaves out the pairs with an empty side itself).
    assert real_radgraph == [list(preds[:3]) + list(refs[:3])]


def test_a_changed_return_shape_is_reported_not_misread(real_radgraph, monkeypatch):
    from radgraph import F1RadGraph

    real_forward = F1RadGraph.forward
    monkeypatch.setattr(F1RadGraph, "forward", lambda self, refs, hyps: real_forward(self, refs, hyps)[:2])
    scores, message = rg.radgraph_f1_scores(["Small effusion."], ["Small effusion."])
    assert scores is None and "unexpected shape" in message


def test_the_packages_known_bugs_that_our_call_guards_against(real_radgraph):
    from radgraph import F1RadGraph
    from radgraph.utils import preprocess_reports

    scorer = F1RadGraph(reward_level="partial", model_type="radgraph")
    # A string `refs` is never wrapped in a list (the check tests `hyps` twice).
    with pytest.raises(AssertionError):
        scorer(refs="Small effusion.", hyps=["Small effusion."])
    assert scorer(refs=["Small effusion."], hyps=["Small effusion."])[1] == [1.0]
    # `model_type == "radgraph-xl" or "modern-radgraph-xl"` is always true: echograph is tokenized as xl.
    assert preprocess_reports(["LV/RV: normal."], "echograph") == [
        dict(r, dataset="echograph") for r in preprocess_reports(["LV/RV: normal."], "radgraph-xl")]


@pytest.mark.parametrize("encode_plus", [True, False])
def test_status_refuses_echograph_and_a_transformers_without_encode_plus(fake_radgraph_installed, tmp_path,
                                                                         monkeypatch, encode_plus):
    assert "not one of" in rg.radgraph_status("echograph", cache_dir=tmp_path).message
    model_dir = tmp_path / "radgraph"
    (model_dir / "bert").mkdir(parents=True)
    (model_dir / "weights.th").write_bytes(b"")
    (model_dir / "config.json").write_text(json.dumps(
        {"model": {"embedder": {"token_embedders": {"bert": {"model_name": str(model_dir / "bert")}}}}}))
    monkeypatch.setattr(rg, "transformers_has_encode_plus", lambda: encode_plus)
    status = rg.radgraph_status("radgraph", cache_dir=tmp_path)
    assert status.available is encode_plus
    if not encode_plus:
        assert "encode_plus" in status.message and "\n" not in status.message


def test_transformers_5_has_no_encode_plus():
    transformers = pytest.importorskip("transformers")
    major = int(transformers.__version__.split(".")[0])
    assert rg.transformers_has_encode_plus() is (major < 5)
