"""`radphi eval` end to end on two small prediction files: records.csv, metrics.csv (with
paired differences and strata) and a self-contained report.html holding the plotly figures."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from radphi.evaluation import run_eval
from radphi.evaluation.aggregate import PAIR_SEP
from radphi.errors import InputError

SYSTEMS = ["Chest", "Cardiac"]
QA = [  # (question, reference, good answer, poor answer)
    ("What does a widened mediastinum suggest?", "Aortic injury or mediastinal haematoma.",
     "Aortic injury or a mediastinal haematoma.", "Pneumonia."),
    ("What is the silhouette sign?", "Loss of a normal border between two structures of similar density.",
     "Loss of the normal border between structures of similar density.", "A sign of the heart."),
    ("Acute indications for carotid ultrasound?", "Assessment of carotid stenosis in TIA or stroke.",
     "Carotid stenosis in stroke or TIA.", "Trauma to the head."),
    ("What is Kerley B?", "Short horizontal lines at the lung periphery from interstitial oedema.",
     "Short horizontal peripheral lines from interstitial oedema.", "A vitamin."),
]
EVIL = "<script>alert('x')</script>"


def write_preds(path: Path, model: str, good: bool, extra: list[dict] | None = None) -> Path:
    recs = []
    for i, (q, ref, g, p) in enumerate(QA * 3):
        recs.append({"id": f"qa{i}", "task": "radiology_qa", "question": q, "reference": ref,
                     "prediction": g if good else p, "model": model, "meta": {"system": SYSTEMS[i % 2]}})
    labels = [("cardiomegaly, pleural effusion", "cardiomegaly"), ("none", "none"), ("pneumothorax", "pneumothorax")]
    for i, (ref, pred) in enumerate(labels):
        recs.append({"id": f"lab{i}", "task": "abnormality_labels", "report": "r", "reference": ref,
                     "prediction": ref if good else pred, "model": model})
    recs += extra or []
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return path


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    run_eval.add_arguments(parser)
    return parser.parse_args([str(a) for a in argv])


@pytest.fixture
def two_models(tmp_path: Path) -> tuple[Path, Path]:
    a = write_preds(tmp_path / "a.jsonl", "rad-phi2", good=True)
    b = write_preds(tmp_path / "b.jsonl", EVIL, good=False)
    with b.open("a") as fh:
        fh.write("{not json\n")
    return a, b


def test_eval_writes_all_three_outputs(two_models, tmp_path, capsys):
    out = tmp_path / "out"
    assert run_eval.main(parse(*two_models, "--out", out, "--by", "system", "--bootstrap", "200", "--seed", "3")) == 0
    assert "not valid JSON" in capsys.readouterr().err  # the bad line is reported, the rest scored

    records = pd.read_csv(out / "records.csv")
    assert list(records.columns[:4]) == ["id", "model", "task", "system"]
    assert {"f1", "precision", "recall", "bleu1", "rougeL", "label_f1"} <= set(records.columns)
    assert len(records) == 2 * (len(QA) * 3 + 3)
    assert not [c for c in records.columns if c.startswith("_")]

    table = pd.read_csv(out / "metrics.csv", keep_default_na=False, na_values=[""])
    assert list(table.columns) == ["model", "task", "stratum", "metric", "value", "ci_low", "ci_high", "n", "n_missing"]
    qa_all = table[(table["task"] == "radiology_qa") & (table["stratum"] == "all")].set_index(["model", "metric"])
    good, poor = qa_all.loc[("rad-phi2", "f1")], qa_all.loc[(EVIL, "f1")]
    assert good["value"] > poor["value"] and good["n"] == 12
    assert good["ci_low"] <= good["value"] <= good["ci_high"]
    diff = qa_all.loc[(f"rad-phi2{PAIR_SEP}{EVIL}", "f1")]
    assert diff["value"] == pytest.approx(good["value"] - poor["value"]) and diff["ci_low"] > 0
    strata = set(table[table["task"] == "radiology_qa"]["stratum"])
    assert strata == {"all", "Chest", "Cardiac"}
    assert set(table[table["task"] == "abnormality_labels"]["stratum"]) == {"all"}  # no system there
    assert "label_micro_f1" in set(table["metric"]) and any(m.startswith("label_f1:") for m in table["metric"])

    page = (out / "report.html").read_text()
    assert "Plotly.newPlot" in page and '"type":"bar"' in page and '"type":"heatmap"' in page
    tags = re.findall(r"<script[^>]*>", page)
    assert tags and all("src" not in t for t in tags)  # offline: nothing loaded from elsewhere
    assert len(page) > 1_000_000  # plotly.js itself is inlined
    assert EVIL not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    # The paper-shaped table: the better model's F1 cell is bold.
    row = re.search(r"<tr><td>rad-phi2</td>(.*?)</tr>", page).group(1)
    assert row.startswith('<td title="n = 12"><b>')
    assert f"{good['value'] * 100:.2f}" in row


def test_eval_is_deterministic_for_a_seed(two_models, tmp_path):
    for name in ("x", "y"):
        assert run_eval.main(parse(*two_models, "--out", tmp_path / name, "--bootstrap", "100", "--seed", "5",
                                   "--no-progress")) == 0
    assert (tmp_path / "x" / "metrics.csv").read_text() == (tmp_path / "y" / "metrics.csv").read_text()
    run_eval.main(parse(*two_models, "--out", tmp_path / "z", "--bootstrap", "100", "--seed", "6", "--no-progress"))
    assert (tmp_path / "x" / "metrics.csv").read_text() != (tmp_path / "z" / "metrics.csv").read_text()


def test_paired_differences_use_only_shared_ids(tmp_path):
    a = write_preds(tmp_path / "a.jsonl", "A", good=True)
    b = tmp_path / "b.jsonl"
    rows = [json.loads(line) for line in a.read_text().splitlines()][:5]
    b.write_text("".join(json.dumps(dict(r, model="B")) + "\n" for r in rows))
    run_eval.main(parse(a, b, "--out", tmp_path / "o", "--bootstrap", "50", "--no-progress"))
    table = pd.read_csv(tmp_path / "o" / "metrics.csv", keep_default_na=False, na_values=[""])
    diff = table[(table["model"] == f"A{PAIR_SEP}B") & (table["metric"] == "f1") & (table["stratum"] == "all")]
    assert diff["n"].tolist() == [5] and diff["value"].tolist() == [0.0]


def test_parser_is_cheap_and_its_defaults_match_stats():
    code = ("import argparse, sys; from radphi.evaluation import run_eval; p = argparse.ArgumentParser(); "
            "run_eval.add_arguments(p); p.parse_args(['x.jsonl']); "
            "print(sorted(m for m in ('numpy', 'pandas', 'plotly', 'openai') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.stdout.strip() == "[]", done.stderr
    from radphi import stats

    args = parse("x.jsonl")
    assert (args.bootstrap, args.confidence) == (stats.DEFAULT_RESAMPLES, stats.DEFAULT_CONFIDENCE)


def test_user_errors(tmp_path):
    with pytest.raises(InputError, match="prediction file"):
        run_eval.main(parse("--out", tmp_path))
    with pytest.raises(InputError, match="not found"):
        run_eval.main(parse(tmp_path / "nope.jsonl", "--out", tmp_path))
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"id": "1", "task": "radiology_qa", "prediction": "x"}\n')  # no reference
    with pytest.raises(InputError, match="no records"):
        run_eval.main(parse(empty, "--out", tmp_path / "o"))


def test_module_runs_as_a_script(two_models, tmp_path):
    out = tmp_path / "cli"
    done = subprocess.run([sys.executable, "-m", "radphi.evaluation.run_eval", *map(str, two_models), "--out", str(out),
                           "--bootstrap", "0", "--no-progress"], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert (out / "metrics.csv").is_file() and (out / "report.html").is_file()
    bad = subprocess.run([sys.executable, "-m", "radphi.evaluation.run_eval", "--out", str(out)], capture_output=True,
                         text=True, timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
