"""cleanup_report_text pairs -> cleanup_report_text records, and the index of cleaned
section texts that the MIMIC-CXR loader can use as extraction targets.

Reads JSONL, one pair per line, as `python -m radphi.training.cleanup_targets` writes it:

    {"id": "50414267-findings", "task": "cleanup_report_text", "text": "<raw section>",
     "reference": "<clean text>", "split": "train", "meta": {"study_id": "50414267", "section": "findings"}}

`cleaned` is accepted for `reference`. When a line has no `split` but a
`meta.study_id` and SPLIT_CSV is given, the study's MIMIC-CXR split is used (the split
rule); with neither, `default_split`. The paper had GPT-4 write the clean targets.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from radphi.records import BadLine, iter_numbered
from radphi.training.loaders.common import make_record, norm_id
from radphi.training.loaders.splits import MimicSplits, SplitCounter, normalize_split

log = logging.getLogger(__name__)

TASK = "cleanup_report_text"
DATASET = "cleanup_pairs"


def _target(row: dict[str, Any]) -> str:
    return str(row.get("reference") or row.get("cleaned") or "").strip()


def load(path: str, split_csv: str | None = None, default_split: str = "train") -> list[dict[str, Any]]:
    """cleanup_report_text records from a pairs JSONL file."""
    splits = MimicSplits.load(split_csv) if split_csv else None
    counter = SplitCounter(DATASET)
    errors: list[BadLine] = []
    out: list[dict[str, Any]] = []
    for lineno, row in iter_numbered(path, errors):
        text, target = str(row.get("text") or "").strip(), _target(row)
        if not text or not target:
            counter.add("dropped_empty")
            continue
        meta = dict(row.get("meta") or {})
        study = meta.get("study_id")
        split = normalize_split(row.get("split"))
        if splits is not None and study:
            split = splits.assign(study, own=row.get("split"), counter=counter)
            if split is None:
                continue
        out.append(make_record(str(row.get("id") or f"cleanup-{lineno}"), TASK, {"text": text}, target,
                               split or default_split, **{"dataset": DATASET, **meta}))
    counter.log()
    if errors:
        log.warning("%s: %d bad lines skipped", path, len(errors))
    return out


def clean_targets_index(path: str | Path) -> dict[tuple[str, str], str]:
    """(study_id, section) -> clean text, for pairs that name both in their meta."""
    index: dict[tuple[str, str], str] = {}
    for _, row in iter_numbered(path):
        meta = row.get("meta") or {}
        study, section, target = meta.get("study_id"), meta.get("section"), _target(row)
        if study and section and target:
            index[(norm_id(study), str(section).lower())] = target
    log.info("%s: %d clean section texts", path, len(index))
    return index
