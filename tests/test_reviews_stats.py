"""Agreement statistics (radphi.stats) and the dashboard's tables (radphi.review.stats):
Cohen's kappa against scikit-learn's values, Krippendorff's alpha against the package and
the textbook example, the paper's table on a hand-computed set, blinding, the A/B result,
and the HTML report.

`build_sample` makes the sample the closing note shows (20 cases x 2 models x 2 reviewers):

    python -c "from tests.test_reviews_stats import build_sample; from radphi.review import ReviewStore; \
build_sample(ReviewStore())" && python -m radphi.review.cli stats pilot --unblind
"""

from __future__ import annotations

import numpy as np
import pytest

from radphi import interrater
from radphi.review.report import report_html, report_section
from radphi.review.stats import ALL, dashboard, dashboard_csv
from radphi.review import ErrorCategory, ErrorCount, ReviewDraft, ReviewStore, Taxonomy

C = ErrorCategory
nan = np.nan
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 coders x 12 units.
KRIPPENDORFF_EXAMPLE = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
])


def build_sample(store: ReviewStore, set_name: str = "pilot", n_cases: int = 20,
                 reviewers: tuple[str, ...] = ("alice", "bob"), seed: int = 0) -> None:
    """Two models' impressions of `n_cases` inputs, each scored by every reviewer: a true
    error count per output, seen by each reviewer with some noise (so they mostly agree)."""
    rng = np.random.default_rng(seed)
    rates = {"rad-phi2": 0.30, "mistral-7b": 0.25}
    findings = rng.integers(1, 6, n_cases)
    for model in rates:
        store.import_records(set_name, [(f"{model}:{i}", {
            "id": f"case-{i:03d}", "task": "impression_prediction", "findings": f"Findings {i}",
            "reference": f"Impression {i}", "prediction": f"{model} impression {i}", "model": model,
            "meta": {"n_findings": int(findings[i])}}) for i in range(n_cases)], actor="sample", study=False)
    truth = {it.id: {c: int(rng.poisson(rates[it.model] * (2 if c is C.MISSED_FINDING else 0.6)))
                     for c in Taxonomy.PAPER.categories}
             for case in store.cases(set_name) for it in case.items}
    for k, who in enumerate(reviewers):
        for case in store.cases(set_name):
            drafts = []
            for it in case.items:
                counts = {}
                for c, n in truth[it.id].items():
                    seen = max(0, n + int(rng.choice([-1, 0, 0, 0, 0, 1])))
                    sig = int(rng.binomial(seen, 0.6))
                    counts[c] = ErrorCount(sig, seen - sig)
                drafts.append(ReviewDraft(item_id=it.id, reviewer=who, authenticated=k == 0, counts=counts,
                                          seconds=float(rng.uniform(20, 90))))
            store.submit_case(drafts)


# ------------------------------------------------------------------ agreement statistics

@pytest.mark.parametrize("a, b, sklearn_value", [
    # scikit-learn 1.9.1's cohen_kappa_score on the same data.
    ([0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0], [0, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0], 0.5),
    ([2, 0, 1, 1, 2, 0, 2, 1, 0, 0], [2, 0, 1, 2, 2, 0, 1, 1, 0, 1], 0.5522388059701492),
    ([1, 1, 1, 0], [1, 1, 1, 1], 0.0),
])
def test_cohen_kappa_equals_scikit_learns(a, b, sklearn_value):
    ci = interrater.cohen_kappa_ci(a, b, n_resamples=200, seed=1)
    assert ci.value == pytest.approx(sklearn_value, abs=1e-12) and ci.n == len(a)
    assert ci.low <= ci.value <= ci.high


def test_cohen_kappa_is_one_for_identical_raters_and_undefined_without_variation():
    assert interrater.cohen_kappa_ci([0, 1, 1, 0], [0, 1, 1, 0], n_resamples=0).value == pytest.approx(1.0)
    assert np.isnan(interrater.cohen_kappa_ci([1, 1, 1], [1, 1, 1], n_resamples=0).value)
    with pytest.raises(ValueError, match="same units"):
        interrater.cohen_kappa_ci([0, 1], [0])


