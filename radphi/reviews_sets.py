"""The review store's sets, items, roles and audit log (`SetStore`); `ReviewStore` in
`radphi.reviews_store` adds the reviews themselves.

Each call opens its own short-lived connection, so one store object serves every gradio
worker thread, and many processes can share the file. Writes are one transaction each:
a call either lands whole or leaves the store as it was.

- Items are keyed by (set, input id, model): importing the same `radphi run` file again
  changes nothing, and a different output under the same key is refused.
- A live generation sent from the app gets an input id made from its task and fields, so
  two models' answers to the same input become one case.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from radphi import records as rec_io
from radphi import reviews_schema, tasks
from radphi.reviews import (
    ROLES,
    Case,
    Item,
    ReviewError,
    ReviewSet,
    Taxonomy,
    check_name,
)

log = logging.getLogger(__name__)

# Keys `radphi run` adds or that describe the record rather than the input.
_NOT_INPUT = {"id", "task", "reference", "split", "meta", "prediction", "parsed", "model", "model_info",
              "prompt_tokens", "completion_tokens", "seconds", "truncated_input", "n_findings"}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def input_fields(record: dict[str, Any], task: str | None) -> dict[str, Any]:
    """The task's input fields of a record (every non-run key for an unknown task)."""
    if task in tasks.TASKS:
        t = tasks.TASKS[task]
        return {k: record[k] for k in (*t.fields, *t.optional_fields) if k in record}
    return {k: v for k, v in record.items() if k not in _NOT_INPUT}


def live_input_id(task: str, fields: dict[str, Any]) -> str:
    """The same input gets the same id, so two models' answers to it form one case."""
    blob = json.dumps({"task": task, "fields": fields}, sort_keys=True, ensure_ascii=False)
    return "live-" + hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


@dataclass
class ImportSummary:
    added: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.added} added, {self.unchanged} already there, {len(self.problems)} not imported"


