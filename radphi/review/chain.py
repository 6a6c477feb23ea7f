"""The review store's tamper-evident ledger: every row that matters, hash-chained.

Each insert into a covered table (and the one allowed update: closing a set) adds a
ledger entry in the same statement, written by a trigger:

    row_hash = sha256(canonical JSON of the table name and the row's non-NULL columns)
    hash     = sha256(previous entry's hash | seq | table | row id | op | row_hash)

`verify(conn)` recomputes all of it: the chain, every row against its latest entry, rows
that are not in the ledger, entries whose row is gone, the triggers themselves, and the
last head this store wrote beside the database (`<db>.head`). Any raw edit made behind
the store's back, with or without the triggers, shows up as the first entry or row that
differs.

What it cannot do: someone with the OS account can delete the file, or rewrite every row
and the whole chain consistently (sha256 needs no key). Against that, keep the head that
`radphi review verify` prints somewhere else (the study log, an e-mail) and check it later
with `--expect-head`: a rewritten history cannot reproduce it.

Hand-written because no maintained library offers an append-only, verifiable log inside
SQLite (sqlite's own `dbhash` hashes content but keeps no history, and its session
extension is not exposed to Python).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

# Every table whose rows carry the study: sets, outputs, reviews and their counts,
# case-level answers, blinded orders, roles and the audit log.
COVERED = ("review_sets", "items", "reviews", "review_errors", "case_reviews", "assignments", "role_grants", "audit")
# review_sets may change in one way only: an open set is closed (closed_at NULL -> a time).
CLOSABLE = "review_sets"
GENESIS = ""


def register_functions(conn: sqlite3.Connection) -> None:
    """The two SQL functions the chain triggers call (a plain sqlite3 shell has neither,
    so a raw INSERT there fails instead of slipping in unchained)."""
    conn.create_function("radphi_row", -1, _row_hash_sql, deterministic=True)
    conn.create_function("radphi_link", 6, link, deterministic=True)


def canonical(table: str, row: dict[str, Any]) -> str:
    """A row as canonical JSON: sorted keys, NULL columns left out (so a column added by a
    later migration does not change the hash of older rows), floats as repr (round-trip)."""
    body = {k: v for k, v in row.items() if v is not None}
    return json.dumps({"table": table, "row": body}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def row_hash(table: str, row: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(table, row).encode("utf-8")).hexdigest()


def _row_hash_sql(table: str, *pairs: Any) -> str:
    return row_hash(table, dict(zip(pairs[0::2], pairs[1::2])))


def link(prev: str, seq: int, table: str, row_id: int, op: str, rhash: str) -> str:
    blob = f"{prev}|{seq}|{table}|{row_id}|{op}|{rhash}"
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


# ---------------------------------------------------------------------------- schema


def create_ledger(conn: sqlite3.Connection) -> None:
    conn.execute("""
        CREATE TABLE ledger (
            seq INTEGER PRIMARY KEY,
            tbl TEXT NOT NULL,
            row_id INTEGER NOT NULL,
            op TEXT NOT NULL CHECK (op IN ('insert', 'update', 'seal')),
            row_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )""")
    conn.execute("CREATE INDEX ledger_row ON ledger (tbl, row_id)")


def _entry_sql(table: str, cols: list[str], op: str) -> str:
    pairs = ", ".join(f"'{c}', NEW.{c}" for c in cols)
    return (f"INSERT INTO ledger (seq, tbl, row_id, op, row_hash, hash) "
            f"SELECT s, '{table}', NEW.rowid, '{op}', h, radphi_link(p, s, '{table}', NEW.rowid, '{op}', h) "
            f"FROM (SELECT COALESCE((SELECT MAX(seq) FROM ledger), 0) + 1 AS s, "
            f"COALESCE((SELECT hash FROM ledger ORDER BY seq DESC LIMIT 1), '') AS p, "
            f"radphi_row('{table}', {pairs}) AS h);")


def expected_triggers(conn: sqlite3.Connection) -> dict[str, str]:
    """{trigger name: SQL} for the current columns of every covered table."""
    out: dict[str, str] = {}
    for table in COVERED:
        cols = columns(conn, table)
        out[f"{table}_chain_insert"] = (f"CREATE TRIGGER {table}_chain_insert AFTER INSERT ON {table} "
                                        f"BEGIN {_entry_sql(table, cols, 'insert')} END")
        out[f"{table}_no_delete"] = (f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                                     f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
        if table == CLOSABLE:
            same = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in cols if c != "closed_at")
            out[f"{table}_no_update"] = (
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                f"WHEN NOT (OLD.closed_at IS NULL AND NEW.closed_at IS NOT NULL AND {same}) "
                f"BEGIN SELECT RAISE(ABORT, 'a review set can only be closed, not changed'); END")
            out[f"{table}_chain_update"] = (f"CREATE TRIGGER {table}_chain_update AFTER UPDATE ON {table} "
                                            f"BEGIN {_entry_sql(table, cols, 'update')} END")
        else:
            out[f"{table}_no_update"] = (f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                                         f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
    for op in ("update", "delete"):
        out[f"ledger_no_{op}"] = (f"CREATE TRIGGER ledger_no_{op} BEFORE {op.upper()} ON ledger "
                                  f"BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END")
    return out


def install_triggers(conn: sqlite3.Connection) -> None:
    """(Re)create every trigger from the current columns; run after any migration that
    changes a covered table."""
    for name, sql in expected_triggers(conn).items():
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute(sql)


def seal_existing(conn: sqlite3.Connection) -> None:
    """Chain the rows a store held before it had a ledger, as "seal" entries."""
    for table in COVERED:
        cols = columns(conn, table)
        for row in conn.execute(f"SELECT rowid AS _rowid, * FROM {table} ORDER BY rowid").fetchall():
            append(conn, table, row["_rowid"], "seal", row_hash(table, {c: row[c] for c in cols}))


def append(conn: sqlite3.Connection, table: str, row_id: int, op: str, rhash: str) -> None:
    last = conn.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    conn.execute("INSERT INTO ledger (seq, tbl, row_id, op, row_hash, hash) VALUES (?,?,?,?,?,?)",
                 (seq, table, row_id, op, rhash, link(prev, seq, table, row_id, op, rhash)))


def head(conn: sqlite3.Connection) -> tuple[int, str]:
    """(seq, hash) of the last ledger entry; (0, "") for an empty ledger."""
    row = conn.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


# ---------------------------------------------------------------------------- the head file


def head_path(db: Path) -> Path:
    return db.with_name(db.name + ".head")


def write_head(db: Path, seq: int, value: str) -> None:
    """Record the head beside the database (owner-only, atomic). Two processes may race;
    the loser leaves an older head, which still verifies: an entry of the chain."""
    from radphi.files import write_private_text

    write_private_text(head_path(db), json.dumps({"seq": seq, "hash": value}))


def read_head(db: Path) -> tuple[int, str] | None:
    try:
        data = json.loads(head_path(db).read_text(encoding="utf-8"))
        return int(data["seq"]), str(data["hash"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return (-1, "unreadable")


# ---------------------------------------------------------------------------- verify


@dataclass
class Report:
    """What `verify` found: `ok`, the problems (first one first), and the head."""

    entries: int = 0
    rows: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return (f"ok: {self.rows} rows in {len(COVERED)} tables match a ledger of {self.entries} entries; "
                    f"head {self.head_seq}:{self.head_hash}")
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"TAMPERED: {self.problems[0]}{more}"


def verify_entries(entries: Iterable[dict[str, Any]]) -> tuple[list[str], dict[tuple[str, int], list[dict]]]:
    """Check the chain links; returns (problems, entries per (table, row id))."""
    problems: list[str] = []
    per_row: dict[tuple[str, int], list[dict]] = {}
    prev, expect_seq = GENESIS, 1
    for e in entries:
        if e["seq"] != expect_seq:
            problems.append(f"ledger entry {expect_seq} is missing (the next one is {e['seq']})")
            break
        if e["hash"] != link(prev, e["seq"], e["tbl"], e["row_id"], e["op"], e["row_hash"]):
            problems.append(f"ledger entry {e['seq']} ({e['tbl']} row {e['row_id']}) does not follow from the "
                            f"entry before it: the ledger was edited")
            break
        per_row.setdefault((e["tbl"], e["row_id"]), []).append(e)
        prev, expect_seq = e["hash"], expect_seq + 1
    for (table, row_id), history in per_row.items():
        if table not in COVERED:
            problems.append(f"ledger entry {history[0]['seq']} names an unknown table {table!r}")
        elif history[0]["op"] not in ("insert", "seal") or any(h["op"] != "update" for h in history[1:]):
            problems.append(f"{table} row {row_id} was written twice (ledger entries "
                            f"{', '.join(str(h['seq']) for h in history)}): a row was replaced")
        elif table != CLOSABLE and len(history) > 1:
            problems.append(f"{table} row {row_id} was updated (ledger entry {history[1]['seq']}); it is append-only")
    return problems, per_row


def verify_rows(tables: dict[str, list[dict[str, Any]]], per_row: dict[tuple[str, int], list[dict]]) -> list[str]:
    """Each row against its latest ledger entry; `tables` maps a table to rows with `_rowid`."""
    problems: list[tuple[int, str]] = []
    seen: set[tuple[str, int]] = set()
    for table in COVERED:
        for row in tables.get(table, []):
            rid = row["_rowid"]
            key = (table, rid)
            seen.add(key)
            history = per_row.get(key)
            body = {k: v for k, v in row.items() if k != "_rowid"}
            if not history:
                problems.append((10**12 + rid, f"{table} row {rid} is not in the ledger: it was inserted behind "
                                               f"the store's back"))
            elif history[-1]["row_hash"] != row_hash(table, body):
                problems.append((history[-1]["seq"], f"{table} row {rid} differs from what ledger entry "
                                                     f"{history[-1]['seq']} recorded: it was changed"))
    for key, history in per_row.items():
        if key not in seen and key[0] in COVERED:
            problems.append((history[0]["seq"], f"{key[0]} row {key[1]} (ledger entry {history[0]['seq']}) is "
                                                f"gone: it was deleted"))
    return [p for _, p in sorted(problems)]


def verify(conn: sqlite3.Connection, db: Path | None = None, expect_head: str | None = None) -> Report:
    """Recompute the ledger and every covered row (see the module docstring)."""
    report = Report()
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "ledger" not in names:
        report.problems.append("the store has no ledger table")
        return report
    entries = [dict(r) for r in conn.execute("SELECT seq, tbl, row_id, op, row_hash, hash FROM ledger ORDER BY seq")]
    report.entries = len(entries)
    problems, per_row = verify_entries(entries)
    tables = {t: [dict(r) for r in conn.execute(f"SELECT rowid AS _rowid, * FROM {t}")] for t in COVERED if t in names}
    report.rows = sum(len(v) for v in tables.values())
    problems += [f"table {t} is gone" for t in COVERED if t not in names]
    problems += verify_rows(tables, per_row)
    found = {r[0]: r[1] for r in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")}
    for name, sql in expected_triggers(conn).items() if not any("gone" in p for p in problems) else ():
        if name not in found:
            problems.append(f"trigger {name} is missing: the store is not protected against raw edits")
        elif " ".join(found[name].split()) != " ".join(sql.split()):
            problems.append(f"trigger {name} was changed")
    if entries:
        report.head_seq, report.head_hash = entries[-1]["seq"], entries[-1]["hash"]
    by_seq = {e["seq"]: e["hash"] for e in entries}
    if db is not None:
        recorded = read_head(db)
        if recorded is not None:
            seq, value = recorded
            if seq < 0:
                problems.append(f"the head file {head_path(db)} is unreadable")
            elif seq > report.head_seq:
                problems.append(f"the ledger ends at entry {report.head_seq}, before the head {seq} this store "
                                f"recorded: entries were removed")
            elif seq and by_seq.get(seq) != value:
                problems.append(f"ledger entry {seq} differs from the head this store recorded: history was rewritten")
    if expect_head:
        seq_s, _, value = expect_head.partition(":")
        try:
            seq = int(seq_s)
        except ValueError:
            problems.append(f"--expect-head {expect_head!r} is not SEQ:HASH as verify prints it")
        else:
            if by_seq.get(seq) != value:
                problems.append(f"ledger entry {seq} is not the head you recorded ({expect_head}): history was "
                                f"rewritten or removed")
    report.problems = problems
    return report
