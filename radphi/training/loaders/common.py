"""Helpers the loaders share: record construction, CSV reading (plain or gzipped),
report text normalisation, and the id normalisation of studies and images."""

from __future__ import annotations

import csv
import gzip
import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

def make_record(rid: str, task: str, fields: dict[str, str], reference: str, split: str,
                **meta: Any) -> dict[str, Any]:
    """One record in the shape of DESIGN.md; meta keys with value None are left out."""
    rec: dict[str, Any] = {"id": rid, "task": task}
    rec.update(fields)
    rec["reference"] = reference
    rec["split"] = split
    rec["meta"] = {k: v for k, v in meta.items() if v is not None}
    return rec


def open_text(path: str | Path) -> io.TextIOBase:
    """A text handle on PATH, gunzipped when it ends in .gz (PhysioNet ships both)."""
    path = Path(path)
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open("r", encoding="utf-8", newline="")


def resolve_existing(path: str | Path) -> Path:
    """PATH, or PATH.gz / PATH without .gz when only that exists; FileNotFoundError otherwise."""
    path = Path(path).expanduser()
    candidates = [path, Path(str(path) + ".gz")]
    if path.suffix == ".gz":
        candidates.append(path.with_suffix(""))
    for cand in candidates:
        if cand.exists():
            return cand
    raise FileNotFoundError(f"not found: {path}")


def iter_csv(path: str | Path) -> Iterator[dict[str, str]]:
    """Rows of a CSV as dicts, with header names stripped and lower-cased (tolerant
    of the `Study_ID` / `study_id` variants between releases)."""
    with open_text(resolve_existing(path)) as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            return
        for row in reader:
            if row:
                yield dict(zip(header, (v.strip() for v in row)))


_NUMERIC_ID = re.compile(r"^[sp]?(\d+)(?:\.0+)?$", re.IGNORECASE)


def norm_id(value: Any) -> str:
    """A study or subject id as digits: 's50414267', '50414267', 50414267.0 -> '50414267'.

    Other ids (dicom ids are hex-like strings) come back stripped and unchanged.
    """
    text = str(value).strip()
    match = _NUMERIC_ID.match(text)
    return match.group(1) if match else text


_BLANK = re.compile(r"\n[ \t]*\n")
_BANNER = re.compile(r"^\s*FINAL REPORT[ \t]*(?:\n|$)")


def clean_report(text: str) -> str:
    """A MIMIC-CXR report as a model sees it: each paragraph on one line, whitespace
    collapsed, the `FINAL REPORT` banner dropped. De-identified `___` spans are kept."""
    text = _BANNER.sub("", text.replace("\r\n", "\n").replace("\r", "\n"), count=1)
    paragraphs = [" ".join(p.split()) for p in _BLANK.split(text)]
    return "\n".join(p for p in paragraphs if p)


def collapse(text: str | None) -> str:
    return " ".join((text or "").split())
