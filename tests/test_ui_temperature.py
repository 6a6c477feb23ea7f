"""The temperature set on the page reaches the model: every tab's handler, given a
non-zero temperature (and a fixed seed), decodes every one of its requests with exactly
that temperature and seed (FakeBackend records each request's GenParams)."""

from __future__ import annotations

import pytest

from radphi.backends.fake import FakeBackend
from radphi.ui import batch, compare, impression, labels_tab, qa, report_tools
from tests.test_ui_handlers import REPORT, last, make_ctx

TEMPERATURE, SEED = 0.7, 1234
CURRENT, PRIOR = "Moderate left pleural effusion, increased.", "Small left pleural effusion."


def _qa(ctx):
    return last(qa.answer(ctx, "What is a pneumothorax?", "", "m", 32, TEMPERATURE, "token", seed=SEED))


def _impression(ctx):
    return last(impression.draft(ctx, REPORT, "m", 32, TEMPERATURE, "token", seed=SEED))


def _ask(ctx):
    return last(report_tools.run_tool(ctx, "ask", REPORT, "Which side?", "m", 32, TEMPERATURE, "token", seed=SEED))


def _extract(ctx):  # a report without a FINDINGS header goes to the model
    return last(report_tools.run_tool(ctx, "extract_findings", "Small left effusion. No pneumothorax.", "", "m", 32,
                                      TEMPERATURE, "token", seed=SEED))


def _labels(ctx):
    return last(labels_tab.tag(ctx, REPORT, "m", 32, TEMPERATURE, "token", seed=SEED))


def _compare(ctx):
    return last(compare.compare(ctx, CURRENT, PRIOR, "m", 32, TEMPERATURE, "token", seed=SEED))


@pytest.mark.parametrize("run, n_requests", [
    (_qa, 1), (_impression, 1), (_ask, 1), (_extract, 1), (_labels, 2), (_compare, 2),
], ids=["qa", "impression", "ask", "extract", "labels", "compare"])
def test_each_tab_samples_at_the_chosen_temperature(tmp_path, run, n_requests):
    fake = FakeBackend("fake:An answer.")
    run(make_ctx(tmp_path, {"m": fake}))
    assert len(fake.params) == n_requests
    assert [(p.temperature, p.seed) for p in fake.params] == [(TEMPERATURE, SEED)] * n_requests


def test_the_batch_tab_samples_at_the_chosen_temperature(tmp_path):
    fake = FakeBackend("fake:An impression.")
    upload = tmp_path / "in.csv"
    upload.write_text("id,findings\na,Small effusion.\nb,Clear lungs.\n", encoding="utf-8")
    path, summary = batch.run_batch(make_ctx(tmp_path, {"m": fake}), str(upload), "impression_prediction", "m", 32,
                                    TEMPERATURE, "token", SEED)
    assert path and "2 rows done" in summary
    assert [(p.temperature, p.seed) for p in fake.params] == [(TEMPERATURE, SEED)] * 2
