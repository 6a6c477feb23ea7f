"""`radphi scrub`: de-identify text files for sharing, with the scrubber the remote path uses.

    radphi scrub notes.txt > notes.scrubbed.txt           # line by line
    cat notes.txt | radphi scrub - --report               # counts per kind on stderr
    radphi scrub reports.jsonl --jsonl report prior_report > shared.jsonl

With --jsonl each line must be a JSON object; the named fields (strings, or lists of
strings) are scrubbed and every other key passes through. A line that is not a JSON
object stops the run with its line number: it is never passed on unscrubbed. --report
prints how many identifiers of each kind were replaced, never the identifiers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import IO, Iterator

from radphi.deid import KINDS, scrub
from radphi.errors import InputError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", nargs="?", default="-", help="a text or JSONL file, or - for standard input (default)")
    p.add_argument("--jsonl", nargs="+", metavar="FIELD",
                   help="read JSONL and scrub these fields of each record (others pass through)")
    p.add_argument("--report", action="store_true",
                   help="print the count of identifiers replaced per kind to standard error")


def _lines(path: str) -> Iterator[str]:
    if path == "-":
        yield from sys.stdin
        return
    try:
        with open(path, encoding="utf-8") as fh:
            yield from fh
    except FileNotFoundError:
        raise InputError(f"input file not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, not a text file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _scrub_value(value, counts: Counter):
    if isinstance(value, str):
        result = scrub(value)
        counts.update(result.counts)
        return result.text
    if isinstance(value, list):
        return [_scrub_value(item, counts) for item in value]
    return value


def scrub_stream(path: str, out: IO[str], fields: list[str] | None = None) -> tuple[int, Counter]:
    """Scrub PATH ('-': stdin) to OUT; return (lines or records written, counts per kind)."""
    counts: Counter = Counter()
    n = 0
    for lineno, line in enumerate(_lines(path), 1):
        if fields is None:
            body = line[:-1] if line.endswith("\n") else line
            result = scrub(body)
            counts.update(result.counts)
            out.write(result.text + ("\n" if line.endswith("\n") else ""))
        else:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{lineno}: not JSON ({exc.msg}); nothing after line {lineno - 1} "
                                 f"was written") from None
            if not isinstance(record, dict):
                raise InputError(f"{path}:{lineno}: a JSON object is needed, got {type(record).__name__}; "
                                 f"nothing after line {lineno - 1} was written")
            for name in fields:
                if name in record:
                    record[name] = _scrub_value(record[name], counts)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        n += 1
    return n, counts


def format_report(n: int, counts: Counter, unit: str) -> str:
    kinds = ", ".join(f"{kind} {counts[kind]}" for kind in KINDS if counts[kind])
    return f"scrubbed {n} {unit}: {sum(counts.values())} identifier(s) replaced" + (f" ({kinds})" if kinds else "")


def main(args: argparse.Namespace) -> int:
    n, counts = scrub_stream(args.input, sys.stdout, args.jsonl)
    sys.stdout.flush()
    if args.report:
        print(format_report(n, counts, "records" if args.jsonl else "lines"), file=sys.stderr)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m radphi.deid.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    try:
        raise SystemExit(main(parser.parse_args()))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
