"""The automatic checker beside the reviewers (radphi.review.checker): radphi.verify's flags
per reviewed output on known predictions, the reviewers' mean counts, Kendall's tau-b and
Spearman's rho against scipy on the same vectors, n/a where undefined, blinding, the CSV,
the HTML report and the Dashboard tab's handler."""

from __future__ import annotations

import html
import json

import numpy as np
import pytest
from scipy import stats as sps

from radphi.review import checker as review_checker
from radphi.backends.fake import FakeBackend
from radphi.review.checker import ALL_FOUR, checker_items, checker_table, rank_agreement
from radphi.review.report import report_html
from radphi.review.stats import dashboard, dashboard_csv, review_frame
from radphi.review import ErrorCategory, ErrorCount, ReviewDraft, ReviewStore
from radphi.ui import dashboard as dashboard_tab
from radphi.ui import review
from tests.test_ui_handlers import make_ctx

C = ErrorCategory
MODELS = ("secret-alpha", "secret-beta")
EFFUSION = "Small left pleural effusion. No pneumothorax."
SPINE = "Possible small left pleural effusion. Mild degenerative changes of the spine."
PNEUMO = "Moderate right pneumothorax. Mild cardiomegaly."
FINDINGS = {"c0": EFFUSION, "c1": EFFUSION, "c2": SPINE, "c3": PNEUMO}
PREDICTIONS = {
    ("c0", "secret-alpha"): "Small right pleural effusion.",                        # position
    ("c0", "secret-beta"): "No acute process.",                                     # missed
    ("c1", "secret-alpha"): "Small left pleural effusion.",                         # nothing wrong
    ("c1", "secret-beta"): "Large right pleural effusion. Pneumothorax.",           # position, severity, false
    ("c2", "secret-alpha"): "No acute process.",                                    # missed (effusion, spine)
    ("c2", "secret-beta"): SPINE,                                                   # nothing wrong
    ("c3", "secret-alpha"): "Moderate left pneumothorax. Mild cardiomegaly.",       # position
    ("c3", "secret-beta"): "Mild cardiomegaly.",                                    # missed; never reviewed
}
# The checker's flags on the reviewed outputs: (missed, false, position, severity), all and significant.
CHECKER = {
    ("c0", "secret-alpha"): ((0, 0, 1, 0), (0, 0, 1, 0)),
    ("c0", "secret-beta"): ((1, 0, 0, 0), (1, 0, 0, 0)),
    ("c1", "secret-alpha"): ((0, 0, 0, 0), (0, 0, 0, 0)),
    ("c1", "secret-beta"): ((0, 1, 1, 1), (0, 1, 1, 1)),
    ("c2", "secret-alpha"): ((2, 0, 0, 0), (1, 0, 0, 0)),   # the spine's degeneration is not significant
    ("c2", "secret-beta"): ((0, 0, 0, 0), (0, 0, 0, 0)),
    ("c3", "secret-alpha"): ((0, 0, 1, 0), (0, 0, 1, 0)),
}
FOUR = (C.MISSED_FINDING, C.FALSE_FINDING, C.POSITION, C.SEVERITY)
# What each reviewer counted, as (significant, not significant); bob never scored c3.
REVIEWS = {
    "alice": {("c0", "secret-alpha"): {C.POSITION: (1, 0)},
              ("c0", "secret-beta"): {C.MISSED_FINDING: (1, 0)},
              ("c1", "secret-alpha"): {},
              ("c1", "secret-beta"): {C.POSITION: (1, 0), C.FALSE_FINDING: (0, 1)},
              ("c2", "secret-alpha"): {C.MISSED_FINDING: (1, 1)},
              ("c2", "secret-beta"): {C.MISSED_FINDING: (0, 1)},
              ("c3", "secret-alpha"): {C.POSITION: (0, 1), C.MISSED_FINDING: (1, 0)}},
    "bob": {("c0", "secret-alpha"): {C.POSITION: (1, 0), C.MISSED_FINDING: (0, 1)},
            ("c0", "secret-beta"): {C.MISSED_FINDING: (2, 0)},
            ("c1", "secret-alpha"): {C.FALSE_FINDING: (0, 1)},
            ("c1", "secret-beta"): {C.POSITION: (1, 0), C.FALSE_FINDING: (1, 0)},
            ("c2", "secret-alpha"): {C.MISSED_FINDING: (1, 0)},
            ("c2", "secret-beta"): {}},
}


