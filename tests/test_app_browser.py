"""The workbench in a real headless Chromium (Debian's /usr/bin/chromium through
Playwright's Python package; never `playwright install`).

- Impression: typed, clicked, streamed; the text shown equals the tiny GGUF's greedy
  output computed directly with the backend.
- Labels: chips render in their groups.
- Stop: a slow answer stops growing once Stop is clicked, and the page says so.
- Batch: an upload runs, bad rows are listed, the results can be downloaded.
- Injection: a report and model output carrying `<img src=x onerror=...>`, `<script>`
  and template syntax show as text on every tab that renders HTML (Labels, Compare,
  and the Batch summary, through a CSV header); no dialog fires.
- The page asks no host but the app's own.

Screenshots go to tests/artifacts/ (git-ignored); impression.png is the README's.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from radphi.backends import GenParams, Request
from radphi.backends.fake import FakeBackend
from radphi.backends.llamacpp import LlamaCppBackend
from radphi.ui.context import UISettings
from tests.test_app_server import free_port, start_app
from tests.test_ui_handlers import ThreadRecordingBackend
from tests.browser_env import CHROMIUM
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
FINDINGS = "There is a small left pleural effusion with adjacent atelectasis. No pneumothorax."
IMG = "<img src=x onerror=alert(1)>"
PAYLOAD = f"{IMG} <script>alert(2)</script> ${{alert(3)}} {{{{constructor}}}}"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.usefixtures("chromium")  # skipped without it, failed in CI (tests/browser_env.py)


class PayloadBackend(FakeBackend):
    """Answers every task with the payload inside an answer the task's parser keeps."""

    ANSWERS = {
        "abnormality_labels": f"pleural effusion, {PAYLOAD}",
        "tubes_lines_devices_labels": f"NG tube, {PAYLOAD}",
        "qa_temporal_findings": f"Added: {PAYLOAD}. Removed: endotracheal tube.",
        "qa_temporal_progression": f"{PAYLOAD}: worsened\natelectasis: improved",
    }

    def _answer(self, request):
        self.requests.append(request)
        return self.ANSWERS.get(request.task, f"echo: {request.instruction}")


class FlippedSideBackend(FakeBackend):
    """Drafts an impression that puts the report's right internal jugular line on the left."""

    def _answer(self, request):
        self.requests.append(request)
        return ("Small right apical pneumothorax. Left internal jugular line terminates in the mid SVC. "
                "Small left pleural effusion.")


class TemporalBackend(FakeBackend):
    """Answers the comparison as a careful model would (the README's picture of Compare)."""

    ANSWERS = {
        "qa_temporal_findings": "Added: lung opacity. Removed: none.",
        "qa_temporal_progression": "pleural effusion: worsened\nlung opacity: worsened",
    }

    def _answer(self, request):
        self.requests.append(request)
        return self.ANSWERS.get(request.task, f"echo: {request.instruction}")


CHECK_FINDINGS = ("Small right apical pneumothorax. Right internal jugular line terminates in the mid SVC. "
                  "Small left pleural effusion. No consolidation.")


