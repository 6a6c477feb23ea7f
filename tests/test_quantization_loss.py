"""radphi.evaluation.quantization_loss: a checkpoint against its GGUFs through radphi eval's paired
differences, on a tiny model; and the table's sign (always GGUF − checkpoint)."""

from __future__ import annotations

import pandas as pd
import pytest

from radphi.evaluation.aggregate import PAIR_SEP
from radphi.evaluation.quantization_loss import loss_table, main
from radphi import records


def test_the_table_reads_every_pair_as_gguf_minus_checkpoint(tmp_path):
    rows = [
        {"model": "m checkpoint", "task": "t", "stratum": "all", "metric": "f1", "value": 0.8, "ci_low": 0.7,
         "ci_high": 0.9, "n": 10, "n_missing": 0},
        {"model": f"m checkpoint{PAIR_SEP}m q8_0", "task": "t", "stratum": "all", "metric": "f1", "value": 0.1,
         "ci_low": 0.02, "ci_high": 0.2, "n": 10, "n_missing": 0},
        {"model": f"m q4_k_m{PAIR_SEP}m checkpoint", "task": "t", "stratum": "all", "metric": "f1", "value": -0.3,
         "ci_low": -0.4, "ci_high": -0.2, "n": 10, "n_missing": 0},
        {"model": f"m q8_0{PAIR_SEP}m q4_k_m", "task": "t", "stratum": "all", "metric": "f1", "value": 0.5,
         "ci_low": 0.4, "ci_high": 0.6, "n": 10, "n_missing": 0},
    ]
    path = tmp_path / "metrics.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    t = loss_table(path, "m").set_index("gguf")
    assert list(t.index) == ["q4_k_m", "q8_0"]  # the GGUF-against-GGUF pair is left out
    assert tuple(t.loc["q8_0", ["gguf − checkpoint", "ci_low", "ci_high"]]) == pytest.approx((-0.1, -0.2, -0.02))
    assert tuple(t.loc["q4_k_m", ["gguf − checkpoint", "ci_low", "ci_high"]]) == pytest.approx((-0.3, -0.4, -0.2))
    assert (t["checkpoint"] == 0.8).all()


def test_a_tiny_checkpoint_against_its_gguf(tmp_path, tiny_phi_dir, capsys):
    inp = tmp_path / "impression_prediction.jsonl"
    records.write_jsonl(inp, [{"id": str(i), "findings": f"Small left effusion {i}.", "reference": "Left effusion."}
                              for i in range(4)])
    out = tmp_path / "out"
    assert main(["--gpu", str(tiny_phi_dir), "--name", "tiny", "--input", str(inp), "--quants", "f16",
                 "--out", str(out), "--bootstrap", "20", "--max-new-tokens", "4", "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    assert "f16" in printed and "rougeL" in printed
    assert (out / "tiny-f16.gguf").is_file() and (out / "eval" / "metrics.csv").is_file()
    preds = records.read_jsonl(out / "predictions" / "impression_prediction.f16.jsonl")
    assert len(preds) == 4 and preds[0]["model_info"]["form"] == "cpu"
    assert main(["--gpu", str(tiny_phi_dir), "--input", str(tmp_path / "missing.jsonl"), "--out", str(out)]) == 2
