#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (tests/test_app_browser*.py) when
# /usr/bin/chromium is missing. Idempotent. Playwright drives this browser through
# its Python package; never run `playwright install` (it downloads its own browser).
# With RADPHI_REQUIRE_BROWSER=1 (set by .ci/run) a browser it cannot install is an
# error, as the browser tests then fail instead of being skipped (tests/browser_env.py).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    if [ "${RADPHI_REQUIRE_BROWSER:-}" = "1" ]; then
      echo "install_browser.sh: /usr/bin/chromium is missing and this is not root (no sudo); RADPHI_REQUIRE_BROWSER=1 needs it" >&2
      exit 1
    fi
    echo "install_browser.sh: /usr/bin/chromium is missing and this is not root; the browser tests will be skipped" >&2
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
