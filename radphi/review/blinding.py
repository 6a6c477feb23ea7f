"""Secret, stored blinding: the order each reviewer sees a case's outputs in, and the
dashboard's model pseudonyms.

- The first reviewer of a case gets an order drawn with `secrets` (the OS's CSPRNG); it is
  stored, so the page shows the same order on every visit. Each later reviewer of the case
  gets that order rotated by one more place, so over every k reviewers of a k-output case
  each model sits in each position once (counterbalancing, as in a Latin square). Nothing
  a reviewer can see (set, case, their name, the model names) determines the draw.
- Pseudonyms ("Model 1", ...) follow an HMAC of each model name under the set's own secret
  key, drawn with `secrets` when the set was made and stored in it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3

from radphi.review.model import Case

_RNG = secrets.SystemRandom()


def _shuffled(ids: list[int]) -> list[int]:
    out = list(ids)
    _RNG.shuffle(out)
    return out


def assign(conn: sqlite3.Connection, case: Case, reviewer: str, authenticated: bool, drawn_at: str) -> tuple[int, list[int]]:
    """(assignment id, item ids in the order shown) for this reviewer and case; drawn and
    stored on first sight, kept afterwards (outputs added later go in at random places)."""
    ids = [i.id for i in case.items]
    mine = conn.execute("SELECT id, item_order FROM assignments WHERE set_id = ? AND input_id = ? AND reviewer = ? "
                        "AND authenticated = ? ORDER BY id DESC LIMIT 1",
                        (case.set_id, case.input_id, reviewer, int(authenticated))).fetchone()
    if mine is not None:
        order = [i for i in json.loads(mine["item_order"]) if i in ids]
        if len(order) == len(ids):
            return mine["id"], order
        for i in (i for i in ids if i not in order):
            order.insert(_RNG.randrange(len(order) + 1), i)
    else:
        first = conn.execute("SELECT item_order FROM assignments WHERE set_id = ? AND input_id = ? ORDER BY id LIMIT 1",
                             (case.set_id, case.input_id)).fetchone()
        base = json.loads(first["item_order"]) if first is not None else None
        if base is not None and sorted(base) == sorted(ids):
            seen = conn.execute("SELECT COUNT(DISTINCT reviewer || '/' || authenticated) FROM assignments "
                                "WHERE set_id = ? AND input_id = ?", (case.set_id, case.input_id)).fetchone()[0]
            k = seen % len(base)
            order = base[k:] + base[:k]
        else:
            order = _shuffled(ids)
    cur = conn.execute("INSERT INTO assignments (set_id, input_id, reviewer, authenticated, item_order, drawn_at) "
                       "VALUES (?,?,?,?,?,?)", (case.set_id, case.input_id, reviewer, int(authenticated),
                                                 json.dumps(order), drawn_at))
    return cur.lastrowid, order  # type: ignore[return-value]


def pseudonyms(secret: str, models: list[str]) -> dict[str, str]:
    """{model: "Model N"} in an order only the set's secret key determines."""
    key = secret.encode("utf-8")
    order = sorted(set(models), key=lambda m: hmac.new(key, m.encode("utf-8"), hashlib.sha256).hexdigest())
    return {m: f"Model {i}" for i, m in enumerate(order, start=1)}
