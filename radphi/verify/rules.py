"""The checker's rules: a task's source and answer, read alike (radphi.verify.reading),
aligned finding by finding, give flags in the paper's four categories.

One function per kind of task; each returns flags and never guesses: where a rule
cannot tell (an item it cannot name, a side neither text gives), it says nothing.
"""

from __future__ import annotations

import re
from typing import Mapping

from radphi import labels, reports, tasks
from radphi.verify import findings as fx
from radphi.verify.flags import CHANGE_WORD as _CHANGE_WORD
from radphi.verify.flags import FALSE, MISSED, POSITION, SEVERITY, Flag
from radphi.verify.flags import quote as _quote
from radphi.verify.flags import sentence_of as _sentence
from radphi.verify.reading import (
    ABSENT, ACUTE_PROCESS, ANY_DEVICE, MALPOSITIONED, PRESENT, STABLE, STATED, UNCERTAIN, WELL_POSITIONED, Mention,
    Reading, describe, places, read,
)
from radphi.verify.temporal import check_progression, check_temporal_findings


def _positive(reading: Reading, label: str, related: bool) -> list[Mention]:
    return [m for m in reading.mentions if m.positive and m.label not in (ACUTE_PROCESS,)
            and (fx.related(label, m.label) if related else m.label == label)]


def _negated(reading: Reading, label: str, related: bool) -> list[Mention]:
    return [m for m in reading.mentions if m.status == ABSENT
            and (fx.related(label, m.label) if related else m.label == label)]


def _sides_text(sides: frozenset[str]) -> str:
    return "both sides" if len(sides) == 2 else f"the {next(iter(sides))}"


# --- comparing one answer mention with its support ------------------------------

