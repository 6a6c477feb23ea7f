"""ReviewStore: the review database, one short transaction per call.

    store = ReviewStore()                        # $RADPHI_HOME/reviews.db
    store.import_run_files("pilot", ["a.jsonl", "b.jsonl"], actor="cli:alice")   # a blinded study
    order = store.assignment("pilot", case.input_id, "alice", authenticated=True)
    store.submit_case([ReviewDraft(...) for item in order], preference=order[0].id, case_seconds=42.0)
    store.verify().ok                            # the ledger recomputed (radphi.review.chain)

Each call opens its own connection, so one store object serves every gradio worker
thread and many processes can share the file. A write either lands whole or leaves the
store as it was; after it, the ledger's head is recorded beside the database. The SQL
lives in `sets`, `reviewing` and `blinding`; this class owns connections, access rules
and the audit log.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from radphi import records as rec_io
from radphi.review import blinding, chain, reviewing, sets
from radphi.review import schema as reviews_schema
from radphi.review.model import (
    ROLES,
    Case,
    CaseReview,
    Item,
    NotYourReview,
    Review,
    ReviewDraft,
    ReviewError,
    ReviewSet,
    Taxonomy,
    check_name,
)
from radphi.review.sets import ImportSummary, input_fields, live_input_id, now

__all__ = ["ReviewStore", "ImportSummary", "input_fields", "live_input_id", "now"]

log = logging.getLogger(__name__)


class ReviewStore:
    """The review database. `path` defaults to $RADPHI_HOME/reviews.db."""

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
                seq, value = chain.head(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()
        try:
            chain.write_head(self.path, seq, value)
        except OSError as exc:  # the commit stands; verify falls back to an older head
            log.warning("could not record the ledger head beside %s: %s", self.path, exc.strerror)

    def integrity_check(self) -> str:
        with self._read() as conn:
            return "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check"))

    def verify(self, expect_head: str | None = None) -> chain.Report:
        """Recompute the ledger and every covered row (see radphi.review.chain)."""
        with self._read() as conn:
            return chain.verify(conn, self.path, expect_head)

    def counts(self) -> dict[str, int]:
        """Rows per table: a quick way to see that a refused call changed nothing."""
        with self._read() as conn:
            return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in chain.COVERED}

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

    def log_generation(self, generation: Any, actor: str, authenticated: bool = False, *,
                       action: str = "generation", set_id: int | None = None, item_id: int | None = None,
                       edited: bool | None = None, conn: sqlite3.Connection | None = None) -> None:
        """The one writer of a generation's audit entry, in one schema: "generation" when the
        app produced an answer, "generation_sent" when it went into a review set. `generation`
        is the app's record of it (radphi.ui.generations.AppGeneration): its id, model, SPEC,
        model hash, form, format, decoding, prompt hash and token counts — never its text."""
        info = dict(generation.model_info or {})
        stats = dict(getattr(generation, "stats", None) or {})
        detail = {"generation": generation.uid, "task": generation.task, "model": generation.model,
                  "spec": info.get("spec"), "model_hash": info.get("model_hash"), "form": info.get("form"),
                  "format": info.get("format"), "params": info.get("decoding"),
                  "prompt_sha256": generation.prompt_sha256, "prompt_tokens": stats.get("prompt_tokens"),
                  "completion_tokens": stats.get("completion_tokens"), "finish_reason": stats.get("finish_reason")}
        if edited is not None:
            detail["edited"] = edited
        self.log_event(action, actor, authenticated, set_id=set_id, item_id=item_id, detail=detail, conn=conn)

    def audit_log(self, *, action: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM audit" + (" WHERE action = ?" if action else "") + " ORDER BY id DESC"
        sql += f" LIMIT {int(limit)}" if limit else ""
        with self._read() as conn:
            rows = conn.execute(sql, (action,) if action else ()).fetchall()
        return [{**dict(r), "authenticated": bool(r["authenticated"]), "detail": json.loads(r["detail"])}
                for r in rows]

    def set_role(self, user: str, role: str, *, actor: str, authenticated: bool = False) -> None:
        """Grant a role (a new grant row; the latest counts). Only the CLI's operator, who owns
        the database file, calls this: the app has no way to grant roles."""
        user = check_name(user, "user name")
        if role not in ROLES:
            raise ReviewError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        with self._write() as conn:
            conn.execute("INSERT INTO role_grants (user, role, granted_at, granted_by) VALUES (?,?,?,?)",
                         (user, role, now(), actor))
            self.log_event("role", actor, authenticated, detail={"user": user, "role": role}, conn=conn)

    def role(self, user: str | None) -> str:
        """A signed-in user's role: "reviewer" unless made admin."""
        if not user:
            return "reviewer"
        with self._read() as conn:
            row = conn.execute("SELECT role FROM roles WHERE user = ?", (user,)).fetchone()
        return row[0] if row else "reviewer"

    def is_admin(self, user: str | None, authenticated: bool) -> bool:
        return bool(authenticated and user) and self.role(user) == "admin"

    # ------------------------------------------------------------------ sets

    def get_set(self, name: str | int) -> ReviewSet:
        with self._read() as conn:
            return sets.get_set(conn, name)

    def sets(self, *, include_closed: bool = True) -> list[ReviewSet]:
        with self._read() as conn:
            out = [sets.to_set(r) for r in conn.execute("SELECT * FROM review_sets ORDER BY id")]
        return out if include_closed else [s for s in out if not s.closed]

    def create_set(self, name: str, *, taxonomy: Taxonomy = Taxonomy.PAPER, task: str | None = None,
                   actor: str, authenticated: bool = False, study: bool = True) -> ReviewSet:
        with self._write() as conn:
            if sets.find_set(conn, name) is not None:
                raise ReviewError(f"a review set named {name!r} already exists")
            return sets.create_set(conn, name, taxonomy=taxonomy, task=task, actor=actor,
                                   authenticated=authenticated, study=study, log_event=self.log_event)

    def close_set(self, name: str | int, *, actor: str, authenticated: bool = False) -> ReviewSet:
        """Close a set: no more reviews, and model names may be shown."""
        with self._write() as conn:
            found = sets.get_set(conn, name)
            if not found.closed:
                conn.execute("UPDATE review_sets SET closed_at = ? WHERE id = ?", (now(), found.id))
                self.log_event("close_set", actor, authenticated, set_id=found.id, conn=conn)
            return sets.get_set(conn, found.id)

    def pseudonyms(self, set_name: str | int, models: list[str]) -> dict[str, str]:
        """The set's secret, stored mapping of model names to "Model N"."""
        with self._read() as conn:
            rs = sets.get_set(conn, set_name)
            return blinding.pseudonyms(sets.set_secret(conn, rs.id), models)

    # ------------------------------------------------------------------ items

    def import_records(self, set_name: str, records: Iterable[tuple[str, dict[str, Any]]], *, actor: str,
                       authenticated: bool = False, taxonomy: Taxonomy | None = None, source: str = "",
                       study: bool = True) -> ImportSummary:
        """Add (where, record) pairs to a set (created if new; a blinded study unless
        `study=False`) in one transaction. Items only: a record never brings reviews, roles
        or history. A record that cannot be an item is reported by `where` and skipped."""
        summary = ImportSummary()
        with self._write() as conn:
            rs = None
            for where, record in records:
                if rs is None:
                    rs = sets.ensure_set(conn, set_name, taxonomy=taxonomy, task=record.get("task"), actor=actor,
                                         authenticated=authenticated, study=study, log_event=self.log_event)
                try:
                    conn.execute("SAVEPOINT rec")
                    _, added = sets.insert_item(conn, rs, record, source, added_by=actor)
                    conn.execute("RELEASE rec")
                except ReviewError as exc:
                    conn.execute("ROLLBACK TO rec")
                    conn.execute("RELEASE rec")
                    summary.problems.append(f"{where}: {exc}")
                    continue
                summary.added += added
                summary.unchanged += not added
            if rs is None:
                rs = sets.ensure_set(conn, set_name, taxonomy=taxonomy, task=None, actor=actor,
                                     authenticated=authenticated, study=study, log_event=self.log_event)
            self.log_event("import", actor, authenticated, set_id=rs.id, conn=conn,
                           detail={"source": source, "added": summary.added, "unchanged": summary.unchanged,
                                   "problems": len(summary.problems)})
        log.info("import into %s from %s: %s", set_name, source or "records", summary)
        return summary

    def import_run_files(self, set_name: str, paths: Sequence[str | Path], *, actor: str,
                         authenticated: bool = False, taxonomy: Taxonomy | None = None,
                         study: bool = True) -> ImportSummary:
        """Import `radphi run` outputs (one per model, same inputs) into a set."""
        total = ImportSummary()
        for path in paths:
            path = Path(path)
            if not path.is_file():
                raise ReviewError(f"file not found: {path}")
            bad: list[rec_io.BadLine] = []
            numbered = list(rec_io.iter_numbered(path, bad))
            one = self.import_records(set_name, ((f"{path}:{n}", r) for n, r in numbered), actor=actor,
                                      authenticated=authenticated, taxonomy=taxonomy, source=path.name, study=study)
            total.added += one.added
            total.unchanged += one.unchanged
            total.problems += [str(b) for b in bad] + one.problems
        return total

    def add_generation(self, set_name: str, generation: Any, *, fields: dict[str, Any], model: str, actor: str,
                       authenticated: bool = False, edited_text: str | None = None,
                       reference: str | None = None) -> Item:
        """A generation the app itself produced (`generation`: its output, uid, model_info,
        prompt hash), into a set. The item holds the output exactly as generated; an edit
        of it is kept apart. A new set is a practice set; a study set takes the app's
        generations only from a signed-in admin."""
        task = generation.task
        record = sets.generation_record(task, fields, generation, model, reference)
        edit = edited_text if edited_text is not None and edited_text != generation.output else None
        with self._write() as conn:
            rs = sets.find_set(conn, set_name)
            if rs is not None and rs.study and not self.is_admin(actor, authenticated):
                raise ReviewError(f"set {rs.name!r} is a blinded study: only a signed-in admin adds outputs to it")
            rs = sets.ensure_set(conn, set_name, taxonomy=None, task=task, actor=actor, authenticated=authenticated,
                                 study=False, log_event=self.log_event)
            item_id, added = sets.insert_item(conn, rs, record, "app", added_by=actor, generation_uid=generation.uid,
                                              edited_text=edit)
            if added:
                self.log_generation(generation, actor, authenticated, action="generation_sent", set_id=rs.id,
                                    item_id=item_id, edited=edit is not None, conn=conn)
            return sets.to_item(conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone())

    def items(self, set_name: str | int) -> list[Item]:
        with self._read() as conn:
            return sets.items(conn, sets.get_set(conn, set_name).id)

    def item(self, item_id: int) -> Item:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            raise ReviewError(f"no item {item_id!r} in the review store")
        return sets.to_item(row)

    def cases(self, set_name: str | int) -> list[Case]:
        with self._read() as conn:
            return sets.cases(conn, sets.get_set(conn, set_name).id)

    def case(self, set_name: str | int, input_id: str) -> Case:
        with self._read() as conn:
            found = sets.case(conn, sets.get_set(conn, set_name).id, input_id)
        if found is None:
            raise ReviewError(f"no case {input_id!r} in set {set_name!r}")
        return found

    def assignment(self, set_name: str | int, input_id: str, reviewer: str,
                   authenticated: bool) -> tuple[int, list[Item]]:
        """(assignment id, the case's outputs in the order this reviewer is shown them):
        drawn in secret on first sight and stored (radphi.review.blinding)."""
        with self._write() as conn:
            rs = sets.get_set(conn, set_name)
            reviewing.may_review(rs, authenticated)
            case = sets.case(conn, rs.id, input_id)
            if case is None:
                raise ReviewError(f"no case {input_id!r} in set {rs.name!r}")
            aid, order = blinding.assign(conn, case, check_name(reviewer), authenticated, now())
        by_id = {i.id: i for i in case.items}
        return aid, [by_id[i] for i in order]

    # ------------------------------------------------------------------ reviews

    def submit_case(self, drafts: Sequence[ReviewDraft], *, preference: Any = None, case_seconds: float | None = None,
                    assignment_id: int | None = None) -> list[Review]:
        """Store a case's reviews in one transaction (radphi.review.reviewing.submit_case)."""
        with self._write() as conn:
            return reviewing.submit_case(conn, drafts, preference=preference, case_seconds=case_seconds,
                                         assignment_id=assignment_id, log_event=self.log_event)

    def submit(self, draft: ReviewDraft) -> Review:
        return self.submit_case([draft])[0]

    def revise(self, uid: str, draft: ReviewDraft) -> Review:
        """A new version of review `uid`, by its own reviewer only (NotYourReview otherwise)."""
        with self._read() as conn:
            row = conn.execute("SELECT item_id, reviewer, authenticated FROM reviews WHERE uid = ?", (uid,)).fetchone()
        if row is None:
            raise ReviewError(f"no review {uid!r}")
        if (row["reviewer"], bool(row["authenticated"])) != (draft.reviewer.strip(), bool(draft.authenticated)):
            raise NotYourReview(f"review {uid} belongs to another reviewer; you can only revise your own reviews")
        if draft.item_id != row["item_id"]:
            raise ReviewError(f"review {uid} is of another output (item {row['item_id']}, not {draft.item_id})")
        return self.submit(draft)

    def get_review(self, uid: str) -> Review:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM reviews WHERE uid = ?", (uid,)).fetchone()
            if row is None:
                raise ReviewError(f"no review {uid!r}")
            return reviewing.to_review(conn, row)

    def history(self, item_id: int, reviewer: str, authenticated: bool) -> list[Review]:
        """Every version of a reviewer's review of an output, oldest first."""
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM reviews WHERE item_id = ? AND reviewer = ? AND authenticated = ? "
                                "ORDER BY version", (item_id, reviewer, int(authenticated))).fetchall()
            return [reviewing.to_review(conn, r) for r in rows]

    def latest(self, set_name: str | int | None = None) -> list[Review]:
        """The version that counts of every review (of one set, or all)."""
        sql = "SELECT l.* FROM latest_reviews l JOIN items i ON i.id = l.item_id"
        args: tuple = ()
        if set_name is not None:
            sql += " WHERE i.set_id = ?"
            args = (self.get_set(set_name).id,)
        with self._read() as conn:
            return [reviewing.to_review(conn, r) for r in conn.execute(sql + " ORDER BY l.id", args).fetchall()]

    def case_reviews(self, set_name: str | int) -> list[CaseReview]:
        """The latest case answer (preference, seconds) of each reviewer and case of a set."""
        with self._read() as conn:
            return reviewing.latest_case_reviews(conn, sets.get_set(conn, set_name).id)

    def reviewed_inputs(self, set_name: str | int, reviewer: str, authenticated: bool) -> set[str]:
        with self._read() as conn:
            return reviewing.reviewed_inputs(conn, sets.get_set(conn, set_name).id, reviewer, authenticated)

    def progress(self, set_name: str | int, reviewer: str, authenticated: bool) -> tuple[int, int]:
        """(cases this reviewer has finished, cases in the set)."""
        done = self.reviewed_inputs(set_name, reviewer, authenticated)
        return len(done), len(self.cases(set_name))

    def next_case(self, set_name: str | int, reviewer: str, authenticated: bool) -> Case | None:
        """The first case, in import order, this reviewer has not finished; None when done."""
        done = self.reviewed_inputs(set_name, reviewer, authenticated)
        return next((c for c in self.cases(set_name) if c.input_id not in done), None)