@pytest.fixture(scope="module")
def app(tiny_phi_gguf, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RADPHI_HOME", str(tmp_path_factory.mktemp("home")))
        settings = UISettings(port=free_port(), models=[str(tiny_phi_gguf)], threads=1)
        slow = ThreadRecordingBackend()  # streams "w0 w1 ..." every 5 ms until closed
        demo, ctx, url = start_app(settings, mp, {"payload": PayloadBackend(), "slow": slow,
                                                   "flipped": FlippedSideBackend(),
                                                   "temporal": TemporalBackend()})
        yield {"url": url, "slow": slow}
        demo.close()
        ctx.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app):
    """A fresh page on the app, recording every request it makes and every dialog."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.requests, page.dialogs = [], []
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(app["url"])
    page.get_by_text("Decision support, not a diagnosis").wait_for()
    yield page
    context.close()
    hosts = {urlsplit(u).hostname for u in page.requests if not u.startswith(("data:", "blob:"))}
    assert hosts <= {"127.0.0.1"}, f"the page asked other hosts: {hosts}"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def choose_model(page, tab: str, name: str) -> None:
    page.locator(f"#{tab}-model input").click()
    page.locator("[role=option]", has_text=name).click()
    page.locator(f"#{tab}-model-info").get_by_text("backend fake").wait_for()


def wait_done(page, tab: str, count: int = 1) -> None:
    """The latency line appears once per generation, after the stream ends."""
    status = page.locator(f"#{tab}-status")
    page.wait_for_function(
        "([sel, n]) => (document.querySelector(sel)?.innerText.match(/answer tokens/g) || []).length >= n",
        arg=[f"#{tab}-status", count], timeout=60_000)
    assert "answer tokens" in status.inner_text()


def test_impression_streams_the_backends_greedy_output(page, tiny_phi_gguf):
    expected = LlamaCppBackend(str(tiny_phi_gguf), n_threads=1).generate(
        Request.build("impression_prediction", {"findings": FINDINGS}), GenParams(max_new_tokens=256)).text
    assert expected.strip()
    page.get_by_role("tab", name="Impression").click()
    page.locator("#impression-input textarea").fill(FINDINGS)
    page.locator("#impression-run").click()
    wait_done(page, "impression")
    shown = page.locator("#impression-draft textarea").input_value()
    assert shown == expected
    assert page.locator("#impression-findings textarea").input_value() == FINDINGS
    assert "tok/s" in page.locator("#impression-status").inner_text()
    shot(page, "impression.png")


def test_labels_render_chips_in_two_groups(page):
    page.get_by_role("tab", name="Labels").click()
    choose_model(page, "labels", "payload")
    page.locator("#labels-input textarea").fill("FINDINGS: Small left effusion. NG tube below the diaphragm.")
    page.locator("#labels-run").click()
    wait_done(page, "labels", 2)
    chips = page.locator("#labels-chips")
    assert chips.locator(".rp-group-abnormality .rp-chip").all_inner_texts() == ["pleural effusion"]
    assert chips.locator(".rp-group-device .rp-chip").all_inner_texts() == ["enteric tube"]
    assert chips.locator(".rp-group-unknown .rp-chip").count() >= 1
    shot(page, "labels.png")


@pytest.mark.parametrize("tab, fill, view, count", [
    ("labels", ["#labels-input"], "#labels-chips", 2),
    ("compare", ["#compare-current", "#compare-prior"], "#compare-result", 2),
])
def test_injected_markup_shows_as_text_and_runs_nothing(page, tab, fill, view, count):
    page.get_by_role("tab", name={"labels": "Labels", "compare": "Compare with prior"}[tab]).click()
    choose_model(page, tab, "payload")
    for selector in fill:
        page.locator(f"{selector} textarea").fill(f"FINDINGS: {PAYLOAD} Small effusion.")
    page.locator(f"#{tab}-run").click()
    wait_done(page, tab, count)
    rendered = page.locator(view)
    assert IMG in rendered.inner_text()  # visible, as text
    assert "${alert(3)}" in rendered.inner_text() and "{{constructor}}" in rendered.inner_text()
    assert rendered.locator("img").count() == 0 and rendered.locator("script").count() == 0
    page.wait_for_timeout(300)  # give a stray handler time to fire
    assert page.dialogs == []
    shot(page, f"injection-{tab}.png")


def test_stop_ends_the_stream_and_says_so(page, app):
    slow = app["slow"]
    page.get_by_role("tab", name="Radiology Q&A").click()
    choose_model(page, "qa", "slow")
    page.locator("#qa-question textarea").fill("Please talk for a long time.")
    page.locator("#qa-run").click()
    answer = page.locator("#qa-answer textarea")
    page.wait_for_function("() => document.querySelector('#qa-answer textarea').value.length > 20", timeout=30_000)
    page.locator("#qa-stop").click()
    page.locator("#qa-status").get_by_text("Stopped").wait_for(timeout=10_000)
    for _ in range(50):  # the server closes the model's stream, on the thread that ran it
        if slow.closed_on is not None:
            break
        page.wait_for_timeout(100)
    assert slow.closed_on is not None and slow.threads == {slow.closed_on}
    length = len(answer.input_value())
    page.wait_for_timeout(500)  # a running stream would add ~100 words by now
    assert len(answer.input_value()) == length > 0


def test_batch_runs_an_upload_and_offers_the_results(page, tmp_path):
    upload = tmp_path / "two.jsonl"
    upload.write_text('{"id": "a", "findings": "Small effusion."}\n{"id": "b", "findings": ""}\n')
    page.get_by_role("tab", name="Batch").click()
    page.locator("#batch-upload input[type=file]").set_input_files(str(upload))
    page.locator("#batch-run").click()
    summary = page.locator("#batch-summary")
    summary.get_by_text("1 line done, 1 not done").wait_for(timeout=60_000)
    assert "line 2: impression_prediction: empty or missing input field(s): findings" in summary.inner_text()
    result = page.locator("#batch-result")
    result.get_by_text(".jsonl").first.wait_for()
    href = result.locator("a[href]").first.get_attribute("href")
    body = page.request.get(href if href.startswith("http") else page.url.rstrip("/") + "/" + href.lstrip("/"))
    rows = [json.loads(line) for line in body.text().splitlines()]
    assert [r["id"] for r in rows] == ["a"] and {"prediction", "parsed", "model_info"} <= set(rows[0])
    shot(page, "batch.png")


def test_batch_summary_shows_a_hostile_header_as_text(page, tmp_path):
    upload = tmp_path / "hostile.csv"
    upload.write_text(f"id,{IMG}\n1,x\n")
    page.get_by_role("tab", name="Batch").click()
    page.locator("#batch-upload input[type=file]").set_input_files(str(upload))
    page.locator("#batch-run").click()
    summary = page.locator("#batch-summary")
    summary.get_by_text("no column").wait_for(timeout=30_000)
    assert IMG in summary.inner_text() and summary.locator("img").count() == 0
    page.wait_for_timeout(300)
    assert page.dialogs == []


def test_checker_highlights_a_flipped_side_and_shows_the_urgent_banner(page):
    page.get_by_role("tab", name="Impression").click()
    choose_model(page, "impression", "flipped")
    page.locator("#impression-input textarea").fill(CHECK_FINDINGS)
    page.locator("#impression-run").click()
    wait_done(page, "impression")
    check = page.locator("#impression-check")
    flagged = check.locator("details.rp-flagged")
    flagged.first.wait_for(timeout=30_000)
    assert flagged.count() == 1
    summary = flagged.first.locator("summary")
    assert summary.inner_text().startswith("Left internal jugular line")
    # Hover shows the source and the reason; a click opens them in the page.
    title = flagged.first.get_attribute("title")
    assert "Right internal jugular line terminates in the mid SVC." in title and "on the left" in title
    summary.click()
    why = flagged.first.locator(".rp-flag-why")
    why.wait_for()
    assert "Position" in why.inner_text() and "the source says the right" in why.inner_text()
    # The supported sentences are not highlighted as flagged, and show their source.
    assert check.locator("details.rp-sent").count() == 3
    banner = check.locator(".rp-critical")
    assert banner.is_visible() and "pneumothorax" in banner.inner_text()
    assert "not a diagnosis" in banner.inner_text()
    shot(page, "checker-full.png")
    # The README's picture (docs/checker.png): the draft and the checker's panel.
    page.evaluate("window.scrollTo(0, 0)")
    top, end = page.locator("#impression-findings").bounding_box(), check.bounding_box()
    page.screenshot(path=str(ARTIFACTS / "checker.png"), full_page=True,
                    clip={"x": 0, "y": top["y"] - 12, "width": 1280, "height": end["y"] + end["height"] - top["y"] + 24})

