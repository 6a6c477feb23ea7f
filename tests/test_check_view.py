"""The checker's panel on each task tab: flags shown with their reasons once an answer
is complete, the urgent banner, the "possibly missed" list, and text that stays text."""

from __future__ import annotations

from radphi.backends.fake import FakeBackend
from radphi.ui import check_view, compare, impression, labels_tab, qa, report_tools
from tests.test_ui_handlers import GEN, last, make_ctx

REPORT = ("FINDINGS: Small right pneumothorax. No pleural effusion. Right internal jugular line terminates in the "
          "mid SVC.\nIMPRESSION: Small right pneumothorax.")


def test_impression_panel_flags_a_flipped_side_and_lists_what_was_missed(tmp_path):
    ctx = make_ctx(tmp_path, {"m": FakeBackend(answers=["Left internal jugular line in the SVC."])})
    used, draft, _, panel = last(impression.draft(ctx, REPORT, "m", *GEN))
    assert "rp-flagged" in panel and "the source says the right" in panel
    assert "Possibly missed" in panel and "pneumothorax (significant)" in panel
    assert "rp-critical" in panel and "Possible urgent finding" in panel
    # The user's edit is checked again on request.
    fixed = impression.recheck(used, "Small right pneumothorax. Right internal jugular line in the SVC.")
    assert "Checker: no flags." in fixed and "rp-flagged" not in fixed


def test_labels_panel_flags_a_negated_label(tmp_path):
    fake = FakeBackend(answers=["pneumothorax, pleural effusion", "ij line"])
    ctx = make_ctx(tmp_path, {"m": fake})
    *_, panel = last(labels_tab.tag(ctx, REPORT, "m", *GEN))
    assert "False finding" in panel and "No pleural effusion." in panel
    assert panel.count("rp-flagged") == 1


def test_compare_and_tools_panels(tmp_path):
    (tmp_path / "tools").mkdir()
    fake = FakeBackend(answers=["Added: pneumothorax. Removed: none.", "pneumothorax: improved"])
    ctx = make_ctx(tmp_path, {"m": fake})
    *_, panel = last(compare.compare(ctx, "FINDINGS: New small right pneumothorax.", "FINDINGS: No pneumothorax.",
                                     "m", *GEN))
    assert "Severity" in panel and "the answer says improved" in panel
    ctx = make_ctx(tmp_path / "tools", {"m": FakeBackend(answers=["No pleural effusion."])})
    headerless = REPORT.replace("FINDINGS: ", "").split("\nIMPRESSION")[0]  # no section: the model answers
    *_, panel, _ = last(report_tools.run_tool(ctx, "extract_findings", headerless, "", "m", *GEN, False))
    assert "pneumothorax (significant)" in panel


def test_qa_says_there_is_no_source_to_check(tmp_path):
    ctx = make_ctx(tmp_path, {"m": FakeBackend(answers=["Air in the pleural space."])})
    *_, panel = last(qa.answer(ctx, "What is a pneumothorax?", None, "m", *GEN))
    assert panel == check_view.NO_SOURCE


def test_report_text_in_the_panel_stays_text():
    payload = "<img src=x onerror=alert(1)> ${alert(2)} small left pleural effusion."
    result = check_view.run("impression_prediction", {"findings": "Small right pleural effusion."}, payload)
    html = check_view.check_html(result)
    assert "<img" not in html and "&lt;img" in html and "${" not in html
