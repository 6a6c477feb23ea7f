"""radphi.review.model / reviews_store: the database file (WAL, owner-only, migrations), sets
imported from `radphi run` outputs, live generations, append-only review versions, the
owner rule, the audit log, and bad input that leaves the store unchanged."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest

from radphi.review import schema as reviews_schema
from radphi.review import (
    MAX_COUNT,
    ErrorCategory,
    ErrorCount,
    NotYourReview,
    ReviewDraft,
    ReviewError,
    ReviewStore,
    Taxonomy,
)
from radphi.review.store import live_input_id
from radphi.ui.generations import GenerationLog

C = ErrorCategory


def run_file(path: Path, model: str, n: int = 3, **extra) -> Path:
    """A `radphi run` output: one impression per input, in the runner's record shape."""
    rows = [{"id": f"s{i}", "task": "impression_prediction", "findings": f"Findings of study {i}.",
             "reference": f"Reference impression {i}.", "prediction": f"{model} says {i}", "model": model,
             "model_info": {"spec": f"{model}.gguf", "decoding": {"temperature": 0.0}}, "prompt_tokens": 10,
             "completion_tokens": 4, "seconds": 0.25, "meta": {"n_findings": i + 1}, **extra} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path) -> ReviewStore:
    s = ReviewStore()
    s.import_run_files("pilot", [run_file(tmp_path / "a.jsonl", "rad-phi2"), run_file(tmp_path / "b.jsonl", "mistral")],
                       actor="admin")
    return s


def draft(item_id: int, reviewer: str = "alice", authenticated: bool = True, **kw) -> ReviewDraft:
    return ReviewDraft(item_id=item_id, reviewer=reviewer, authenticated=authenticated, **kw)