def build(store: ReviewStore, name: str = "chk") -> dict[tuple[str, str], int]:
    """The set above; returns {(input id, model): item id}."""
    for model in MODELS:
        store.import_records(name, [(f"{model}:{cid}", {
            "id": cid, "task": "impression_prediction", "findings": text, "reference": f"Impression {cid}",
            "prediction": PREDICTIONS[(cid, model)], "model": model}) for cid, text in FINDINGS.items()], actor="t",
                             study=False)
    ids = {(i.input_id, i.model): i.id for i in store.items(name)}
    # bob first counts three missed findings in c2's second output, then revises to none:
    # only the latest version counts.
    store.submit(ReviewDraft(item_id=ids[("c2", "secret-beta")], reviewer="bob", authenticated=False,
                             counts={C.MISSED_FINDING: ErrorCount(3, 0)}))
    for k, (who, scored) in enumerate(REVIEWS.items()):
        for key, counts in scored.items():
            store.submit(ReviewDraft(item_id=ids[key], reviewer=who, authenticated=k == 0,
                                     counts={c: ErrorCount(*n) for c, n in counts.items()}))
    return ids


def reviewer_mean(key: tuple[str, str], c: ErrorCategory, significant: bool = False) -> float:
    seen = [scored[key].get(c, (0, 0)) for scored in REVIEWS.values() if key in scored]
    return float(np.mean([n[0] if significant else n[0] + n[1] for n in seen]))


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("RADPHI_HOME", str(tmp_path / "home"))
    return ReviewStore(tmp_path / "reviews.db")


def test_per_output_flags_and_reviewer_means(store):
    ids = build(store)
    rs = store.get_set("chk")
    items, unchecked = checker_items(store, rs, review_frame(store, rs))
    assert unchecked == 0
    key_of = {v: k for k, v in ids.items()}
    assert [key_of[i] for i in items["item_id"]] == sorted(CHECKER, key=lambda k: ids[k])  # reviewed ones only
    assert "model" not in items.columns
    for _, row in items.iterrows():
        key = key_of[row["item_id"]]
        total, sig = CHECKER[key]
        for j, c in enumerate(FOUR):
            assert row[f"chk_{c.value}"] == total[j] and row[f"chk_{c.value}_sig"] == sig[j], (key, c)
            assert row[f"rev_{c.value}"] == pytest.approx(reviewer_mean(key, c)), (key, c)
            assert row[f"rev_{c.value}_sig"] == pytest.approx(reviewer_mean(key, c, True)), (key, c)
        assert row[f"chk_{ALL_FOUR}"] == sum(total)
        assert row[f"rev_{ALL_FOUR}"] == pytest.approx(sum(reviewer_mean(key, c) for c in FOUR))


def test_table_means_and_rank_agreement_match_scipy(store):
    ids = build(store)
    d = dashboard(store, "chk", n_resamples=0)
    t = d.checker.set_index("category")
    order = sorted(CHECKER, key=lambda k: ids[k])
    assert list(t.index) == [c.title for c in FOUR] + ["All four categories"]
    assert (t["outputs"] == len(order)).all()
    for j, c in enumerate(FOUR + (None,)):
        chk = [sum(CHECKER[k][0]) if c is None else CHECKER[k][0][j] for k in order]
        chk_sig = [sum(CHECKER[k][1]) if c is None else CHECKER[k][1][j] for k in order]
        rev = [sum(reviewer_mean(k, x) for x in FOUR) if c is None else reviewer_mean(k, c) for k in order]
        rev_sig = [sum(reviewer_mean(k, x, True) for x in FOUR) if c is None else reviewer_mean(k, c, True)
                   for k in order]
        row = t.loc["All four categories" if c is None else c.title]
        assert row["checker flags per output"] == pytest.approx(np.mean(chk))
        assert row["checker significant per output"] == pytest.approx(np.mean(chk_sig))
        assert row["reviewers' errors per output"] == pytest.approx(np.mean(rev))
        assert row["reviewers' significant per output"] == pytest.approx(np.mean(rev_sig))
        if c is C.SEVERITY:  # no reviewer counted a severity error: the reviewers' side is constant
            assert np.isnan(row["Kendall's tau-b"]) and np.isnan(row["Spearman's rho"])
            continue
        assert row["Kendall's tau-b"] == pytest.approx(sps.kendalltau(chk, rev).statistic)
        assert row["Spearman's rho"] == pytest.approx(sps.spearmanr(chk, rev).statistic)
    # Position: the checker and the reviewers flag the same three outputs.
    assert t.loc[C.POSITION.title, "Kendall's tau-b"] == pytest.approx(1.0)
    shown = review_checker.display(d.checker).set_index("category")
    assert shown.loc[C.SEVERITY.title, "Kendall's tau-b"] == "n/a"
    assert shown.loc[C.POSITION.title, "Spearman's rho"] == "1.000"


