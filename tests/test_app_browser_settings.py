"""Settings, Stop and Batch in a real headless Chromium (issue 23; setup as in
tests/test_app_browser.py, whose browser and page fixtures these tests reuse):

- an answer cut by the token limit is marked "Cut off at N tokens" under it;
- the max-new-tokens slider's maximum follows the chosen model's context, and its value
  is lowered with it;
- Stop on a finished answer leaves its status alone, and Stop after an error keeps the error;
- the Batch tab shows one progress bar and a results table, and its Stop keeps the rows
  that finished (table, results file and summary agree).

Screenshots: tests/artifacts/cut-off.png, batch-stopped.png.
"""

from __future__ import annotations

import json

import pytest

from radphi.backends.fake import FakeBackend
from tests.localhost import free_port
from radphi.ui.context import UISettings
from tests.test_app_browser import browser, choose_model, page, shot, wait_done  # noqa: F401 (fixtures)
from tests.test_app_server import start_app

pytestmark = pytest.mark.usefixtures("chromium")  # skipped without it, failed in CI (tests/browser_env.py)

LONG = " ".join(f"word{i}" for i in range(300))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RADPHI_HOME", str(tmp_path_factory.mktemp("home")))
        extra = {"long": FakeBackend(f"fake:{LONG}", context_length=4096),
                 "short": FakeBackend("fake:A short answer.", context_length=300),
                 "rows": FakeBackend("fake:one two three four five six", delay=0.05)}
        demo, ctx, url = start_app(UISettings(port=free_port(), models=["fake:Done."]), mp, extra)
        yield {"url": url}
        demo.close()
        ctx.close()


def open_settings(page, tab: str) -> None:
    page.get_by_role("tabpanel").get_by_text("Generation settings").first.click()
    page.locator(f"#{tab}-max-new-tokens input[type=number]").wait_for()


def set_tokens(page, tab: str, n: int) -> None:
    """Type N into the max-new-tokens box until the slider holds it.

    The slider must take the typed value before the test goes on (a click that follows
    too soon sends the old value: a race seen as '256' in place of the typed number), and
    the model just chosen can reset the slider after the typing (its maximum follows the
    model's context), so the value is typed again until it stays."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.locator(f"#{tab}-max-new-tokens input[type=number]")
    for _attempt in range(6):
        box.fill(str(n))
        box.press("Enter")
        try:
            page.wait_for_function("([sel, n]) => document.querySelector(sel).value === n",
                                   arg=[f"#{tab}-max-new-tokens input[type=range]", str(n)], timeout=3_000)
        except PlaywrightTimeout:
            continue
        page.wait_for_timeout(300)  # and it stays there (no late reset from the model change)
        if page.locator(f"#{tab}-max-new-tokens input[type=range]").input_value() == str(n):
            return
    raise AssertionError(f"the max-new-tokens slider of {tab} never kept {n}")


def test_an_answer_cut_by_the_limit_is_marked(page):
    page.get_by_role("tab", name="Radiology Q&A").click()
    choose_model(page, "qa", "long")
    open_settings(page, "qa")
    set_tokens(page, "qa", 12)
    page.locator("#qa-question textarea").fill("Tell me everything about effusions.")
    page.locator("#qa-run").click()
    wait_done(page, "qa")
    mark = page.locator("#qa-status .rp-cut-off")
    assert mark.get_attribute("data-tokens") == "12"
    assert "Cut off at 12 tokens (the max new tokens limit): the answer is incomplete." in mark.inner_text()
    assert len(page.locator("#qa-answer textarea").input_value().split()) == 12
    shot(page, "cut-off.png")


def test_the_slider_follows_the_models_context(page):
    page.get_by_role("tab", name="Impression").click()
    open_settings(page, "impression")
    slider = page.locator("#impression-max-new-tokens input[type=range]")
    assert slider.get_attribute("max") == "2048"  # the default fake model's context
    set_tokens(page, "impression", 1000)
    choose_model(page, "impression", "short")
    page.wait_for_function("() => document.querySelector('#impression-max-new-tokens input[type=range]')"
                           ".getAttribute('max') === '300'", timeout=10_000)
    assert page.locator("#impression-max-new-tokens input[type=number]").input_value() == "300"
    choose_model(page, "impression", "long")
    page.wait_for_function("() => document.querySelector('#impression-max-new-tokens input[type=range]')"
                           ".getAttribute('max') === '4096'", timeout=10_000)


def test_stop_on_a_finished_answer_or_an_error_leaves_the_status_alone(page):
    page.get_by_role("tab", name="Radiology Q&A").click()
    choose_model(page, "qa", "short")
    page.locator("#qa-question textarea").fill("What is a pneumothorax?")
    page.locator("#qa-run").click()
    wait_done(page, "qa")
    status = page.locator("#qa-status")
    before = status.inner_text()
    page.locator("#qa-stop").click()
    page.wait_for_timeout(800)  # Stop's follow-up has run by now
    assert status.inner_text() == before and "Stopped" not in before
    assert page.locator("#qa-answer textarea").input_value() == "A short answer."
    page.locator("#qa-question textarea").fill("")
    page.locator("#qa-run").click()
    status.get_by_text("The question box is empty").wait_for(timeout=10_000)
    page.locator("#qa-stop").click()
    page.wait_for_timeout(800)
    assert "The question box is empty" in status.inner_text() and "Stopped" not in status.inner_text()


def test_batch_shows_one_progress_bar_and_its_stop_keeps_the_finished_rows(page, tmp_path):
    upload = tmp_path / "reports.jsonl"
    upload.write_text("".join(json.dumps({"id": f"r{i:02d}", "findings": f"Small effusion {i}."}) + "\n"
                              for i in range(40)))
    page.get_by_role("tab", name="Batch").click()
    choose_model(page, "batch", "rows")
    page.locator("#batch-upload input[type=file]").set_input_files(str(upload))
    page.locator("#batch-run").click()
    table = page.locator("#batch-table")
    rows = "() => +document.querySelector('#batch-table [role=grid]')?.getAttribute('aria-rowcount') - 1"
    page.wait_for_function(f"({rows})() >= 3", timeout=30_000)
    assert page.locator("progress").count() == 1  # ours; gradio's own is off for this event
    page.locator("#batch-stop").click()
    summary = page.locator("#batch-summary")
    summary.get_by_text("Stopped:").wait_for(timeout=30_000)
    text = summary.inner_text()
    done = int(text.split("Stopped: ")[1].split(" ")[0])
    assert 3 <= done < 40 and "done and kept in the table below and in the results file" in text
    assert page.evaluate(rows) == done
    table.scroll_into_view_if_needed()
    shown = page.evaluate("() => [...document.querySelectorAll('#batch-table .virtual-row')]"
                          ".map(row => row.querySelector('span.text')?.innerText.trim())")
    assert shown and shown == [f"r{i:02d}" for i in range(len(shown))]  # in order, from the first
    with page.expect_download() as download:
        page.locator("#batch-result a").first.click()
    kept = [json.loads(line) for line in open(download.value.path(), encoding="utf-8")]
    assert [r["id"] for r in kept] == [f"r{i:02d}" for i in range(done)]
    assert page.locator("progress").count() == 0
    shot(page, "batch-stopped.png")
