"""The app's private workdirs left behind by killed processes are removed at the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from radphi.ui import context
from radphi.ui.context import OWNER_FILE, UISettings, create_context, process_start, remove_stale_workdirs

HOUR = 3600


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    d = tmp_path / "tmp"
    d.mkdir()
    return d


def workdir(tmp: Path, name: str, owner: str | None = None) -> Path:
    path = tmp / f"radphi-app-{name}"
    path.mkdir(mode=0o700)
    (path / "gradio").mkdir()
    (path / "gradio" / "upload.csv").write_text("id,findings\n1,Small effusion.\n")
    if owner is not None:
        (path / OWNER_FILE).write_text(owner + "\n")
    return path


def age(path: Path, seconds: float) -> None:
    """Make PATH and everything directly in it look untouched for SECONDS."""
    then = time.time() - seconds
    for p in [*path.iterdir(), path]:
        os.utime(p, (then, then), follow_symlinks=False)


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def me() -> str:
    return f"{os.getpid()} {process_start(os.getpid()) or ''}".strip()


def test_the_workdir_of_a_dead_process_is_removed(tmp):
    dead = workdir(tmp, "dead", str(dead_pid()))
    assert remove_stale_workdirs(tmp) == [dead]
    assert not dead.exists()


def test_the_workdir_of_a_live_process_stays(tmp):
    live = workdir(tmp, "live", me())
    also_live = workdir(tmp, "pid-only", str(os.getpid()))  # no start time recorded: a live pid is the owner
    age(live, 2 * HOUR)
    assert remove_stale_workdirs(tmp) == []
    assert live.is_dir() and also_live.is_dir()


@pytest.mark.skipif(process_start(os.getpid()) is None, reason="needs /proc for start times")
def test_a_reused_pid_is_not_taken_for_the_owner(tmp):
    start = int(process_start(os.getpid()))
    reused = workdir(tmp, "reused", f"{os.getpid()} {start + 1}")
    assert remove_stale_workdirs(tmp) == [reused]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc for process states")
def test_a_killed_but_unreaped_owner_counts_as_dead(tmp):
    proc = subprocess.Popen(["sleep", "60"])
    try:
        zombie = workdir(tmp, "zombie", f"{proc.pid} {process_start(proc.pid)}")
        proc.kill()
        for _ in range(100):  # until the kernel has made it a zombie
            if Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                break
            time.sleep(0.01)
        assert remove_stale_workdirs(tmp) == [zombie]
    finally:
        proc.wait()


def test_a_workdir_without_owner_is_removed_only_after_an_hour(tmp):
    young = workdir(tmp, "young")
    old = workdir(tmp, "old")
    age(old, 2 * HOUR)
    busy = workdir(tmp, "busy")  # the directory is old but an upload in it is new
    age(busy, 2 * HOUR)
    os.utime(busy / "gradio", None)
    unreadable = workdir(tmp, "garbled", "not a pid")
    age(unreadable, 2 * HOUR)
    assert sorted(remove_stale_workdirs(tmp)) == sorted([old, unreadable])
    assert young.is_dir() and busy.is_dir()
    assert sorted(remove_stale_workdirs(tmp, now=time.time() + 2 * HOUR)) == sorted([young, busy])


def test_symlinks_and_files_with_the_prefix_are_left_alone(tmp, tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / OWNER_FILE).write_text(f"{dead_pid()}\n")
    (target / "keep.txt").write_text("keep")
    age(target, 2 * HOUR)
    (tmp / "radphi-app-link").symlink_to(target)
    (tmp / "radphi-app-file").write_text("a file")
    assert remove_stale_workdirs(tmp) == []
    assert (tmp / "radphi-app-link").is_symlink() and (target / "keep.txt").read_text() == "keep"
    assert (tmp / "radphi-app-file").is_file()


def test_another_users_workdir_is_skipped(tmp, monkeypatch):
    theirs = workdir(tmp, "theirs", str(dead_pid()))
    monkeypatch.setattr(context.os, "geteuid", lambda: os.getuid() + 1)
    assert remove_stale_workdirs(tmp) == []
    assert theirs.is_dir()


def test_other_names_are_not_touched(tmp):
    other = tmp / "something-else"
    other.mkdir()
    (other / OWNER_FILE).write_text(f"{dead_pid()}\n")
    assert remove_stale_workdirs(tmp) == [] and other.is_dir()


CHILD = """
import sys, time
from radphi.ui.context import UISettings, create_context
ctx = create_context(UISettings(models=["fake:ok"]), store=object())
(ctx.workdir / "gradio" / "upload.txt").write_text("uploaded report text")
print(ctx.workdir, flush=True)
time.sleep(120)
"""


def test_a_killed_apps_workdir_is_removed_by_the_next_create_context(tmp, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("GRADIO_TEMP_DIR", "")  # restored afterwards; create_context points it into its workdir
    env = {**os.environ, "TMPDIR": str(tmp)}
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, env=env,
                             cwd=Path(__file__).resolve().parent.parent)
    try:
        killed = Path(child.stdout.readline().strip())
        assert killed.parent == tmp and (killed / OWNER_FILE).is_file()
        assert (killed / "gradio" / "upload.txt").is_file()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    ctx = create_context(UISettings(models=["fake:ok"]), store=object())
    try:
        assert not killed.exists()
        assert ctx.workdir.is_dir() and ctx.workdir.parent == tmp
        assert (ctx.workdir / OWNER_FILE).read_text().split()[0] == str(os.getpid())
        # A second app in this process keeps the first one's workdir.
        second = create_context(UISettings(models=["fake:ok"]), store=object())
        assert ctx.workdir.is_dir()
        second.close()
    finally:
        ctx.close()