def _compare(out: Mention, out_r: Reading, support: list[Mention], src_r: Reading, *,
             changes: bool = True) -> list[Flag]:
    """Position and severity flags for an answer mention against the source mentions of
    the same finding (or, failing those, related ones)."""
    flags: list[Flag] = []
    same = [m for m in support if m.label == out.label] or support
    label = out.label
    text = _sentence(out_r, out)
    # Side: flagged only when the answer names a side the source never gives this finding.
    src_sides = frozenset().union(*(m.sides for m in same))
    if out.sides and src_sides and not out.sides <= src_sides:
        ev = next((m for m in same if m.sides), same[0])
        flags.append(Flag(POSITION, fx.position_significance(label), label, text, _sentence(src_r, ev),
                          f"The answer puts it on {_sides_text(out.sides)}; the source says {_sides_text(src_sides)}."))
    elif _one_side_of_both(out, same, out_r):
        ev = next(m for m in same if m.sides)
        flags.append(Flag(POSITION, fx.position_significance(label), label, text, _sentence(src_r, ev),
                          f"The answer puts it on {_sides_text(out.sides)} only; the source says both sides."))
    elif out.dominant and any(m.dominant for m in same) and out.dominant not in {m.dominant for m in same}:
        ev = next(m for m in same if m.dominant)
        flags.append(Flag(POSITION, fx.position_significance(label), label, text, _sentence(src_r, ev),
                          f"The answer says the {out.dominant} side is larger; the source says the {ev.dominant}."))
    else:
        # The same finding on two sides is two findings ("Large left effusion. Small right
        # effusion."): the answer's side is graded and placed against that side's mentions.
        both = same
        same = _on_sides(same, out.sides)
        moved = _moved_grade(out, same, both, out_r)
        if moved is not None:
            # "Large right effusion" where the large one is on the left: a side error.
            return [Flag(POSITION, fx.position_significance(label), label, text, _sentence(src_r, moved),
                         f"The answer puts it on {_sides_text(out.sides)} with the grade the source gives "
                         f"{_sides_text(moved.sides)}.")]
        src_zones = frozenset().union(*(m.zones for m in same))
        if out.zones and src_zones and not out.zones & src_zones:
            ev = next(m for m in same if m.zones)
            flags.append(Flag(POSITION, fx.position_significance(label), label, text, _sentence(src_r, ev),
                              f"The answer places it in the {'/'.join(sorted(out.zones))} zone; the source in the "
                              f"{'/'.join(sorted(src_zones))}."))
    if fx.is_device(label):
        positions = {m.position for m in same if m.position}
        # A stated place contradicts only an answer that calls the device malpositioned.
        if STATED in positions and out.position != MALPOSITIONED:
            positions = positions - {STATED} or {out.position}
        if out.position == STATED:
            positions = {STATED}
        if out.position and positions and out.position not in positions:
            ev = next(m for m in same if m.position)
            flags.append(Flag(POSITION, True, label, text, _sentence(src_r, ev),
                              f"The answer says the device is {out.position}; the source says {ev.position}."))
        elif (moved := _other_place(out, out_r, same, src_r)) is not None:
            flags.append(Flag(POSITION, True, label, text, _sentence(src_r, moved[0]),
                              f"The answer puts the tip in the {moved[1]}; the source does not."))
        elif out.measures and any(m.measures for m in same) and not _same_measure(out, same):
            ev = next(m for m in same if m.measures)
            flags.append(Flag(POSITION, True, label, text, _sentence(src_r, ev),
                              "The answer gives the tip another distance than the source."))
        return flags
    src_levels = frozenset().union(*(m.severity for m in same))
    if out.severity and src_levels and not out.severity & src_levels:
        ev = next(m for m in same if m.severity)
        flags.append(Flag(SEVERITY, fx.severity_significance(label, out, same), label, text, _sentence(src_r, ev),
                          "The answer grades it differently from the source."))
    elif out.measures and any(m.measures for m in same) and not _same_measure(out, same):
        ev = next(m for m in same if m.measures)
        flags.append(Flag(SEVERITY, fx.severity_significance(label, out, same), label, text, _sentence(src_r, ev),
                          "The answer gives another size than the source."))
    elif changes and out.change:
        src_changes = {m.change for m in same if m.change}
        if src_changes and out.change not in src_changes:
            ev = next(m for m in same if m.change)
            flags.append(Flag(SEVERITY, fx.severity_significance(label, out, same), label, text,
                              _sentence(src_r, ev),
                              f"The answer says it {_CHANGE_WORD[out.change]}; the source says "
                              f"{_CHANGE_WORD[ev.change or STABLE]}."))
    acuity = _acuity_changed(label, out, same)
    if acuity is not None and not any(f.category is SEVERITY for f in flags):
        flags.append(Flag(SEVERITY, label in fx.SIGNIFICANT, label, text, _sentence(src_r, acuity),
                          "The answer gives the fracture another age than the source."))
    if out.status == PRESENT and same and all(m.status == UNCERTAIN for m in same) and \
            not any(f.category is SEVERITY for f in flags):
        flags.append(Flag(SEVERITY, False, label, text, _sentence(src_r, same[0]),
                          "The source only hedges this finding; the answer states it as certain."))
    return flags


def _one_side_of_both(out: Mention, same: list[Mention], out_r: Reading) -> bool:
    """Whether the answer puts on one side a finding the source gives only as bilateral
    ("Bibasilar atelectasis" answered "Right basilar atelectasis"), with no other
    mention of it on the other side."""
    sided = [m for m in same if m.label == out.label and m.sides]
    if len(out.sides) != 1 or not sided or not all(len(m.sides) == 2 for m in sided):
        return False
    elsewhere = frozenset().union(*(o.sides for o in out_r.mentions if o.label == out.label and o.positive))
    return len(elsewhere) == 1


def _moved_grade(out: Mention, on_side: list[Mention], every: list[Mention], out_r: Reading) -> Mention | None:
    """The source mention on another side whose grade the answer gives its own side, when
    the answer's side has a different grade there and the answer does not give that other
    side its grade itself (then the grades swapped sides); else None."""
    if not out.severity or on_side is every:
        return None
    here = frozenset().union(*(m.severity for m in on_side))
    if not here or here & out.severity:
        return None
    moved = next((m for m in every if m not in on_side and m.severity & out.severity and m.sides), None)
    if moved is None or any(o is not out and o.label == out.label and o.sides & moved.sides
                            and o.severity & moved.severity for o in out_r.mentions):
        return None
    return moved


def _on_sides(mentions: list[Mention], sides: frozenset[str]) -> list[Mention]:
    """The MENTIONS on any of SIDES, where the answer names sides and the source has
    some there; else all of them (a side neither text gives decides nothing)."""
    if not sides:
        return mentions
    return [m for m in mentions if m.sides & sides] or mentions


