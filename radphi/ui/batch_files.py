"""Turning an uploaded CSV or JSONL into the JSONL records `radphi.runner.run_file` reads.

Kept out of the Batch tab's handler so that the handler does not open files itself.
The prepared file keeps one line per source row (a rejected row becomes a blank
line, which the reader skips), so the runner's line numbers are the source's row
numbers and its messages can be rewritten as "row N: ...".

Text encodings: UTF-8 is read as it is; a file with a byte-order mark (UTF-16 or UTF-32,
as Excel's "Unicode Text" writes, or UTF-8 with a BOM) is decoded by its mark into a
private UTF-8 copy. Anything else is refused with the file's name and the line of the
first byte that cannot be read: guessing a legacy code page could change clinical text
without a sign.
"""

from __future__ import annotations

import codecs
import csv
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from radphi import records, tasks
from radphi.errors import InputError
from radphi.files import write_private_text

log = logging.getLogger(__name__)

SUFFIXES = (".csv", ".jsonl", ".json", ".ndjson")
# Longest first: UTF-32-LE's mark begins with UTF-16-LE's.
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
SAVE_AS_UTF8 = "Save it as UTF-8 (in Excel: CSV UTF-8) and upload it again."


def utf8_text(upload: Path, out_dir: Path) -> Path:
    """UPLOAD itself when it is UTF-8 text, else a private UTF-8 copy of it in OUT_DIR when
    a byte-order mark says its encoding; InputError naming the file otherwise."""
    data = upload.read_bytes()
    name = upload.name
    codec = next((c for bom, c in BOMS if data.startswith(bom)), None)
    if codec is not None:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError as exc:
            raise InputError(f"{name} starts with a {codec.upper()} byte-order mark but is not {codec.upper()} "
                             f"text (byte {exc.start:,} cannot be read). {SAVE_AS_UTF8}") from None
        log.info("batch upload: %s decoded from %s", upload.suffix, codec)
        return write_private_text(out_dir / f"upload-utf8{upload.suffix.lower()}", text)
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise InputError(f"{name} is not UTF-8 text: line {line:,} holds NUL bytes, so it is probably UTF-16 text "
                         f"without a byte-order mark, or not a text file. {SAVE_AS_UTF8}")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{name} is not UTF-8 text: line {line:,} holds the byte 0x{data[exc.start]:02X}, which "
                         f"UTF-8 cannot read (the file was probably saved as Windows-1252 or Latin-1). "
                         f"{SAVE_AS_UTF8}") from None
    return upload


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


def _read_csv(upload: Path, task: tasks.Task, name: str) -> tuple[dict[int, dict], list[str]]:
    problems: list[str] = []
    rows: dict[int, dict] = {}
    try:
        with upload.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, restkey="__extra__")
            header = reader.fieldnames or []
            missing = [f for f in task.fields if f not in header]
            if missing:
                raise InputError(
                    f"{name} has no column {', '.join(repr(m) for m in missing)}, which {task.title} needs; "
                    f"its columns are: {', '.join(header) or '(none)'}"
                )
            for number, row in enumerate(reader, start=1):
                if "__extra__" in row:
                    problems.append(f"row {number}: more cells than the header has columns; skipped")
                    continue
                rows[number] = {k: ("" if v is None else v) for k, v in row.items()}
    except csv.Error as exc:
        raise InputError(f"{name} could not be read as CSV: {exc}") from None
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
        raise InputError(f"Upload a .csv or .jsonl file ({upload.name} is "
                         f"{'a ' + upload.suffix + ' file' if upload.suffix else 'a file without an extension'}).")
    text = utf8_text(upload, out_dir)
    if suffix == ".csv":
        rows, problems = _read_csv(text, task, upload.name)
        unit = "row"
    else:
        rows, problems = _read_jsonl(text)
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
        raise InputError(f"{upload.name} has no rows.")
    log.info("batch upload: %d %ss to run, %d set aside", prepared.rows, unit, len(prepared.problems))
    return prepared
