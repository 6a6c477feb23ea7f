"""The README's picture: `python app.py` on the embedded demo model, Impression tab.

    .venv/bin/python scripts/screenshot_demo.py [--out docs/app.png]

Starts the app exactly as a newcomer does (`python app.py`, no --model, so the demo
model), drives Debian's /usr/bin/chromium through Playwright's Python package (never
`playwright install`), drafts an impression for the first example in
radphi/assets/examples/impression_prediction.jsonl and saves a screenshot.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))  # tests/localhost.py: the checkout's test helpers
    from tests.localhost import free_port, wait_until_serving

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "app.png")
    args = p.parse_args()
    example = ROOT / "radphi" / "assets" / "examples" / "impression_prediction.jsonl"
    findings = json.loads(example.read_text(encoding="utf-8").splitlines()[0])["findings"]
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT)
    try:
        wait_until_serving(proc, url, timeout=120)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            page.get_by_role("tab", name="Impression").click()
            page.locator("#impression-input textarea").fill(findings)
            page.locator("#impression-run").click()
            page.wait_for_function("() => /answer tokens/.test(document.querySelector('#impression-status')?.innerText || '')",
                                   timeout=60_000)
            draft = page.locator("#impression-draft textarea").input_value()
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
        print(f"wrote {args.out}; draft: {draft!r}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
