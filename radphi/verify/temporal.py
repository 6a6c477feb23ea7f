"""The comparison tasks: an answer about what changed, checked against both the current
report and the prior (added and removed findings; each finding's progression against
the change wording and the two reports' severities)."""

from __future__ import annotations

from radphi import answers, labels, reports
from radphi.verify import findings as fx
from radphi.verify.flags import CHANGE_WORD as _CHANGE_WORD
from radphi.verify.flags import FALSE, MISSED, POSITION, SEVERITY, Flag
from radphi.verify.flags import sentence_of as _sentence
from radphi.verify.reading import ACUTE_PROCESS, ANY_DEVICE, BETTER, STABLE, WORSE, Mention, Reading, describe, read


def finding_label(item: str) -> str | None:
    """The finding label an answer's item names ("small left effusion" -> "pleural
    effusion"): the vocabulary's synonyms, else the one finding the reader finds in it.
    The Compare tab (radphi.comparison) matches a model's items with the same reading."""
    label = labels.canonical(item)
    if label is None:
        found = [m.label for m in read(item).mentions if m.positive]
        label = found[0] if len(found) == 1 else None
    return label


def _canonical_items(items: list[str]) -> list[str]:
    return list(dict.fromkeys(label for label in map(finding_label, items) if label is not None))


def check_temporal_findings(report: str, prior: str, prediction: str) -> list[Flag]:
    now_r, before_r = read(reports.clinical_text(report)), read(reports.clinical_text(prior))
    parsed = answers.parse_temporal_findings(prediction)
    added, removed = _canonical_items(parsed["added"]), _canonical_items(parsed["removed"])
    now = {m.label for m in now_r.mentions if m.positive} - {ACUTE_PROCESS, ANY_DEVICE}
    before = {m.label for m in before_r.mentions if m.positive} - {ACUTE_PROCESS, ANY_DEVICE}
    flags: list[Flag] = []

    def first(reading: Reading, label: str) -> str | None:
        return _sentence(reading, next((m for m in reading.mentions if m.label == label), None))

    for label in added:
        if label not in now:
            flags.append(Flag(FALSE, fx.false_significance(label), label, label, first(now_r, label),
                              "Listed as added, but the current report does not report it."))
        elif label in before:
            flags.append(Flag(FALSE, fx.false_significance(label), label, label, first(before_r, label),
                              "Listed as added, but the prior report already has it."))
    for label in removed:
        if label not in before:
            flags.append(Flag(FALSE, fx.false_significance(label), label, label, first(before_r, label),
                              "Listed as removed, but the prior report does not have it."))
        elif label in now:
            flags.append(Flag(FALSE, fx.false_significance(label), label, label, first(now_r, label),
                              "Listed as removed, but the current report still reports it."))
    for label in sorted(now - before - set(added)):
        mention = next(m for m in now_r.mentions if m.label == label and m.positive)
        flags.append(Flag(MISSED, fx.missed_significance(mention, keep_chronic=True), label, None,
                          _sentence(now_r, mention), "New in the current report, but not listed as added."))
    for label in sorted(before - now - set(removed)):
        mention = next(m for m in before_r.mentions if m.label == label and m.positive)
        flags.append(Flag(MISSED, False, label, None, _sentence(before_r, mention),
                          "In the prior report and gone from the current one, but not listed as removed."))
    return flags


def _expected_change(label: str, now_r: Reading, before_r: Reading) -> tuple[str | None, Mention | None]:
    now = [m for m in now_r.mentions if m.label == label]
    before = [m for m in before_r.mentions if m.label == label]
    positive_now = [m for m in now if m.positive]
    worded = next((m for m in positive_now if m.change), None)
    if worded is not None:
        return worded.change, worded
    if now and not positive_now and any(m.positive for m in before):
        return BETTER, now[0]
    if positive_now and not any(m.positive for m in before):
        return WORSE, positive_now[0]
    levels_now = {lv for m in positive_now for lv in m.severity}
    levels_before = {lv for m in before if m.positive for lv in m.severity}
    if levels_now and levels_before:
        a, b = max(levels_now), max(levels_before)
        return (WORSE if a > b else BETTER if a < b else STABLE), positive_now[0]
    return None, None


def _misplaced(label: str, region: str, mentions: list[Mention]) -> Mention | None:
    """The report mention that REGION (a progression line's place, "right costophrenic
    angle") contradicts by side or lung zone, or None when it agrees or nothing tells."""
    where = describe(region.lower(), label)
    same = [m for m in mentions if m.label == label and m.positive] or [m for m in mentions if m.positive]
    sides = frozenset().union(*(m.sides for m in same))
    if where.sides and sides and not where.sides <= sides:
        return next(m for m in same if m.sides)
    zones = frozenset().union(*(m.zones for m in same))
    if where.zones and zones and not where.zones & zones:
        return next(m for m in same if m.zones)
    return None


def check_progression(report: str, prior: str, prediction: str) -> list[Flag]:
    now_r, before_r = read(reports.clinical_text(report)), read(reports.clinical_text(prior))
    items = answers.parse_progression(prediction)
    flags: list[Flag] = []
    listed: set[str] = set()
    reverse = {v: k for k, v in _CHANGE_WORD.items()}
    for item in items:
        found = _canonical_items([item["finding"]])
        if not found:
            continue
        label = found[0]
        listed.add(label)
        line = f"{item['finding']}: {item['change']}"
        in_now = [m for m in now_r.mentions if fx.related(label, m.label)]
        in_before = [m for m in before_r.mentions if fx.related(label, m.label) and m.positive]
        if not any(m.positive for m in in_now) and not in_before:
            denial = next((m for m in in_now if not m.positive), None)
            flags.append(Flag(FALSE, fx.false_significance(label), label, line, _sentence(now_r, denial) if denial else None,
                              "The current report denies this finding." if denial else "Neither report mentions this finding."))
            continue
        place = _misplaced(label, item.get("region") or "", in_now + in_before)
        if place is not None:
            flags.append(Flag(POSITION, fx.position_significance(label), label, line,
                              _sentence(now_r, place) if place in in_now else _sentence(before_r, place),
                              f"The answer puts it in the {item.get('region')}; the reports do not."))
        expected, ev = _expected_change(label, now_r, before_r)
        if expected is not None and reverse.get(item["change"]) != expected:
            significant = label in fx.SIGNIFICANT
            flags.append(Flag(SEVERITY, significant, label, line, _sentence(now_r, ev),
                              f"The reports say it {_CHANGE_WORD[expected]}; the answer says {item['change']}."))
    for mention in now_r.mentions:
        if mention.change in (WORSE, BETTER) and mention.positive and mention.label not in listed \
                and mention.label not in (ACUTE_PROCESS, ANY_DEVICE) \
                and not any(fx.related(mention.label, lb) for lb in listed):
            listed.add(mention.label)
            flags.append(Flag(MISSED, mention.change == WORSE and mention.label in fx.SIGNIFICANT, mention.label, None,
                              _sentence(now_r, mention), "The current report describes a change the answer leaves out."))
    return flags
