"""What radphi writes that holds report text is owner-only (0600), whatever the umask;
RADPHI_HOME is 0700 from its creation."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest

from radphi import files, records, settings
from radphi.cli import main


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture(autouse=True)
def permissive_umask():
    """The common umask, under which a plain open() makes files 0644."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def wide_file(path: Path, text: str = "") -> Path:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o644)
    return path


QA = [{"id": f"q{i}", "question": "What is the silhouette sign?"} for i in range(3)]


def test_radphi_run_output_is_owner_only_also_when_resumed_from_a_wider_file(tmp_path):
    inp = tmp_path / "in.jsonl"
    records.write_jsonl(inp, QA)
    out = tmp_path / "new" / "out.jsonl"
    assert main(["run", "radiology_qa", "--model", "fake:ok", "--input", str(inp), "--output", str(out),
                 "--no-progress"]) == 0
    assert mode(out) == 0o600
    # An earlier run's file (copied in, or from an older radphi) at 0644: resuming tightens it.
    resumed = wide_file(tmp_path / "resumed.jsonl", json.dumps({"id": "q0", "prediction": "x"}) + "\n")
    assert main(["run", "radiology_qa", "--model", "fake:ok", "--input", str(inp), "--output", str(resumed),
                 "--no-progress"]) == 0
    assert mode(resumed) == 0o600
    assert len(records.read_jsonl(resumed)) == 3


def test_verify_output_is_owner_only_and_replaces_a_wider_file(tmp_path):
    pred = tmp_path / "pred.jsonl"
    records.write_jsonl(pred, [{"id": "1", "task": "impression_prediction", "findings": "Small left effusion.",
                                "prediction": "Small left effusion."}])
    out = wide_file(tmp_path / "flags.jsonl", "old contents\n")
    assert main(["verify", str(pred), "--output", str(out)]) == 0
    assert mode(out) == 0o600
    assert [r["id"] for r in records.read_jsonl(out)] == ["1"]


def test_eval_outputs_are_owner_only(tmp_path):
    pred = tmp_path / "pred.jsonl"
    records.write_jsonl(pred, [{**r, "task": "radiology_qa", "reference": "Loss of a border.",
                                "prediction": "Loss of a border.", "model": "m"} for r in QA])
    out = tmp_path / "eval"
    out.mkdir()
    wide_file(out / "metrics.csv")
    assert main(["eval", str(pred), "--out", str(out), "--bootstrap", "20", "--no-progress", "--no-verify"]) == 0
    for name in ("records.csv", "metrics.csv", "report.html"):
        assert mode(out / name) == 0o600, name
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_training_data_written_by_write_jsonl_is_owner_only(tmp_path):
    path = wide_file(tmp_path / "train.jsonl", "old\n")
    assert records.write_jsonl(path, [{"id": "1", "text": "No effusion."}]) == 1
    assert mode(path) == 0o600 and records.read_jsonl(path) == [{"id": "1", "text": "No effusion."}]


def test_write_private_text_replaces_a_wider_file_atomically(tmp_path):
    (tmp_path / "d").mkdir()
    path = wide_file(tmp_path / "d" / "report.txt", "old")
    files.write_private_text(path, "new")
    assert mode(path) == 0o600 and path.read_text() == "new"
    with pytest.raises(RuntimeError):
        with files.atomic_private_file(path) as fh:
            fh.write("half")
            raise RuntimeError("killed midway")
    assert path.read_text() == "new" and sorted(p.name for p in path.parent.iterdir()) == ["report.txt"]


def test_write_through_a_symlink_replaces_its_target_not_the_link(tmp_path):
    target = wide_file(tmp_path / "real.html", "old")
    link = tmp_path / "link.html"
    link.symlink_to(target)
    files.write_private_text(link, "new")
    assert link.is_symlink() and target.read_text() == "new" and mode(target) == 0o600


@pytest.mark.parametrize("how", ["w", "a", "wb", "x"])
def test_open_private_modes(tmp_path, how):
    path = tmp_path / "f"
    if how != "x":
        wide_file(path, "keep ")
    with files.open_private(path, how, **({} if "b" in how else {"encoding": "utf-8"})) as fh:
        fh.write(b"text" if "b" in how else "text")
    assert mode(path) == 0o600
    assert path.read_text() == ("keep text" if how == "a" else "text")


def test_open_private_leaves_a_file_it_cannot_tighten_untouched(tmp_path, monkeypatch):
    path = wide_file(tmp_path / "theirs", "their data")

    def refuse(fd, mode):
        raise PermissionError("not the owner")

    monkeypatch.setattr(files.os, "fchmod", refuse)
    with pytest.raises(PermissionError):
        files.open_private(path, "w")
    assert path.read_text() == "their data"


def test_radphi_home_is_created_owner_only(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("RADPHI_HOME", str(home))
    assert settings.radphi_home() == home
    assert home.is_dir() and mode(home) == 0o700


def test_an_existing_open_home_is_tightened_with_a_warning(tmp_path, monkeypatch, caplog):
    home = tmp_path / "open_home"
    home.mkdir()
    os.chmod(home, 0o755)
    monkeypatch.setenv("RADPHI_HOME", str(home))
    with caplog.at_level(logging.WARNING, logger="radphi.files"):
        settings.radphi_home()
    assert mode(home) == 0o700
    assert "could be read by other users" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="radphi.files"):
        settings.radphi_home()
    assert caplog.text == ""  # already private: nothing to say


def test_another_users_home_is_warned_about_not_changed(tmp_path, monkeypatch, caplog):
    home = tmp_path / "shared_home"
    home.mkdir()
    os.chmod(home, 0o755)
    monkeypatch.setenv("RADPHI_HOME", str(home))
    monkeypatch.setattr(files.os, "geteuid", lambda: os.getuid() + 1)
    with caplog.at_level(logging.WARNING, logger="radphi.files"):
        settings.radphi_home()
    assert mode(home) == 0o755 and "not ours to tighten" in caplog.text


def test_an_unwritable_home_location_is_returned_not_raised(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("RADPHI_HOME", str(blocker / "home"))
    assert settings.radphi_home() == blocker / "home"


def test_private_dir_creates_and_tightens(tmp_path):
    new = files.private_dir(tmp_path / "a" / "b")
    assert mode(new) == 0o700
    os.chmod(new, 0o750)
    assert files.private_dir(new) == new and mode(new) == 0o700
