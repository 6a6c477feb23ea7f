"""lab.demo.synthetic.case_noise: only case changes, only in the inputs of the tasks that
never copy their input, deterministic from the seed."""
from __future__ import annotations

import json
import random
from pathlib import Path

from lab.demo.synthetic.case_noise import (
    NOISY_TASKS,
    build_case_noised,
    case_noise,
    label_words,
    lower_sentence_starts,
)

REPORT = (" FINDINGS:\n \n There is a small left pleural effusion. A focal eventration of the right hemidiaphragm "
          "is noted. No pneumothorax.\n \n IMPRESSION:\n \n Small effusion.")


def test_noise_changes_case_only_and_leaves_section_names():
    rng = random.Random(0)
    noisy = [case_noise(REPORT, rng, p_capital=0.5, p_lower_start=0.5) for _ in range(20)]
    assert all(n.lower() == REPORT.lower() and len(n) == len(REPORT) for n in noisy)
    assert all("FINDINGS:" in n and "IMPRESSION:" in n for n in noisy)
    assert len(set(noisy)) > 10
    assert any("Eventration" in n for n in noisy) and any(" there is" in n for n in noisy)
    assert case_noise(REPORT, random.Random(0), p_capital=0.0, p_lower_start=0.0) == REPORT


def test_label_words_are_capitalised_more_often_when_asked_and_the_rest_as_before():
    terms = label_words()
    assert {"eventration", "hyperinflation", "effusion", "pneumothorax"} <= terms and "there" not in terms
    plain = [case_noise(REPORT, random.Random(i)) for i in range(200)]
    # P_TERM=0 draws exactly as before: same output for the same seed
    assert plain == [case_noise(REPORT, random.Random(i), p_term=0.0, terms=terms) for i in range(200)]
    termed = [case_noise(REPORT, random.Random(i), p_term=0.6, terms=terms) for i in range(200)]
    assert all(t.lower() == REPORT.lower() for t in termed)
    assert sum(" Eventration" in t for t in termed) > 2 * sum(" Eventration" in t for t in plain) + 40
    # a word that is not a label word keeps the base rate ("small" is in no label)
    assert abs(sum(" Small" in t for t in termed) - sum(" Small" in t for t in plain)) < 25


def test_lower_sentence_starts():
    assert lower_sentence_starts(REPORT).split("\n")[2] == (
        " there is a small left pleural effusion. A focal eventration of the right hemidiaphragm is noted. "
        "no pneumothorax.")
    assert "IMPRESSION:\n \n small effusion." in lower_sentence_starts(REPORT)


def write(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_build_noises_a_share_of_the_noisy_tasks_inputs_and_nothing_else(tmp_path: Path):
    src = tmp_path / "src"
    labels = [{"id": f"a{i}", "task": "abnormality_labels", "report": REPORT, "reference": "pleural effusion"}
              for i in range(200)]
    temporal = [{"id": f"t{i}", "task": "qa_temporal_findings", "report": REPORT, "prior_report": REPORT,
                 "reference": "Added: none. Removed: none."} for i in range(50)]
    copies = [{"id": f"e{i}", "task": "extract_findings", "report": REPORT, "reference": "There is a small"}
              for i in range(50)]
    write(src / "train" / "abnormality_labels.jsonl", labels)
    write(src / "train" / "qa_temporal_findings.jsonl", temporal)
    write(src / "train" / "extract_findings.jsonl", copies)
    changed = build_case_noised(src, tmp_path / "out", seed=3, share=0.5)
    assert set(changed) <= set(NOISY_TASKS) and 70 < changed["abnormality_labels"] < 130
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["case_noise"]["changed"] == changed
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["case_noise"]["p_term"] == 0.0

    def read(name: str) -> list[dict]:
        return [json.loads(line) for line in (tmp_path / "out" / "train" / name).read_text().splitlines()]

    out = read("abnormality_labels.jsonl")
    assert [r["reference"] for r in out] == [r["reference"] for r in labels]
    assert all(r["report"].lower() == REPORT.lower() for r in out)
    assert 70 < sum(r["report"] != REPORT for r in out) < 130
    assert read("extract_findings.jsonl") == copies
    assert any(r["prior_report"] != REPORT for r in read("qa_temporal_findings.jsonl"))
    again = build_case_noised(src, tmp_path / "again", seed=3, share=0.5)
    assert again == changed and (tmp_path / "again" / "train" / "abnormality_labels.jsonl").read_text() == \
        (tmp_path / "out" / "train" / "abnormality_labels.jsonl").read_text()
