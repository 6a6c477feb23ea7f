"""Sets and their items, as functions of an open connection (the store owns transactions).

- Items are keyed by (set, input id, model): importing the same `radphi run` file again
  changes nothing, and a different output under the same key is refused.
- A generation sent from the app gets an input id made from its task and fields, so two
  models' answers to the same input become one case. Its item holds the model's own
  output; the user's edit, if any, is kept apart (`edited_text`).
- Who may add: a study set takes items only from an admin (imports by the CLI's operator,
  who owns the database file, or a signed-in admin in the app); a practice set from anyone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from radphi import tasks
from radphi.review.model import Case, Item, ReviewError, ReviewSet, Taxonomy, check_name

log = logging.getLogger(__name__)

# Keys `radphi run` adds or that describe the record rather than the input.
_NOT_INPUT = {"id", "task", "reference", "split", "meta", "prediction", "parsed", "model", "model_info",
              "prompt_tokens", "completion_tokens", "seconds", "truncated_input", "n_findings", "flags",
              "generation_uid", "edited", "edited_text"}
# What a reviewer is shown beside a case besides the task's own fields, when a record has it.
CONTEXT_FIELDS = ("indication", "prior_report", "report")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def input_fields(record: dict[str, Any], task: str | None) -> dict[str, Any]:
    """The task's input fields of a record (every non-run key for an unknown task), with
    the indication, prior report and full report when the record carries them."""
    if task in tasks.TASKS:
        t = tasks.TASKS[task]
        meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
        out = {k: record[k] for k in (*t.fields, *t.optional_fields) if k in record}
        for k in CONTEXT_FIELDS:
            value = record.get(k, meta.get(k))
            if k not in out and isinstance(value, str) and value.strip():
                out[k] = value
        return out
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


# ---------------------------------------------------------------------------- sets


def to_set(row: sqlite3.Row) -> ReviewSet:
    return ReviewSet(id=row["id"], name=row["name"], taxonomy=Taxonomy(row["taxonomy"]), task=row["task"],
                     created_at=row["created_at"], created_by=row["created_by"], closed_at=row["closed_at"],
                     study=bool(row["study"]))


def find_set(conn: sqlite3.Connection, name: str | int) -> ReviewSet | None:
    col = "id" if isinstance(name, int) and not isinstance(name, bool) else "name"
    row = conn.execute(f"SELECT * FROM review_sets WHERE {col} = ?", (name,)).fetchone()
    return to_set(row) if row else None


def get_set(conn: sqlite3.Connection, name: str | int) -> ReviewSet:
    found = find_set(conn, name)
    if found is None:
        raise ReviewError(f"no review set {name!r}")
    return found


def set_secret(conn: sqlite3.Connection, set_id: int) -> str:
    return conn.execute("SELECT secret FROM review_sets WHERE id = ?", (set_id,)).fetchone()[0]


def create_set(conn: sqlite3.Connection, name: str, *, taxonomy: Taxonomy | None, task: str | None, actor: str,
               authenticated: bool, study: bool, log_event: Any) -> ReviewSet:
    name = check_name(name, "set name")
    taxonomy = taxonomy or Taxonomy.PAPER
    cur = conn.execute("INSERT INTO review_sets (name, taxonomy, task, created_at, created_by, study, secret) "
                       "VALUES (?,?,?,?,?,?,?)",
                       (name, taxonomy.value, task, now(), actor, int(study), secrets.token_hex(16)))
    log_event("create_set", actor, authenticated, set_id=cur.lastrowid, conn=conn,
              detail={"name": name, "taxonomy": taxonomy.value, "task": task, "study": study})
    return get_set(conn, cur.lastrowid)  # type: ignore[arg-type]


def ensure_set(conn: sqlite3.Connection, name: str, *, taxonomy: Taxonomy | None, task: str | None, actor: str,
               authenticated: bool, study: bool, log_event: Any) -> ReviewSet:
    found = find_set(conn, name)
    if found is None:
        return create_set(conn, name, taxonomy=taxonomy, task=task, actor=actor, authenticated=authenticated,
                          study=study, log_event=log_event)
    if taxonomy is not None and taxonomy is not found.taxonomy:
        raise ReviewError(f"set {name!r} scores the {found.taxonomy.value} taxonomy, not {taxonomy.value}")
    if found.closed:
        raise ReviewError(f"set {found.name!r} is closed: it takes no more outputs")
    return found


# ---------------------------------------------------------------------------- items


def to_item(row: sqlite3.Row) -> Item:
    return Item(id=row["id"], set_id=row["set_id"], input_id=row["input_id"], model=row["model"],
                task=row["task"], inputs=json.loads(row["inputs"]), reference=row["reference"],
                prediction=row["prediction"], n_findings=row["n_findings"], record=json.loads(row["record"]),
                generation_uid=row["generation_uid"], edited_text=row["edited_text"], added_by=row["added_by"])


def insert_item(conn: sqlite3.Connection, rs: ReviewSet, record: dict[str, Any], source: str, *, added_by: str,
                generation_uid: str | None = None, edited_text: str | None = None) -> tuple[int, bool]:
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
    row = conn.execute("SELECT id, prediction FROM items WHERE set_id = ? AND input_id = ? AND model = ?",
                       (rs.id, str(rid), model)).fetchone()
    if row is not None:
        # What is reviewed is the output text: the same text with other timings is the same item.
        if row["prediction"] == prediction:
            return row["id"], False
        raise ReviewError(f"set {rs.name!r} already has a different output of {model!r} for input {rid!r}")
    cur = conn.execute(
        "INSERT INTO items (set_id, input_id, model, task, inputs, reference, prediction, n_findings, record, "
        "source, added_at, generation_uid, edited_text, added_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (rs.id, str(rid), model, task, json.dumps(input_fields(record, task), ensure_ascii=False, sort_keys=True),
         reference, prediction, n_findings, json.dumps(record, ensure_ascii=False, sort_keys=True), source, now(),
         generation_uid, edited_text, added_by))
    return cur.lastrowid, True  # type: ignore[return-value]


def items(conn: sqlite3.Connection, set_id: int) -> list[Item]:
    return [to_item(r) for r in conn.execute("SELECT * FROM items WHERE set_id = ? ORDER BY id", (set_id,))]


def case(conn: sqlite3.Connection, set_id: int, input_id: str) -> Case | None:
    rows = conn.execute("SELECT * FROM items WHERE set_id = ? AND input_id = ? ORDER BY id", (set_id, input_id))
    found = tuple(to_item(r) for r in rows)
    return Case(set_id, input_id, found) if found else None


def cases(conn: sqlite3.Connection, set_id: int) -> list[Case]:
    """The set's inputs in import order, each with its outputs (in item order: the order
    shown comes from the reviewer's secret assignment, never from this)."""
    grouped: dict[str, list[Item]] = {}
    for it in items(conn, set_id):
        grouped.setdefault(it.input_id, []).append(it)
    return [Case(set_id, k, tuple(v)) for k, v in grouped.items()]


def generation_record(task: str, fields: dict[str, Any], generation: Any, model: str,
                      reference: str | None = None) -> dict[str, Any]:
    """The item record of a generation the app produced: its output exactly, with the SPEC,
    model hash, format, decoding parameters and prompt hash it was produced with."""
    record = {"id": live_input_id(task, fields), "task": task, **fields, "prediction": generation.output,
              "model": model, "model_info": dict(generation.model_info), "prompt_sha256": generation.prompt_sha256,
              "generation_uid": generation.uid, "generated_at": generation.created_at}
    if reference:
        record["reference"] = reference
    return record
