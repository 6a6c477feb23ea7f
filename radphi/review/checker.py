"""The automatic checker beside the reviewers: for every reviewed output of a set, the
flags of `radphi.verify` (text rules, no model) per category, the reviewers' counts for the
same category, and how well the two agree across outputs (Kendall's tau-b, Spearman's rho).

    items = checker_items(store, rs, review_frame(store, rs))   # one row per reviewed output
    table = checker_table(store, rs, df)                         # one row per category

A site reads it to see how far to trust the checker: a tau near 1 says the outputs the
checker flags most are the ones the reviewers counted most errors in.

- An output's reviewer count is the mean over the reviewers who scored it (as in the
  paper's table); its checker count is the number of flags, all and clinically significant.
- Rows are per category, never per model, so the table keeps the dashboard's blinding.
- Agreement is NaN (shown "n/a") with fewer than 3 outputs or when either side is
  constant across them (a rank correlation is undefined then).
- Outputs whose task has no source text to check against (radiology Q&A, an unknown task)
  are left out and counted in `unchecked`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from radphi import tasks
from radphi.review.model import ErrorCategory, ReviewSet
from radphi.review.store import ReviewStore
from radphi.verify import CATEGORIES, count_flags, sources, verify

log = logging.getLogger(__name__)

MIN_ITEMS = 3  # fewer outputs than this give no rank correlation
ALL_FOUR = "all_four"  # the pseudo-category: the checker's four categories together
NOTE = ("Automatic flags from radphi.verify (text rules, no model) beside the reviewers' counts; "
        "agreement is Kendall's tau and Spearman's rho across cases.")
COLUMNS = ["category", "outputs", "checker flags per output", "checker significant per output",
           "reviewers' errors per output", "reviewers' significant per output", "Kendall's tau-b", "Spearman's rho"]


def _categories(rs: ReviewSet) -> list[str]:
    return [c.value for c in CATEGORIES if c in rs.taxonomy.categories]


def _title(key: str) -> str:
    return "All four categories" if key == ALL_FOUR else ErrorCategory(key).title


def _check_item(item: Any, rs: ReviewSet) -> dict[str, int] | None:
    """{category: flags, category_sig: significant flags} for one output; None when the
    checker cannot read it (no source text for its task, or an unknown task)."""
    task = item.task or rs.task
    if task not in tasks.TASKS:
        return None
    fields = dict(item.inputs or {})
    if not any(s.strip() for s in sources(task, fields)):
        return None
    flags = verify(task, fields, item.prediction or "")
    out: dict[str, int] = dict(count_flags(flags))
    out.update({f"{k}_sig": v for k, v in count_flags([f for f in flags if f.significant]).items()})
    return out


def checker_items(store: ReviewStore, rs: ReviewSet, df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """(one row per reviewed output that the checker could read, the number it could not).
    Columns: item_id, input_id, then per category `chk_<c>`, `chk_<c>_sig` (the checker's
    flags) and `rev_<c>`, `rev_<c>_sig` (the mean over the output's reviewers), and the
    same for ALL_FOUR. No model column: the caller's table stays blinded."""
    cats = _categories(rs)
    keys = [*cats, ALL_FOUR]
    cols = ["item_id", "input_id"] + [f"{side}_{k}{s}" for k in keys for side in ("chk", "rev") for s in ("", "_sig")]
    if df.empty:
        return pd.DataFrame(columns=cols), 0
    reviewed = df.assign(**{ALL_FOUR: df[cats].sum(axis=1),
                            f"{ALL_FOUR}_sig": df[[f"{c}_sig" for c in cats]].sum(axis=1)})
    means = reviewed.groupby("item_id", sort=True)[[f"{k}{s}" for k in keys for s in ("", "_sig")]].mean()
    items = {i.id: i for i in store.items(rs.id)}
    rows, unchecked = [], 0
    for item_id, rev in means.iterrows():
        item = items[int(item_id)]
        try:
            chk = _check_item(item, rs)
        except Exception as exc:  # one unreadable output must not take the dashboard down
            # The type only: a foreign exception's message may quote report text.
            log.warning("radphi.verify failed on item %s of set %s: %s", item_id, rs.name, type(exc).__name__)
            chk = None
        if chk is None:
            unchecked += 1
            continue
        chk[ALL_FOUR] = sum(chk[c] for c in cats)
        chk[f"{ALL_FOUR}_sig"] = sum(chk[f"{c}_sig"] for c in cats)
        row: dict[str, Any] = {"item_id": int(item_id), "input_id": item.input_id}
        for k in keys:
            for s in ("", "_sig"):
                row[f"chk_{k}{s}"] = float(chk[f"{k}{s}"])
                row[f"rev_{k}{s}"] = float(rev[f"{k}{s}"])
        rows.append(row)
    return pd.DataFrame(rows, columns=cols), unchecked


def rank_agreement(a: Any, b: Any) -> tuple[float, float]:
    """(Kendall's tau-b, Spearman's rho) of two paired vectors; NaN for both with fewer than
    MIN_ITEMS pairs or when either vector is constant."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) != len(b):
        raise ValueError("rank agreement needs paired vectors of the same length")
    if len(a) < MIN_ITEMS or np.ptp(a) == 0 or np.ptp(b) == 0:
        return np.nan, np.nan
    from scipy import stats as sps

    return float(sps.kendalltau(a, b).statistic), float(sps.spearmanr(a, b).statistic)


def checker_table(store: ReviewStore, rs: ReviewSet, df: pd.DataFrame, *,
                  items: tuple[pd.DataFrame, int] | None = None) -> pd.DataFrame:
    """One row per checker category (and all four together): outputs compared, the checker's
    flags per output (all, significant), the reviewers' errors per output (all,
    significant), and the rank agreement of the two counts across outputs. `items` reuses
    a `checker_items` result."""
    per_item, _ = items if items is not None else checker_items(store, rs, df)
    if per_item.empty:
        return pd.DataFrame(columns=COLUMNS)
    out = []
    for key in [*_categories(rs), ALL_FOUR]:
        chk, rev = per_item[f"chk_{key}"].to_numpy(float), per_item[f"rev_{key}"].to_numpy(float)
        tau, rho = rank_agreement(chk, rev)
        out.append({"category": _title(key), "outputs": len(per_item),
                    "checker flags per output": float(chk.mean()),
                    "checker significant per output": float(per_item[f"chk_{key}_sig"].mean()),
                    "reviewers' errors per output": float(rev.mean()),
                    "reviewers' significant per output": float(per_item[f"rev_{key}_sig"].mean()),
                    "Kendall's tau-b": tau, "Spearman's rho": rho})
    return pd.DataFrame(out, columns=COLUMNS)


def checker_notes(unchecked: int, total: int) -> list[str]:
    if not unchecked:
        return []
    return [f"{unchecked} of {total} reviewed outputs were not checked automatically: their task gives "
            f"radphi.verify no source text to check against."]


def display(frame: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """The table for a page: numbers rounded, NaN agreement as "n/a"."""
    if frame.empty:
        return frame
    out = frame.copy()
    for col in COLUMNS[2:]:
        out[col] = [("n/a" if np.isnan(v) else f"{v:.{digits}f}") for v in out[col].astype(float)]
    return out