def test_krippendorff_alpha_matches_the_textbook_example_and_the_package():
    assert interrater.krippendorff_alpha(KRIPPENDORFF_EXAMPLE, "nominal") == pytest.approx(0.743, abs=5e-4)
    assert interrater.krippendorff_alpha(KRIPPENDORFF_EXAMPLE, "interval") == pytest.approx(0.849, abs=5e-4)
    import krippendorff

    rng = np.random.default_rng(3)
    for level in interrater.ALPHA_LEVELS:
        for _ in range(5):
            data = rng.integers(0, 4, (3, 25)).astype(float)
            data[rng.random(data.shape) < 0.3] = nan
            # The closed form that the bootstrap uses equals the package, on every draw.
            cols = interrater.alpha_columns(data, level)
            closed = float(interrater._alpha_from_sums(level)(cols.sum(axis=0)[None, :])[0])
            assert closed == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement=level))


def test_krippendorff_alpha_interval_holds_the_value_and_counts_pairable_units():
    ci = interrater.krippendorff_alpha_ci(KRIPPENDORFF_EXAMPLE, "nominal", n_resamples=300, seed=0)
    assert ci.low <= ci.value <= ci.high and ci.n == 11  # unit 12 has one value: no pairs
    assert np.isnan(interrater.krippendorff_alpha(np.array([[1.0, nan], [nan, 2.0]])))
    assert np.isnan(interrater.krippendorff_alpha(np.array([[2.0, 2.0], [2.0, 2.0]])))  # no variation


@pytest.mark.parametrize("level", interrater.ALPHA_LEVELS)
def test_krippendorff_alpha_interval_is_the_package_on_resampled_units(level):
    import krippendorff

    rng = np.random.default_rng(5)
    data = rng.integers(0, 4, (3, 40)).astype(float)
    data[rng.random(data.shape) < 0.3] = nan
    pairable = data[:, (~np.isnan(data)).sum(axis=0) >= 2]
    # The units radphi.stats resamples for seed 2: one numpy generator, int32 indices.
    idx = np.random.default_rng(2).integers(0, pairable.shape[1], size=(100, pairable.shape[1]), dtype=np.int32)
    samples = [krippendorff.alpha(reliability_data=pairable[:, row], level_of_measurement=level) for row in idx]
    ci = interrater.krippendorff_alpha_ci(data, level, n_resamples=100, seed=2)
    assert (ci.low, ci.high) == pytest.approx(tuple(np.percentile(samples, [2.5, 97.5])), abs=1e-12)
    assert ci.n == pairable.shape[1] and ci.low < ci.high


# ------------------------------------------------------------------ the dashboard

@pytest.fixture
def small() -> ReviewStore:
    """3 cases x models m1, m2; alice and bob score everything; numbers chosen by hand."""
    s = ReviewStore()
    for model in ("m1", "m2"):
        s.import_records("s", [(str(i), {"id": f"c{i}", "findings": f"F{i}", "prediction": f"{model}{i}",
                                         "model": model, "n_findings": 2}) for i in range(3)], actor="t",
                         study=False)  # a practice set: bob types his name
    missed = {  # (reviewer, model, case) -> (significant, insignificant) missed findings
        ("alice", "m1"): [(1, 0), (0, 0), (2, 0)], ("bob", "m1"): [(1, 0), (0, 0), (1, 0)],
        ("alice", "m2"): [(0, 0), (0, 1), (0, 0)], ("bob", "m2"): [(0, 0), (0, 1), (0, 0)],
    }
    for who in ("alice", "bob"):
        for n, case in enumerate(s.cases("s")):
            s.submit_case([ReviewDraft(item_id=i.id, reviewer=who, authenticated=who == "alice",
                                       counts={C.MISSED_FINDING: missed[(who, i.model)][n]}) for i in case.items])
    return s


