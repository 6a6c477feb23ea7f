"""The Reviewer and Dashboard tabs and the "Send to review set" button: handlers as plain
functions, the panel through gradio_client on a live app (without and with --auth, roles
included), and one review submitted by clicking and typing in a real Chromium.

Everywhere: no answer the reviewer's page or API gets names a model."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

from radphi.backends.fake import FakeBackend
from radphi.review import ErrorCategory, ReviewStore
from radphi.ui import common, dashboard, review
from radphi.ui.context import UISettings
from tests.browser_env import CHROMIUM
from tests.test_app_server import free_port, start_app
from tests.test_ui_handlers import make_ctx

C = ErrorCategory
MODELS = ("secret-alpha", "secret-beta")
OUTPUT_TEXT = re.compile(r"Output text [01]")


def fill_set(store: ReviewStore, name: str = "pilot", n: int = 3, study: bool = False) -> None:
    """A practice set by default (typed names allowed); `study=True` for a blinded study."""
    for model, text in zip(MODELS, ("Small effusion.", "No acute findings.")):
        store.import_records(name, [(str(i), {"id": f"c{i}", "task": "impression_prediction", "findings": f"F{i}",
                                              "reference": f"Ref {i}", "prediction": f"{text} ({i})",
                                              "indication": f"Cough {i}.", "model": model, "n_findings": 2})
                                    for i in range(n)], actor="admin", study=study)


STATUS, SLOTS, SLOT = 8, 9, review.SLOT_OUTPUTS  # positions in the handlers' outputs


def slot_values(per_slot: list[dict]) -> list:
    """The submit endpoint's inputs: per slot, 12 numbers (significant, not significant per
    category), corrected text, comment."""
    values = []
    for n in range(review.MAX_OUTPUTS):
        s = per_slot[n] if n < len(per_slot) else {}
        for c in review.CATEGORIES:
            values += list(s.get(c, (0, 0)))
        values += [s.get("corrected", ""), s.get("comment", "")]
    return values


def review_object(per_slot: list[dict], better: str | None = None) -> dict:
    """/review_submit's one object: per output label, counts by category name, corrected text, comment."""
    outputs = {}
    for label, given in zip(review.LABELS, per_slot):
        entry = {c.value: list(pair) for c, pair in given.items() if isinstance(c, ErrorCategory)}
        entry.update({k: v for k, v in (("corrected_text", given.get("corrected")),
                                        ("comment", given.get("comment"))) if v})
        outputs[label] = entry
    return {"outputs": outputs, "better": better}


def no_model_names(payload) -> bool:
    text = json.dumps(payload, default=str)
    return not any(m in text for m in MODELS)


# ---------------------------------------------------------------- handlers

@pytest.fixture
def ctx(tmp_path):
    c = make_ctx(tmp_path, {"fake": FakeBackend(answers=[])})
    c.store = ReviewStore()
    fill_set(c.store)
    return c


def test_start_submit_next_and_reopen_as_plain_functions(ctx):
    out = review.start(ctx, "  carol ", "pilot", None)
    session = out[0]
    assert session.reviewer == "carol" and not session.authenticated and len(session.slots) == 2
    assert [label for label, _ in session.slots] == ["A", "B"] and no_model_names(out[1:])
    assert "not signed in" in out[1] and "case 1 of 3" in out[2]
    assert "INDICATION:\nCough 0." in out[4]["value"] and out[4]["visible"]  # the clinical context is shown
    shown = {out[SLOTS + SLOT * n + 1]["value"] for n in range(2)}
    assert shown == {"Small effusion. (0)", "No acute findings. (0)"}
    assert out[6]["choices"] == ["Output A", "Output B", review.EQUAL]
    out = review.submit(ctx, session, "Output B", *slot_values([{C.MISSED_FINDING: (1, 0), "comment": "missed one"},
                                                                {C.SEVERITY: (0, 2), "corrected": "Better text"}]))
    assert "Saved" in out[STATUS] and "case 2 of 3" in out[2]
    (answer,) = ctx.store.case_reviews("pilot")
    assert answer.preference == "item" and answer.preferred_item_id == session.slots[1][1] and answer.seconds >= 0
    reviews = sorted(ctx.store.latest("pilot"), key=lambda r: r.label)
    assert [(r.label, r.total, r.comment, r.corrected_text) for r in reviews] == [
        ("A", 1, "missed one", None), ("B", 2, "", "Better text")]
    assert all(r.reviewer == "carol" and not r.authenticated and r.seconds >= 0 for r in reviews)
    # Reopen: the latest answers come back in the same blinded order; a change is a new version.
    out = review.reopen(ctx, out[0], "c0")
    assert out[0].slots == session.slots and "revising your review" in out[2]
    assert out[SLOTS + 3]["value"] == 1  # slot A, missed findings, significant
    assert out[6]["value"] == "Output B"  # the preference comes back too
    review.submit(ctx, out[0], review.EQUAL, *slot_values([{C.MISSED_FINDING: (0, 0)}, {C.SEVERITY: (0, 2)}]))
    assert [c.preference for c in ctx.store.case_reviews("pilot")] == ["equal"]
    assert len(ctx.store.history(reviews[0].item_id, "carol", False)) == 2


