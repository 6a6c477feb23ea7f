"""JSONL records: the one shape that moves between the parts.

    {"id": str, "task": str, <input fields>..., "reference": str (optional),
     "split": "train"|"validation"|"test" (optional), "meta": {...} (optional)}

Reading never stops at a bad line: each problem (bytes that are not UTF-8, text that
is not JSON, a line that is not an object) is reported with its line number and the
rest of the file is read. Unknown keys pass through untouched.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from radphi.files import atomic_private_file, open_private

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BadLine:
    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


def iter_jsonl(path: str | os.PathLike, errors: list[BadLine] | None = None) -> Iterator[dict[str, Any]]:
    """Yield each JSON object of a JSONL file; bad lines go to `errors` (and the log)."""
    for _, obj in iter_numbered(path, errors):
        yield obj


def iter_numbered(path: str | os.PathLike, errors: list[BadLine] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each good line of a JSONL file."""
    path = Path(path)
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            problem = None
            try:
                obj = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                problem = f"not UTF-8 text (byte {exc.start}: {raw[exc.start:exc.start + 1]!r}); save the file as UTF-8"
            except json.JSONDecodeError as exc:
                problem = f"not valid JSON ({exc.msg} at column {exc.colno})"
            else:
                if not isinstance(obj, dict):
                    problem = f"expected a JSON object, got {type(obj).__name__}"
            if problem:
                bad = BadLine(str(path), lineno, problem)
                log.warning("skipping %s", bad)
                if errors is not None:
                    errors.append(bad)
                continue
            yield lineno, obj


def read_jsonl(path: str | os.PathLike, errors: list[BadLine] | None = None) -> list[dict[str, Any]]:
    return list(iter_jsonl(path, errors))


def append_jsonl(path: str | os.PathLike, records: Iterable[dict[str, Any]]) -> int:
    """Append records, one per line, flushed to disk, so a killed run loses at most one.

    The file is owner-only (0600), also when it existed with a wider mode: records hold
    report text."""
    n = 0
    with open_private(path, "a", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            fh.flush()
            n += 1
    return n


def write_jsonl(path: str | os.PathLike, records: Iterable[dict[str, Any]]) -> int:
    """Write records as the whole of PATH, atomically and owner-only (0600)."""
    n = 0
    with atomic_private_file(path, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    return n


def record_id(record: dict[str, Any], lineno: int) -> str:
    """The record's id, or one made from its position when it has none."""
    rid = record.get("id")
    return str(rid) if rid not in (None, "") else f"line-{lineno}"


def done_ids(path: str | os.PathLike) -> set[str]:
    """Ids already present in an output file (for resuming); a missing file has none."""
    path = Path(path)
    if not path.exists():
        return set()
    return {str(r["id"]) for r in iter_jsonl(path) if "id" in r}
