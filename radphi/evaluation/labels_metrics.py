"""Set metrics: the label tasks, the temporal tasks' added/removed findings and progression.

Per record, the task parser (`radphi.tasks`) reads prediction and reference into sets;
then:

- sample scores: precision, recall and F1 of the record's two sets. A record whose two
  sets are both empty scores 1.0 on all three; one empty set against a non-empty one 0.0.
- micro scores: from the tp, fp and fn summed over records (`micro_prf`), a function
  of sums, so `radphi.stats` bootstraps it by resampling records.
- per-label scores and support (the number of reference sets holding the label).

Predicted names outside the task's vocabulary (`unknown` in the parsed structure) stay in
the predicted set: a made-up label is a false positive, not nothing.

    >>> set_prf({"a", "b"}, {"b", "c"})
    (0.5, 0.5, 0.5)
"""

from __future__ import annotations

import logging
import re
from typing import Any, Iterable

import numpy as np

from radphi import tasks

log = logging.getLogger(__name__)

_NON_WORD = re.compile(r"[^a-z0-9]+")
_LEADING_ARTICLE = re.compile(r"^(?:the|a|an)\s+")


def set_prf(pred: Iterable[str], ref: Iterable[str]) -> tuple[float, float, float]:
    """(precision, recall, f1) of a predicted set against a reference set; both empty: 1.0."""
    p, r = set(pred), set(ref)
    if not p and not r:
        return 1.0, 1.0, 1.0
    hit = len(p & r)
    precision = hit / len(p) if p else 0.0
    recall = hit / len(r) if r else 0.0
    f1 = 2 * hit / (len(p) + len(r))
    return precision, recall, f1


def micro_prf(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Micro-averaged (precision, recall, f1) from summed counts (arrays broadcast; 0/0 -> 0)."""
    tp, fp, fn = (np.asarray(x, dtype=float) for x in (tp, fp, fn))
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1e-300), 0.0)
        recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1e-300), 0.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1e-300), 0.0)
    return precision, recall, f1


def norm_item(text: str) -> str:
    """A finding or label name for set comparison: lower-case words, no leading article."""
    return _LEADING_ARTICLE.sub("", _NON_WORD.sub(" ", str(text).lower()).strip())


def label_set(task: str, text: Any) -> frozenset[str]:
    """The label set of an answer text: canonical labels as spelled in the vocabulary, and
    any unknown names normalised (`norm_item`)."""
    parsed = tasks.get_task(task).parse(text)
    unknown = (norm_item(x) for x in parsed.get("unknown") or [])
    return frozenset(list(parsed.get("labels") or []) + [x for x in unknown if x])


def label_scores(task: str, prediction: Any, reference: Any) -> dict[str, Any]:
    """Per-record label metrics and the sets behind them."""
    pred, ref = label_set(task, prediction), label_set(task, reference)
    p, r, f = set_prf(pred, ref)
    return {
        "label_precision": p, "label_recall": r, "label_f1": f,
        "label_tp": len(pred & ref), "label_fp": len(pred - ref), "label_fn": len(ref - pred),
        "_pred": pred, "_ref": ref,
    }


def temporal_findings_scores(prediction: Any, reference: Any) -> dict[str, float]:
    """Precision, recall and F1 of the added and of the removed findings."""
    parse = tasks.get_task("qa_temporal_findings").parse
    pred, ref = parse(prediction), parse(reference)
    out: dict[str, float] = {}
    for side in ("added", "removed"):
        p_set = {norm_item(x) for x in pred.get(side) or [] if norm_item(x)}
        r_set = {norm_item(x) for x in ref.get(side) or [] if norm_item(x)}
        out[f"{side}_precision"], out[f"{side}_recall"], out[f"{side}_f1"] = set_prf(p_set, r_set)
    return out


def progression_accuracy(prediction: Any, reference: Any) -> float:
    """The share of the reference's findings that the prediction names with the same change.

    Findings match on their normalised name and region. A reference without findings
    scores 1.0 when the prediction has none either, else 0.0.
    """
    parse = tasks.get_task("qa_temporal_progression").parse
    pred = {(norm_item(i["finding"]), norm_item(i.get("region") or "")): i["change"] for i in parse(prediction)}
    ref = [((norm_item(i["finding"]), norm_item(i.get("region") or "")), i["change"]) for i in parse(reference)]
    if not ref:
        return 1.0 if not pred else 0.0
    return sum(1 for key, change in ref if pred.get(key) == change) / len(ref)


def per_label_counts(preds: list[frozenset[str]], refs: list[frozenset[str]]) -> tuple[list[str], np.ndarray]:
    """(labels, counts) where counts is (n_records, 3 * n_labels): tp, fp, fn columns per label.

    Labels are those in any reference or prediction, sorted by support, then name.
    """
    support: dict[str, int] = {}
    for ref in refs:
        for label in ref:
            support[label] = support.get(label, 0) + 1
    for pred in preds:
        for label in pred:
            support.setdefault(label, 0)
    labels = sorted(support, key=lambda x: (-support[x], x))
    index = {label: i for i, label in enumerate(labels)}
    counts = np.zeros((len(refs), 3 * len(labels)))
    for row, (pred, ref) in enumerate(zip(preds, refs)):
        for label in pred & ref:
            counts[row, 3 * index[label]] = 1
        for label in pred - ref:
            counts[row, 3 * index[label] + 1] = 1
        for label in ref - pred:
            counts[row, 3 * index[label] + 2] = 1
    return labels, counts
