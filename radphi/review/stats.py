"""The dashboard's numbers: errors per model and category (the paper's table) with
bootstrap CIs over cases, rates per case and per finding, a per-reviewer breakdown,
inter-rater agreement, the blinded A/B result, and the automatic checker's flags beside
the reviewers' counts (`radphi.review.checker`). Pure functions of the latest reviews;
the UI, the CLI and the HTML report all call `dashboard(store, set_name)`.

    python -m radphi.review.cli stats SET      # prints these tables

A case's value for a model is the mean over the reviewers who scored that output, so a
case counts once however many reviewers it had; the CI resamples cases. Model names
are replaced by "Model 1", "Model 2", ... unless the caller unblinds (an admin, or a
closed set).
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from radphi import stats
from radphi.review import agreement
from radphi.review import checker as review_checker
from radphi.review.model import ErrorCategory, ReviewSet
from radphi.review.exports import neutralise
from radphi.review.store import ReviewStore

log = logging.getLogger(__name__)

ALL = "all"  # the pseudo-category: every error of the taxonomy
N_RESAMPLES = 1000


def review_frame(store: ReviewStore, rs: ReviewSet) -> pd.DataFrame:
    """One row per latest review: item facts, reviewer, and each category's total and
    significant counts (columns `<category>` and `<category>_sig`)."""
    items = {i.id: i for i in store.items(rs.id)}
    rows = []
    for r in store.latest(rs.id):
        it = items[r.item_id]
        row: dict[str, Any] = {"input_id": it.input_id, "model": it.model, "item_id": it.id,
                               "reviewer": r.reviewer, "authenticated": r.authenticated, "n_findings": it.n_findings,
                               "label": r.label, "seconds": r.seconds, "version": r.version}
        for c in rs.taxonomy.categories:
            n = r.count(c)
            row[c.value], row[f"{c.value}_sig"] = n.total, n.significant
        rows.append(row)
    cols = ["input_id", "model", "item_id", "reviewer", "authenticated", "n_findings", "label", "seconds", "version"]
    cols += [f"{c.value}{s}" for c in rs.taxonomy.categories for s in ("", "_sig")]
    df = pd.DataFrame(rows, columns=cols)
    cats = [c.value for c in rs.taxonomy.categories]
    df[ALL] = df[cats].sum(axis=1) if len(df) else pd.Series(dtype=float)
    df[f"{ALL}_sig"] = df[[f"{c}_sig" for c in cats]].sum(axis=1) if len(df) else pd.Series(dtype=float)
    return df


def category_keys(rs: ReviewSet) -> list[str]:
    return [c.value for c in rs.taxonomy.categories] + [ALL]


def category_title(key: str) -> str:
    return "All errors" if key == ALL else ErrorCategory(key).title


def _per_case(df: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per (model, case): mean errors over its reviewers, and the case's finding count."""
    return df.groupby(["model", "input_id"], sort=False).agg(
        errors=(key, "mean"), significant=(f"{key}_sig", "mean"), n_findings=("n_findings", "first")).reset_index()


def error_table(df: pd.DataFrame, rs: ReviewSet, *, n_resamples: int = N_RESAMPLES, seed: int = 0) -> pd.DataFrame:
    """Long form, one row per (model, category): errors (summed case means), significant,
    cases, per-case rate with CI, and per-finding rate with CI where cases give findings."""
    out = []
    for key in category_keys(rs):
        if df.empty:
            break
        per_case = _per_case(df, key)
        # Whole numbers for the table: errors counted over every review, however many
        # reviewers an output had (the rates use each case's mean over its reviewers).
        counted = df.groupby("model").agg(counted=(key, "sum"), counted_sig=(f"{key}_sig", "sum"),
                                          reviews=("item_id", "count"))
        for model, g in per_case.groupby("model", sort=True):
            err = g["errors"].to_numpy(float)
            case_ci = stats.bootstrap_ci(err, n_resamples=n_resamples, seed=seed)
            known = g["n_findings"].notna().to_numpy()
            row = {"model": model, "category": key, "errors": float(err.sum()),
                   "significant": float(g["significant"].sum()), "cases": len(g),
                   "counted": int(counted.loc[model, "counted"]), "counted_sig": int(counted.loc[model, "counted_sig"]),
                   "reviews": int(counted.loc[model, "reviews"]),
                   "per_case": case_ci.value, "per_case_low": case_ci.low, "per_case_high": case_ci.high,
                   "findings": float(g["n_findings"][known].sum()) if known.any() else np.nan,
                   "per_finding": np.nan, "per_finding_low": np.nan, "per_finding_high": np.nan}
            if known.any() and g["n_findings"][known].sum() > 0:
                cols = np.column_stack([err[known], g["n_findings"][known].to_numpy(float)])
                ci = stats.bootstrap_ci(cols, lambda s: s[..., 0] / np.where(s[..., 1] > 0, s[..., 1], np.nan),
                                        n_resamples=n_resamples, seed=seed)
                row.update(per_finding=ci.value, per_finding_low=ci.low, per_finding_high=ci.high)
            out.append(row)
    return pd.DataFrame(out, columns=["model", "category", "errors", "significant", "cases", "counted",
                                      "counted_sig", "reviews", "per_case",
                                      "per_case_low", "per_case_high", "findings", "per_finding",
                                      "per_finding_low", "per_finding_high"])