def test_a_changed_name_is_a_new_reviewer_and_bad_input_changes_nothing(ctx):
    out = review.start(ctx, "", "pilot", None)
    assert "reviewer name is empty" in out[STATUS] and out[0].slots == []
    session = review.start(ctx, "dave", "pilot", None)[0]
    switched = review.start(ctx, "erin", "pilot", session)[0]
    assert (switched.reviewer, switched.authenticated) == ("erin", False)  # the new name, not a stuck one
    before = ctx.store.counts()
    for bad, message in (({C.MISSED_FINDING: (-1, 0)}, "cannot be negative"),
                         ({C.FALSE_FINDING: (0, 1000)}, "at most 50"),
                         ({"comment": "x" * 1_000_000}, "1,000,000 characters")):
        out = review.submit(ctx, session, None, *slot_values([bad, {}]))
        assert "Not saved" in out[STATUS] and message in out[STATUS]
        assert out[0] is session  # the page keeps the case
    assert "Unknown choice" in review.submit(ctx, session, "Output Z", *slot_values([{}, {}]))[STATUS]
    assert ctx.store.counts() == before
    assert "Start reviewing first" in review.submit(ctx, review.Session(), None, *slot_values([]))[STATUS]


def test_a_blinded_study_needs_sign_in(ctx):
    fill_set(ctx.store, "study", study=True)
    assert "blinded study: reviewers must sign in" in review.start(ctx, "dave", "study", None)[STATUS]
    ctx.settings.auth_file = "users.txt"
    session = review.start(ctx, "ignored", "study", None, SimpleNamespace(username="erin"))[0]
    assert (session.reviewer, session.authenticated) == ("erin", True) and len(session.slots) == 2


def test_signed_in_reviewer_is_the_login_and_cannot_reopen_others_cases(ctx):
    ctx.settings.auth_file = "users.txt"  # identity now comes from the request
    assert "Sign in first" in review.start(ctx, "typed", "pilot", None, SimpleNamespace(username=None))[STATUS]
    session = review.start(ctx, "ignored", "pilot", None, SimpleNamespace(username="erin"))[0]
    assert (session.reviewer, session.authenticated) == ("erin", True)
    review.submit(ctx, session, None, *slot_values([{}, {}]), request=SimpleNamespace(username="erin"))
    other = review.start(ctx, "", "pilot", None, SimpleNamespace(username="frank"))[0]
    assert "only cases you have finished" in review.reopen(ctx, other, "c0")[STATUS]
    out = review.submit(ctx, session, None, *slot_values([{}, {}]), request=SimpleNamespace(username="frank"))
    assert "signed-in user changed" in out[STATUS]


def test_the_drawn_order_varies_between_cases_and_stays_for_a_reviewer():
    store = ReviewStore()
    for model in ("m1", "m2", "m3", "m4"):
        store.import_records("s", [(str(i), {"id": f"c{i}", "prediction": "p", "model": model, "findings": "f"})
                                   for i in range(12)], actor="t")
    orders = [tuple(i.model for i in store.assignment("s", c.input_id, "r1", True)[1]) for c in store.cases("s")]
    assert len(set(orders)) > 3  # not one fixed order
    first = store.cases("s")[0].input_id
    assert store.assignment("s", first, "r1", True) == store.assignment("s", first, "r1", True)


