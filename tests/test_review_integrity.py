"""The review study's integrity, one test per attack that was reproduced on the old store:
blinding predicted from public facts, edited text stored as a model's output, made-up
outputs sent into a study, raw edits of the database file, and forged imports.

Figures for the closing note: `pytest -q -s tests/test_review_integrity.py` prints them."""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from radphi.backends import model_name
from radphi.backends.fake import FakeBackend
from radphi.review import ErrorCategory, ReviewDraft, ReviewError, ReviewStore
from radphi.review import chain
from radphi.review import exports as reviews_io
from radphi.settings import DEMO_MODEL
from radphi.ui import common, dashboard, impression
from radphi.ui.context import UISettings, registry_from_settings
from tests.test_reviews_io import snapshot
from tests.test_ui_handlers import last, make_ctx

ROOT = Path(__file__).resolve().parent.parent
C = ErrorCategory


def study(store: ReviewStore, name: str, n: int, models=("alpha-model", "beta-model"), **kw) -> None:
    store.import_records(name, [(str(i), {"id": f"c{i}", "task": "impression_prediction", "findings": f"F{i}",
                                          "reference": f"R{i}", "prediction": f"{m} {i}", "model": m})
                                for i in range(n) for m in models], actor="cli:admin", **kw)


def old_order(set_id: int, input_id: str, reviewer: str, item_ids: list[int]) -> list[int]:
    """The attack: the old A/B order, a hash of public facts over the items sorted by model."""
    seed = hashlib.sha256(f"{set_id}\0{input_id}\0{reviewer}".encode()).hexdigest()
    ids = list(item_ids)
    random.Random(seed).shuffle(ids)
    return ids


def review_all(store: ReviewStore, set_name: str, reviewer: str, **kw) -> None:
    for case in store.cases(set_name):
        aid, order = store.assignment(set_name, case.input_id, reviewer, True)
        store.submit_case([ReviewDraft(item_id=i.id, reviewer=reviewer, authenticated=True,
                                       counts={C.MISSED_FINDING: (1, 0)}) for i in order],
                          preference=order[0].id, case_seconds=30.0, assignment_id=aid, **kw)


# ---------------------------------------------------------------- 1. blinding

def test_predicting_output_a_from_public_facts_is_at_chance():
    store = ReviewStore()
    study(store, "pilot", 400)
    rs = store.get_set("pilot")
    hits_old = hits_alpha = 0
    for case in store.cases("pilot"):
        _, order = store.assignment("pilot", case.input_id, "alice", True)
        by_model = sorted(case.items, key=lambda i: i.model)
        hits_old += old_order(rs.id, case.input_id, "alice", [i.id for i in by_model])[0] == order[0].id
        hits_alpha += by_model[0].id == order[0].id
    print(f"\nA/B predicted from public facts over 400 cases: old formula {hits_old / 4:.1f}%, "
          f"alphabetical {hits_alpha / 4:.1f}% (chance 50%)")
    assert hits_old / 400 <= 0.60 and hits_alpha / 400 <= 0.60
    assert 0.40 <= hits_alpha / 400  # a draw, not "always the other one"


def test_the_order_is_stored_and_counterbalanced_across_reviewers():
    store = ReviewStore()
    study(store, "pilot", 50)
    firsts = {}
    for reviewer in ("alice", "bob"):
        for case in store.cases("pilot"):
            _, order = store.assignment("pilot", case.input_id, reviewer, True)
            again = store.assignment("pilot", case.input_id, reviewer, True)[1]
            assert [i.id for i in again] == [i.id for i in order]  # the same on every visit
            firsts.setdefault(case.input_id, []).append(order[0].model)
    # Two reviewers of a two-output case see opposite orders: each model is A once.
    assert all(a != b for a, b in firsts.values())


def test_pseudonyms_follow_each_sets_secret_not_its_public_facts():
    store = ReviewStore()
    hits = 0
    for k in range(400):
        study(store, f"s{k}", 1)
        rs = store.get_set(f"s{k}")
        old = sorted(["alpha-model", "beta-model"],
                     key=lambda m: hashlib.sha256(f"{rs.id}\0{rs.name}\0{m}".encode()).hexdigest())[0]
        names = store.pseudonyms(rs.id, ["alpha-model", "beta-model"])
        hits += names[old] == "Model 1"
        assert names == store.pseudonyms(rs.id, ["beta-model", "alpha-model"])  # stable
    print(f"\n'Model 1' predicted by the old formula in {hits / 4:.1f}% of 400 sets (chance 50%)")
    assert hits / 400 <= 0.60  # P(> 60% | chance) < 1e-4 at n = 400


