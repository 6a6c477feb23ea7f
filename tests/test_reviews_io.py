"""radphi.review.exports and radphi.review.cli: export to CSV and JSON, restore a JSON export
into an empty store with an identical result and chain, formula cells neutralised
exactly, refused restores that change nothing, and the `radphi review` subcommands."""

from __future__ import annotations

import argparse
import csv
import json
import stat

import pytest

from radphi.review import cli as reviews_cli
from radphi.review import exports as reviews_io
from radphi.review import ErrorCategory, ReviewDraft, ReviewError, ReviewStore, Taxonomy
from tests.test_reviews_store import run_file

C = ErrorCategory
HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR", "'=quoted", "'plain", "ok"]



def snapshot(store: ReviewStore) -> dict:
    """What "the same store" means for a restore: every raw row and the ledger."""
    return reviews_io.export_dump(store, audit=False)["store"]

@pytest.fixture
def filled(tmp_path) -> ReviewStore:
    """Two sets (paper and green), hostile text everywhere a person or a file can put it,
    several versions, signed-in and typed reviewers, a closed set, an unreviewed item."""
    s = ReviewStore()
    s.import_run_files("pilot", [run_file(tmp_path / "a.jsonl", "=cmd|' /C calc'!A0"),
                                 run_file(tmp_path / "b.jsonl", "mistral", reference="-minus ref")], actor="@admin",
                       study=False)  # a practice set: typed names as well as signed-in ones
    s.import_run_files("green", [run_file(tmp_path / "g.jsonl", "+plus", 2)], actor="admin", taxonomy=Taxonomy.GREEN)
    items = s.items("pilot")
    for n, text in enumerate(HOSTILE):
        s.submit(ReviewDraft(item_id=items[n % 5].id, reviewer="alice" if n % 2 else "=bob", authenticated=bool(n % 2),
                             counts={C.MISSED_FINDING: (n % 3, 1), C.SEVERITY: (0, n % 2)}, comment=text,
                             corrected_text=text if n % 3 else None, seconds=n * 1.1 + 0.1, label="AB"[n % 2]))
    g = s.items("green")[0]
    s.submit(ReviewDraft(item_id=g.id, reviewer="carol", authenticated=True,
                         counts={C.FALSE_COMPARISON: (1, 0), C.MISSED_COMPARISON: (0, 2)}, comment="-"))
    s.set_role("alice", "admin", actor="root")
    s.close_set("green", actor="root")
    return s


def test_neutralise_and_restore_are_exact_inverses():
    for text in [*HOSTILE, "", "''", "'", "=", "a=b"]:
        cell = reviews_io.neutralise(text)
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert reviews_io.restore_cell(cell) == text


def test_export_then_restore_into_an_empty_store_is_identical_with_its_chain(filled, tmp_path):
    out = reviews_io.write_json(filled, tmp_path / "export.json", actor="alice")
    empty = ReviewStore(tmp_path / "empty" / "reviews.db")
    rows = reviews_io.restore_file(empty, out, actor="restorer")
    original = json.loads(out.read_text())["store"]
    assert rows == sum(len(v) for v in original["tables"].values())
    restored = snapshot(empty)
    assert {t: v for t, v in restored["tables"].items() if t != "audit"} == \
        {t: v for t, v in original["tables"].items() if t != "audit"}
    assert restored["ledger"][: len(original["ledger"])] == original["ledger"]  # the same chain, then the restore
    assert restored["tables"]["audit"][-1]["action"] == "restore" and empty.verify().ok
    assert sorted(r["comment"] for r in reviews_io.export_dump(empty)["reviews"]) == sorted([*HOSTILE, "-"])
    assert reviews_io.export_dump(empty)["roles"] == reviews_io.export_dump(filled)["roles"] != []
    with pytest.raises(ReviewError, match="already holds"):  # restoring again is refused, not merged
        reviews_io.restore_file(empty, out, actor="restorer")
    csv_out = reviews_io.write_csv(filled, tmp_path / "x.csv")
    with pytest.raises(ReviewError, match="CSV export cannot be restored"):
        reviews_io.restore_file(ReviewStore(tmp_path / "c.db"), csv_out, actor="x")


def test_csv_cells_that_start_with_formula_characters_are_neutralised(filled, tmp_path):
    out = reviews_io.write_csv(filled, tmp_path / "x.csv")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    cells = [c for row in rows for c in row]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert "'=HYPERLINK(\"http://x\",\"y\")" in cells and "''=quoted" in cells and "'-minus ref" in cells
    assert "'=cmd|' /C calc'!A0" in cells and "'=bob" in cells
    assert len(rows) == 1 + 10 + 2  # header, one row per review version, one per unreviewed item