def test_the_paper_table_on_a_hand_computed_set(small):
    d = dashboard(small, "s", unblind=True, n_resamples=200)
    row = d.errors.set_index(["model", "category"]).loc[("m1", C.MISSED_FINDING.value)]
    # m1's cases: mean over reviewers 1, 0, 1.5 -> 2.5 errors, 2.5 significant, 3 cases, 6 findings.
    assert (row.errors, row.significant, row.cases, row.findings) == (2.5, 2.5, 3, 6.0)
    assert row.per_case == pytest.approx(2.5 / 3) and row.per_finding == pytest.approx(2.5 / 6)
    assert row.per_case_low <= row.per_case <= row.per_case_high
    m2 = d.errors.set_index(["model", "category"]).loc[("m2", ALL)]
    assert (m2.errors, m2.significant) == (1.0, 0.0)
    assert list(d.paper.columns) == ["Error category", "m1", "m2"]
    assert list(d.paper["Error category"]) == ["Missed findings", "False findings", "Position-related errors",
                                               "Severity-related errors", "All errors", "Cases reviewed",
                                               "Findings in the references"]
    # Whole numbers in the table, however many reviewers: 3 (alice) + 2 (bob) over 6 reviews.
    assert d.paper.iloc[0]["m1"].startswith("5 (5 sig.) in 6 reviews · 0.83 [")
    assert (row.counted, row.counted_sig, row.reviews) == (5, 5, 6)
    assert d.paper.iloc[0]["m1"].endswith("]/finding") and "· 41.7% [" in d.paper.iloc[0]["m1"]
    assert list(d.paper.iloc[-1]) == ["Findings in the references", "6", "6"]
    # A/B: m1 - m2 per (reviewer, case) is alice 1, -1, 2 and bob 1, -1, 1: m1 fewer twice, m2 fewer 4 times.
    ab = d.ab.iloc[0]
    assert (ab["model A"], ab["A fewer"], ab["tie"], ab["B fewer"], ab["judgements"]) == ("m1", 2, 0, 4, 6)
    assert ab["A − B errors per case"] == pytest.approx((1 - 1 + 1.5) / 3)
    # Per reviewer: bob typed his name; the dashboard says so.
    assert list(d.per_reviewer["signed in"]) == ["yes", "no (name typed)"]
    assert d.unauthenticated == 6 and any("without sign-in" in n for n in d.notes)


def test_agreement_is_measured_on_outputs_scored_by_two_reviewers(small):
    d = dashboard(small, "s", unblind=True, n_resamples=100)
    missed = d.agreement[d.agreement["category"] == C.MISSED_FINDING.title].set_index("statistic")
    # Presence agrees on all 6 outputs: kappa and nominal alpha are 1; counts differ once (2 vs 1).
    assert missed.loc["Cohen's kappa, presence: alice vs bob (unverified)", "value"] == pytest.approx(1.0)
    assert missed.loc["Krippendorff's alpha, presence (nominal)", "value"] == pytest.approx(1.0)
    assert 0.5 < missed.loc["Krippendorff's alpha, counts (interval)", "value"] < 1.0
    assert set(missed["n"]) == {6}
    # A category nobody ever marked has no variation: undefined, not a fake number.
    assert np.isnan(d.agreement.set_index(["category", "statistic"]).loc[
        (C.SEVERITY.title, "Krippendorff's alpha, presence (nominal)"), "value"])


def test_model_names_are_blinded_until_unblinded_or_closed(small):
    blind = dashboard(small, "s", n_resamples=50)
    assert set(blind.errors["model"]) == {"Model 1", "Model 2"} and not blind.unblinded
    text = (report_section(blind) + dashboard_csv(blind) + blind.paper.to_csv() + blind.ab.to_csv()
            + blind.per_reviewer.to_csv() + blind.agreement.to_csv())
    assert '"m1"' not in text and '"m2"' not in text and ",m1," not in text and ",m2," not in text
    assert "Model 1" in text and "Model 2" in text
    names = small.pseudonyms("s", ["m1", "m2"])
    assert sorted(names.values()) == ["Model 1", "Model 2"]
    # The dashboard's names are the set's secret draw (radphi.review.blinding), stable.
    seen = dashboard(small, "s", unblind=True, n_resamples=50)
    counted = {m: seen.errors.set_index(["model", "category"]).loc[(m, ALL), "counted"] for m in ("m1", "m2")}
    assert counted["m1"] != counted["m2"]
    for m in ("m1", "m2"):
        assert blind.errors.set_index(["model", "category"]).loc[(names[m], ALL), "counted"] == counted[m]
    assert small.pseudonyms("s", ["m2", "m1"]) == names
    small.close_set("s", actor="admin")
    assert set(dashboard(small, "s", n_resamples=50).errors["model"]) == {"m1", "m2"}


def test_the_html_report_escapes_names_and_includes_the_tables(tmp_path):
    s = ReviewStore()
    s.import_records("<b>set</b>", [(str(i), {"id": f"c{i}", "findings": "F", "prediction": "P",
                                             "model": "<script>alert(1)</script>"}) for i in range(2)], actor="t",
                     study=False)
    for it in s.items("<b>set</b>"):
        s.submit(ReviewDraft(item_id=it.id, reviewer="<img src=x onerror=alert(2)>", authenticated=False,
                             counts={C.FALSE_FINDING: (1, 0)}))
    d = dashboard(s, "<b>set</b>", unblind=True, n_resamples=20)
    page = report_html(d)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;b&gt;set&lt;/b&gt;" in page
    assert "plotly" in page.lower() and "<table>" in page
    assert "<script src" not in report_section(d) or "cdn" not in report_section(d)


