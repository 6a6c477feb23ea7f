"""The generic checks: an answer's mentions against the source's, finding by finding.

`check_answer` puts each finding the answer names against its support in the source
(`compare_mention`: side, lobe zone, grade, size, change, age, a device's tip), then each
finding of the source against the answer (`missed_findings`). The per-task rules
(radphi.verify.rules, .qa, .temporal) are built from these.
"""

from __future__ import annotations

import re

from radphi import labels
from radphi.verify import findings as fx
from radphi.verify.flags import CHANGE_WORD as _CHANGE_WORD
from radphi.verify.flags import FALSE, MISSED, POSITION, SEVERITY, Flag
from radphi.verify.flags import quote as _quote
from radphi.verify.flags import sentence_of as _sentence
from radphi.verify.devices import MALPOSITIONED, STATED, places
from radphi.verify.reading import ABSENT, ACUTE_PROCESS, ANY_DEVICE, PRESENT, STABLE, UNCERTAIN, Mention, Reading


def positive(reading: Reading, label: str, related: bool) -> list[Mention]:
    return [m for m in reading.mentions if m.positive and m.label not in (ACUTE_PROCESS,)
            and (fx.related(label, m.label) if related else m.label == label)]


def negated(reading: Reading, label: str, related: bool) -> list[Mention]:
    return [m for m in reading.mentions if m.status == ABSENT
            and (fx.related(label, m.label) if related else m.label == label)]


def _sides_text(sides: frozenset[str]) -> str:
    return "both sides" if len(sides) == 2 else f"the {next(iter(sides))}"


# --- comparing one answer mention with its support ------------------------------

def compare_mention(out: Mention, out_r: Reading, support: list[Mention], src_r: Reading, *,
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
        support = supporting(src_r, out) if related else positive(src_r, out.label, False)
        denial = _denied_there(src_r, out, exact_side=True)
        kept = [o for o in out_positive if o is not out and o.label == out.label
                and any(o.sides & m.sides for m in support if m.label == out.label)]
        if support and denial and kept and not any(m.label == out.label and m.sides & out.sides for m in support):
            # "There is no left effusion" beside a right one the answer keeps: a left effusion is
            # invented, not moved (an answer whose only one is on the denied side moved it).
            flags.append(Flag(FALSE, fx.false_significance(out.label), out.label, _sentence(out_r, out),
                              _sentence(src_r, denial[0]), f"The source says {_quote(_sentence(src_r, denial[0]) or '')!r}."))
            continue
        if related and support and not positive(src_r, out.label, False):
            support = [m for m in support if not _explained_otherwise(m, out.label, src_r)]
        if not support:
            denied = negated(src_r, out.label, related)
            ev = denied[0] if denied else None
            why = (f"The source says {_quote(_sentence(src_r, ev) or '')!r}." if ev else
                   f"Nothing in the source supports {out.text.lower()!r}.")
            flags.append(Flag(FALSE, fx.false_significance(out.label), out.label, _sentence(out_r, out),
                              _sentence(src_r, ev), why))
            continue
        flags.extend(compare_mention(out, out_r, support, src_r, changes=changes))
    if missed:
        flags.extend(missed_findings(out_r, src_r, related=related, negatives=negatives_missed, allowed=allowed,
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


def supporting(src_r: Reading, claim: Mention) -> list[Mention]:
    """The source's positive mentions of CLAIM's finding or a related one; none when the
    source has no mention of that very finding but denies it where CLAIM puts it (a related
    finding is then no support: "No pulmonary edema" beside vascular congestion)."""
    support = positive(src_r, claim.label, True)
    if support and not positive(src_r, claim.label, False) and _denied_there(src_r, claim):
        return []
    return support


def _denied_there(src_r: Reading, out: Mention, *, exact_side: bool = False) -> list[Mention]:
    """The source's denials of OUT's finding that reach OUT's side: a denial without a side,
    or one on the same side ("The right lung is clear" does not deny a left opacity).
    EXACT_SIDE: only denials that name OUT's side."""
    denials = negated(src_r, out.label, False)
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


def missed_findings(out_r: Reading, src_r: Reading, *, related: bool, negatives: bool, allowed: set[str] | None,
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
        covering = positive(out_r, label, related)
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