def _num(x: float, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "–"
    return f"{x:.0f}" if float(x).is_integer() and digits == 0 else f"{x:.{digits}f}"


def _count(x: float) -> str:
    """A count as the paper prints it: whole when whole (a mean over reviewers may not be)."""
    return "–" if np.isnan(x) else (f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}")


def paper_table(errors: pd.DataFrame, rs: ReviewSet) -> pd.DataFrame:
    """The paper's shape: one row per error category, one column per model; each cell
    "errors (significant) · rate [CI]/case" and, with finding counts, "· % [CI]/finding"."""
    models = sorted(errors["model"].unique()) if len(errors) else []
    body = []
    for key in category_keys(rs):
        row = {"Error category": category_title(key)}
        for m in models:
            hit = errors[(errors["model"] == m) & (errors["category"] == key)]
            if hit.empty:
                row[m] = ""
                continue
            r = hit.iloc[0]
            cell = (f"{r.counted} ({r.counted_sig} sig.) in {r.reviews} review{'s' if r.reviews != 1 else ''} · "
                    f"{_num(r.per_case)} [{_num(r.per_case_low)}, {_num(r.per_case_high)}]/case")
            if not np.isnan(r.per_finding):
                cell += (f" · {_num(100 * r.per_finding, 1)}% [{_num(100 * r.per_finding_low, 1)}, "
                         f"{_num(100 * r.per_finding_high, 1)}]/finding")
            row[m] = cell
        body.append(row)
    if models:
        total = errors[errors["category"] == ALL].set_index("model")
        body.append({"Error category": "Cases reviewed", **{m: str(int(total.loc[m, "cases"])) for m in models}})
        if total["findings"].notna().any():
            body.append({"Error category": "Findings in the references",
                         **{m: _count(total.loc[m, "findings"]) for m in models}})
    return pd.DataFrame(body, columns=["Error category", *models])


def reviewer_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per reviewer: outputs and cases scored, errors per output, significant share, time."""
    if df.empty:
        return pd.DataFrame(columns=["reviewer", "signed in", "outputs", "cases", "errors per output",
                                     "significant share", "median seconds per output"])
    g = df.groupby(["reviewer", "authenticated"], sort=True)
    out = g.agg(outputs=("item_id", "count"), cases=("input_id", "nunique"), errors=(ALL, "sum"),
                sig=(f"{ALL}_sig", "sum"), seconds=("seconds", "median")).reset_index()
    return pd.DataFrame({
        "reviewer": out["reviewer"], "signed in": np.where(out["authenticated"], "yes", "no (name typed)"),
        "outputs": out["outputs"], "cases": out["cases"], "errors per output": (out["errors"] / out["outputs"]).round(3),
        "significant share": np.where(out["errors"] > 0, (out["sig"] / out["errors"].where(out["errors"] > 0)).round(3),
                                      np.nan),
        "median seconds per output": out["seconds"].round(1)})


def ab_table(df: pd.DataFrame, *, n_resamples: int = N_RESAMPLES, seed: int = 0) -> pd.DataFrame:
    """For each pair of models, over (reviewer, case) judgements that scored both outputs:
    how often each had fewer errors, and the mean difference in errors per case with a
    paired bootstrap CI over cases."""
    cols = ["model A", "model B", "judgements", "A fewer", "tie", "B fewer", "A − B errors per case", "low", "high",
            "cases"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    wide = df.pivot_table(index=["input_id", "reviewer", "authenticated"], columns="model", values=ALL,
                          aggfunc="first")
    out = []
    for a, b in itertools.combinations(sorted(df["model"].unique()), 2):
        pair = wide[[a, b]].dropna()
        if pair.empty:
            continue
        diff = pair[a] - pair[b]
        per_case = diff.groupby(level="input_id").mean().to_numpy(float)
        ci = stats.bootstrap_ci(per_case, n_resamples=n_resamples, seed=seed)
        out.append({"model A": a, "model B": b, "judgements": len(pair), "A fewer": int((diff < 0).sum()),
                    "tie": int((diff == 0).sum()), "B fewer": int((diff > 0).sum()), "A − B errors per case": ci.value,
                    "low": ci.low, "high": ci.high, "cases": ci.n})
    return pd.DataFrame(out, columns=cols)


@dataclass
class Dashboard:
    """Everything the dashboard shows for one set."""

    review_set: ReviewSet
    unblinded: bool
    reviews: int
    unauthenticated: int
    reviewers: int
    cases: int
    errors: pd.DataFrame
    paper: pd.DataFrame
    per_reviewer: pd.DataFrame
    agreement: pd.DataFrame
    ab: pd.DataFrame
    # The pairwise preference question: answers per pair of models, and their agreement.
    preference: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=agreement.PREFERENCE_COLUMNS))
    preference_agreement: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=agreement.AGREEMENT_COLUMNS))
    # radphi.verify's flags beside the reviewers' counts, per category (never per model).
    checker: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=review_checker.COLUMNS))
    notes: list[str] = field(default_factory=list)


def _case_answers(store: ReviewStore, rs: ReviewSet, items: list) -> pd.DataFrame:
    """The latest case answers (preference) of the set, with each case's item ids."""
    by_case: dict[str, list[int]] = {}
    for i in items:
        by_case.setdefault(i.input_id, []).append(i.id)
    rows = [{"input_id": c.input_id, "reviewer": c.reviewer, "authenticated": c.authenticated,
             "preference": c.preference, "preferred_item_id": c.preferred_item_id,
             "item_ids": by_case.get(c.input_id, [])} for c in store.case_reviews(rs.id)]
    return pd.DataFrame(rows, columns=["input_id", "reviewer", "authenticated", "preference", "preferred_item_id",
                                       "item_ids"])


def dashboard(store: ReviewStore, set_name: str | int, *, unblind: bool = False, n_resamples: int = N_RESAMPLES,
              seed: int = 0) -> Dashboard:
    """The dashboard of a set. Model names stay hidden unless `unblind` or the set is closed."""
    rs = store.get_set(set_name)
    df = review_frame(store, rs)
    unblinded = unblind or rs.closed
    items = store.items(rs.id)
    names = {i.id: i.model for i in items}
    if not unblinded:
        # The set's secret draw (radphi.review.blinding), never a function of public facts.
        blind = store.pseudonyms(rs.id, sorted(set(names.values())))
        names = {i: blind[m] for i, m in names.items()}
        if len(df):
            df["model"] = df["item_id"].map(names)
    prefs = agreement.preference_frame(_case_answers(store, rs, items), names)
    errors = error_table(df, rs, n_resamples=n_resamples, seed=seed)
    unauth = int((~df["authenticated"].astype(bool)).sum()) if len(df) else 0
    notes = []
    if unauth:
        notes.append(f"{unauth} of {len(df)} reviews were made without sign-in: their reviewer names were typed, "
                     f"not verified.")
    if not unblinded:
        notes.append("Model names are hidden (blinded) until the set is closed or an admin unblinds them.")
    if len(df) and df["n_findings"].isna().all():
        notes.append("The set's records give no finding counts (n_findings), so there are no per-finding rates.")
    checked = review_checker.checker_items(store, rs, df)
    notes += review_checker.checker_notes(checked[1], int(df["item_id"].nunique()) if len(df) else 0)
    return Dashboard(
        review_set=rs, unblinded=unblinded, reviews=len(df), unauthenticated=unauth,
        reviewers=int(agreement.rater_names(df).nunique()) if len(df) else 0, cases=int(df["input_id"].nunique()) if len(df) else 0,
        errors=errors, paper=paper_table(errors, rs), per_reviewer=reviewer_table(df),
        agreement=agreement.agreement_table(df, [(k, category_title(k)) for k in category_keys(rs)],
                                            n_resamples=n_resamples, seed=seed),
        ab=ab_table(df, n_resamples=n_resamples, seed=seed),
        preference=agreement.preference_table(prefs),
        preference_agreement=agreement.preference_agreement(prefs, n_resamples=n_resamples, seed=seed),
        checker=review_checker.checker_table(store, rs, df, items=checked), notes=notes)


def dashboard_csv(d: Dashboard) -> str:
    """Every table of the dashboard in one CSV, with a `table` column saying which."""
    parts = [d.errors.assign(table="errors"), d.per_reviewer.assign(table="reviewers"),
             d.checker.assign(table="checker"), d.agreement.assign(table="agreement"), d.ab.assign(table="ab"),
             d.preference.assign(table="preference"),
             d.preference_agreement.assign(table="preference agreement")]
    frame = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) \
        else pd.DataFrame(columns=["table"])
    frame.insert(0, "set", d.review_set.name)
    # Names come from people and files; a spreadsheet must not run one as a formula.
    frame = frame.map(lambda v: neutralise(v) if isinstance(v, str) else v)
    return frame[["table", *[c for c in frame.columns if c != "table"]]].to_csv(index=False)
