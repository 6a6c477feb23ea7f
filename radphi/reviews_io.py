"""Export the review store to JSON or CSV, and import either back without loss.

    dump = export_dump(store)                  # dict: sets, items, reviews (every version), roles, audit
    write_json(store, "reviews.json"); write_csv(store, "reviews.csv")
    import_file(store, "reviews.csv", actor="alice")

- JSON carries everything, the audit log and roles included.
- CSV is one row per review version (an item without reviews gets a row of its own), so
  it opens in a spreadsheet and still rebuilds the sets, items and every version.
- Reviewers open these files in spreadsheet programs, where a cell that starts with
  `=`, `+`, `-` or `@` (or tab or carriage return) is run as a formula. Such cells are
  written with a leading `'`; so is a cell that already starts with `'`, which makes the
  rule reversible: import drops one leading `'` and restores the text exactly.
- Import is one transaction and idempotent: sets, items and reviews already present
  (same name, same (set, input id, model), same review uid) are left as they are; a
  conflicting one stops the import and nothing is written.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

from radphi.reviews import (
    MAX_COMMENT_CHARS,
    MAX_CORRECTED_CHARS,
    ErrorCategory,
    ReviewError,
    Taxonomy,
    check_counts,
    check_name,
    check_seconds,
    check_text,
    counts_from_json,
)
from radphi.reviews_store import ReviewStore, now

log = logging.getLogger(__name__)

FORMAT = "radphi-reviews"
FORMAT_VERSION = 1
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")
SET_COLS = ["set", "taxonomy", "set_task", "set_created_at", "set_created_by", "set_closed_at"]
ITEM_COLS = ["input_id", "model", "task", "input", "reference", "prediction", "n_findings", "source", "added_at",
             "record"]
REVIEW_COLS = (["review_uid", "reviewer", "authenticated", "version"]
               + [f"{c.value}_{s}" for c in ErrorCategory for s in ("significant", "insignificant")]
               + ["corrected_text", "comment", "seconds", "label", "created_at"])
CSV_COLUMNS = SET_COLS + ITEM_COLS + REVIEW_COLS


def neutralise(cell: str) -> str:
    """The cell as a spreadsheet shows it, never as a formula (reversed by `restore`)."""
    return "'" + cell if cell.startswith(_TRIGGERS) else cell


def restore(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


# ---------------------------------------------------------------------------- dump


def export_dump(store: ReviewStore, set_name: str | None = None, *, audit: bool = True) -> dict[str, Any]:
    """Everything in the store (or one set) as plain JSON-ready data, keyed by names, not row ids."""
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
        roles = conn.execute("SELECT * FROM roles ORDER BY user").fetchall() if not set_name else []
        entries = conn.execute("SELECT * FROM audit ORDER BY id").fetchall() if audit else []
    out: dict[str, Any] = {
        "format": FORMAT, "version": FORMAT_VERSION, "exported_at": now(),
        "sets": [{"name": s["name"], "taxonomy": s["taxonomy"], "task": s["task"], "created_at": s["created_at"],
                  "created_by": s["created_by"], "closed_at": s["closed_at"]} for s in sets],
        "items": [{"set": names[i["set_id"]], "input_id": i["input_id"], "model": i["model"],
                   "record": json.loads(i["record"]), "source": i["source"], "added_at": i["added_at"]}
                  for i in items],
        "reviews": [{"set": keys[r["item_id"]][0], "input_id": keys[r["item_id"]][1], "model": keys[r["item_id"]][2],
                     "uid": r["uid"], "reviewer": r["reviewer"], "authenticated": bool(r["authenticated"]),
                     "version": r["version"], "counts": errors.get(r["id"], {}), "corrected_text": r["corrected_text"],
                     "comment": r["comment"], "seconds": r["seconds"], "label": r["label"],
                     "created_at": r["created_at"]} for r in reviews],
        "roles": [dict(r) for r in roles],
    }
    if audit:
        out["audit"] = [{"at": a["at"], "actor": a["actor"], "authenticated": bool(a["authenticated"]),
                         "action": a["action"], "detail": json.loads(a["detail"])}
                        for a in entries if not set_name or a["set_id"] in names]
    return out


def snapshot(store: ReviewStore) -> dict[str, Any]:
    """What "the same reviews" means: sets, items and every review version. Roles and the
    audit log travel in JSON only, and the audit log grows with each import, so callers
    compare those apart."""
    dump = export_dump(store, audit=False)
    dump.pop("exported_at")
    dump.pop("roles")
    # Row order is an accident of how rows arrived (a CSV groups reviews by item): compare by key.
    dump["sets"].sort(key=lambda s: s["name"])
    dump["items"].sort(key=lambda i: (i["set"], i["input_id"], i["model"]))
    dump["reviews"].sort(key=lambda r: r["uid"])
    return dump


def import_dump(store: ReviewStore, dump: dict[str, Any], *, actor: str, authenticated: bool = False,
                source: str = "") -> dict[str, int]:
    """Load an `export_dump` into the store in one transaction; returns what was added."""
    if not isinstance(dump, dict) or dump.get("format") != FORMAT:
        raise ReviewError("not a radphi review export (no \"format\": \"radphi-reviews\")")
    if dump.get("version") != FORMAT_VERSION:
        raise ReviewError(f"review export version {dump.get('version')!r} is not supported")
    added = {"sets": 0, "items": 0, "reviews": 0, "roles": 0, "audit": 0}
    with store._write() as conn:
        sets: dict[str, Any] = {}
        for s in dump.get("sets", []):
            found = store._find_set(conn, s["name"])
            if found is None:
                conn.execute("INSERT INTO review_sets (name, taxonomy, task, created_at, created_by, closed_at) "
                             "VALUES (?,?,?,?,?,?)", (check_name(s["name"], "set name"), Taxonomy(s["taxonomy"]).value,
                                                      s.get("task"), s["created_at"], s["created_by"],
                                                      s.get("closed_at")))
                found = store._find_set(conn, s["name"])
                added["sets"] += 1
            elif found.taxonomy.value != s["taxonomy"]:
                raise ReviewError(f"set {s['name']!r} scores {found.taxonomy.value} here and {s['taxonomy']} "
                                  f"in the file")
            sets[s["name"]] = found
        items: dict[tuple[str, str, str], int] = {}
        for i in dump.get("items", []):
            rs = sets.get(i["set"])
            if rs is None:
                raise ReviewError(f"item {i['input_id']!r} names set {i['set']!r}, which the file does not have")
            if str(i["record"].get("id")) != i["input_id"] or i["record"].get("model") != i["model"]:
                raise ReviewError(f"item {i['input_id']!r}/{i['model']!r}: its record has another id or model")
            item_id, new = store._insert_item(conn, rs, i["record"], i.get("source") or "", i["added_at"])
            items[(i["set"], i["input_id"], i["model"])] = item_id
            added["items"] += new
        for r in dump.get("reviews", []):
            added["reviews"] += _import_review(conn, r, items, sets)
        for role in dump.get("roles", []):
            cur = conn.execute("INSERT OR IGNORE INTO roles VALUES (?,?,?,?)",
                               (role["user"], role["role"], role["granted_at"], role["granted_by"]))
            added["roles"] += cur.rowcount
        for a in dump.get("audit", []):
            exists = conn.execute("SELECT 1 FROM audit WHERE at = ? AND actor = ? AND action = ? AND detail = ?",
                                  (a["at"], a["actor"], a["action"], json.dumps(a["detail"], sort_keys=True,
                                                                                 ensure_ascii=False))).fetchone()
            if not exists:
                conn.execute("INSERT INTO audit (at, actor, authenticated, action, detail) VALUES (?,?,?,?,?)",
                             (a["at"], a["actor"], int(bool(a["authenticated"])), a["action"],
                              json.dumps(a["detail"], sort_keys=True, ensure_ascii=False)))
                added["audit"] += 1
        store.log_event("import", actor, authenticated, conn=conn, detail={"source": source, **added})
    log.info("imported %s from %s", added, source or "a dump")
    return added


def _import_review(conn: Any, r: dict[str, Any], items: dict[tuple[str, str, str], int], sets: dict[str, Any]) -> int:
    key = (r["set"], r["input_id"], r["model"])
    if key not in items:
        raise ReviewError(f"review {r['uid']} is of an item the file does not have: {key}")
    item_id = items[key]
    reviewer, auth = check_name(r["reviewer"]), bool(r["authenticated"])
    counts = check_counts(counts_from_json(r["counts"]), sets[r["set"]].taxonomy)
    row = conn.execute("SELECT item_id, reviewer, authenticated, version FROM reviews WHERE uid = ?",
                       (r["uid"],)).fetchone()
    if row is not None:
        if tuple(row) != (item_id, reviewer, int(auth), r["version"]):
            raise ReviewError(f"review {r['uid']} differs from the one already stored")
        return 0
    if isinstance(r["version"], bool) or not isinstance(r["version"], int) or r["version"] < 1:
        raise ReviewError(f"review {r['uid']}: version must be a whole number >= 1")
    clash = conn.execute("SELECT uid FROM reviews WHERE item_id = ? AND reviewer = ? AND authenticated = ? AND "
                         "version = ?", (item_id, reviewer, int(auth), r["version"])).fetchone()
    if clash is not None:
        raise ReviewError(f"review {r['uid']}: {reviewer}'s version {r['version']} of {key} is already stored as "
                          f"review {clash[0]}")
    cur = conn.execute(
        "INSERT INTO reviews (uid, item_id, reviewer, authenticated, version, corrected_text, comment, seconds, "
        "label, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (r["uid"], item_id, reviewer, int(auth), r["version"],
         check_text(r.get("corrected_text"), MAX_CORRECTED_CHARS, "corrected text") or None,
         check_text(r.get("comment"), MAX_COMMENT_CHARS, "comment"), check_seconds(r.get("seconds")),
         r.get("label"), r["created_at"]))
    conn.executemany("INSERT INTO review_errors VALUES (?,?,?,?)",
                     [(cur.lastrowid, c.value, n.significant, n.insignificant) for c, n in counts.items()])
    return 1


# ---------------------------------------------------------------------------- files


def write_json(store: ReviewStore, path: str | Path, set_name: str | None = None, *, actor: str = "cli",
               authenticated: bool = False) -> Path:
    path = Path(path)
    dump = export_dump(store, set_name)
    path.write_text(json.dumps(dump, ensure_ascii=False, indent=1), encoding="utf-8")
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
    path = Path(path)
    dump = export_dump(store, set_name, audit=False)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(csv_rows(dump))
    store.log_event("export", actor, authenticated, detail={"format": "csv", "set": set_name,
                                                            "reviews": len(dump["reviews"])})
    return path


def dump_from_csv(path: str | Path) -> dict[str, Any]:
    """Rebuild an `export_dump` from a CSV written by `write_csv`."""
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = set(CSV_COLUMNS) - set(reader.fieldnames or [])
        if missing:
            raise ReviewError(f"{path}: not a radphi review CSV (missing columns: {', '.join(sorted(missing))})")
        rows = [{k: restore(v or "") for k, v in row.items() if k in CSV_COLUMNS} for row in reader]
    dump: dict[str, Any] = {"format": FORMAT, "version": FORMAT_VERSION, "sets": [], "items": [], "reviews": []}
    seen_sets: set[str] = set()
    seen_items: set[tuple[str, str, str]] = set()
    for n, row in enumerate(rows, start=2):
        try:
            if row["set"] not in seen_sets:
                seen_sets.add(row["set"])
                dump["sets"].append({"name": row["set"], "taxonomy": row["taxonomy"], "task": row["set_task"] or None,
                                     "created_at": row["set_created_at"], "created_by": row["set_created_by"],
                                     "closed_at": row["set_closed_at"] or None})
            if not row["input_id"]:
                continue
            key = (row["set"], row["input_id"], row["model"])
            if key not in seen_items:
                seen_items.add(key)
                dump["items"].append({"set": row["set"], "input_id": row["input_id"], "model": row["model"],
                                      "record": json.loads(row["record"]), "source": row["source"] or None,
                                      "added_at": row["added_at"]})
            if not row["review_uid"]:
                continue
            counts = {c.value: {"significant": int(row[f"{c.value}_significant"]),
                                "insignificant": int(row[f"{c.value}_insignificant"])}
                      for c in ErrorCategory if row[f"{c.value}_significant"] != ""}
            dump["reviews"].append({
                "set": row["set"], "input_id": row["input_id"], "model": row["model"], "uid": row["review_uid"],
                "reviewer": row["reviewer"], "authenticated": row["authenticated"] == "1", "version": int(row["version"]),
                "counts": counts, "corrected_text": row["corrected_text"] or None, "comment": row["comment"],
                "seconds": float(row["seconds"]), "label": row["label"] or None, "created_at": row["created_at"]})
        except (ValueError, KeyError) as exc:
            raise ReviewError(f"{path}: row {n}: {type(exc).__name__}: {exc}") from None
    dump["reviews"].sort(key=lambda r: (r["created_at"], r["version"]))  # back to the order they were made
    return dump


def import_file(store: ReviewStore, path: str | Path, *, actor: str, authenticated: bool = False) -> dict[str, int]:
    """Import a review export (.json or .csv) written by `write_json` / `write_csv`."""
    path = Path(path)
    if not path.is_file():
        raise ReviewError(f"file not found: {path}")
    if path.suffix.lower() == ".csv":
        dump = dump_from_csv(path)
    else:
        try:
            dump = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ReviewError(f"{path}: not a JSON review export ({exc})") from None
    return import_dump(store, dump, actor=actor, authenticated=authenticated, source=path.name)
