"""Answer texts: each task's `parse(answer_text)` and `format_answer(structure)`.

`format_answer` writes training targets from structured gold data; `parse` reads
model output back into the same structure. The two round-trip on canonical
structures (see tests/test_answers.py). Parsers tolerate messy model output (bullets,
numbering, odd casing, Medical-Diff-VQA's own sentence style) and never raise.

Structures:
- label tasks: {"labels": [canonical labels], "unknown": [names outside the vocabulary]}
- temporal findings: {"added": [...], "removed": [...]}
- temporal progression: [{"finding", "region", "change"}], change in CHANGES
- the text tasks: the stripped text
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from radphi import labels as label_vocab

CHANGES = ("improved", "worsened", "no change")
NONE_WORD = "none"

# ---------------------------------------------------------------- text tasks


def parse_text(text: Any) -> str:
    return _as_text(text).strip()


def format_text(structure: Any) -> str:
    return _as_text(structure).strip()


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


# ---------------------------------------------------------------- labels

_ITEM_SPLIT = re.compile(r"[,;\n|]")
_BULLET = re.compile(r"^\s*(?:[-*\u2022]+|\d+[.)])\s*")
# Models often preface the list ("Labels: a, b", "The abnormality labels are a, b").
_PREFACE = re.compile(r"^\s*(?:the\s+)?(?:abnormality\s+|tubes?,?\s*lines?\s*(?:and|&)\s*devices?\s+)?labels?\s*(?:are\b|:)\s*", re.I)


def _dedupe(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = item.lower()
        if item and key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _clean_item(raw: str) -> str:
    """Strip bullets, numbering and stray punctuation, repeatedly ("- 1. : x" -> "x")."""
    item = raw
    while True:
        cleaned = _PREFACE.sub("", _BULLET.sub("", item)).strip().strip(".:\"'`").strip()
        if cleaned == item:
            return item
        item = cleaned


def _label_items(text: str) -> list[str]:
    return [item for item in (_clean_item(raw) for raw in _ITEM_SPLIT.split(text)) if item]


def _parse_labels(text: Any, vocabulary: str) -> dict[str, list[str]]:
    body = _as_text(text)
    found: list[str] = []
    unknown: list[str] = []
    for item in _label_items(body):
        if label_vocab.means_no_label(item):
            continue
        if item.lower().startswith("and "):  # the last item of "a, b, and c"
            item = _clean_item(item[4:])
            if not item or label_vocab.means_no_label(item):
                continue
        canon = label_vocab.canonical(item, vocabulary)
        if canon is not None:
            found.append(canon)
            continue
        # "a and b": split only when the whole item is not itself a label
        # ("cardiac pacer and wires" is one).
        parts = [p.strip() for p in re.split(r"\s+(?:and|&)\s+", item) if p.strip()]
        if len(parts) > 1 and all(label_vocab.canonical(p, vocabulary) for p in parts):
            found.extend(label_vocab.canonical(p, vocabulary) for p in parts)  # type: ignore[misc]
        elif label_vocab.canonical(item) is not None:
            # A real label of the other vocabulary: outside this task's vocabulary.
            unknown.append(label_vocab.canonical(item))  # type: ignore[arg-type]
        else:
            unknown.append(item)
    return {"labels": _sort_labels(_dedupe(found), vocabulary), "unknown": _dedupe(unknown)}


def _sort_labels(found: list[str], vocabulary: str) -> list[str]:
    order = {name: i for i, name in enumerate(label_vocab.VOCABULARIES[vocabulary])}
    return sorted(found, key=lambda name: order.get(name, len(order)))


def parse_abnormality_labels(text: Any) -> dict[str, list[str]]:
    return _parse_labels(text, "abnormality")


def parse_tubes_lines_devices_labels(text: Any) -> dict[str, list[str]]:
    return _parse_labels(text, "tubes_lines_devices")


def format_labels(structure: Any) -> str:
    """Canonical labels in vocabulary order, then unknown names, comma-separated; `none` when empty.

    Accepts the label structure or a plain list of labels (gold data from a loader). A
    structure with `"keep_order": True` keeps the labels in the order given (e.g. the
    order a report mentions them, which the synthetic corpus uses as training targets).
    """
    keep_order = False
    if isinstance(structure, dict):
        names = list(structure.get("labels") or []) + list(structure.get("unknown") or [])
        keep_order = bool(structure.get("keep_order"))
    else:
        names = list(structure or [])
    known: list[str] = []
    other: list[str] = []
    for name in names:
        canon = label_vocab.canonical(str(name))
        (known if canon else other).append(canon or str(name).strip())
    items = _dedupe((known if keep_order else _sort_known(known)) + other)
    return ", ".join(items) if items else NONE_WORD


def _sort_known(known: list[str]) -> list[str]:
    order = {name: i for i, name in enumerate(label_vocab.ABNORMALITY_LABELS + label_vocab.TUBES_LINES_DEVICES_LABELS)}
    return sorted(known, key=lambda n: order.get(n, len(order)))


# ---------------------------------------------------------------- temporal findings

_SECTION = re.compile(r"\b(added|removed)(?:\s+findings?)?\s*:\s*", re.I)
_DIFF_ADDED = re.compile(r"additional findings? of (.*?) than the reference", re.I | re.S)
_DIFF_REMOVED = re.compile(r"missing the findings?(?:\(s\))? of (.*?) than the reference", re.I | re.S)


def _split_and(text: str) -> list[str]:
    """Split on " and ", keeping together the longest runs that form a label."""
    atoms = re.split(r"\s+and\s+", text)
    out, i = [], 0
    while i < len(atoms):
        j = next((j for j in range(min(len(atoms), i + 4), i + 1, -1)  # labels hold at most 3 "and"s
                  if label_vocab.canonical(_clean_item(" and ".join(atoms[i:j])))), i + 1)
        out.append(" and ".join(atoms[i:j]))
        i = j
    return out


def _finding_items(text: str) -> list[str]:
    text = text.strip().rstrip(".").strip()
    if not text or label_vocab.means_no_label(text):
        return []
    if ";" in text or "\n" in text:
        parts = re.split(r"[;\n]", text)
    else:
        # Medical-Diff-VQA joins lists with commas and a final ", and"; a part is split
        # on " and " only when it is not itself a label ("cardiac pacer and wires").
        parts = []
        for part in re.split(r",\s*(?:and\s+)?", text):
            parts.extend(_split_and(part))
    items = [_clean_item(p) for p in parts]
    return _dedupe([i for i in items if i and not label_vocab.means_no_label(i)])


def parse_temporal_findings(text: Any) -> dict[str, list[str]]:
    body = _as_text(text)
    added: list[str] = []
    removed: list[str] = []
    marks = list(_SECTION.finditer(body))
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
        target = added if mark.group(1).lower() == "added" else removed
        target.extend(_finding_items(body[mark.end():end]))
    if not marks:
        for m in _DIFF_ADDED.finditer(body):
            added.extend(_finding_items(m.group(1)))
        for m in _DIFF_REMOVED.finditer(body):
            removed.extend(_finding_items(m.group(1)))
    return {"added": _dedupe(added), "removed": _dedupe(removed)}


def temporal_difference(now: list[str], before: list[str]) -> str:
    """The temporal-findings answer of two label lists: added (in NOW only), removed (in BEFORE only)."""
    return format_temporal_findings({"added": [x for x in now if x not in before],
                                     "removed": [x for x in before if x not in now]})


def format_temporal_findings(structure: Any) -> str:
    structure = structure or {}
    added = [str(x).strip() for x in structure.get("added") or [] if str(x).strip()]
    removed = [str(x).strip() for x in structure.get("removed") or [] if str(x).strip()]
    # Semicolons, not commas, so that a finding holding a comma survives the round trip.
    return f"Added: {'; '.join(added) or NONE_WORD}. Removed: {'; '.join(removed) or NONE_WORD}."


# ---------------------------------------------------------------- temporal progression

_CHANGE_WORDS = [
    ("no change", r"no\s+change|unchanged|stable|no\s+interval\s+change|same|similar"),
    ("improved", r"improv\w*|better|decreas\w*|resolv\w*|less"),
    ("worsened", r"worse\w*|increas\w*|progress\w*|more|enlarg\w*"),
]
_CHANGE_RE = re.compile(
    r"^(?P<what>.*?)\s*(?::|-|\u2013|\bhas\b|\bhave\b|\bis\b|\bare\b|\bwas\b)?\s*"
    r"(?P<change>" + "|".join(f"(?:{pat})" for _, pat in _CHANGE_WORDS) + r")\s*\.?$",
    re.I,
)


def _change_of(word: str) -> str | None:
    for name, pattern in _CHANGE_WORDS:
        if re.fullmatch(pattern, word.strip(), re.I):
            return name
    return None


def parse_progression(text: Any) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for raw in re.split(r"[\n;]|(?<=[a-z)])\.\s+", _as_text(text)):
        line = _BULLET.sub("", raw).strip()
        m = _CHANGE_RE.match(line)
        if not m:
            continue
        change = _change_of(m.group("change"))
        what = m.group("what").strip().rstrip(":-\u2013 ").strip()
        if not what or change is None:
            continue
        finding, region = what, ""
        if " in " in what:
            finding, region = (s.strip() for s in what.rsplit(" in ", 1))
            region = re.sub(r"^the\s+", "", region, flags=re.I)
        out.append({"finding": finding, "region": region, "change": change})
    return out


def format_progression(structure: Any) -> str:
    lines = []
    for item in structure or []:
        finding = str(item.get("finding", "")).strip()
        change = str(item.get("change", "")).strip().lower()
        if not finding or change not in CHANGES:
            continue
        region = str(item.get("region") or "").strip()
        lines.append(f"{finding} in {region}: {change}" if region else f"{finding}: {change}")
    return "\n".join(lines) if lines else "No findings to compare."