def test_the_sample_of_80_reviews_by_two_reviewers_gives_a_full_dashboard():
    s = ReviewStore()
    build_sample(s)
    d = dashboard(s, "pilot", unblind=True, n_resamples=300)
    assert (d.reviews, d.reviewers, d.cases) == (80, 2, 20)
    assert set(d.paper.columns) == {"Error category", "rad-phi2", "mistral-7b"}
    e = d.errors.dropna(subset=["per_case_low"])
    assert len(e) == 10 and ((e.per_case_low <= e.per_case) & (e.per_case <= e.per_case_high)).all()
    # The simulated reviewers see the same truth with a little noise: they agree more than chance.
    alpha = d.agreement.set_index(["category", "statistic"]).loc[
        (C.MISSED_FINDING.title, "Krippendorff's alpha, counts (interval)"), "value"]
    assert alpha > 0.3
    assert d.ab.iloc[0]["judgements"] == 40


# Fleiss (1971) via Wikipedia's worked example: 10 subjects, 14 raters, 5 categories, kappa 0.210.
FLEISS_TABLE = np.array([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                         [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]])


def test_fleiss_kappa_matches_the_textbook_example_from_raw_ratings():
    # (raters, units): rater r gives unit u the r-th of its ratings, categories 1..5.
    data = np.array([np.repeat(np.arange(1, 6), row) for row in FLEISS_TABLE], dtype=float).T
    table, m = interrater.fleiss_units(data)
    assert m == 14 and (table == FLEISS_TABLE).all()
    assert interrater.fleiss_kappa(table) == pytest.approx(0.210, abs=5e-4)
    ci = interrater.fleiss_kappa_ci(data, n_resamples=200)
    assert ci.n == 10 and ci.low <= ci.value <= ci.high


def test_fleiss_kappa_uses_the_units_with_the_common_number_of_ratings():
    data = np.array([[1, 0, 1, 0, 1], [1, 0, 1, 1, 1], [nan, nan, nan, nan, 0]], dtype=float)
    table, m = interrater.fleiss_units(data)
    assert m == 2 and table.shape == (4, 2)  # the 5th unit, rated three times, is left out
    assert (table.sum(axis=1) == 2).all()
    assert np.isnan(interrater.fleiss_kappa(np.array([[2, 0], [2, 0]])))  # one value everywhere: undefined


def test_the_preference_question_is_tallied_and_its_agreement_measured():
    s = ReviewStore()
    for model in ("m1", "m2"):
        s.import_records("s", [(str(i), {"id": f"c{i}", "findings": f"F{i}", "prediction": f"{model}{i}",
                                         "model": model}) for i in range(4)], actor="t", study=False)
    # alice prefers m1 on c0-c2 and calls c3 equal; bob agrees except c2 (m2); carol answers c0 only.
    wants = {"alice": ["m1", "m1", "m1", "equal"], "bob": ["m1", "m1", "m2", "equal"], "carol": ["m1"]}
    for who, choices in wants.items():
        for case, choice in zip(s.cases("s"), choices):
            pick = "equal" if choice == "equal" else next(i.id for i in case.items if i.model == choice)
            s.submit_case([ReviewDraft(item_id=i.id, reviewer=who, authenticated=False) for i in case.items],
                          preference=pick, case_seconds=10.0)
    d = dashboard(s, "s", unblind=True, n_resamples=100)
    p = d.preference.iloc[0]
    assert (p["model A"], p["model B"], p["answers"], p["A better"], p["equal"], p["B better"]) == \
        ("m1", "m2", 9, 6, 2, 1)
    assert p["A's share of decisive"] == pytest.approx(6 / 7) and p["low"] < 6 / 7 < p["high"] <= 1
    agree = d.preference_agreement.set_index("statistic")
    assert agree.loc["Cohen's kappa, choice: alice (unverified) vs bob (unverified)", "n"] == 4
    assert 0 < agree.loc["Krippendorff's alpha, choice (nominal)", "value"] < 1
    assert agree.loc["Fleiss' kappa, choice (all reviewers)", "n"] == 3  # c1-c3 have two answers; c0 has three
    blind = dashboard(s, "s", n_resamples=20)
    assert set(blind.preference[["model A", "model B"]].iloc[0]) == {"Model 1", "Model 2"}
    assert "m1" not in blind.preference.to_csv() and "preference" in dashboard_csv(blind)