class SetStore:
    """Sets, items, roles and the audit log of the review database at `path`
    (default $RADPHI_HOME/reviews.db)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else reviews_schema.default_path()
        reviews_schema.open_database(self.path)

    # ------------------------------------------------------------------ connections

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = reviews_schema.connect(self.path)
        try:
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: committed if the block returns, rolled back if it raises."""
        conn = reviews_schema.connect(self.path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def integrity_check(self) -> str:
        with self._read() as conn:
            return "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check"))

    def counts(self) -> dict[str, int]:
        """Rows per table: a quick way to see that a refused call changed nothing."""
        with self._read() as conn:
            return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                    for t in ("review_sets", "items", "reviews", "review_errors", "audit", "roles")}

    # ------------------------------------------------------------------ audit and roles

    def log_event(self, action: str, actor: str, authenticated: bool = False, *, set_id: int | None = None,
                  item_id: int | None = None, detail: dict[str, Any] | None = None,
                  conn: sqlite3.Connection | None = None) -> None:
        """Append to the audit log (inside `conn`'s transaction when given)."""
        args = (now(), actor, int(bool(authenticated)), action, set_id, item_id,
                json.dumps(detail or {}, sort_keys=True, ensure_ascii=False))
        sql = "INSERT INTO audit (at, actor, authenticated, action, set_id, item_id, detail) VALUES (?,?,?,?,?,?,?)"
        if conn is not None:
            conn.execute(sql, args)
        else:
            with self._write() as c:
                c.execute(sql, args)

    def audit_log(self, *, action: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM audit" + (" WHERE action = ?" if action else "") + " ORDER BY id DESC"
        sql += f" LIMIT {int(limit)}" if limit else ""
        with self._read() as conn:
            rows = conn.execute(sql, (action,) if action else ()).fetchall()
        return [{**dict(r), "authenticated": bool(r["authenticated"]), "detail": json.loads(r["detail"])}
                for r in rows]

    def set_role(self, user: str, role: str, *, actor: str, authenticated: bool = False) -> None:
        user = check_name(user, "user name")
        if role not in ROLES:
            raise ReviewError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        with self._write() as conn:
            conn.execute("INSERT INTO roles VALUES (?,?,?,?) ON CONFLICT(user) DO UPDATE SET role = excluded.role, "
                         "granted_at = excluded.granted_at, granted_by = excluded.granted_by",
                         (user, role, now(), actor))
            self.log_event("role", actor, authenticated, detail={"user": user, "role": role}, conn=conn)

    def role(self, user: str | None) -> str:
        """A signed-in user's role: "reviewer" unless made admin."""
        if not user:
            return "reviewer"
        with self._read() as conn:
            row = conn.execute("SELECT role FROM roles WHERE user = ?", (user,)).fetchone()
        return row[0] if row else "reviewer"

    # ------------------------------------------------------------------ sets

    @staticmethod
    def _set(row: sqlite3.Row) -> ReviewSet:
        return ReviewSet(id=row["id"], name=row["name"], taxonomy=Taxonomy(row["taxonomy"]), task=row["task"],
                         created_at=row["created_at"], created_by=row["created_by"], closed_at=row["closed_at"])

    def _find_set(self, conn: sqlite3.Connection, name: str | int) -> ReviewSet | None:
        col = "id" if isinstance(name, int) else "name"
        row = conn.execute(f"SELECT * FROM review_sets WHERE {col} = ?", (name,)).fetchone()
        return self._set(row) if row else None

    def get_set(self, name: str | int) -> ReviewSet:
        with self._read() as conn:
            found = self._find_set(conn, name)
        if found is None:
            raise ReviewError(f"no review set {name!r}")
        return found

    def sets(self, *, include_closed: bool = True) -> list[ReviewSet]:
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM review_sets ORDER BY id").fetchall()
        out = [self._set(r) for r in rows]
        return out if include_closed else [s for s in out if not s.closed]

    def _ensure_set(self, conn: sqlite3.Connection, name: str, taxonomy: Taxonomy | None, task: str | None,
                    actor: str, authenticated: bool) -> ReviewSet:
        found = self._find_set(conn, name)
        if found is not None:
            if taxonomy is not None and taxonomy is not found.taxonomy:
                raise ReviewError(f"set {name!r} scores the {found.taxonomy.value} taxonomy, not {taxonomy.value}")
            return found
        name = check_name(name, "set name")
        taxonomy = taxonomy or Taxonomy.PAPER
        cur = conn.execute("INSERT INTO review_sets (name, taxonomy, task, created_at, created_by) VALUES (?,?,?,?,?)",
                           (name, taxonomy.value, task, now(), actor))
        self.log_event("create_set", actor, authenticated, set_id=cur.lastrowid,
                       detail={"name": name, "taxonomy": taxonomy.value, "task": task}, conn=conn)
        return self._find_set(conn, name)  # type: ignore[return-value]

    def create_set(self, name: str, *, taxonomy: Taxonomy = Taxonomy.PAPER, task: str | None = None,
                   actor: str, authenticated: bool = False) -> ReviewSet:
        with self._write() as conn:
            if self._find_set(conn, name) is not None:
                raise ReviewError(f"a review set named {name!r} already exists")
            return self._ensure_set(conn, name, taxonomy, task, actor, authenticated)

    def close_set(self, name: str | int, *, actor: str, authenticated: bool = False) -> ReviewSet:
        """Close a set: no more reviews, and model names may be shown."""
        with self._write() as conn:
            found = self._find_set(conn, name)
            if found is None:
                raise ReviewError(f"no review set {name!r}")
            if not found.closed:
                conn.execute("UPDATE review_sets SET closed_at = ? WHERE id = ?", (now(), found.id))
                self.log_event("close_set", actor, authenticated, set_id=found.id, conn=conn)
            return self._find_set(conn, found.id)  # type: ignore[return-value]

    # ------------------------------------------------------------------ items

    @staticmethod
    def _item(row: sqlite3.Row) -> Item:
        return Item(id=row["id"], set_id=row["set_id"], input_id=row["input_id"], model=row["model"],
                    task=row["task"], inputs=json.loads(row["inputs"]), reference=row["reference"],
                    prediction=row["prediction"], n_findings=row["n_findings"], record=json.loads(row["record"]))

    def _insert_item(self, conn: sqlite3.Connection, rs: ReviewSet, record: dict[str, Any], source: str,
                     added_at: str | None = None) -> tuple[int, bool]:
        """(item id, added?) for one record; ReviewError for a record that cannot be an item."""
        rid = record.get("id")
        model = record.get("model")
        prediction = record.get("prediction")
        if rid in (None, ""):
            raise ReviewError("the record has no id")
        if not isinstance(model, str) or not model.strip():
            raise ReviewError("the record has no model name (is it a `radphi run` output?)")
        if not isinstance(prediction, str):
            raise ReviewError("the record has no prediction text (is it a `radphi run` output?)")
        task = record.get("task")
        if rs.task and task and task != rs.task:
            raise ReviewError(f"the record is for task {task!r}; set {rs.name!r} holds {rs.task!r}")
        meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
        n_findings = record.get("n_findings", meta.get("n_findings"))
        if n_findings is not None and (isinstance(n_findings, bool) or not isinstance(n_findings, int)
                                       or n_findings < 0):
            raise ReviewError(f"n_findings must be a whole number >= 0, got {n_findings!r}")
        reference = record.get("reference")
        reference = None if reference is None else str(reference)
        row = conn.execute("SELECT id, prediction, record FROM items WHERE set_id = ? AND input_id = ? AND model = ?",
                           (rs.id, str(rid), model)).fetchone()
        blob = json.dumps(record, ensure_ascii=False, sort_keys=True)
        if row is not None:
            # What is reviewed is the output text: the same text with other timings is the same item.
            if row["prediction"] == prediction:
                return row["id"], False
            raise ReviewError(f"set {rs.name!r} already has a different output of {model!r} for input {rid!r}")
        cur = conn.execute(
            "INSERT INTO items (set_id, input_id, model, task, inputs, reference, prediction, n_findings, record, "
            "source, added_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (rs.id, str(rid), model, task, json.dumps(input_fields(record, task), ensure_ascii=False, sort_keys=True),
             reference, prediction, n_findings, blob, source, added_at or now()))
        return cur.lastrowid, True  # type: ignore[return-value]

    def import_records(self, set_name: str, records: Iterable[tuple[str, dict[str, Any]]], *, actor: str,
                       authenticated: bool = False, taxonomy: Taxonomy | None = None,
                       source: str = "") -> ImportSummary:
        """Add (where, record) pairs to a set (created if new), in one transaction. A record
        that cannot be an item is reported by `where` and skipped; the rest land."""
        summary = ImportSummary()
        with self._write() as conn:
            rs = None
            for where, record in records:
                if rs is None:
                    rs = self._ensure_set(conn, set_name, taxonomy, record.get("task"), actor, authenticated)
                try:
                    conn.execute("SAVEPOINT rec")
                    _, added = self._insert_item(conn, rs, record, source)
                    conn.execute("RELEASE rec")
                except ReviewError as exc:
                    conn.execute("ROLLBACK TO rec")
                    conn.execute("RELEASE rec")
                    summary.problems.append(f"{where}: {exc}")
                    continue
                summary.added += added
                summary.unchanged += not added
            if rs is None:
                rs = self._ensure_set(conn, set_name, taxonomy, None, actor, authenticated)
            self.log_event("import", actor, authenticated, set_id=rs.id, conn=conn,
                           detail={"source": source, "added": summary.added, "unchanged": summary.unchanged,
                                   "problems": len(summary.problems)})
        log.info("import into %s from %s: %s", set_name, source or "records", summary)
        return summary

    def import_run_files(self, set_name: str, paths: Sequence[str | Path], *, actor: str,
                         authenticated: bool = False, taxonomy: Taxonomy | None = None) -> ImportSummary:
        """Import `radphi run` outputs (one per model, same inputs) into a set."""
        total = ImportSummary()
        for path in paths:
            path = Path(path)
            if not path.is_file():
                raise ReviewError(f"file not found: {path}")
            bad: list[rec_io.BadLine] = []
            numbered = list(rec_io.iter_numbered(path, bad))
            one = self.import_records(set_name, ((f"{path}:{n}", r) for n, r in numbered), actor=actor,
                                      authenticated=authenticated, taxonomy=taxonomy, source=path.name)
            total.added += one.added
            total.unchanged += one.unchanged
            total.problems += [str(b) for b in bad] + one.problems
        return total

    def add_generation(self, set_name: str, *, task: str, fields: dict[str, Any], prediction: str, model: str,
                       actor: str, authenticated: bool = False, model_info: dict[str, Any] | None = None,
                       prompt: str | None = None, reference: str | None = None) -> Item:
        """A live generation from the app, sent to a review set (created if new) with one click.
        The audit log keeps its model, prompt hash and parameters."""
        info = model_info or {}
        record = {"id": live_input_id(task, fields), "task": task, **fields, "prediction": prediction,
                  "model": model, "model_info": info}
        if reference:
            record["reference"] = reference
        with self._write() as conn:
            rs = self._ensure_set(conn, set_name, None, task, actor, authenticated)
            if rs.closed:
                raise ReviewError(f"set {rs.name!r} is closed")
            item_id, added = self._insert_item(conn, rs, record, "app")
            if added:
                prompt_hash = ("sha256:" + hashlib.sha256(prompt.encode("utf-8")).hexdigest()) if prompt else None
                self.log_event("generation", actor, authenticated, set_id=rs.id, item_id=item_id, conn=conn,
                               detail={"model": model, "spec": info.get("spec"), "model_hash": info.get("model_hash"),
                                       "prompt_hash": prompt_hash, "params": info.get("decoding"),
                                       "format": info.get("format"), "task": task})
            row = conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        return self._item(row)

    def items(self, set_name: str | int) -> list[Item]:
        rs = self.get_set(set_name)
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM items WHERE set_id = ? ORDER BY id", (rs.id,)).fetchall()
        return [self._item(r) for r in rows]

    def item(self, item_id: int) -> Item:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            raise ReviewError(f"no item {item_id!r} in the review store")
        return self._item(row)

    def cases(self, set_name: str | int) -> list[Case]:
        """The set's inputs in import order, each with its outputs (by model name)."""
        rs = self.get_set(set_name)
        grouped: dict[str, list[Item]] = {}
        for it in self.items(rs.id):
            grouped.setdefault(it.input_id, []).append(it)
        return [Case(rs.id, k, tuple(sorted(v, key=lambda i: i.model))) for k, v in grouped.items()]

    def case(self, set_name: str | int, input_id: str) -> Case:
        for c in self.cases(set_name):
            if c.input_id == input_id:
                return c
        raise ReviewError(f"no case {input_id!r} in set {set_name!r}")