_ACUTE = re.compile(r"\b(?:acute|recent|fresh)\b")
_NOT_ACUTE = re.compile(r"\b(?:old|healed|healing|chronic|remote|subacute|indeterminate\s+age|age[- ]indeterminate"
                        r"|of\s+indeterminate\s+age|age\s+indeterminate)\b")


def _own_words(m: Mention) -> str:
    """The mention's clause cut at the conjunctions that start another finding's words:
    in "an acute clavicle fracture, and old healed rib fractures" the rib fractures' "old"
    is not the clavicle's."""
    clause, at = m.modifiers, m.text.lower()
    where = clause.find(at)
    if where < 0:
        return clause
    head = re.split(r";|,\s*and\b|\band\s+(?=(?:an?\s+)?(?:old|acute|healed|new|recent|chronic))", clause[:where])[-1]
    tail = re.split(r",\s*and\b|;|\band\s+(?=(?:an?\s+)?(?:old|acute|healed|new|recent|chronic))", clause[where:])[0]
    return head + tail


def _acuity_changed(label: str, out: Mention, src: list[Mention]) -> Mention | None:
    """The source mention of a fracture whose age the answer changes: "acute" for one the
    source calls old, healed or of indeterminate age, or the reverse."""
    if "fracture" not in label:
        return None
    out_acute, out_old = bool(_ACUTE.search(_own_words(out))), bool(_NOT_ACUTE.search(_own_words(out)))
    for m in src:
        src_acute, src_old = bool(_ACUTE.search(_own_words(m))), bool(_NOT_ACUTE.search(_own_words(m)))
        if (out_acute and src_old and not src_acute) or (out_old and src_acute and not src_old):
            return m
    return None


def _tip_text(reading: Reading, mention: Mention) -> str:
    """The words after a device mention up to the next mention in its sentence."""
    sentence = reading.sentences[mention.sentence]
    nxt = min((m.start for m in reading.mentions if m.sentence == mention.sentence and m.start >= mention.end),
              default=len(sentence))
    return sentence[mention.end:nxt].lower()


def _other_place(out: Mention, out_r: Reading, same: list[Mention], src_r: Reading) -> tuple[Mention, str] | None:
    """(source mention, place) when the answer puts the device's tip in a place that the
    source, which names places for it, never gives it."""
    said = places(_tip_text(out_r, out))
    src_places = {m: places(_tip_text(src_r, m)) for m in same}
    # Places in sentences that name no device ("A new third lead projects over the coronary
    # sinus") may be this device's too.
    device_sentences = {m.sentence for m in src_r.mentions if fx.is_device(m.label)}
    loose = [places(text.lower()) for i, text in enumerate(src_r.sentences) if i not in device_sentences]
    known = frozenset().union(*src_places.values(), *loose)
    extra = sorted(said - known)
    if not said or not known or not extra:
        return None
    return next((m for m, found in src_places.items() if found), same[0]), extra[0]


def _same_measure(out: Mention, src: list[Mention]) -> bool:
    sizes = [s for m in src for s in m.measures]
    return all(any(abs(a - b) < 0.51 for b in sizes) for a in out.measures)


# --- the generic checks -------------------------------------------------------