def test_database_is_in_radphi_home_owner_only_wal_and_migrated(radphi_home):
    s = ReviewStore()
    assert s.path == radphi_home / "reviews.db"
    assert stat.S_IMODE(s.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(radphi_home.stat().st_mode) == 0o700
    with s._read() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        applied = [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]
        # While a connection is open, SQLite's -wal and -shm files exist: same mode as the database.
        for suffix in ("-wal", "-shm"):
            side = s.path.with_name(s.path.name + suffix)
            assert side.exists() and stat.S_IMODE(side.stat().st_mode) == 0o600
    assert applied == [fn.__name__ for fn in reviews_schema.MIGRATIONS]
    assert s.integrity_check() == "ok"


def test_a_new_migration_runs_once_on_an_existing_database(monkeypatch):
    s = ReviewStore()
    calls = []

    def m004_extra(conn: sqlite3.Connection) -> None:
        calls.append(1)
        conn.execute("CREATE TABLE extra (x INTEGER)")

    monkeypatch.setattr(reviews_schema, "MIGRATIONS", [*reviews_schema.MIGRATIONS, m004_extra])
    ReviewStore(s.path)
    ReviewStore(s.path)
    assert calls == [1]
    with s._read() as conn:
        assert conn.execute("SELECT name FROM _migrations ORDER BY rowid DESC").fetchone()[0] == "m004_extra"


def test_a_store_from_before_the_ledger_is_sealed_and_keeps_its_data(tmp_path, monkeypatch):
    """A database made by the previous release (migrations m001-m003, reviews and a role)
    upgrades in place: its rows are sealed into the ledger, roles become grants, sets stay
    blinded studies with a fresh secret, and the result verifies."""
    db = tmp_path / "old.db"
    monkeypatch.setattr(reviews_schema, "MIGRATIONS", reviews_schema.MIGRATIONS[:3])
    monkeypatch.setattr(reviews_schema.chain, "register_functions", lambda conn: None)
    reviews_schema.open_database(db)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("INSERT INTO review_sets (name, taxonomy, task, created_at, created_by) VALUES "
                 "('old', 'paper', 'impression_prediction', '2026-01-01', 'cli')")
    conn.execute("INSERT INTO items (set_id, input_id, model, task, inputs, reference, prediction, record, added_at) "
                 "VALUES (1, 'c0', 'm', 'impression_prediction', '{}', 'R', 'P', '{}', '2026-01-01')")
    conn.execute("INSERT INTO reviews (uid, item_id, reviewer, authenticated, version, created_at) VALUES "
                 "('u1', 1, 'rita', 1, 1, '2026-01-02')")
    conn.execute("INSERT INTO review_errors VALUES (1, 'missed_finding', 1, 0)")
    conn.execute("INSERT INTO roles VALUES ('ada', 'admin', '2026-01-01', 'cli')")
    conn.close()
    monkeypatch.undo()
    s = ReviewStore(db)
    report = s.verify()
    assert report.ok, report.problems
    assert report.entries == 5 and s.role("ada") == "admin"
    assert s.get_set("old").study and s.latest("old")[0].count(C.MISSED_FINDING).significant == 1
    with s._read() as conn:
        assert conn.execute("SELECT secret FROM review_sets").fetchone()[0]
        assert {r[0] for r in conn.execute("SELECT op FROM ledger")} == {"seal"}


def test_a_database_directory_of_our_own_is_made_owner_only(tmp_path):
    s = ReviewStore(tmp_path / "new" / "dir" / "r.db")
    assert stat.S_IMODE((tmp_path / "new" / "dir").stat().st_mode) == 0o700
    assert stat.S_IMODE(s.path.stat().st_mode) == 0o600


def test_run_files_from_two_models_become_cases_keyed_by_input_and_model(store, tmp_path):
    cases = store.cases("pilot")
    assert [c.input_id for c in cases] == ["s0", "s1", "s2"]
    assert [sorted(i.model for i in c.items) for c in cases] == [["mistral", "rad-phi2"]] * 3
    assert cases[1].inputs == {"findings": "Findings of study 1."} and cases[1].reference == "Reference impression 1."
    assert cases[2].items[0].n_findings == 3
    assert store.get_set("pilot").task == "impression_prediction"
    # The same file again changes nothing; the same key with another output is refused.
    again = store.import_run_files("pilot", [tmp_path / "a.jsonl"], actor="admin")
    assert (again.added, again.unchanged, again.problems) == (0, 3, [])
    retimed = run_file(tmp_path / "c.jsonl", "rad-phi2", seconds=9.5)  # same outputs, other timings
    assert store.import_run_files("pilot", [retimed], actor="admin").unchanged == 3
    other = run_file(tmp_path / "c.jsonl", "rad-phi2")
    other.write_text(other.read_text().replace("rad-phi2 says", "rad-phi2 now says"))
    before = store.counts()["items"]
    clash = store.import_run_files("pilot", [other], actor="admin")
    assert clash.added == 0 and len(clash.problems) == 3 and "already has a different output" in clash.problems[0]
    assert store.counts()["items"] == before


def test_bad_lines_and_non_run_records_are_reported_and_the_rest_land(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"id": "x1", "findings": "F", "prediction": "P", "model": "m"}\n{broken\n'
                    '{"id": "x2", "findings": "F"}\n', encoding="utf-8")
    s = ReviewStore()
    summary = s.import_run_files("mixed", [path], actor="admin")
    assert summary.added == 1
    assert any("line 2" in p or ":2:" in p for p in summary.problems)
    assert any(":3: the record has no model name" in p for p in summary.problems)
    with pytest.raises(ReviewError, match="file not found"):
        s.import_run_files("mixed", [tmp_path / "missing.jsonl"], actor="admin")


def test_reviews_are_versions_the_latest_counts_and_history_stays(store):
    item = store.cases("pilot")[0].items[0]
    first = store.submit(draft(item.id, counts={C.MISSED_FINDING: ErrorCount(1, 0)}, comment="one missed"))
    second = store.submit(draft(item.id, counts={C.MISSED_FINDING: ErrorCount(0, 0), C.SEVERITY: (0, 2)}))
    assert (first.version, second.version) == (1, 2)
    history = store.history(item.id, "alice", True)
    assert [r.count(C.MISSED_FINDING).significant for r in history] == [1, 0]
    assert [r.uid for r in store.latest("pilot")] == [second.uid]
    assert store.latest("pilot")[0].count(C.SEVERITY) == ErrorCount(0, 2)
    # The table itself refuses to change or lose a review.
    with store._read() as conn:
        for sql in ("UPDATE reviews SET comment = 'x'", "DELETE FROM reviews", "DELETE FROM review_errors",
                    "DELETE FROM audit"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(sql)
    assert len(store.history(item.id, "alice", True)) == 2


def test_a_reviewer_cannot_revise_another_reviewers_review(store):
    item = store.cases("pilot")[0].items[0]
    mine = store.submit(draft(item.id, "alice", counts={C.FALSE_FINDING: (1, 0)}))
    before = store.counts()
    for who, signed_in in (("bob", True), ("alice", False)):  # a typed "alice" is not the signed-in alice
        with pytest.raises(NotYourReview, match="belongs to another reviewer"):
            store.revise(mine.uid, draft(item.id, who, signed_in, counts={C.FALSE_FINDING: (0, 0)}))
    assert store.counts() == before
    revised = store.revise(mine.uid, draft(item.id, "alice", counts={C.FALSE_FINDING: (0, 1)}))
    assert revised.version == 2 and store.get_review(mine.uid).version == 1


@pytest.mark.parametrize("bad, message", [
    ({"counts": {C.MISSED_FINDING: (-1, 0)}}, "cannot be negative"),
    ({"counts": {C.MISSED_FINDING: (0, MAX_COUNT + 1)}}, f"at most {MAX_COUNT}"),
    ({"counts": {C.MISSED_FINDING: (10**9, 0)}}, f"at most {MAX_COUNT}"),
    ({"counts": {C.POSITION: (1.5, 0)}}, "whole number"),
    ({"counts": {C.POSITION: (True, 0)}}, "whole number"),
    ({"counts": {C.POSITION: (float("nan"), 0)}}, "whole number"),
    ({"counts": {"not_a_category": (1, 0)}}, "unknown error category"),
    ({"counts": {C.FALSE_COMPARISON: (1, 0)}}, "not scored in this set"),
    ({"comment": "x" * 1_000_000}, "comment is 1,000,000 characters"),
    ({"corrected_text": "y" * 60_000}, "corrected text is 60,000"),
    ({"seconds": -3}, "time spent"),
    ({"reviewer": "   "}, "reviewer name is empty"),
    ({"reviewer": "a" * 65}, "limit is 64"),
    ({"item_id": 99_999}, "no item 99999"),
    ({"item_id": "1"}, "no item '1'"),
])
def test_bad_input_is_refused_with_a_clear_error_and_changes_nothing(store, bad, message):
    item = store.cases("pilot")[0].items[0]
    good = draft(store.cases("pilot")[1].items[0].id, counts={C.MISSED_FINDING: (1, 0)})
    before = store.counts()
    fields = {"item_id": item.id, "reviewer": "alice", "authenticated": True, **bad}
    with pytest.raises(ReviewError, match=message):
        # With a good draft in the same submission: one bad draft refuses the whole case.
        store.submit_case([good, ReviewDraft(**fields)])
    assert store.counts() == before
    assert store.latest("pilot") == []


def test_a_closed_set_takes_no_reviews(store):
    item = store.cases("pilot")[0].items[0]
    store.close_set("pilot", actor="admin", authenticated=True)
    with pytest.raises(ReviewError, match="closed"):
        store.submit(draft(item.id))
    assert store.get_set("pilot").closed and store.counts()["reviews"] == 0


def test_a_retried_submission_with_the_same_uid_lands_once(store):
    item = store.cases("pilot")[0].items[0]
    a = store.submit(draft(item.id, uid="fixed-uid", counts={C.SEVERITY: (1, 0)}))
    b = store.submit(draft(item.id, uid="fixed-uid", counts={C.SEVERITY: (1, 0)}))
    assert a == b and store.counts()["reviews"] == 1
    with pytest.raises(ReviewError, match="already used"):
        store.submit(draft(item.id, "bob", uid="fixed-uid"))


def test_next_case_and_progress_follow_each_reviewer(store):
    cases = store.cases("pilot")
    assert store.next_case("pilot", "alice", True).input_id == "s0"
    store.submit_case([draft(i.id) for i in cases[0].items])
    store.submit(draft(cases[1].items[0].id))  # half of case s1: not finished
    assert store.progress("pilot", "alice", True) == (1, 3)
    assert store.next_case("pilot", "alice", True).input_id == "s1"
    assert store.next_case("pilot", "bob", True).input_id == "s0"
    assert store.progress("pilot", "alice", False) == (0, 3)  # the typed name is someone else


def test_the_taxonomy_is_the_sets_choice_and_green_adds_two_categories(tmp_path):
    s = ReviewStore()
    s.import_run_files("green", [run_file(tmp_path / "a.jsonl", "m")], actor="admin", taxonomy=Taxonomy.GREEN)
    assert len(Taxonomy.GREEN.categories) == 6 and len(Taxonomy.PAPER.categories) == 4
    item = s.cases("green")[0].items[0]
    review = s.submit(draft(item.id, counts={C.FALSE_COMPARISON: (1, 0), C.MISSED_COMPARISON: (0, 1)}))
    assert set(review.counts) == set(Taxonomy.GREEN.categories) and review.total == 2
    with pytest.raises(ReviewError, match="scores the green taxonomy"):
        s.import_run_files("green", [tmp_path / "a.jsonl"], actor="admin", taxonomy=Taxonomy.PAPER)
    assert [c.title for c in Taxonomy.PAPER.categories] == [
        "Missed findings", "False findings", "Position-related errors", "Severity-related errors"]


def test_live_generations_of_two_models_on_one_input_form_one_case_and_are_audited():
    s = ReviewStore()
    fields = {"findings": "Small left effusion."}
    info = {"spec": "a.gguf", "decoding": {"temperature": 0.0, "max_new_tokens": 64}, "model_hash": "sha256:ab"}
    log = GenerationLog()
    for model in ("a", "b"):
        gen = log.add(task="impression_prediction", fields=fields, output=f"{model}: effusion", model=model,
                      model_info=info, prompt="<instruct>x")
        s.add_generation("live", gen, fields=fields, model=model, actor="alice", authenticated=True)
    (case,) = s.cases("live")
    assert case.input_id == live_input_id("impression_prediction", fields) and len(case.items) == 2
    assert not s.get_set("live").study  # the app's sends make a practice set
    events = s.audit_log(action="generation_sent")
    assert len(events) == 2 and events[0]["actor"] == "alice" and events[0]["authenticated"]
    assert events[0]["detail"]["params"] == info["decoding"] and len(events[0]["detail"]["prompt_sha256"]) == 64
    other = log.add(task="impression_prediction", fields=fields, output="other", model="a", model_info=info,
                    prompt="<instruct>x")
    with pytest.raises(ReviewError, match="already has a different output"):
        s.add_generation("live", other, fields=fields, model="a", actor="alice")
    assert s.verify().ok


def test_the_audit_log_records_imports_reviews_roles_and_set_changes(store):
    item = store.cases("pilot")[0].items[0]
    store.submit(draft(item.id, "carol", True))
    store.set_role("dana", "admin", actor="admin", authenticated=True)
    store.close_set("pilot", actor="dana", authenticated=True)
    actions = [e["action"] for e in reversed(store.audit_log())]
    assert actions == ["create_set", "import", "import", "review", "role", "close_set"]
    review = store.audit_log(action="review")[0]
    assert review["actor"] == "carol" and review["authenticated"] is True and review["item_id"] == item.id
    assert store.role("dana") == "admin" and store.role("erin") == "reviewer"
    with pytest.raises(ReviewError, match="role must be"):
        store.set_role("erin", "owner", actor="admin")
