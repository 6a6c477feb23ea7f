"""Radiopaedia question-answer pairs -> radiology_qa records.

Reads the project's JSONL format (DATA_FORMATS.md), one pair per line:

    {"system": "Chest", "article": "Pneumothorax", "article_type": "summary",
     "question": "...", "answer": "..."}

optionally with `id` and `split`. There is no public file: the paper generated pairs
from Radiopaedia articles across 16 systems with GPT-4, and held out each system's
summary articles for evaluation. Here a summary article's pairs go to `summary_split`
(`test` by default); a line's own `split` wins; the rest are `train`, except a
`validation_fraction` of articles (chosen by a hash of the article title, so every pair
of an article lands on the same side, on every run) that give the eval loss. `system`
is kept as the task's optional field and in `meta`. Bad lines are reported with their
line numbers (`radphi.records`) and skipped.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from radphi.records import BadLine, iter_numbered
from radphi.training.loaders.common import make_record
from radphi.training.loaders.splits import normalize_split

log = logging.getLogger(__name__)

DATASET = "radiopaedia"


def _article_bucket(article: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{article.strip().lower()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def load(path: str, summary_split: str = "test", validation_fraction: float = 0.02,
         seed: int = 0) -> list[dict[str, Any]]:
    """radiology_qa records from a Radiopaedia QA JSONL file."""
    errors: list[BadLine] = []
    out: list[dict[str, Any]] = []
    missing = 0
    for lineno, row in iter_numbered(path, errors):
        question, answer = str(row.get("question") or "").strip(), str(row.get("answer") or "").strip()
        if not question or not answer:
            missing += 1
            continue
        article = str(row.get("article") or "").strip()
        system = str(row.get("system") or "not specified").strip()
        article_type = str(row.get("article_type") or "").strip().lower()
        split = normalize_split(row.get("split"))
        if split is None:
            if article_type == "summary":
                split = summary_split
            elif article and _article_bucket(article, seed) < validation_fraction:
                split = "validation"
            else:
                split = "train"
        out.append(make_record(str(row.get("id") or f"radiopaedia-{lineno}"), "radiology_qa",
                               {"question": question, "system": system}, answer, split,
                               dataset=DATASET, system=system, article=article or None,
                               article_type=article_type or None))
    if missing or errors:
        log.warning("%s: %d lines without question or answer, %d bad lines skipped", path, missing, len(errors))
    return out
