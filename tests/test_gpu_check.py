"""bench/gpu_check.py, the one-command GPU measurement, run on CPU with the tiny test Phi:
every path it measures on a GPU (single stream through HFBackend, batched radphi run,
the trainer in full and LoRA modes) runs and yields figures."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

pytest.importorskip("torch")
pytest.importorskip("trl")


def test_gpu_check_tiny_runs_every_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench import gpu_check

    out = tmp_path / "figures.json"
    assert gpu_check.main(["--tiny", "--runs", "2", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    single = figures["single"]
    assert len(single["new_tokens"]) == 2 and all(n > 0 for n in single["new_tokens"])
    assert single["decode_tps"] and all(r > 0 for r in single["decode_tps"])
    assert single["prompt_tokens"] >= 120
    (batch,) = figures["batch"].values()
    assert batch["records"] == 2 and batch["failed"] == 0 and batch["new_tokens"] > 0 and batch["tps"] > 0
    assert set(figures["train"]) == {"full", "lora"}
    assert all(row["tps"] and row["tps"] > 0 for row in figures["train"].values())
    printed = capsys.readouterr().out
    for line in ("single stream", "radphi run, batch 2", "train full", "train lora"):
        assert line in printed
    assert "goal not judged" in printed


def test_gpu_check_without_cuda_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from bench import gpu_check

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert gpu_check.main(["--only", "single"]) == 2
    assert "no CUDA device" in capsys.readouterr().err