# ---------------------------------------------------------------- 2, 3. provenance and who adds

def test_an_edited_draft_is_stored_as_the_models_output_plus_the_edit(tmp_path):
    ctx = make_ctx(tmp_path, {"model-a": FakeBackend(answers=["Small left effusion."]), "model-b": FakeBackend()})
    ctx.store = ReviewStore()
    keep: dict = {}
    last(impression.draft(ctx, "Left effusion.", "model-a", 32, 0.0, "token", keep))
    edit = "Small left pleural effusion. Clinician's words."
    # The picker now says model-b and the box holds the edit: neither goes in as model-b's output.
    note = common.send_generation(ctx, keep["uid"], "live", edit, request=None)
    assert "Sent the answer of model-a" in note and "your edit is kept" in note
    (item,) = ctx.store.items("live")
    assert item.model == "model-a" and item.prediction == "Small left effusion." and item.edited
    assert item.edited_text == edit and item.generation_uid == keep["uid"]
    assert item.record["model_info"]["spec"] == ctx.backends.backend("model-a").spec and len(item.record["prompt_sha256"]) == 64
    assert "decoding" in item.record["model_info"] and item.record["model_info"]["format"] == "token"
    # No generation id, or a made-up one: nothing is stored.
    for uid in (None, "0" * 32):
        assert "generate one first" in common.send_generation(ctx, uid, "live", "Invented output.", request=None)
    assert len(ctx.store.items("live")) == 1


def test_a_reviewer_cannot_add_outputs_to_a_study_set(tmp_path):
    ctx = make_ctx(tmp_path, {"m": FakeBackend(answers=["No acute findings."])})
    ctx.store = ReviewStore()
    study(ctx.store, "pilot", 2)
    keep: dict = {}
    last(impression.draft(ctx, "Clear lungs.", "m", 32, 0.0, "token", keep))
    before = ctx.store.counts()["items"]
    for request in (None, SimpleNamespace(username="rita")):  # not signed in; a signed-in reviewer
        assert "only a signed-in admin" in common.send_generation(ctx, keep["uid"], "pilot", "", request=request)
    assert ctx.store.counts()["items"] == before
    ctx.store.set_role("ada", "admin", actor="cli:admin")
    assert "Sent the answer of m" in common.send_generation(ctx, keep["uid"], "pilot", "", request=SimpleNamespace(username="ada"))


def test_a_reviewer_cannot_see_an_open_study_or_act_as_someone_else(tmp_path):
    ctx = make_ctx(tmp_path, {"m": FakeBackend()})
    ctx.store = ReviewStore()
    study(ctx.store, "pilot", 3)
    review_all(ctx.store, "pilot", "rita")
    blocked = dashboard.show(ctx, "pilot", False, None)[0]  # no sign-in at all
    assert "open blinded study" in blocked and "alpha-model" not in blocked
    ctx.settings = UISettings(auth_file=tmp_path / "users")
    ctx.store.set_role("ada", "admin", actor="cli:admin")
    assert "open blinded study" in dashboard.show(ctx, "pilot", False, SimpleNamespace(username="rita"))[0]
    assert "reviews by" in dashboard.show(ctx, "pilot", False, SimpleNamespace(username="ada"))[0]
    # Typed names never open a study, and a signed-in reviewer is only themself.
    with pytest.raises(ReviewError, match="blinded study"):
        ctx.store.submit(ReviewDraft(item_id=ctx.store.items("pilot")[0].id, reviewer="rita", authenticated=False))
    from radphi.ui import review

    assert review.identity(ctx, "ada", SimpleNamespace(username="rita")) == ("rita", True)


def test_one_canonical_model_name_in_the_cli_and_the_app():
    registry = registry_from_settings(UISettings())
    assert registry.default == model_name(str(DEMO_MODEL)) == "radphi-demo"


# ---------------------------------------------------------------- 4. raw edits of the file

def raw(db: Path, functions: bool = False) -> sqlite3.Connection:
    """An attacker's own connection: recursive_triggers off; with `functions`, radphi's
    hash functions registered too (someone who read our code)."""
    conn = sqlite3.connect(str(db), isolation_level=None)
    if functions:
        chain.register_functions(conn)
    return conn


