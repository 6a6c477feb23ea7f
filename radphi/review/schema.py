"""The review database file: where it lives, who may read it, how it is opened, and its
schema as an append-only list of migrations (simonw/llm's pattern).

- `$RADPHI_HOME/reviews.db` by default. It holds report text, so the file (and SQLite's
  -wal and -shm files, which take the database file's mode) is 0600 and radphi's home
  directory 0700.
- WAL mode: readers never block the writer, and a committed transaction survives a
  killed process. `synchronous=FULL` makes it survive a power cut as well: a review is a
  radiologist's minutes, worth an fsync.
- Every write runs in `BEGIN IMMEDIATE`, which takes the write lock up front, so two
  processes never both read-then-upgrade and deadlock; the busy timeout queues them.
- Every table that matters is append-only, enforced by triggers (`recursive_triggers` is
  on, so `INSERT OR REPLACE` cannot delete a row behind them), and every row is chained
  into a hash-linked ledger by those triggers (`radphi.review.chain`).

Migrations: add a function to the end of MIGRATIONS; never edit or reorder one that
has shipped. Each runs once, in the transaction that records it in `_migrations`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import time
from pathlib import Path
from typing import Callable

from radphi.review import chain
from radphi.settings import radphi_home

log = logging.getLogger(__name__)

DB_NAME = "reviews.db"
BUSY_TIMEOUT_MS = 60_000


def default_path() -> Path:
    return radphi_home() / DB_NAME


def _append_only(conn: sqlite3.Connection, table: str) -> None:
    for op in ("UPDATE", "DELETE"):
        conn.execute(f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                     f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def m001_sets_and_items(conn: sqlite3.Connection) -> None:
    conn.execute("""
        CREATE TABLE review_sets (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            taxonomy TEXT NOT NULL CHECK (taxonomy IN ('paper', 'green')),
            task TEXT,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            closed_at TEXT
        )""")
    # inputs: the task's input fields (JSON); record: the whole imported record (JSON),
    # unknown keys included, so an export gives back what came in.
    conn.execute("""
        CREATE TABLE items (
            id INTEGER PRIMARY KEY,
            set_id INTEGER NOT NULL REFERENCES review_sets(id),
            input_id TEXT NOT NULL,
            model TEXT NOT NULL,
            task TEXT,
            inputs TEXT NOT NULL,
            reference TEXT,
            prediction TEXT NOT NULL,
            n_findings INTEGER,
            record TEXT NOT NULL,
            source TEXT,
            added_at TEXT NOT NULL,
            UNIQUE (set_id, input_id, model)
        )""")


def m002_reviews(conn: sqlite3.Connection) -> None:
    conn.execute("""
        CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            item_id INTEGER NOT NULL REFERENCES items(id),
            reviewer TEXT NOT NULL,
            authenticated INTEGER NOT NULL CHECK (authenticated IN (0, 1)),
            version INTEGER NOT NULL CHECK (version >= 1),
            corrected_text TEXT,
            comment TEXT NOT NULL DEFAULT '',
            seconds REAL NOT NULL DEFAULT 0,
            label TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (item_id, reviewer, authenticated, version)
        )""")
    conn.execute("""
        CREATE TABLE review_errors (
            review_id INTEGER NOT NULL REFERENCES reviews(id),
            category TEXT NOT NULL,
            significant INTEGER NOT NULL CHECK (significant >= 0),
            insignificant INTEGER NOT NULL CHECK (insignificant >= 0),
            PRIMARY KEY (review_id, category)
        )""")
    _append_only(conn, "reviews")
    _append_only(conn, "review_errors")
    # The version that counts: the highest of each (item, reviewer).
    conn.execute("""
        CREATE VIEW latest_reviews AS
        SELECT r.* FROM reviews r
        WHERE r.version = (SELECT MAX(v.version) FROM reviews v WHERE v.item_id = r.item_id
                           AND v.reviewer = r.reviewer AND v.authenticated = r.authenticated)""")


def m003_audit_and_roles(conn: sqlite3.Connection) -> None:
    conn.execute("""
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            authenticated INTEGER NOT NULL CHECK (authenticated IN (0, 1)),
            action TEXT NOT NULL,
            set_id INTEGER,
            item_id INTEGER,
            detail TEXT NOT NULL DEFAULT '{}'
        )""")
    _append_only(conn, "audit")
    conn.execute("CREATE INDEX audit_action ON audit (action, at)")
    conn.execute("""
        CREATE TABLE roles (
            user TEXT PRIMARY KEY,
            role TEXT NOT NULL CHECK (role IN ('reviewer', 'admin')),
            granted_at TEXT NOT NULL,
            granted_by TEXT NOT NULL
        )""")


def m004_provenance_assignments_and_ledger(conn: sqlite3.Connection) -> None:
    """Secret blinding, true provenance, case-level answers, and the tamper-evident ledger."""
    import secrets

    # A study set (blinded, sign-in required, items by admins only) or a practice set;
    # sets made before this migration were all blinded, so they stay studies.
    conn.execute("ALTER TABLE review_sets ADD COLUMN study INTEGER NOT NULL DEFAULT 1 CHECK (study IN (0, 1))")
    # The set's key for its model pseudonyms: drawn with `secrets`, never shown to reviewers.
    conn.execute("ALTER TABLE review_sets ADD COLUMN secret TEXT")
    for (set_id,) in conn.execute("SELECT id FROM review_sets").fetchall():
        conn.execute("UPDATE review_sets SET secret = ? WHERE id = ?", (secrets.token_hex(16), set_id))
    # A generation sent from the app: its id, and the user's edit kept apart from the output.
    conn.execute("ALTER TABLE items ADD COLUMN generation_uid TEXT")
    conn.execute("ALTER TABLE items ADD COLUMN edited_text TEXT")
    conn.execute("ALTER TABLE items ADD COLUMN added_by TEXT")
    # Roles become append-only grants; the current role of a user is their latest grant.
    conn.execute("""
        CREATE TABLE role_grants (
            id INTEGER PRIMARY KEY,
            user TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('reviewer', 'admin')),
            granted_at TEXT NOT NULL,
            granted_by TEXT NOT NULL
        )""")
    conn.execute("INSERT INTO role_grants (user, role, granted_at, granted_by) "
                 "SELECT user, role, granted_at, granted_by FROM roles ORDER BY granted_at")
    conn.execute("DROP TABLE roles")
    conn.execute("""
        CREATE VIEW roles AS SELECT g.user, g.role, g.granted_at, g.granted_by FROM role_grants g
        WHERE g.id = (SELECT MAX(h.id) FROM role_grants h WHERE h.user = g.user)""")
    # The order a reviewer saw a case's outputs in, drawn once and kept (the latest row counts
    # when outputs were added to the case later).
    conn.execute("""
        CREATE TABLE assignments (
            id INTEGER PRIMARY KEY,
            set_id INTEGER NOT NULL REFERENCES review_sets(id),
            input_id TEXT NOT NULL,
            reviewer TEXT NOT NULL,
            authenticated INTEGER NOT NULL CHECK (authenticated IN (0, 1)),
            item_order TEXT NOT NULL,
            drawn_at TEXT NOT NULL
        )""")
    conn.execute("CREATE INDEX assignments_case ON assignments (set_id, input_id)")
    # What a reviewer said of a case as a whole: the pairwise preference and the time spent.
    conn.execute("""
        CREATE TABLE case_reviews (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            set_id INTEGER NOT NULL REFERENCES review_sets(id),
            input_id TEXT NOT NULL,
            reviewer TEXT NOT NULL,
            authenticated INTEGER NOT NULL CHECK (authenticated IN (0, 1)),
            version INTEGER NOT NULL CHECK (version >= 1),
            preference TEXT NOT NULL CHECK (preference IN ('item', 'equal', 'none')),
            preferred_item_id INTEGER REFERENCES items(id),
            seconds REAL NOT NULL DEFAULT 0,
            assignment_id INTEGER REFERENCES assignments(id),
            created_at TEXT NOT NULL,
            UNIQUE (set_id, input_id, reviewer, authenticated, version),
            CHECK ((preference = 'item') = (preferred_item_id IS NOT NULL))
        )""")
    for table, op in (("reviews", "update"), ("reviews", "delete"), ("review_errors", "update"),
                      ("review_errors", "delete"), ("audit", "update"), ("audit", "delete")):
        conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op}")
    chain.create_ledger(conn)
    chain.install_triggers(conn)
    chain.seal_existing(conn)


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    m001_sets_and_items,
    m002_reviews,
    m003_audit_and_roles,
    m004_provenance_assignments_and_ledger,
]


def _secure(path: Path) -> None:
    """Owner-only: the directory 0700 when it is radphi's own home (or we made it), the
    database file 0600 (SQLite gives its -wal and -shm files the same mode)."""
    parent = path.parent
    if not parent.exists():
        parent.mkdir(parents=True, mode=0o700)
        os.chmod(parent, 0o700)
    elif parent.resolve() == radphi_home().resolve():
        os.chmod(parent, 0o700)
    elif parent.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("the review database's directory %s can be read by other users", parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if p.exists() and stat.S_IMODE(p.stat().st_mode) != 0o600:
            os.chmod(p, 0o600)


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with the store's pragmas."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    # On, so that the implicit delete of INSERT OR REPLACE fires the append-only triggers.
    conn.execute("PRAGMA recursive_triggers = ON")
    chain.register_functions(conn)
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def _set_wal(conn: sqlite3.Connection) -> None:
    # Switching to WAL needs a moment alone with the file; when many processes open a new
    # database at once, the busy handler does not cover it, so retry briefly.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"journal mode is {mode}, not wal")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def open_database(path: Path) -> None:
    """Create or upgrade the database at `path`: permissions, WAL, pending migrations."""
    _secure(path)
    conn = connect(path)
    try:
        _set_wal(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {r[0] for r in conn.execute("SELECT name FROM _migrations")}
            for fn in MIGRATIONS:
                if fn.__name__ not in done:
                    log.info("reviews database %s: applying %s", path, fn.__name__)
                    fn(conn)
                    conn.execute("INSERT INTO _migrations VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                                 (fn.__name__,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()
    _secure(path)  # the -wal and -shm files exist now