def check_answer(out_r: Reading, src_r: Reading, *, related: bool = True, missed: bool = True,
                 changes: bool = True, negatives_missed: bool = False, vocabulary: str | None = None,
                 hedged_missed_minor: bool = False, keep_grades: bool = False) -> list[Flag]:
    """Every answer mention against the source, then every source finding against the answer.
    KEEP_GRADES (the tasks that copy the report): a grade, size or tip distance the source
    gives a finding the answer keeps must not vanish from it."""
    flags: list[Flag] = []
    if keep_grades:
        flags.extend(_dropped_grades(out_r, src_r))
    allowed = set(labels.VOCABULARIES[vocabulary]) if vocabulary else None
    out_positive = [m for m in out_r.mentions if m.positive]
    for out in out_positive:
        if out.label in (ACUTE_PROCESS,) or (allowed is not None and out.label not in allowed):
            continue
        if out.label == ANY_DEVICE:
            continue
        support = _positive(src_r, out.label, related)
        if related and support and not _positive(src_r, out.label, False) and _denied_there(src_r, out):
            support = []  # the source denies this very finding; a related one is no support
        denial = _denied_there(src_r, out, exact_side=True)
        kept = [o for o in out_positive if o is not out and o.label == out.label
                and any(o.sides & m.sides for m in support if m.label == out.label)]
        if support and denial and kept and not any(m.label == out.label and m.sides & out.sides for m in support):
            # "There is no left effusion" beside a right one the answer keeps: a left effusion is
            # invented, not moved (an answer whose only one is on the denied side moved it).
            flags.append(Flag(FALSE, fx.false_significance(out.label), out.label, _sentence(out_r, out),
                              _sentence(src_r, denial[0]), f"The source says {_quote(_sentence(src_r, denial[0]) or '')!r}."))
            continue
        if related and support and not _positive(src_r, out.label, False):
            support = [m for m in support if not _explained_otherwise(m, out.label, src_r)]
        if not support:
            denied = _negated(src_r, out.label, related)
            ev = denied[0] if denied else None
            why = (f"The source says {_quote(_sentence(src_r, ev) or '')!r}." if ev else
                   f"Nothing in the source supports {out.text.lower()!r}.")
            flags.append(Flag(FALSE, fx.false_significance(out.label), out.label, _sentence(out_r, out),
                              _sentence(src_r, ev), why))
            continue
        flags.extend(_compare(out, out_r, support, src_r, changes=changes))
    if missed:
        flags.extend(_missed(out_r, src_r, related=related, negatives=negatives_missed, allowed=allowed,
                             hedged_minor=hedged_missed_minor))
    return flags


def _dropped_grades(out_r: Reading, src_r: Reading) -> list[Flag]:
    """A finding the answer keeps, without the grade or size the source gives it anywhere
    ("Right pneumothorax, large in size." copied as "Right pneumothorax."), or a device
    without its tip's distance. One flag per finding; none when any of the answer's
    mentions of it keeps a grade (a second, ungraded mention is no loss)."""
    flags: list[Flag] = []
    kept = {m.label for m in out_r.mentions if m.positive and m.label not in (ACUTE_PROCESS, ANY_DEVICE)}
    for label in sorted(kept):
        src = [m for m in src_r.mentions if m.positive and m.label == label]
        out = [m for m in out_r.mentions if m.positive and m.label == label]
        if not src:
            continue
        text = _sentence(out_r, out[0])
        if fx.is_device(label):
            with_distance = next((m for m in src if m.measures), None)
            if with_distance and not any(m.measures for m in out):
                flags.append(Flag(POSITION, True, label, text, _sentence(src_r, with_distance),
                                  "The answer drops the tip's distance that the source gives."))
            continue
        graded = next((m for m in src if m.severity), None)
        if graded and not any(m.severity or m.measures for m in out):
            levels = frozenset().union(*(m.severity for m in src))
            flags.append(Flag(SEVERITY, fx.dropped_grade_significance(label, levels), label, text,
                              _sentence(src_r, graded), "The answer drops the grade that the source gives."))
            continue
        sized = next((m for m in src if m.measures), None)
        if sized and not any(m.measures for m in out):
            flags.append(Flag(SEVERITY, fx.dropped_grade_significance(label, frozenset()), label, text,
                              _sentence(src_r, sized), "The answer drops the size that the source gives."))
    return flags


def _sides_of(mentions: list[Mention]) -> frozenset[str]:
    return frozenset().union(*(m.sides for m in mentions))


def _other_side(src: Mention, covering: list[Mention], src_sides: frozenset[str]) -> bool:
    """Whether SRC sits on a side that none of the answer's mentions of it reach ("Small
    right effusion is new" left out beside "Large left pleural effusion"): every covering
    mention names a side the source gives the finding (else it is a flipped side, a
    position flag), none of them SRC's, and none carries SRC's grade (else the answer
    moved that grade to another side, a position flag too)."""
    sides = _sides_of(covering)
    return (bool(src.sides) and all(m.sides for m in covering) and sides <= src_sides and not (src.sides & sides)
            and not any(m.severity & src.severity for m in covering))


