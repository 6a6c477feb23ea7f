"""Turning an uploaded CSV or JSONL into the JSONL records `radphi.runner.run_file` reads.

Kept out of the Batch tab's handler so that the handler does not open files itself.
The prepared file keeps one line per source row (a rejected row becomes a blank
line, which the reader skips), so the runner's line numbers are the source's row
numbers and its messages can be rewritten as "row N: ...".
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from radphi import records, tasks
from radphi.errors import InputError

log = logging.getLogger(__name__)

SUFFIXES = (".csv", ".jsonl", ".json", ".ndjson")


@dataclass
class PreparedBatch:
    input_path: Path
    unit: str  # "row" (CSV data rows, the header not counted) or "line" (JSONL)
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    def describe(self, message: str) -> str:
        """A runner message about the prepared file, said in terms of the upload."""
        prefix = f"{self.input_path}:"
        return f"{self.unit} {message[len(prefix):]}" if message.startswith(prefix) else message


def _too_long(record: dict, task: tasks.Task, max_chars: int) -> str | None:
    for name in task.fields:
        value = record.get(name)
        if isinstance(value, str) and len(value) > max_chars:
            return f"field {name!r} is {len(value):,} characters long; the limit is {max_chars:,} characters per field"
    return None


def _read_csv(upload: Path, task: tasks.Task) -> tuple[dict[int, dict], list[str]]:
    problems: list[str] = []
    rows: dict[int, dict] = {}
    try:
        with upload.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh, restkey="__extra__")
            header = reader.fieldnames or []
            missing = [f for f in task.fields if f not in header]
            if missing:
                raise InputError(
                    f"the CSV has no column {', '.join(repr(m) for m in missing)} needed by {task.name}; "
                    f"its columns are: {', '.join(header) or '(none)'}"
                )
            for number, row in enumerate(reader, start=1):
                if "__extra__" in row:
                    problems.append(f"row {number}: more cells than the header has columns; skipped")
                    continue
                rows[number] = {k: ("" if v is None else v) for k, v in row.items()}
    except UnicodeDecodeError:
        raise InputError("the CSV is not UTF-8 text; save it as UTF-8 (CSV UTF-8 in Excel) "
                         "and upload it again") from None
    except csv.Error as exc:
        raise InputError(f"the CSV could not be read: {exc}") from None
    return rows, problems


def _read_jsonl(upload: Path) -> tuple[dict[int, dict], list[str]]:
    bad: list[records.BadLine] = []
    rows = dict(records.iter_numbered(upload, bad))
    return rows, [f"line {b.line}: {b.reason}" for b in bad]


def prepare_batch(upload: str | Path, task_name: str, out_dir: Path, max_chars: int) -> PreparedBatch:
    """Read the upload, set aside rows that cannot run (reported, not fatal), and write the
    rest, aligned by row number, to `out_dir/input.jsonl`. InputError for a file that
    cannot be read at all."""
    upload = Path(upload)
    task = tasks.get_task(task_name)
    suffix = upload.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"upload a .csv or .jsonl file (got {upload.suffix or 'a file without an extension'})")
    if suffix == ".csv":
        rows, problems = _read_csv(upload, task)
        unit = "row"
    else:
        rows, problems = _read_jsonl(upload)
        unit = "line"
    prepared = PreparedBatch(out_dir / "input.jsonl", unit, problems=problems)
    last = max(rows, default=0)
    with prepared.input_path.open("w", encoding="utf-8") as fh:
        for number in range(1, last + 1):
            record = rows.get(number)
            reason = _too_long(record, task, max_chars) if record is not None else None
            if reason:
                prepared.problems.append(f"{unit} {number}: {reason}; skipped")
                record = None
            fh.write((json.dumps(record, ensure_ascii=False) if record is not None else "") + "\n")
            prepared.rows += record is not None
    if not rows and not problems:
        raise InputError("the uploaded file has no rows")
    log.info("batch upload: %d %ss to run, %d set aside", prepared.rows, unit, len(prepared.problems))
    return prepared
