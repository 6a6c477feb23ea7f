"""Where the browser tests find Chromium, and what a missing one means: on a developer's
machine the browser tests are skipped; where RADPHI_REQUIRE_BROWSER=1 (set by .ci/run)
they fail, so CI can never pass without having run them. Tests ask for the `chromium`
fixture (tests/conftest.py), which calls `chromium_or_skip`."""

from __future__ import annotations

import os

import pytest

CHROMIUM = "/usr/bin/chromium"  # Debian's, installed by scripts/install_browser.sh
REQUIRE_ENV = "RADPHI_REQUIRE_BROWSER"


def chromium_or_skip(path: str = CHROMIUM) -> str:
    """PATH when the browser is there; else skip the test, or fail it under RADPHI_REQUIRE_BROWSER=1."""
    if os.path.exists(path):
        return path
    message = f"{path} is missing: install Debian's chromium (bash scripts/install_browser.sh)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{message}; {REQUIRE_ENV}=1 (CI) makes that an error", pytrace=False)
    pytest.skip(message)