def _denied_there(src_r: Reading, out: Mention, *, exact_side: bool = False) -> list[Mention]:
    """The source's denials of OUT's finding that reach OUT's side: a denial without a side,
    or one on the same side ("The right lung is clear" does not deny a left opacity).
    EXACT_SIDE: only denials that name OUT's side."""
    denials = _negated(src_r, out.label, False)
    if exact_side:
        return [m for m in denials if out.sides and m.sides and out.sides <= m.sides]
    return [m for m in denials if not (m.sides and out.sides) or m.sides & out.sides]


def _explained_otherwise(sign: Mention, claim: str, src_r: Reading) -> bool:
    """Whether the source's own sentence gives SIGN (an opacity) another cause than CLAIM:
    "Retrocardiac opacity, likely atelectasis" is no support for an answer's "pneumonia"."""
    return any(m is not sign and m.sentence == sign.sentence and m.status != ABSENT
               and m.label not in (ACUTE_PROCESS, ANY_DEVICE, sign.label)
               and fx.related(sign.label, m.label) and not fx.related(claim, m.label)
               for m in src_r.mentions)


def _missed(out_r: Reading, src_r: Reading, *, related: bool, negatives: bool, allowed: set[str] | None,
            hedged_minor: bool, keep_chronic: bool = False) -> list[Flag]:
    flags: dict[str, Flag] = {}
    out_devices = any(m.label == ANY_DEVICE and m.positive for m in out_r.mentions)
    denies_acute = next((m for m in out_r.mentions if m.label == ACUTE_PROCESS and m.status == ABSENT), None)
    for src in src_r.mentions:
        label = src.label
        if label in (ACUTE_PROCESS, ANY_DEVICE) or (allowed is not None and label not in allowed):
            continue
        if src.status == ABSENT:
            if negatives and not any(m.label == label for m in out_r.mentions) and label not in flags:
                flags[label] = Flag(MISSED, False, label, None, _sentence(src_r, src),
                                    "The answer leaves out this negative finding of the source.")
            continue
        covering = _positive(out_r, label, related)
        if out_devices and fx.is_device(label):
            continue
        if covering and not any(m.label == label for m in covering) and src.sides \
                and all(m.sides for m in covering) and not (src.sides & _sides_of(covering)):
            covering = []  # a related finding elsewhere ("right upper lobe mass") does not cover "left lung nodules"
        if covering and not _other_side(src, covering, _sides_of(
                [m for m in src_r.mentions if m.positive and m.label == label])):
            continue
        significant = fx.missed_significance(src, keep_chronic=keep_chronic)
        if hedged_minor and src.status == UNCERTAIN:
            significant = False
        denial = next((m for m in out_r.mentions if m.status == ABSENT and fx.related(label, m.label)), None)
        if denial is None and denies_acute is not None and significant:
            denial = denies_acute
        if covering:
            why = f"The source reports it on {_sides_text(src.sides)} too; the answer gives only {_sides_text(_sides_of(covering))}."
        elif denial is not None:
            why = f"The answer says {_quote(_sentence(out_r, denial) or '')!r}; the source reports it."
        else:
            why = "The source reports this finding; the answer leaves it out."
        previous = flags.get(label)
        if previous is None or (significant and not previous.significant):
            flags[label] = Flag(MISSED, significant, label, _sentence(out_r, denial), _sentence(src_r, src), why)
    return list(flags.values())


# --- per task -------------------------------------------------------------------

def check_labels(task: str, report: str, prediction: str) -> list[Flag]:
    vocabulary = "abnormality" if task == "abnormality_labels" else "tubes_lines_devices"
    src_r = read(reports.clinical_text(report))
    listed = list(tasks.get_task(task).parse(prediction)["labels"])
    flags: list[Flag] = []
    for label in listed:
        support = _positive(src_r, label, related=False)
        if not support:
            denied = _negated(src_r, label, related=False)
            ev = denied[0] if denied else None
            why = (f"Tagged, but the report says {_quote(_sentence(src_r, ev) or '')!r}." if ev
                   else "Tagged, but the report never mentions it as present.")
            flags.append(Flag(FALSE, fx.false_significance(label), label, label, _sentence(src_r, ev), why))
    seen: set[str] = set()
    for src in src_r.mentions:
        if src.label not in labels.VOCABULARIES[vocabulary] or not src.positive or src.label in listed \
                or src.label in seen:
            continue
        seen.add(src.label)
        significant = src.status != UNCERTAIN and fx.missed_significance(src)
        if not significant:
            # Another mention of the same label may be the significant one.
            significant = any(m.label == src.label and m.status != UNCERTAIN and fx.missed_significance(m)
                              for m in src_r.mentions if m.positive)
        flags.append(Flag(MISSED, significant, src.label, None, _sentence(src_r, src),
                          "The report mentions it; the label list leaves it out."))
    return flags


