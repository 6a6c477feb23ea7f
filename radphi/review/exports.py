"""Export the review store to JSON or CSV, and restore a whole-store JSON export.

    dump = export_dump(store)                  # sets, items, reviews (every version), roles, audit
    write_json(store, "reviews.json"); write_csv(store, "reviews.csv", "pilot")
    restore_file(empty_store, "reviews.json", actor="cli:alice")   # `radphi review import --restore`

- JSON carries everything: the readable sections, the audit log (of the set, for a
  per-set export), and for a whole-store export the raw rows and the ledger, so it can be
  restored with its chain.
- CSV is one row per review version (an item without reviews gets a row of its own) for
  spreadsheets, with the audit log beside it in `<name>.audit.csv`. It is for reading,
  not restoring: it cannot carry the ledger.
- Reviewers open these files in spreadsheet programs, where a cell that starts with
  `=`, `+`, `-` or `@` (or tab or carriage return) is run as a formula. Such cells are
  written with a leading `'`; so is a cell that already starts with `'`, which makes the
  rule reversible (`restore_cell`).
- Restoring is all or nothing: only a whole-store export whose chain verifies, only into
  an empty store, rows and ledger kept exactly as they were. Nothing else comes in from a
  file but `radphi run` outputs as new items: no import creates roles or back-dates reviews.
- Every file written here is owner-only (0600): it holds report text and the audit log.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

from radphi.files import open_private, write_private_text
from radphi.review import chain
from radphi.review.model import ErrorCategory, ReviewError
from radphi.review.store import ReviewStore, now

log = logging.getLogger(__name__)

FORMAT = "radphi-reviews"
FORMAT_VERSION = 2
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")
SET_COLS = ["set", "taxonomy", "set_task", "set_created_at", "set_created_by", "set_closed_at"]
ITEM_COLS = ["input_id", "model", "task", "input", "reference", "prediction", "edited_text", "generation_uid",
             "n_findings", "source", "added_at", "record"]
REVIEW_COLS = (["review_uid", "reviewer", "authenticated", "version"]
               + [f"{c.value}_{s}" for c in ErrorCategory for s in ("significant", "insignificant")]
               + ["corrected_text", "comment", "seconds", "label", "created_at"])
CSV_COLUMNS = SET_COLS + ITEM_COLS + REVIEW_COLS
AUDIT_COLS = ["id", "at", "actor", "authenticated", "action", "set", "input_id", "model", "detail"]
# Rows go back in this order, so every foreign key finds its row.
RESTORE_ORDER = ("review_sets", "items", "reviews", "review_errors", "assignments", "case_reviews", "role_grants",
                 "audit")


def neutralise(cell: str) -> str:
    """The cell as a spreadsheet shows it, never as a formula (reversed by `restore_cell`)."""
    return "'" + cell if cell.startswith(_TRIGGERS) else cell


def restore_cell(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


# ---------------------------------------------------------------------------- dump


def export_dump(store: ReviewStore, set_name: str | None = None, *, audit: bool = True) -> dict[str, Any]:
    """The store (or one set) as JSON-ready data, keyed by names, not row ids; a whole-store
    dump also carries the raw rows and the ledger (`store`, `ledger`) for `restore`."""
    with store._read() as conn:
        sets = conn.execute("SELECT * FROM review_sets" + (" WHERE name = ?" if set_name else "") + " ORDER BY id",
                            (set_name,) if set_name else ()).fetchall()
        if set_name and not sets:
            raise ReviewError(f"no review set {set_name!r}")
        ids = tuple(s["id"] for s in sets) or (-1,)
        marks = ",".join("?" * len(ids))
        names = {s["id"]: s["name"] for s in sets}
        items = conn.execute(f"SELECT * FROM items WHERE set_id IN ({marks}) ORDER BY id", ids).fetchall()
        keys = {i["id"]: (names[i["set_id"]], i["input_id"], i["model"]) for i in items}
        reviews = conn.execute(
            f"SELECT r.* FROM reviews r JOIN items i ON i.id = r.item_id WHERE i.set_id IN ({marks}) ORDER BY r.id",
            ids).fetchall()
        errors: dict[int, dict[str, Any]] = {}
        for e in conn.execute(f"SELECT e.* FROM review_errors e JOIN reviews r ON r.id = e.review_id JOIN items i "
                              f"ON i.id = r.item_id WHERE i.set_id IN ({marks}) ORDER BY e.category", ids):
            errors.setdefault(e["review_id"], {})[e["category"]] = {"significant": e["significant"],
                                                                    "insignificant": e["insignificant"]}
        case_rows = conn.execute(f"SELECT * FROM case_reviews WHERE set_id IN ({marks}) ORDER BY id", ids).fetchall()
        roles = conn.execute("SELECT * FROM roles ORDER BY user").fetchall() if not set_name else []
        entries = [a for a in conn.execute("SELECT * FROM audit ORDER BY id")
                   if not set_name or a["set_id"] in names or a["item_id"] in keys] if audit else []
        raw = None if set_name else {
            "tables": {t: [dict(r) for r in conn.execute(f"SELECT rowid AS _rowid, * FROM {t} ORDER BY rowid")]
                       for t in chain.COVERED},
            "ledger": [dict(r) for r in conn.execute("SELECT * FROM ledger ORDER BY seq")]}
    out: dict[str, Any] = {
        "format": FORMAT, "version": FORMAT_VERSION, "exported_at": now(), "scope": set_name or "store",
        "sets": [{"name": s["name"], "taxonomy": s["taxonomy"], "task": s["task"], "created_at": s["created_at"],
                  "created_by": s["created_by"], "closed_at": s["closed_at"], "study": bool(s["study"])}
                 for s in sets],
        "items": [{"set": names[i["set_id"]], "input_id": i["input_id"], "model": i["model"],
                   "record": json.loads(i["record"]), "edited_text": i["edited_text"],
                   "generation_uid": i["generation_uid"], "source": i["source"], "added_at": i["added_at"],
                   "added_by": i["added_by"]} for i in items],
        "reviews": [{"set": keys[r["item_id"]][0], "input_id": keys[r["item_id"]][1], "model": keys[r["item_id"]][2],
                     "uid": r["uid"], "reviewer": r["reviewer"], "authenticated": bool(r["authenticated"]),
                     "version": r["version"], "counts": errors.get(r["id"], {}), "corrected_text": r["corrected_text"],
                     "comment": r["comment"], "seconds": r["seconds"], "label": r["label"],
                     "created_at": r["created_at"]} for r in reviews],
        "case_reviews": [{"set": names[c["set_id"]], "input_id": c["input_id"], "uid": c["uid"],
                          "reviewer": c["reviewer"], "authenticated": bool(c["authenticated"]),
                          "version": c["version"], "preference": c["preference"],
                          "preferred_model": keys[c["preferred_item_id"]][2] if c["preferred_item_id"] else None,
                          "seconds": c["seconds"], "created_at": c["created_at"]} for c in case_rows],
        "roles": [dict(r) for r in roles],
    }
    if audit:
        out["audit"] = [_audit_entry(a, names, keys) for a in entries]
    if raw is not None:
        out["store"] = raw
        last = raw["ledger"][-1] if raw["ledger"] else {"seq": 0, "hash": chain.GENESIS}
        out["head"] = f"{last['seq']}:{last['hash']}"
    return out


def _audit_entry(a: Any, names: dict[int, str], keys: dict[int, tuple[str, str, str]]) -> dict[str, Any]:
    key = keys.get(a["item_id"])
    return {"id": a["id"], "at": a["at"], "actor": a["actor"], "authenticated": bool(a["authenticated"]),
            "action": a["action"], "set": names.get(a["set_id"]), "input_id": key[1] if key else None,
            "model": key[2] if key else None, "detail": json.loads(a["detail"])}


# ---------------------------------------------------------------------------- restore


def check_dump(dump: Any) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """(tables, ledger) of a whole-store export whose chain verifies; ReviewError otherwise."""
    if not isinstance(dump, dict) or dump.get("format") != FORMAT:
        raise ReviewError("not a radphi review export (no \"format\": \"radphi-reviews\")")
    if dump.get("version") != FORMAT_VERSION:
        raise ReviewError(f"review export version {dump.get('version')!r} cannot be restored: only version "
                          f"{FORMAT_VERSION} exports carry the ledger that proves their history")
    raw = dump.get("store")
    if not isinstance(raw, dict) or not isinstance(raw.get("tables"), dict) or not isinstance(raw.get("ledger"), list):
        raise ReviewError("this export is of one set; only a whole-store export (radphi review export FILE.json, "
                          "without --set) can be restored")
    tables, ledger = raw["tables"], raw["ledger"]
    try:
        problems, per_row = chain.verify_entries(ledger)
        problems += chain.verify_rows(tables, per_row)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ReviewError(f"the export's store section is malformed ({type(exc).__name__}: {exc})") from None
    if problems:
        raise ReviewError(f"refused: the export's chain does not verify: {problems[0]}"
                          + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    return tables, ledger


def restore(store: ReviewStore, dump: Any, *, actor: str, expect_head: str | None = None, source: str = "") -> int:
    """Restore a whole-store export into an empty store, rows and ledger exactly as they
    were; returns the number of rows. Refused (nothing written) when the chain does not
    verify, the head is not `expect_head`, or the store already holds anything."""
    tables, ledger = check_dump(dump)
    if expect_head and dump.get("head") != expect_head:
        raise ReviewError(f"refused: the export's head {dump.get('head')} is not {expect_head}")
    with store._write() as conn:
        if any(conn.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone() for t in chain.COVERED):
            raise ReviewError(f"refused: {store.path} already holds reviews; restore into a new database "
                              f"(radphi review --db NEW.db import FILE --restore)")
        current = {t: set(chain.columns(conn, t)) for t in chain.COVERED}
        for t, rows in tables.items():
            if t not in current:
                raise ReviewError(f"refused: the export has a table {t!r} this version does not know")
            extra = {k for r in rows for k in r} - current[t] - {"_rowid"}
            if extra:
                raise ReviewError(f"refused: the export's {t} has columns this version does not know: {sorted(extra)}")
        # The rows arrive with their ledger entries, so the chain triggers must not add new
        # ones; they are put back, from the schema, in the same transaction.
        for name in chain.expected_triggers(conn):
            if name.endswith(("_chain_insert", "_chain_update")):
                conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        for t in RESTORE_ORDER:
            for row in tables.get(t, []):
                cols = [c for c in row if c != "_rowid"]
                conn.execute(f"INSERT INTO {t} (rowid, {', '.join(cols)}) VALUES (?{', ?' * len(cols)})",
                             (row["_rowid"], *(row[c] for c in cols)))
        conn.executemany("INSERT INTO ledger (seq, tbl, row_id, op, row_hash, hash) VALUES (?,?,?,?,?,?)",
                         [(e["seq"], e["tbl"], e["row_id"], e["op"], e["row_hash"], e["hash"]) for e in ledger])
        chain.install_triggers(conn)
        n = sum(len(v) for v in tables.values())
        store.log_event("restore", actor, False, conn=conn, detail={"source": source, "rows": n,
                                                                    "head": dump.get("head")})
    report = store.verify()
    if not report.ok:  # cannot happen after check_dump; say so loudly if it does
        raise ReviewError(f"the restored store does not verify: {report.problems[0]}")
    log.info("restored %d rows from %s", n, source or "a dump")
    return n


def restore_file(store: ReviewStore, path: str | Path, *, actor: str, expect_head: str | None = None) -> int:
    path = Path(path)
    if not path.is_file():
        raise ReviewError(f"file not found: {path}")
    if path.suffix.lower() == ".csv":
        raise ReviewError(f"{path}: a CSV export cannot be restored (it does not carry the ledger); restore "
                          f"from a whole-store JSON export")
    try:
        dump = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReviewError(f"{path}: not a JSON review export ({exc})") from None
    return restore(store, dump, actor=actor, expect_head=expect_head, source=path.name)


# ---------------------------------------------------------------------------- files


def write_json(store: ReviewStore, path: str | Path, set_name: str | None = None, *, actor: str = "cli",
               authenticated: bool = False) -> Path:
    path = Path(path)
    dump = export_dump(store, set_name)
    write_private_text(path, json.dumps(dump, ensure_ascii=False, indent=1))
    store.log_event("export", actor, authenticated, detail={"format": "json", "set": set_name,
                                                            "reviews": len(dump["reviews"])})
    return path


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)  # repr round-trips a float exactly
    return str(value)


def csv_rows(dump: dict[str, Any]) -> list[dict[str, str]]:
    """One row per review version; an item without reviews and a set without items get one too."""
    by_item: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in dump["reviews"]:
        by_item.setdefault((r["set"], r["input_id"], r["model"]), []).append(r)
    items_of: dict[str, list[dict[str, Any]]] = {}
    for i in dump["items"]:
        items_of.setdefault(i["set"], []).append(i)
    rows: list[dict[str, str]] = []
    for s in dump["sets"]:
        base = {"set": s["name"], "taxonomy": s["taxonomy"], "set_task": s["task"], "set_created_at": s["created_at"],
                "set_created_by": s["created_by"], "set_closed_at": s["closed_at"]}
        if not items_of.get(s["name"]):
            rows.append(base)
        for i in items_of.get(s["name"], []):
            rec = i["record"]
            fields = {k: v for k, v in rec.items() if k not in ("id", "task", "reference", "prediction", "model",
                                                                "model_info", "parsed", "meta")}
            item = {**base, "input_id": i["input_id"], "model": i["model"], "task": rec.get("task"),
                    "input": "\n".join(f"{k}: {v}" for k, v in fields.items() if isinstance(v, str)),
                    "reference": rec.get("reference"), "prediction": rec.get("prediction"),
                    "edited_text": i.get("edited_text"), "generation_uid": i.get("generation_uid"),
                    "n_findings": rec.get("n_findings"), "source": i["source"], "added_at": i["added_at"],
                    "record": json.dumps(rec, ensure_ascii=False, sort_keys=True)}
            reviews = by_item.get((s["name"], i["input_id"], i["model"]), [])
            if not reviews:
                rows.append(item)
            for r in reviews:
                row = {**item, "review_uid": r["uid"], "reviewer": r["reviewer"], "authenticated": r["authenticated"],
                       "version": r["version"], "corrected_text": r["corrected_text"], "comment": r["comment"],
                       "seconds": r["seconds"], "label": r["label"], "created_at": r["created_at"]}
                for cat, n in r["counts"].items():
                    row[f"{cat}_significant"], row[f"{cat}_insignificant"] = n["significant"], n["insignificant"]
                rows.append(row)
    return [{c: neutralise(_text(row.get(c))) for c in CSV_COLUMNS} for row in rows]


def write_csv(store: ReviewStore, path: str | Path, set_name: str | None = None, *, actor: str = "cli",
              authenticated: bool = False) -> Path:
    """The reviews as CSV at `path`, and the audit log of the same scope beside it
    (`<stem>.audit.csv`); both owner-only."""
    path = Path(path)
    dump = export_dump(store, set_name)
    with open_private(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(csv_rows(dump))
    with open_private(audit_csv_path(path), "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=AUDIT_COLS)
        writer.writeheader()
        writer.writerows({c: neutralise(_text(json.dumps(a[c], sort_keys=True, ensure_ascii=False)
                                               if c == "detail" else a.get(c))) for c in AUDIT_COLS}
                         for a in dump["audit"])
    store.log_event("export", actor, authenticated, detail={"format": "csv", "set": set_name,
                                                            "reviews": len(dump["reviews"])})
    return path



def audit_csv_path(path: Path) -> Path:
    return path.with_name(path.stem + ".audit.csv")
