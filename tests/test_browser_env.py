"""A missing Chromium: the browser tests are skipped on a developer's machine and fail in
CI (RADPHI_REQUIRE_BROWSER=1, which .ci/run sets), and the install script fails there
too when it cannot install the browser (tests/browser_env.py, scripts/install_browser.sh)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.browser_env import REQUIRE_ENV, chromium_or_skip

ROOT = Path(__file__).resolve().parents[1]


def test_a_missing_browser_is_skipped_locally_and_fails_where_required(tmp_path, monkeypatch):
    missing = str(tmp_path / "no-chromium")
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-chromium is missing"):
        chromium_or_skip(missing)
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="RADPHI_REQUIRE_BROWSER=1 .CI. makes that an error"):
        chromium_or_skip(missing)
    present = tmp_path / "chromium"
    present.write_text("")
    assert chromium_or_skip(str(present)) == str(present)


def test_ci_requires_the_browser_before_installing_it():
    run = (ROOT / ".ci" / "run").read_text()
    assert run.index(f"export {REQUIRE_ENV}=1") < run.index("install_browser.sh") < run.index("pytest")


@pytest.mark.parametrize("required, status", [("", 0), ("1", 1)])
def test_install_script_without_root_or_sudo_fails_only_where_required(tmp_path, required, status):
    # A copy of the script that looks for a browser that is not there, run as a user
    # (a stub `id`) with nothing else on PATH: no sudo, so it cannot install.
    script = tmp_path / "install_browser.sh"
    script.write_text((ROOT / "scripts" / "install_browser.sh").read_text().replace(
        "/usr/bin/chromium", str(tmp_path / "no-chromium")))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "id").write_text("#!/bin/sh\necho 1000\n")
    (bin_dir / "id").chmod(0o755)
    env = {"PATH": str(bin_dir), REQUIRE_ENV: required, "HOME": os.environ.get("HOME", "/tmp")}
    done = subprocess.run(["/bin/bash", str(script)], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == status, done.stderr
    assert ("RADPHI_REQUIRE_BROWSER=1 needs it" if required else "will be skipped") in done.stderr
