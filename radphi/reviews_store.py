"""ReviewStore: the review database, with reviews as append-only versions on top of the
sets, items, roles and audit log of `radphi.reviews_sets.SetStore`.

    store = ReviewStore()                        # $RADPHI_HOME/reviews.db
    store.import_run_files("pilot", ["a.jsonl", "b.jsonl"], actor="alice")
    case = store.next_case("pilot", "alice", authenticated=True)
    store.submit_case([ReviewDraft(item_id=i.id, reviewer="alice", authenticated=True, counts=...)
                       for i in case.items])

- A review of an output by a reviewer is a chain of versions; the latest counts and the
  history stays (the table refuses UPDATE and DELETE).
- A reviewer is (name, signed in or not): a typed name never owns a signed-in user's reviews.
- Only a review's own reviewer can add a version to it (`revise`; `NotYourReview` otherwise).
- Every draft is checked before anything is written; one bad draft refuses the whole case.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from typing import Sequence

from radphi.reviews import (
    MAX_COMMENT_CHARS,
    MAX_CORRECTED_CHARS,
    Case,
    ErrorCategory,
    ErrorCount,
    NotYourReview,
    Review,
    ReviewDraft,
    ReviewError,
    ReviewSet,
    check_counts,
    check_name,
    check_seconds,
    check_text,
)
from radphi.reviews_sets import (
    ImportSummary,
    SetStore,
    input_fields,
    live_input_id,
    now,
)

__all__ = ["ReviewStore", "ImportSummary", "input_fields", "live_input_id", "now"]

log = logging.getLogger(__name__)


class ReviewStore(SetStore):
    """The review database. `path` defaults to $RADPHI_HOME/reviews.db."""

    # ------------------------------------------------------------------ reviews

    def _review(self, conn: sqlite3.Connection, row: sqlite3.Row) -> Review:
        counts = {ErrorCategory(r["category"]): ErrorCount(r["significant"], r["insignificant"])
                  for r in conn.execute("SELECT * FROM review_errors WHERE review_id = ? ORDER BY category",
                                        (row["id"],))}
        return Review(uid=row["uid"], item_id=row["item_id"], reviewer=row["reviewer"],
                      authenticated=bool(row["authenticated"]), version=row["version"], counts=counts,
                      corrected_text=row["corrected_text"], comment=row["comment"], seconds=row["seconds"],
                      created_at=row["created_at"], label=row["label"])

    def _check_draft(self, conn: sqlite3.Connection, d: ReviewDraft) -> tuple[ReviewDraft, ReviewSet]:
        reviewer = check_name(d.reviewer)
        row = conn.execute("SELECT set_id FROM items WHERE id = ?", (d.item_id,)).fetchone() \
            if isinstance(d.item_id, int) and not isinstance(d.item_id, bool) else None
        if row is None:
            raise ReviewError(f"no item {d.item_id!r} in the review store")
        rs = self._find_set(conn, row["set_id"])
        assert rs is not None
        if rs.closed:
            raise ReviewError(f"set {rs.name!r} is closed: it takes no more reviews")
        clean = ReviewDraft(
            item_id=d.item_id, reviewer=reviewer, authenticated=bool(d.authenticated),
            counts=check_counts(d.counts, rs.taxonomy),
            corrected_text=check_text(d.corrected_text, MAX_CORRECTED_CHARS, "corrected text") or None,
            comment=check_text(d.comment, MAX_COMMENT_CHARS, "comment"), seconds=check_seconds(d.seconds),
            label=check_text(d.label, 8, "label") or None, uid=d.uid or uuid.uuid4().hex)
        return clean, rs

    def submit_case(self, drafts: Sequence[ReviewDraft]) -> list[Review]:
        """Store reviews (a case's outputs at once) in one transaction: each is the next version
        of its (item, reviewer). Any bad draft refuses them all; a uid already stored returns
        the stored review (a retried submit does not count twice)."""
        if not drafts:
            raise ReviewError("nothing to submit")
        out: list[Review] = []
        with self._write() as conn:
            checked = [self._check_draft(conn, d) for d in drafts]
            if len({d.item_id for d, _ in checked}) != len(checked):
                raise ReviewError("one output was reviewed twice in the same submission")
            for d, rs in checked:
                row = conn.execute("SELECT * FROM reviews WHERE uid = ?", (d.uid,)).fetchone()
                if row is not None:
                    if (row["item_id"], row["reviewer"], bool(row["authenticated"])) != (
                            d.item_id, d.reviewer, d.authenticated):
                        raise ReviewError(f"review id {d.uid} is already used by another review")
                    out.append(self._review(conn, row))
                    continue
                version = conn.execute(
                    "SELECT COALESCE(MAX(version), 0) + 1 FROM reviews WHERE item_id = ? AND reviewer = ? "
                    "AND authenticated = ?", (d.item_id, d.reviewer, int(d.authenticated))).fetchone()[0]
                cur = conn.execute(
                    "INSERT INTO reviews (uid, item_id, reviewer, authenticated, version, corrected_text, comment, "
                    "seconds, label, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (d.uid, d.item_id, d.reviewer, int(d.authenticated), version, d.corrected_text, d.comment,
                     d.seconds, d.label, now()))
                conn.executemany("INSERT INTO review_errors VALUES (?,?,?,?)",
                                 [(cur.lastrowid, c.value, n.significant, n.insignificant)
                                  for c, n in d.counts.items()])
                self.log_event("review", d.reviewer, d.authenticated, set_id=rs.id, item_id=d.item_id, conn=conn,
                               detail={"uid": d.uid, "version": version})
                out.append(self._review(conn, conn.execute("SELECT * FROM reviews WHERE id = ?",
                                                           (cur.lastrowid,)).fetchone()))
        return out

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
            return self._review(conn, row)

    def history(self, item_id: int, reviewer: str, authenticated: bool) -> list[Review]:
        """Every version of a reviewer's review of an output, oldest first."""
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM reviews WHERE item_id = ? AND reviewer = ? AND authenticated = ? "
                                "ORDER BY version", (item_id, reviewer, int(authenticated))).fetchall()
            return [self._review(conn, r) for r in rows]

    def latest(self, set_name: str | int | None = None) -> list[Review]:
        """The version that counts of every review (of one set, or all)."""
        sql = "SELECT l.* FROM latest_reviews l JOIN items i ON i.id = l.item_id"
        args: tuple = ()
        if set_name is not None:
            sql += " WHERE i.set_id = ?"
            args = (self.get_set(set_name).id,)
        with self._read() as conn:
            return [self._review(conn, r) for r in conn.execute(sql + " ORDER BY l.id", args).fetchall()]

    def reviewed_inputs(self, set_name: str | int, reviewer: str, authenticated: bool) -> set[str]:
        """Input ids of the cases this reviewer has scored every output of."""
        rs = self.get_set(set_name)
        with self._read() as conn:
            rows = conn.execute(
                "SELECT i.input_id, COUNT(*) AS n, COUNT(r.id) AS done FROM items i LEFT JOIN latest_reviews r "
                "ON r.item_id = i.id AND r.reviewer = ? AND r.authenticated = ? WHERE i.set_id = ? "
                "GROUP BY i.input_id", (reviewer, int(authenticated), rs.id)).fetchall()
        return {r["input_id"] for r in rows if r["n"] == r["done"]}

    def progress(self, set_name: str | int, reviewer: str, authenticated: bool) -> tuple[int, int]:
        """(cases this reviewer has finished, cases in the set)."""
        done = self.reviewed_inputs(set_name, reviewer, authenticated)
        return len(done), len(self.cases(set_name))

    def next_case(self, set_name: str | int, reviewer: str, authenticated: bool) -> Case | None:
        """The first case, in import order, this reviewer has not finished; None when done."""
        done = self.reviewed_inputs(set_name, reviewer, authenticated)
        return next((c for c in self.cases(set_name) if c.input_id not in done), None)
