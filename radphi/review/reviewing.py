"""Reviews and case answers, as functions of an open connection (the store owns transactions).

- A review of an output by a reviewer is a chain of versions; the latest counts and the
  history stays (the tables refuse UPDATE and DELETE).
- A reviewer is (name, signed in or not): a typed name never owns a signed-in user's
  reviews, and a blinded study takes reviews from signed-in reviewers only.
- With a case's reviews comes one case answer: the pairwise preference (which output is
  better, or equal) and the seconds spent on the case.
- Every draft is checked before anything is written; one bad draft refuses the whole case.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any, Sequence

from radphi.review import sets
from radphi.review.model import (
    MAX_COMMENT_CHARS,
    MAX_CORRECTED_CHARS,
    CaseReview,
    ErrorCategory,
    ErrorCount,
    Review,
    ReviewDraft,
    ReviewError,
    ReviewSet,
    check_counts,
    check_name,
    check_seconds,
    check_text,
)

EQUAL = "equal"


def to_review(conn: sqlite3.Connection, row: sqlite3.Row) -> Review:
    counts = {ErrorCategory(r["category"]): ErrorCount(r["significant"], r["insignificant"])
              for r in conn.execute("SELECT * FROM review_errors WHERE review_id = ? ORDER BY category", (row["id"],))}
    return Review(uid=row["uid"], item_id=row["item_id"], reviewer=row["reviewer"],
                  authenticated=bool(row["authenticated"]), version=row["version"], counts=counts,
                  corrected_text=row["corrected_text"], comment=row["comment"], seconds=row["seconds"],
                  created_at=row["created_at"], label=row["label"])


def to_case_review(row: sqlite3.Row) -> CaseReview:
    return CaseReview(uid=row["uid"], set_id=row["set_id"], input_id=row["input_id"], reviewer=row["reviewer"],
                      authenticated=bool(row["authenticated"]), version=row["version"], preference=row["preference"],
                      preferred_item_id=row["preferred_item_id"], seconds=row["seconds"], created_at=row["created_at"],
                      assignment_id=row["assignment_id"])


def may_review(rs: ReviewSet, authenticated: bool) -> None:
    if rs.closed:
        raise ReviewError(f"set {rs.name!r} is closed: it takes no more reviews")
    if rs.study and not authenticated:
        raise ReviewError(f"set {rs.name!r} is a blinded study: sign in to review it (start the app with "
                          f"--auth FILE)")


def check_draft(conn: sqlite3.Connection, d: ReviewDraft) -> tuple[ReviewDraft, ReviewSet, str]:
    """(clean draft, its set, its case's input id); ReviewError for anything wrong."""
    reviewer = check_name(d.reviewer)
    row = conn.execute("SELECT set_id, input_id FROM items WHERE id = ?", (d.item_id,)).fetchone() \
        if isinstance(d.item_id, int) and not isinstance(d.item_id, bool) else None
    if row is None:
        raise ReviewError(f"no item {d.item_id!r} in the review store")
    rs = sets.get_set(conn, row["set_id"])
    may_review(rs, bool(d.authenticated))
    clean = ReviewDraft(
        item_id=d.item_id, reviewer=reviewer, authenticated=bool(d.authenticated),
        counts=check_counts(d.counts, rs.taxonomy),
        corrected_text=check_text(d.corrected_text, MAX_CORRECTED_CHARS, "corrected text") or None,
        comment=check_text(d.comment, MAX_COMMENT_CHARS, "comment"), seconds=check_seconds(d.seconds),
        label=check_text(d.label, 8, "label") or None, uid=d.uid or uuid.uuid4().hex)
    return clean, rs, row["input_id"]


def _next_version(conn: sqlite3.Connection, table: str, where: str, args: tuple) -> int:
    return conn.execute(f"SELECT COALESCE(MAX(version), 0) + 1 FROM {table} WHERE {where}", args).fetchone()[0]


def submit_case(conn: sqlite3.Connection, drafts: Sequence[ReviewDraft], *, preference: Any = None,
                case_seconds: float | None = None, assignment_id: int | None = None,
                log_event: Any) -> list[Review]:
    """Store reviews (a case's outputs at once): each the next version of its (item,
    reviewer). `preference` is the preferred item id, "equal", or None (not answered);
    with it or `case_seconds` comes a case answer. A uid already stored returns the stored
    review (a retried submit does not count twice)."""
    if not drafts:
        raise ReviewError("nothing to submit")
    checked = [check_draft(conn, d) for d in drafts]
    if len({d.item_id for d, _, _ in checked}) != len(checked):
        raise ReviewError("one output was reviewed twice in the same submission")
    if len({(d.reviewer, d.authenticated) for d, _, _ in checked}) != 1:
        raise ReviewError("one submission is one reviewer's")
    case_keys = {(rs.id, input_id) for _, rs, input_id in checked}
    if (preference is not None or case_seconds is not None) and len(case_keys) != 1:
        raise ReviewError("a preference or a case time belongs to one case")
    if preference is not None and preference != EQUAL and preference not in {d.item_id for d, _, _ in checked}:
        raise ReviewError("the preferred output is not one of this case's outputs")
    out: list[Review] = []
    fresh = False
    for d, rs, _ in checked:
        row = conn.execute("SELECT * FROM reviews WHERE uid = ?", (d.uid,)).fetchone()
        if row is not None:
            if (row["item_id"], row["reviewer"], bool(row["authenticated"])) != (d.item_id, d.reviewer,
                                                                                  d.authenticated):
                raise ReviewError(f"review id {d.uid} is already used by another review")
            out.append(to_review(conn, row))
            continue
        fresh = True
        version = _next_version(conn, "reviews", "item_id = ? AND reviewer = ? AND authenticated = ?",
                                (d.item_id, d.reviewer, int(d.authenticated)))
        cur = conn.execute(
            "INSERT INTO reviews (uid, item_id, reviewer, authenticated, version, corrected_text, comment, "
            "seconds, label, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (d.uid, d.item_id, d.reviewer, int(d.authenticated), version, d.corrected_text, d.comment,
             d.seconds, d.label, sets.now()))
        conn.executemany("INSERT INTO review_errors VALUES (?,?,?,?)",
                         [(cur.lastrowid, c.value, n.significant, n.insignificant) for c, n in d.counts.items()])
        log_event("review", d.reviewer, d.authenticated, set_id=rs.id, item_id=d.item_id, conn=conn,
                  detail={"uid": d.uid, "version": version})
        out.append(to_review(conn, conn.execute("SELECT * FROM reviews WHERE id = ?", (cur.lastrowid,)).fetchone()))
    if fresh and (preference is not None or case_seconds is not None):
        (set_id, input_id), d = next(iter(case_keys)), checked[0][0]
        version = _next_version(conn, "case_reviews", "set_id = ? AND input_id = ? AND reviewer = ? AND "
                                "authenticated = ?", (set_id, input_id, d.reviewer, int(d.authenticated)))
        kind = "none" if preference is None else EQUAL if preference == EQUAL else "item"
        conn.execute(
            "INSERT INTO case_reviews (uid, set_id, input_id, reviewer, authenticated, version, preference, "
            "preferred_item_id, seconds, assignment_id, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (uuid.uuid4().hex, set_id, input_id, d.reviewer, int(d.authenticated), version, kind,
             preference if kind == "item" else None, check_seconds(case_seconds or 0.0), assignment_id, sets.now()))
    return out


def latest_case_reviews(conn: sqlite3.Connection, set_id: int) -> list[CaseReview]:
    rows = conn.execute(
        "SELECT c.* FROM case_reviews c WHERE c.set_id = ? AND c.version = (SELECT MAX(v.version) FROM case_reviews v "
        "WHERE v.set_id = c.set_id AND v.input_id = c.input_id AND v.reviewer = c.reviewer AND "
        "v.authenticated = c.authenticated) ORDER BY c.id", (set_id,)).fetchall()
    return [to_case_review(r) for r in rows]


def reviewed_inputs(conn: sqlite3.Connection, set_id: int, reviewer: str, authenticated: bool) -> set[str]:
    """Input ids of the cases this reviewer has scored every output of."""
    rows = conn.execute(
        "SELECT i.input_id, COUNT(*) AS n, COUNT(r.id) AS done FROM items i LEFT JOIN latest_reviews r "
        "ON r.item_id = i.id AND r.reviewer = ? AND r.authenticated = ? WHERE i.set_id = ? "
        "GROUP BY i.input_id", (reviewer, int(authenticated), set_id)).fetchall()
    return {r["input_id"] for r in rows if r["n"] == r["done"]}