def test_dashboard_access_unblinding_and_downloads(ctx):
    session = review.start(ctx, "carol", "pilot", None)[0]
    review.submit(ctx, session, None, *slot_values([{C.MISSED_FINDING: (1, 0)}, {}]))
    assert dashboard.all_sets(ctx)["value"] == "pilot"  # the only set
    fill_set(ctx.store, "second")
    assert dashboard.all_sets(ctx)["value"] is None  # two sets: nothing chosen for the user
    assert "Choose a review set" in dashboard.download(ctx, None, False)[2]
    summary, paper, fig, *_ = dashboard.show(ctx, "pilot", False)
    assert "without sign-in" in summary and "typed" in summary and no_model_names([summary, paper["value"].to_dict()])
    assert "Only a signed-in admin can unblind" in dashboard.show(ctx, "pilot", True)[0]
    csv_path, html_path, note = dashboard.download(ctx, "pilot", False)
    assert "ready" in note and "errors" in open(csv_path).read() and str(ctx.workdir) in csv_path
    assert ctx.store.audit_log(action="export")[0]["detail"]["unblinded"] is False
    ctx.settings.auth_file = "users.txt"
    ctx.store.set_role("root", "admin", actor="test")
    fill_set(ctx.store, "study", study=True)
    assert "open blinded study" in dashboard.show(ctx, "study", False, SimpleNamespace(username="carol"))[0]
    summary, paper, *_ = dashboard.show(ctx, "pilot", True, SimpleNamespace(username="root"))
    assert set(MODELS) <= set(paper["value"].columns) and len(paper["column_widths"]) == 3
    assert ctx.store.audit_log(action="unblind")[0]["actor"] == "root"
    assert "Only a signed-in admin" in dashboard.close_set(ctx, "pilot", SimpleNamespace(username="carol"))
    assert "closed" in dashboard.close_set(ctx, "pilot", SimpleNamespace(username="root"))


def test_send_generation_puts_two_models_answers_in_one_case(ctx):
    for model, answer in (("m-a", "Effusion."), ("m-b", "Clear.")):
        gen = ctx.generations.add(task="impression_prediction", fields={"findings": "Small effusion."}, output=answer,
                                  model=model, model_info={"decoding": {"max_new_tokens": 64}}, prompt="p")
        note = common.send_generation(ctx, gen.uid, "", answer)
        assert f"Sent the answer of {model} to review set live-impression_prediction" in note and "edit" not in note
    (case,) = ctx.store.cases("live-impression_prediction")
    assert sorted(i.prediction for i in case.items) == ["Clear.", "Effusion."] and not any(i.edited for i in case.items)
    gen = ctx.store.audit_log(action="generation_sent")[0]["detail"]
    assert len(gen["prompt_sha256"]) == 64 and gen["params"]["max_new_tokens"] == 64 and gen["edited"] is False
    assert "generate one first" in common.send_generation(ctx, None, "x", "F")


# ---------------------------------------------------------------- a live app

@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RADPHI_HOME", str(tmp_path_factory.mktemp("home")))
        extra = {m: FakeBackend(spec=f"fake:{m}", answers=["Answer."] * 50) for m in MODELS}
        demo, ctx, url = start_app(UISettings(port=free_port()), mp, extra)
        fill_set(ctx.store)
        yield SimpleNamespace(url=url, ctx=ctx)
        demo.close()
        ctx.close()


def test_panel_through_gradio_client(live):
    from gradio_client import Client

    c = Client(live.url, verbose=False)
    out = c.predict("grace", "pilot", api_name="/review_start")
    assert "case 1 of 3" in out[1] and no_model_names(out)
    shown = out[-1]  # the panel as data
    assert shown["reviewer"] == "grace" and "case 1 of 3" in shown["progress"]
    assert shown["case"]["input"] == "F0" and sorted(shown["case"]["outputs"]) == ["A", "B"]
    data = c.predict(review_object([{C.MISSED_FINDING: (2, 1)}, {C.POSITION: (0, 1), "comment": "=1+1"}], "A"),
                     api_name="/review_submit")
    assert data["message"] == "Saved (2 outputs)." and "case 2 of 3" in data["progress"] and no_model_names(data)
    assert data["case"]["input"] == "F1"
    mine = [r for r in live.ctx.store.latest("pilot") if r.reviewer == "grace"]
    assert sorted(r.total for r in mine) == [1, 3] and {r.comment for r in mine} == {"", "=1+1"}
    before = live.ctx.store.counts()
    data = c.predict(review_object([{C.MISSED_FINDING: (-5, 0)}, {}]), api_name="/review_submit")
    assert data["state"] == "error" and "cannot be negative" in data["message"]
    for bad, why in (({"outputs": {"Z": {}}}, "keyed by the shown labels (A, B)"),
                     ({"outputs": {"A": {"made_up": [1, 0]}}}, "unknown error category made_up"),
                     ({"outputs": {"A": {"missed_finding": 3}}}, "give two counts"),
                     ([1, 2], "must be one object")):
        data = c.predict(bad, api_name="/review_submit")
        assert data["state"] == "error" and why in data["message"], why
    assert live.ctx.store.counts() == before
    summary, table, *_ = c.predict("pilot", False, api_name="/dashboard")
    assert "1 reviewer" in summary or "reviews by 1" in summary
    assert no_model_names([summary, table]) and "Model 1" in json.dumps(table)
    # One click on a generation tab sends the answer this session generated, with the edit apart.
    assert "generate one first" in c.predict("live", "Made-up output.", api_name="/impression_send_to_review")
    c.predict("Small effusion.", MODELS[0], 32, 0.0, "token", api_name="/impression")
    note = c.predict("live", "Answer, edited.", api_name="/impression_send_to_review")
    assert f"Sent the answer of {MODELS[0]} to review set live" in note
    (item,) = live.ctx.store.items("live")
    assert (item.model, item.prediction, item.edited_text) == (MODELS[0], "Answer.", "Answer, edited.")