def test_rank_agreement_needs_three_outputs_and_variation():
    assert all(np.isnan(v) for v in rank_agreement([0, 1], [1, 0]))
    assert all(np.isnan(v) for v in rank_agreement([1, 1, 1], [0, 1, 2]))
    assert all(np.isnan(v) for v in rank_agreement([0, 1, 2], [2, 2, 2]))
    tau, rho = rank_agreement([0, 1, 2, 2], [0, 2, 1, 3])
    assert tau == pytest.approx(sps.kendalltau([0, 1, 2, 2], [0, 2, 1, 3]).statistic)
    assert rho == pytest.approx(sps.spearmanr([0, 1, 2, 2], [0, 2, 1, 3]).statistic)
    with pytest.raises(ValueError):
        rank_agreement([0, 1, 2], [0, 1])


def test_two_outputs_give_na_and_an_empty_set_an_empty_table(store):
    store.import_records("two", [(m, {"id": "c0", "task": "impression_prediction", "findings": EFFUSION,
                                      "prediction": PREDICTIONS[("c0", m)], "model": m}) for m in MODELS], actor="t",
                         study=False)
    assert dashboard(store, "two", n_resamples=0).checker.empty  # nothing reviewed yet
    for it in store.items("two"):
        store.submit(ReviewDraft(item_id=it.id, reviewer="r", authenticated=False,
                                 counts={C.POSITION: ErrorCount(int(it.model == MODELS[0]), 0)}))
    t = dashboard(store, "two", n_resamples=0).checker
    assert (t["outputs"] == 2).all() and t["Kendall's tau-b"].isna().all() and t["Spearman's rho"].isna().all()


def test_outputs_without_a_source_are_left_out_and_noted(store):
    store.import_records("qa", [(m, {"id": "q0", "task": "radiology_qa", "question": "What is a pneumothorax?",
                                     "prediction": "Air in the pleural space.", "model": m}) for m in MODELS],
                         actor="t", study=False)
    for it in store.items("qa"):
        store.submit(ReviewDraft(item_id=it.id, reviewer="r", authenticated=False))
    d = dashboard(store, "qa", n_resamples=0)
    assert d.checker.empty and any("2 of 2 reviewed outputs were not checked" in n for n in d.notes)


def test_blinding_csv_and_report(store):
    build(store)
    d = dashboard(store, "chk", n_resamples=0)
    assert not d.unblinded
    csv = dashboard_csv(d)
    rows = [line for line in csv.splitlines() if line.startswith("checker,")]
    assert len(rows) == len(FOUR) + 1 and not any(m in csv for m in MODELS)
    page = report_html(d)
    assert "Automatic checker beside the reviewers" in page and html.escape(review_checker.NOTE) in page
    assert not any(m in page for m in MODELS)
    # Unblinding changes the names elsewhere, not the checker's per-category table.
    u = dashboard(store, "chk", unblind=True, n_resamples=0)
    assert u.checker.equals(d.checker)


def test_dashboard_tab_shows_the_table_and_the_reviewer_tab_no_flags(tmp_path, monkeypatch):
    monkeypatch.setenv("RADPHI_HOME", str(tmp_path / "home"))
    ctx = make_ctx(tmp_path, {"fake": FakeBackend(answers=[])})
    ctx.store = ReviewStore()
    build(ctx.store)
    out = dashboard_tab.show(ctx, "chk", False)
    assert len(out) == 9
    table = out[4]
    assert list(table.columns) == review_checker.COLUMNS
    assert list(table["category"]) == [c.title for c in FOUR] + ["All four categories"]
    assert table.set_index("category").loc[C.SEVERITY.title, "Spearman's rho"] == "n/a"
    assert not any(m in json.dumps([out[0], *(o.to_dict() for o in out[3:] if hasattr(o, "to_dict"))], default=str)
                   for m in MODELS)
    # A refused request still fills every output.
    assert len(dashboard_tab.show(ctx, None, False)) == 9
    # The Reviewer tab shows the case and nothing of the checker.
    shown = json.dumps(review.start(ctx, "carol", "chk", None), default=str)
    assert "Small right pleural effusion." in shown or "No acute process." in shown
    from radphi.verify import verify

    whys = {f.why for p in PREDICTIONS.values() for f in verify("impression_prediction", {"findings": EFFUSION}, p)}
    assert whys and not any(w in shown for w in whys) and "radphi.verify" not in shown