def test_a_restore_with_a_bad_row_changes_nothing(filled, tmp_path):
    out = reviews_io.write_json(filled, tmp_path / "x.json")
    dump = json.loads(out.read_text())
    dump["store"]["tables"]["review_errors"][0]["significant"] = 4  # a count changed in the file
    target = ReviewStore(tmp_path / "t" / "reviews.db")
    before = target.counts()
    with pytest.raises(ReviewError, match="review_errors row .* differs"):
        reviews_io.restore(target, dump, actor="x")
    assert target.counts() == before
    one_set = reviews_io.export_dump(filled, "pilot")
    with pytest.raises(ReviewError, match="only a whole-store export"):
        reviews_io.restore(target, one_set, actor="x")
    (tmp_path / "junk.json").write_text("{\"format\": \"something else\"}")
    with pytest.raises(ReviewError, match="not a radphi review export"):
        reviews_io.restore_file(target, tmp_path / "junk.json", actor="x")
    old = {**dump, "version": 1}
    with pytest.raises(ReviewError, match="version 1 cannot be restored"):
        reviews_io.restore(target, old, actor="x")
    assert target.counts() == before


def test_exports_are_in_the_audit_log(filled, tmp_path):
    reviews_io.write_csv(filled, tmp_path / "a.csv", "pilot", actor="alice", authenticated=True)
    event = filled.audit_log(action="export")[0]
    assert event["actor"] == "alice" and event["detail"] == {"format": "csv", "set": "pilot", "reviews": 9}


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="radphi review")
    reviews_cli.add_arguments(parser)
    return reviews_cli.main(parser.parse_args(list(argv)))


def test_cli_import_export_stats_round_trip(tmp_path, capsys):
    a, b = run_file(tmp_path / "a.jsonl", "rad-phi2"), run_file(tmp_path / "b.jsonl", "mistral")
    assert _cli("import", str(a), str(b), "--set", "pilot") == 0
    assert "6 added" in capsys.readouterr().err
    store = ReviewStore()
    assert store.get_set("pilot").study  # the CLI makes blinded studies
    for case in store.cases("pilot"):
        store.submit_case([ReviewDraft(item_id=i.id, reviewer="alice", authenticated=True,
                                       counts={C.MISSED_FINDING: (1 if i.model == "mistral" else 0, 0)})
                           for i in case.items])
    assert _cli("export", str(tmp_path / "all.json")) == 0
    assert _cli("--db", str(tmp_path / "copy.db"), "import", str(tmp_path / "all.json")) == 2  # no --restore
    assert "--restore" in capsys.readouterr().err
    assert _cli("--db", str(tmp_path / "copy.db"), "import", str(tmp_path / "all.json"), "--restore") == 0
    assert snapshot(ReviewStore(tmp_path / "copy.db"))["tables"]["reviews"] == \
        snapshot(store)["tables"]["reviews"]
    assert _cli("--db", str(tmp_path / "copy.db"), "verify") == 0 and capsys.readouterr().out.startswith("ok:")
    capsys.readouterr()
    assert _cli("stats", "pilot", "--resamples", "50", "--csv", str(tmp_path / "t.csv"),
                "--html", str(tmp_path / "r.html")) == 0
    out = capsys.readouterr().out
    assert "Missed findings" in out and "Model 1" in out and "mistral" not in out  # blinded by default
    assert _cli("stats", "pilot", "--resamples", "50", "--unblind") == 0
    out = capsys.readouterr().out
    assert "mistral" in out and "3 (3 sig.) in 3 reviews · 1.00 [1.00, 1.00]/case" in out
    assert store.audit_log(action="unblind")[0]["detail"] == {"via": "cli"}
    assert "<table>" in (tmp_path / "r.html").read_text() and "errors" in (tmp_path / "t.csv").read_text()
    for written in ("r.html", "t.csv", "all.json"):  # report text and the audit log: owner-only
        assert stat.S_IMODE((tmp_path / written).stat().st_mode) == 0o600, written
    assert _cli("import", str(a)) == 2 and "--set NAME" in capsys.readouterr().err
    assert _cli("stats", "nope") == 2 and "no review set 'nope'" in capsys.readouterr().err
    assert _cli("role", "alice", "admin") == 0 and store.role("alice") == "admin"
    assert _cli("close", "pilot") == 0 and store.get_set("pilot").closed
    assert _cli("sets") == 0 and "pilot\tblinded study\tpaper\timpression_prediction\t3 cases\t6 reviews\tclosed" in \
        capsys.readouterr().out
