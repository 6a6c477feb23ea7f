"""Agreement between reviewers, and the pairwise preference question, for the dashboard.

- `agreement_table`: per error category, on outputs scored by two or more reviewers:
  Cohen's kappa per pair of reviewers and Fleiss' kappa (statsmodels) on whether the
  category was found at all, Krippendorff's alpha (the `krippendorff` package) on that
  presence (nominal) and on the counts (interval); each with a bootstrap CI over outputs.
- `preference_table`: per pair of models, how often reviewers preferred each (or called
  them equal), with Wilson 95% intervals (statsmodels) for the share of decisive answers.
- `preference_agreement`: Krippendorff's alpha and Fleiss' kappa of the preference answers
  on cases answered by two or more reviewers.

Pure functions of data frames; `radphi.review.stats.dashboard` calls them with model names
already blinded when they must be.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from radphi import interrater

AGREEMENT_COLUMNS = ["category", "statistic", "value", "low", "high", "n"]
PREFERENCE_COLUMNS = ["model A", "model B", "answers", "A better", "equal", "B better", "A's share of decisive",
                      "low", "high"]
EQUAL = "equal"


def rater_names(df: pd.DataFrame) -> pd.Series:
    """A reviewer's name as the tables show it: a typed, unverified name is marked so."""
    return df["reviewer"] + np.where(df["authenticated"], "", " (unverified)")


def _rows(category: str, what: str, data: np.ndarray, raters: list[str], *, n_resamples: int, seed: int,
          counts: np.ndarray | None = None) -> list[dict]:
    """Agreement rows for (raters, units) nominal `data` (NaN = not rated) on `what`, and
    Krippendorff's interval alpha on `counts` when given."""
    out = []
    for (i, a), (j, b) in itertools.combinations(enumerate(raters), 2):
        both = ~np.isnan(data[i]) & ~np.isnan(data[j])
        if both.sum() == 0:
            continue
        ci = interrater.cohen_kappa_ci(data[i][both], data[j][both], n_resamples=n_resamples, seed=seed)
        out.append({"category": category, "statistic": f"Cohen's kappa, {what}: {a} vs {b}", "value": ci.value,
                    "low": ci.low, "high": ci.high, "n": ci.n})
    if len(raters) >= 2:
        ci = interrater.fleiss_kappa_ci(data, n_resamples=n_resamples, seed=seed)
        if ci.n:
            out.append({"category": category, "statistic": f"Fleiss' kappa, {what} (all reviewers)", "value": ci.value,
                        "low": ci.low, "high": ci.high, "n": ci.n})
    levels = [("nominal", data, what)] + ([("interval", counts, "counts")] if counts is not None else [])
    for level, values, name in levels:
        ci = interrater.krippendorff_alpha_ci(values, level, n_resamples=n_resamples, seed=seed)
        out.append({"category": category, "statistic": f"Krippendorff's alpha, {name} ({level})", "value": ci.value,
                    "low": ci.low, "high": ci.high, "n": ci.n})
    return out


def agreement_table(df: pd.DataFrame, categories: list[tuple[str, str]], *, n_resamples: int, seed: int = 0
                    ) -> pd.DataFrame:
    """Per (column, title) in `categories`, on the outputs scored by two or more reviewers:
    agreement on presence (the category found at all), and alpha on the counts."""
    if df.empty:
        return pd.DataFrame(columns=AGREEMENT_COLUMNS)
    df = df.assign(rater=rater_names(df))
    shared = df.groupby("item_id")["rater"].nunique()
    df = df[df["item_id"].isin(shared[shared >= 2].index)]
    if df.empty:
        return pd.DataFrame(columns=AGREEMENT_COLUMNS)
    raters = sorted(df["rater"].unique())
    out = []
    for key, title in categories:
        wide = df.pivot_table(index="rater", columns="item_id", values=key, aggfunc="first").reindex(raters)
        counts = wide.to_numpy(float)
        presence = np.where(np.isnan(counts), np.nan, (counts > 0).astype(float))
        out += _rows(title, "presence", presence, raters, n_resamples=n_resamples, seed=seed, counts=counts)
    return pd.DataFrame(out, columns=AGREEMENT_COLUMNS)


def preference_frame(answers: pd.DataFrame, models_by_item: dict[int, str]) -> pd.DataFrame:
    """One row per answered preference: input_id, rater, the case's models, and the choice
    (a model name, or "equal"). `answers` has input_id, reviewer, authenticated,
    preference ("item", "equal", "none"), preferred_item_id and the case's item ids."""
    rows = []
    for r in answers.itertuples(index=False):
        if r.preference == "none":
            continue
        choice = EQUAL if r.preference == EQUAL else models_by_item.get(r.preferred_item_id)
        if choice is None:
            continue
        rows.append({"input_id": r.input_id, "rater": r.reviewer + ("" if r.authenticated else " (unverified)"),
                     "models": tuple(sorted({models_by_item[i] for i in r.item_ids if i in models_by_item})),
                     "choice": choice})
    return pd.DataFrame(rows, columns=["input_id", "rater", "models", "choice"])


def preference_table(prefs: pd.DataFrame) -> pd.DataFrame:
    """Per pair of models shown together: answers preferring each, or equal; the share of
    decisive answers that preferred A, with its Wilson 95% interval."""
    from statsmodels.stats.proportion import proportion_confint

    if prefs.empty:
        return pd.DataFrame(columns=PREFERENCE_COLUMNS)
    out = []
    pairs = sorted({p for models in prefs["models"] for p in itertools.combinations(models, 2)})
    for a, b in pairs:
        shown = prefs[prefs["models"].map(lambda ms: a in ms and b in ms)]
        a_better = int((shown["choice"] == a).sum())
        b_better = int((shown["choice"] == b).sum())
        equal = int((shown["choice"] == EQUAL).sum())
        decisive = a_better + b_better
        low, high = proportion_confint(a_better, decisive, method="wilson") if decisive else (np.nan, np.nan)
        out.append({"model A": a, "model B": b, "answers": a_better + b_better + equal, "A better": a_better,
                    "equal": equal, "B better": b_better,
                    "A's share of decisive": a_better / decisive if decisive else np.nan, "low": low, "high": high})
    return pd.DataFrame(out, columns=PREFERENCE_COLUMNS)


def preference_agreement(prefs: pd.DataFrame, *, n_resamples: int, seed: int = 0) -> pd.DataFrame:
    """Agreement of the preference answers (nominal: which model, or equal) on cases
    answered by two or more reviewers."""
    if prefs.empty:
        return pd.DataFrame(columns=AGREEMENT_COLUMNS)
    shared = prefs.groupby("input_id")["rater"].nunique()
    prefs = prefs[prefs["input_id"].isin(shared[shared >= 2].index)]
    if prefs.empty:
        return pd.DataFrame(columns=AGREEMENT_COLUMNS)
    codes = {c: float(i) for i, c in enumerate(sorted(prefs["choice"].unique()))}
    raters = sorted(prefs["rater"].unique())
    wide = prefs.assign(code=prefs["choice"].map(codes)).pivot_table(
        index="rater", columns="input_id", values="code", aggfunc="first").reindex(raters)
    return pd.DataFrame(_rows("Preferred output", "choice", wide.to_numpy(float), raters, n_resamples=n_resamples,
                              seed=seed),
                        columns=AGREEMENT_COLUMNS)
