"""lab.demo.synthetic.label_drills: the frames are scrambled, the label words, negations
and change wording stay, the gold labels are the record's own, deterministic from the seed."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lab.demo.synthetic.label_drills import build_label_drills, kept_words

REPORT = (" FINDINGS:\n \n Hyperinflation of the lungs is noted. There is no pneumothorax. Previously seen "
          "small left pleural effusion has resolved. The costophrenic angles are sharp.\n \n IMPRESSION:\n \n "
          "Hyperinflated lungs.")


def _write(path: Path, records: list[dict]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / "abnormality_labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_kept_words_are_the_label_words_negations_and_cues_not_the_frames():
    keep = kept_words()
    assert {"hyperinflation", "pneumothorax", "effusion", "no", "resolved", "previously", "sharp", "the"} <= keep
    assert not {"noted", "appearance", "projects", "consistent"} & keep


def test_drills_scramble_the_frames_and_keep_what_decides_the_labels(tmp_path: Path):
    records = [{"id": f"r{i}", "task": "abnormality_labels", "split": "train", "report": REPORT,
                "reference": "hyperaeration", "meta": {}} for i in range(20)]
    records.append({"id": "v", "task": "abnormality_labels", "split": "validation", "report": REPORT,
                    "reference": "hyperaeration", "meta": {}})
    _write(tmp_path / "src" / "train", records)
    n = build_label_drills(tmp_path / "out", [tmp_path / "src" / "train"], seed=1, n=10)
    drills = [json.loads(line) for line in (tmp_path / "out" / "train" / "abnormality_labels.jsonl").open()]
    assert n == len(drills) == 10 and all(d["id"].endswith("-label-drill") for d in drills)
    assert all(d["reference"] == "hyperaeration" and d["meta"]["augmentation"] == "label-drill" for d in drills)
    keep = kept_words()
    words = re.findall(r"[A-Za-z]+", REPORT)
    for d in drills:
        out = re.findall(r"[A-Za-z]+", d["report"])
        assert len(out) == len(words)
        assert all(a == b for a, b in zip(words, out, strict=True) if a.lower() in keep or a.isupper())
        assert "FINDINGS" in out
    # a frame word is drawn anew in each drill (from a pool this small, sometimes itself)
    assert sum("noted" in re.findall(r"[A-Za-z]+", d["report"]) for d in drills) < len(drills) / 2
    assert len({d["report"] for d in drills}) > 1
    again = tmp_path / "again"
    build_label_drills(again, [tmp_path / "src" / "train"], seed=1, n=10)
    assert (again / "train" / "abnormality_labels.jsonl").read_bytes() == \
        (tmp_path / "out" / "train" / "abnormality_labels.jsonl").read_bytes()
    with pytest.raises(ValueError, match="no training records"):
        build_label_drills(tmp_path / "none", [tmp_path / "missing"], n=5)