def _yes_no(answer: str) -> str | None:
    match = re.match(r"\s*(yes|no)\b", answer, re.I)
    return match.group(1).lower() if match else None


_ASKS_ALL = re.compile(r"\b(?:what|which)\s+(?:abnormalities|abnormal\s+findings|findings|diseases)\b"
                       r"|\blist\s+(?:all\s+)?(?:the\s+)?(?:abnormalities|findings)\b", re.I)


_ASKS_FRACTURES = re.compile(r"\b(?:any|all|which|what)\b[^?]*\bfractures?\b|\bfractures?\b[^?]*\b(?:present|seen|described)\b", re.I)
_ASKS_DEVICES = re.compile(r"\b(?:any|all|which|what)\b[^?]*\b(?:tubes|lines|devices|catheters|support\s+devices)\b", re.I)


def _asked_kind(question: str) -> set[str] | None:
    """The labels a question asks to be listed in full, or None for a question about one
    finding: all abnormalities, all fractures, or all tubes, lines and devices."""
    if _ASKS_ALL.search(question):
        return set(labels.VOCABULARIES["abnormality"])
    if _ASKS_FRACTURES.search(question):
        return {label for label in labels.VOCABULARIES["abnormality"] if "fracture" in label}
    if _ASKS_DEVICES.search(question):
        return set(labels.VOCABULARIES["tubes_lines_devices"])
    return None


def _elsewhere(asked: Mention, support: list[Mention]) -> list[Mention]:
    """The report's mentions of an asked finding when the question names a side or lung
    zone none of them has; [] when the question names no place or one of them is there."""
    if not support or not (asked.sides or asked.zones):
        return []
    here = [m for m in support if (not asked.sides or not m.sides or asked.sides & m.sides)
            and (not asked.zones or not m.zones or asked.zones & m.zones)]
    return [] if here else support


def check_qa(report: str, question: str, prediction: str) -> list[Flag]:
    src_r, out_r = read(reports.clinical_text(report)), read(prediction)
    flags = check_answer(out_r, src_r, missed=False)
    reply = _yes_no(prediction)
    asked_labels = [m.label for m in read(question).mentions if m.label not in (ACUTE_PROCESS, ANY_DEVICE)]
    if len(set(asked_labels)) == 1 and not any(m.label == asked_labels[0] for m in out_r.mentions) and reply != "no":
        # The answer speaks of the question's finding without naming it ("It has improved").
        support = _positive(src_r, asked_labels[0], related=False)
        if support:
            # Words about other findings the answer names are theirs: in "Yes, large bilateral
            # pleural effusions." to "Is there a pacemaker?", "bilateral" is no side of the pacemaker.
            own = prediction.lower()
            for other in out_r.mentions:
                own = own.replace(other.modifiers, " ") if other.modifiers else own
            subject = describe(own, asked_labels[0])
            flags.extend(_compare(subject, Reading(prediction, [prediction], [subject]), support, src_r))
    if reply:
        asked = [m for m in read(question).mentions if m.label not in (ACUTE_PROCESS, ANY_DEVICE)]
        for mention in asked:
            support = _positive(src_r, mention.label, related=True)
            if support and not _positive(src_r, mention.label, False) and _negated(src_r, mention.label, False):
                support = []  # the report denies this very finding; a related one is no support
            elsewhere = _elsewhere(mention, support)
            if elsewhere:
                # "Is there a pneumothorax in the right apical area?" of a left one: "no" is
                # right, and "yes" puts it on the wrong side.
                if reply == "yes":
                    flags.append(Flag(POSITION, fx.position_significance(mention.label), mention.label,
                                      prediction.strip(), _sentence(src_r, elsewhere[0]),
                                      "The answer says yes; the report places it elsewhere."))
                continue
            if reply == "yes" and not support and not any(f.finding == mention.label for f in flags):
                denied = _negated(src_r, mention.label, related=True)
                flags.append(Flag(FALSE, fx.false_significance(mention.label), mention.label, prediction.strip(),
                                  _sentence(src_r, denied[0]) if denied else None,
                                  "The answer says yes; the report does not report it."))
            elif reply == "no" and support:
                flags.append(Flag(MISSED, fx.missed_significance(support[0], keep_chronic=True), mention.label,
                                  prediction.strip(), _sentence(src_r, support[0]),
                                  "The answer says no; the report reports it."))
    asked_kind = _asked_kind(question)
    if asked_kind is not None:
        # "What abnormalities are seen?", "Are there any fractures?", "Which tubes and lines
        # are present?": every finding of that kind in the report belongs in the answer.
        flags.extend(f for f in _missed(out_r, src_r, related=True, negatives=False, allowed=asked_kind,
                                        hedged_minor=True)
                     if not any(g.finding == f.finding for g in flags))
    # "No pneumothorax." while the report has one.
    for out in out_r.mentions:
        if out.status == ABSENT and out.label not in (ACUTE_PROCESS, ANY_DEVICE):
            support = _positive(src_r, out.label, related=False)
            if support and not any(f.finding == out.label for f in flags):
                flags.append(Flag(MISSED, fx.missed_significance(support[0], keep_chronic=True), out.label,
                                  _sentence(out_r, out), _sentence(src_r, support[0]),
                                  "The answer denies a finding the report reports."))
    return flags


