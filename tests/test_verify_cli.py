"""`radphi verify` and `radphi run --verify`: the checker's flags on records, counts per
category printed, outputs owner-only."""

from __future__ import annotations

import json
import stat

from radphi import records, runner
from radphi.backends import GenParams
from radphi.backends.fake import FakeBackend
from radphi.cli import main

FINDINGS = "Small left pleural effusion. No pneumothorax."


def write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_verify_writes_flags_and_prints_counts(tmp_path, capsys):
    src = write(tmp_path / "p.jsonl", [
        {"id": "a", "task": "impression_prediction", "findings": FINDINGS, "prediction": "Small right pleural effusion."},
        {"id": "b", "task": "impression_prediction", "findings": FINDINGS, "prediction": "Small left pleural effusion."},
        {"id": "c", "task": "impression_prediction", "findings": FINDINGS, "prediction": "Small pneumothorax."},
        "not json",
        {"id": "d", "task": "no_such_task", "prediction": "x"},
    ])
    out = tmp_path / "o.jsonl"
    assert main(["verify", str(src), "--output", str(out)]) == 0
    printed = capsys.readouterr()
    assert "3 records checked, 2 skipped" in printed.out
    assert "position             1 flags (1 significant)" in printed.out
    assert "false_finding        1 flags (1 significant)" in printed.out
    assert "p.jsonl:4" in printed.err and "no known task" in printed.err
    rows = records.read_jsonl(out)
    assert [len(r["flags"]) for r in rows] == [1, 0, 2]
    assert rows[0]["flags"][0]["category"] == "position" and rows[0]["flags"][0]["evidence"] == "Small left pleural effusion."
    assert {f["category"] for f in rows[2]["flags"]} == {"false_finding", "missed_finding"}
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_verify_refuses_a_missing_file_and_writing_over_its_input(tmp_path, capsys):
    assert main(["verify", str(tmp_path / "missing.jsonl")]) == 2
    src = write(tmp_path / "p.jsonl", [{"task": "impression_prediction", "findings": FINDINGS, "prediction": "x"}])
    assert main(["verify", str(src), "--output", str(src)]) == 2
    assert "another file" in capsys.readouterr().err


def test_run_verify_adds_flags_to_each_record(tmp_path):
    inp = write(tmp_path / "in.jsonl", [{"id": "1", "findings": FINDINGS}])
    backend = FakeBackend(answers=["Small right pleural effusion."])
    out = tmp_path / "out.jsonl"
    runner.run_file("impression_prediction", backend, inp, out, name="fake", params=GenParams(max_new_tokens=8),
                    progress=False, verify=True)
    (row,) = records.read_jsonl(out)
    assert [f["category"] for f in row["flags"]] == ["position"]
    plain = tmp_path / "plain.jsonl"
    runner.run_file("impression_prediction", FakeBackend(answers=["x"]), inp, plain, name="fake",
                    params=GenParams(max_new_tokens=8), progress=False)
    assert "flags" not in records.read_jsonl(plain)[0]