def test_auth_roles_logins_and_admin_only_dashboard(tmp_path, monkeypatch):
    from gradio_client import Client

    from radphi.ui import auth

    users = tmp_path / "users.txt"
    auth.add_user(users, "alice", "alice-password")
    auth.add_user(users, "bob", "bob-password")
    monkeypatch.setenv("RADPHI_HOME", str(tmp_path / "home"))
    demo, ctx, url = start_app(UISettings(port=free_port(), auth_file=users), monkeypatch)
    try:
        fill_set(ctx.store, n=1, study=True)
        ctx.store.set_role("alice", "admin", actor="test")
        with pytest.raises(Exception):
            Client(url, auth=("bob", "wrong password"), verbose=False)
        bob = Client(url, auth=("bob", "bob-password"), verbose=False)
        alice = Client(url, auth=("alice", "alice-password"), verbose=False)
        out = bob.predict("someone-else", "pilot", api_name="/review_start")
        assert "Reviewing as bob (signed in, role reviewer)" in out[0] and no_model_names(out)
        bob.predict(review_object([{C.SEVERITY: (1, 0)}, {}]), api_name="/review_submit")
        (r,) = [r for r in ctx.store.latest("pilot") if r.total]
        assert (r.reviewer, r.authenticated) == ("bob", True)
        assert "open blinded study" in bob.predict("pilot", False, api_name="/dashboard")[0]
        assert "open blinded study" in bob.predict("pilot", True, api_name="/dashboard")[0]
        summary, table, *_ = alice.predict("pilot", True, api_name="/dashboard")
        assert set(MODELS) <= set(table["value"]["headers"]) and "Sign-in is off" not in summary
        logins = [(e["actor"], e["action"]) for e in ctx.store.audit_log() if e["action"].startswith("login")]
        assert ("bob", "login_refused") in logins and ("bob", "login") in logins and ("alice", "login") in logins
    finally:
        demo.close()
        ctx.close()


# ---------------------------------------------------------------- a real browser

@pytest.mark.usefixtures("chromium")  # skipped without it, failed in CI (tests/browser_env.py)
def test_one_review_by_clicking_and_typing(live):
    from playwright.sync_api import expect, sync_playwright

    from tests.test_app_browser import ARGS, ARTIFACTS

    live.ctx.store.import_records("browser", [(str(i), {"id": "b0", "findings": "Left effusion.",
                                                        "reference": "Small left effusion.", "model": m,
                                                        "prediction": f"Output text {i}"})
                                              for i, m in enumerate(MODELS)], actor="admin", study=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(live.url)
        page.get_by_role("tab", name="Reviewer").click()
        page.locator("#review-name textarea, #review-name input").first.fill("heidi")
        page.locator("#review-set input").click()
        page.locator("[role=option]", has_text="browser").click()
        page.locator("#review-start").click()
        page.locator("#review-progress").get_by_text("case 1 of 1").wait_for(timeout=30_000)
        expect(page.locator("#review-reference textarea")).to_have_value("Small left effusion.", timeout=10_000)
        for key in ("a", "b"):  # the page updates its components one after another
            expect(page.locator(f"#review-output-{key} textarea")).to_have_value(OUTPUT_TEXT, timeout=10_000)
        body = page.locator("body").inner_text()
        assert not any(m in body for m in MODELS) and "Output A" in body and "Output B" in body
        box = page.locator("#review-a-missed_finding-sig input")
        box.fill("2")
        page.locator("#review-b-position-insig input").fill("1")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "review.png"), full_page=True)
        box.press("Enter")  # keyboard: numbers and Enter
        page.locator("#review-status").get_by_text("Saved").wait_for(timeout=30_000)
        page.locator("#review-progress").get_by_text("all 1 cases done").wait_for(timeout=10_000)
        browser.close()
    done = {r.label: r for r in live.ctx.store.latest("browser")}
    assert done["A"].count(C.MISSED_FINDING).significant == 2 and done["B"].count(C.POSITION).insignificant == 1
    assert {r.reviewer for r in done.values()} == {"heidi"}