def source_of(task: str, fields: Mapping[str, str]) -> str | None:
    """The text a task's answer must be faithful to, or None (radiology Q&A has none)."""
    if task == "impression_prediction":
        return fields.get("findings")
    if task == "extract_findings":
        return reports.find_findings(fields.get("report", "")) or reports.clinical_text(fields.get("report", ""))
    if task == "extract_impression":
        sections = reports.split_sections(fields.get("report", ""))
        return sections.get("impression") or reports.clinical_text(fields.get("report", ""))
    if task == "cleanup_report_text":
        return fields.get("text")
    return None


def check_text(task: str, fields: Mapping[str, str], prediction: str) -> list[Flag]:
    source = source_of(task, fields)
    if not source:
        return []
    src_r, out_r = read(source), read(prediction)
    extractive = task in ("extract_findings", "extract_impression", "cleanup_report_text")
    if task == "extract_impression" and "impression" not in reports.split_sections(fields.get("report", "")):
        extractive = False  # no IMPRESSION to copy: the answer is a new impression
    return check_answer(out_r, src_r, related=not extractive, changes=task != "cleanup_report_text",
                        negatives_missed=extractive, keep_grades=extractive)


def _dedupe(flags: list[Flag]) -> list[Flag]:
    """One flag per (category, finding), the significant one kept."""
    kept: dict[tuple[object, str], Flag] = {}
    for flag in flags:
        key = (flag.category, flag.finding)
        if key not in kept or (flag.significant and not kept[key].significant):
            kept[key] = flag
    return list(kept.values())


def check(task: str, fields: Mapping[str, str], prediction: str) -> list[Flag]:
    """All the flags for one answer to TASK on FIELDS."""
    if not isinstance(prediction, str) or not prediction.strip():
        return []
    if task in tasks.LABEL_TASKS:
        flags = check_labels(task, fields.get("report", ""), prediction)
    elif task == "qa_temporal_findings":
        flags = check_temporal_findings(fields.get("report", ""), fields.get("prior_report", ""), prediction)
    elif task == "qa_temporal_progression":
        flags = check_progression(fields.get("report", ""), fields.get("prior_report", ""), prediction)
    elif task == "qa_comprehension":
        flags = check_qa(fields.get("report", ""), fields.get("question", ""), prediction)
    else:
        flags = check_text(task, fields, prediction)
    return _dedupe(flags)


__all__ = ["Flag", "check", "check_answer", "source_of", "MALPOSITIONED", "WELL_POSITIONED"]
