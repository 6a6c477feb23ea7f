"""Records already in the project's shape (DESIGN.md "The record"), e.g. the synthetic
corpus or a previous loader's output saved as JSONL.

Lines whose `task` is unknown, whose input fields are empty, or that have no
`reference` are skipped and counted; a missing `split` becomes `default_split`.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from radphi import tasks as task_catalogue
from radphi.records import BadLine, iter_numbered
from radphi.training.loaders.splits import normalize_split

log = logging.getLogger(__name__)


def load(path: str, default_split: str = "train") -> list[dict[str, Any]]:
    errors: list[BadLine] = []
    skipped: Counter = Counter()
    out: list[dict[str, Any]] = []
    for lineno, rec in iter_numbered(path, errors):
        task = rec.get("task")
        fields = getattr(task_catalogue.TASKS.get(task), "fields", None)
        if fields is None:
            skipped["unknown_task"] += 1
            continue
        if any(not str(rec.get(f) or "").strip() for f in fields) or not str(rec.get("reference") or "").strip():
            skipped["empty_field_or_reference"] += 1
            continue
        rec = dict(rec)
        rec.setdefault("id", f"line-{lineno}")
        rec["split"] = normalize_split(rec.get("split")) or default_split
        out.append(rec)
    if skipped or errors:
        log.warning("%s: skipped %s, %d bad lines", path, dict(skipped), len(errors))
    return out