def verify_cli(db: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "radphi", "review", "--db", str(db), "verify"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


@pytest.fixture
def filled(tmp_path) -> ReviewStore:
    store = ReviewStore(tmp_path / "reviews.db")
    study(store, "pilot", 3)
    review_all(store, "pilot", "rita")
    store.set_role("ada", "admin", actor="cli:admin")
    return store


def test_an_untouched_store_verifies_and_every_table_is_guarded(filled):
    result = verify_cli(filled.path)
    assert result.returncode == 0 and result.stdout.startswith("ok:"), result.stdout + result.stderr
    conn = raw(filled.path)
    for table in ("items", "review_sets", "role_grants", "assignments", "case_reviews", "audit", "ledger"):
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute(f"DELETE FROM {table}")
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute(f"UPDATE {table} SET rowid = rowid")
    with pytest.raises(sqlite3.DatabaseError, match="no such function"):  # a plain shell cannot insert at all
        conn.execute("INSERT INTO audit (at, actor, authenticated, action) VALUES ('2020', 'x', 1, 'forged')")


def test_insert_or_replace_is_refused_by_the_store_and_caught_by_verify(filled):
    with filled._read() as conn:  # the store's own connection: recursive triggers on
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("INSERT OR REPLACE INTO review_errors SELECT review_id, category, 9, 9 FROM review_errors "
                         "LIMIT 1")
    conn = raw(filled.path, functions=True)
    conn.execute("INSERT OR REPLACE INTO review_errors SELECT review_id, category, 9, 9 FROM review_errors LIMIT 1")
    conn.execute("INSERT OR REPLACE INTO audit SELECT id, at, actor, authenticated, 'nothing', set_id, item_id, "
                 "detail FROM audit WHERE action = 'review' LIMIT 1")
    result = verify_cli(filled.path)
    print(f"\nINSERT OR REPLACE: verify exit {result.returncode}: {result.stdout.splitlines()[0]}")
    assert result.returncode == 1 and "TAMPERED" in result.stdout and "review_errors row" in result.stdout


def test_drop_trigger_edit_recreate_is_caught_by_verify(filled):
    with filled._read() as conn:
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'review_errors_no_update'").fetchone()[0]
    conn = raw(filled.path)
    conn.execute("DROP TRIGGER review_errors_no_update")
    conn.execute("UPDATE review_errors SET significant = 0 WHERE rowid = 1")
    conn.execute(sql)
    result = verify_cli(filled.path)
    print(f"\ndrop trigger, edit, recreate: verify exit {result.returncode}: {result.stdout.splitlines()[0]}")
    assert result.returncode == 1 and "review_errors row 1 differs" in result.stdout


@pytest.mark.parametrize("attack", ["delete_tail", "reseal", "drop_trigger"])
def test_other_raw_edits_are_caught(filled, attack):
    conn = raw(filled.path, functions=True)
    if attack == "delete_tail":  # remove the last review and its ledger entries, triggers dropped
        for t in ("audit", "ledger"):
            conn.execute(f"DROP TRIGGER {t}_no_delete")
        conn.execute("DELETE FROM audit WHERE id = (SELECT MAX(id) FROM audit)")
        conn.execute("DELETE FROM ledger WHERE seq = (SELECT MAX(seq) FROM ledger)")
        for name, sql in chain.expected_triggers(conn).items():
            if name in ("audit_no_delete", "ledger_no_delete"):
                conn.execute(sql)
        expected = "entries were removed"
    elif attack == "reseal":  # change a row and rewrite its ledger entry's row hash
        conn.execute("DROP TRIGGER reviews_no_update")
        conn.execute("DROP TRIGGER ledger_no_update")
        conn.execute("UPDATE reviews SET reviewer = 'mallory' WHERE id = 1")
        row = dict(zip(chain.columns(conn, "reviews"), conn.execute("SELECT * FROM reviews WHERE id = 1").fetchone()))
        conn.execute("UPDATE ledger SET row_hash = ? WHERE tbl = 'reviews' AND row_id = 1",
                     (chain.row_hash("reviews", row),))
        expected = "does not follow"
    else:
        conn.execute("DROP TRIGGER items_no_delete")
        expected = "trigger items_no_delete is missing"
    report = filled.verify()
    assert not report.ok and expected in report.problems[0], report.problems


# ---------------------------------------------------------------- 5. imports

def test_a_forged_import_is_refused_and_a_true_restore_keeps_the_chain(filled, tmp_path):
    out = reviews_io.write_json(filled, tmp_path / "backup.json")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    dump = json.loads(out.read_text())
    target = ReviewStore(tmp_path / "restored.db")
    assert reviews_io.restore(target, dump, actor="cli:admin") > 0
    assert target.verify().ok and snapshot(target)["ledger"][: len(dump["store"]["ledger"])] == \
        dump["store"]["ledger"]
    assert target.role("ada") == "admin"
    # Forgeries: a back-dated review under another reviewer's name, an audit row, a new admin.
    tables = dump["store"]["tables"]
    forged_review = {**tables["reviews"][0], "_rowid": 999, "uid": "forged", "reviewer": "bob",
                     "created_at": "2020-01-01T00:00:00+00:00"}
    forgeries = {
        "review": lambda t: t["reviews"].append(forged_review),
        "audit": lambda t: t["audit"].append({**t["audit"][0], "_rowid": 999, "at": "2020-01-01", "action": "review"}),
        "admin": lambda t: t["role_grants"].append({"_rowid": 99, "user": "mallory", "role": "admin",
                                                    "granted_at": "2020-01-01", "granted_by": "cli:x"}),
        "edit": lambda t: t["reviews"][0].update(reviewer="bob"),
    }
    for what, forge in forgeries.items():
        bad = json.loads(out.read_text())
        forge(bad["store"]["tables"])
        with pytest.raises(ReviewError, match="does not verify"):
            reviews_io.restore(ReviewStore(tmp_path / f"{what}.db"), bad, actor="cli:admin")
        assert ReviewStore(tmp_path / f"{what}.db").counts()["reviews"] == 0
    with pytest.raises(ReviewError, match="already holds"):
        reviews_io.restore(filled, dump, actor="cli:admin")
    with pytest.raises(ReviewError, match="not .* you recorded|is not"):
        reviews_io.restore(ReviewStore(tmp_path / "head.db"), dump, actor="cli:admin", expect_head="1:abc")


def test_the_cli_import_adds_outputs_only(filled, tmp_path):
    out = reviews_io.write_json(filled, tmp_path / "backup.json")
    cmd = [sys.executable, "-m", "radphi", "review", "--db", str(filled.path), "import", str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2 and "--restore" in result.stderr
    run = tmp_path / "run.jsonl"  # a run output carrying reviews and roles: only the output comes in
    run.write_text(json.dumps({"id": "n1", "task": "impression_prediction", "findings": "F", "prediction": "P",
                               "model": "alpha-model", "reviews": [{"reviewer": "bob"}],
                               "roles": [{"user": "mallory", "role": "admin"}]}) + "\n")
    before = filled.counts()
    result = subprocess.run([*cmd[:-1], str(run), "--set", "pilot"], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    after = filled.counts()
    assert after["items"] == before["items"] + 1 and after["reviews"] == before["reviews"]
    assert after["role_grants"] == before["role_grants"] and filled.role("mallory") == "reviewer"


def test_a_per_set_export_keeps_the_sets_audit_entries_and_files_are_owner_only(filled, tmp_path):
    study(filled, "other", 1)
    dump = reviews_io.export_dump(filled, "pilot")
    actions = {a["action"] for a in dump["audit"]}
    assert {"create_set", "import", "review"} <= actions
    assert all(a["set"] in ("pilot", None) for a in dump["audit"]) and not any(a["set"] == "other"
                                                                               for a in dump["audit"])
    csv_path = reviews_io.write_csv(filled, tmp_path / "pilot.csv", "pilot")
    audit_csv = reviews_io.audit_csv_path(csv_path)
    assert "review" in audit_csv.read_text(encoding="utf-8-sig")
    for path in (csv_path, audit_csv):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_app_checks_the_store_at_start_up_and_warns_in_the_page(filled, tmp_path):
    from radphi.ui import server

    ctx = make_ctx(tmp_path, {"m": FakeBackend()})
    ctx.store = filled
    assert server.store_warning(ctx) is None
    conn = raw(filled.path)
    conn.execute("DROP TRIGGER reviews_no_update")
    conn.execute("UPDATE reviews SET comment = 'rewritten' WHERE id = 1")
    warning = server.store_warning(ctx)
    assert "changed outside radphi" in warning and "reviews row 1" in warning
    page = server.build_app(ctx)
    assert any(getattr(b, "elem_id", None) == "store-tampered" for b in page.blocks.values())
