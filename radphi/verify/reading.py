"""Reading a report or an answer the way the checker needs: sentences, finding mentions,
and what each mention says (present, absent or hedged; side, lobe zone, severity,
measurement, change, and for a device whether its tip is where it should be).

Both texts, the source and the model's answer, are read by this one function, so a
rule compares like with like.

Hand-written, NegEx-style, because the field's libraries do a part of it only:
negspacy and medspacy's ConText give negation and uncertainty over spaCy entities,
but nothing gives laterality, lobe, severity, device tip position and change for a
chest radiograph's finding, and both need spaCy pipelines (bench/bench_verify.py
measures medspacy's ConText against these rules where it is installed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache

from radphi import labels, reports
from radphi.verify import mentions
from radphi.verify.devices import before_advice, tip_position
from radphi.verify.grades import (
    APPOSITIVE_GRADE, GRADED_PAIR, MEASURE, NOW_GRADE, NOW_GRADE_AFTER, SIDE_GRADES_AFTER, measures, no_change_adverbs,
    severity,
)

PRESENT, ABSENT, UNCERTAIN = "present", "absent", "uncertain"
WORSE, BETTER, STABLE = "worse", "better", "stable"

ANY_DEVICE, ACUTE_PROCESS = mentions.ANY_DEVICE, mentions.ACUTE_PROCESS

# --- what a mention says -------------------------------------------------------

# Triggers are matched in lower-cased text. Pseudo-negations are blanked first, so
# "no change in the effusion" does not negate the effusion.
_PSEUDO = re.compile(
    r"\b(?:no (?:significant |interval |substantial )?(?:change|increase|decrease|worsening|improvement)"
    r"|not (?:significantly )?changed|not only|without (?:significant )?change"
    r"|no longer (?:enlarging|increasing)"
    # "a nodule that was not seen on the radiograph from two years ago" is new, not absent
    r"|(?:that|which)?\s*(?:was|were)\s+not\s+(?:seen|present|visible|identified|evident)\s+(?:on|in)\s+(?:the\s+)?"
    r"(?:prior|previous|earlier|last|radiograph|study|studies|film|examination|exam|ct))\b")
_PRE_NEG = re.compile(
    r"\b(?:no|not|without|negative for|free of|absence of|absent|rather than|resolution of|resolved"
    r"|removal of|interval removal of|nor|neither|clear of|ruled out|no evidence of|no signs? of)\b")
_POST_NEG = re.compile(
    r"\b(?:(?:has|have)\s+(?:nearly\s+|almost\s+|completely\s+|since\s+)?(?:resolved|cleared|been removed|been withdrawn)"
    r"|(?:is|are)\s+no\s+longer\s+(?:seen|visible|present|evident|identified|appreciated|visualized)"
    r"|no\s+longer\s+(?:seen|visible|present|evident|identified|appreciated|visualized)"
    r"|(?:is|are|was|were)\s+(?:not\s+(?:seen|identified|present|visualized|appreciated|evident|demonstrated)|absent)"
    r"|(?:is|are)\s+(?:now\s+)?(?:resolved|gone)|resolved|(?:was|were|has been|have been)\s+removed|removed)\b")
_PRE_UNCERTAIN = re.compile(
    r"\b(?:possible|possibly|probable|probably|likely|may\s+(?:represent|be|reflect|indicate)|might\s+(?:represent|be)"
    r"|could\s+(?:represent|be|reflect)|suspicious\s+for|suspected|suspect|concerning\s+for|worrisome\s+for"
    r"|questionable|question\s+of|cannot\s+(?:exclude|rule\s+out)|can\s+not\s+(?:exclude|rule\s+out)|differential"
    r"|suggestive\s+of|suggests?|presumably|presumed|versus|vs\.?|equivocal|borderline|evaluate\s+for"
    r"|developing|early|underlying)\b")
_POST_UNCERTAIN = re.compile(
    r"\b(?:(?:cannot|can\s+not)\s+be\s+(?:entirely\s+|completely\s+)?(?:excluded|ruled\s+out)|(?:is|are)\s+not\s+excluded"
    r"|not\s+(?:be\s+)?excluded|(?:is|are)\s+(?:possible|suspected|questioned|likely|not\s+ruled\s+out)"
    r"|would\s+be\s+difficult\s+to\s+exclude|versus|vs\.?)\b")
# Where a trigger's scope ends inside a sentence.
_TERMINATOR = re.compile(
    r"\b(?:but|however|although|though|though\s+|except|aside\s+from|apart\s+from|other\s+than|which|whereas|while"
    r"|there\s+(?:is|are)|with\s+the\s+exception\s+of|otherwise|and\s+(?:a|an|new|there)|given)\b|[;:]"
    r"|,\s*(?=with\b)")  # "opacities, likely atelectasis, with right lower lobe pneumonia"
# Conjunctions bound the words that modify one mention ("left effusion and atelectasis").
_CONJUNCTION = re.compile(r",|\band\b|\bor\b|\bwith\b|\bwithout\b|;|\bbut\b|\bas well as\b")

# Anatomy named left/right that is not a side of the finding.
_NOT_A_SIDE = re.compile(
    r"\b(?:right|left)\s+(?:atri(?:um|al)|ventric(?:le|ular)|heart|main\s*stem|mainstem|main\s+bronchus"
    r"|cardiophrenic|brachiocephalic|innominate|subclavian\s+vein|internal\s+jugular\s+vein)\b")
_BILATERAL = re.compile(r"\b(?:bilateral(?:ly)?|bibasilar|bibasal|biapical|both|bilaterally)\b"
                        r"|\b(?:left|right)\s+(?:greater\s+than|more\s+than|>|and)\s+(?:left|right)\b|\b[lr]\s*>\s*[lr]\b")
_SIDE = re.compile(r"\b(left|right)(?:[- ]sided|ward)?\b"  # "leftward mediastinal shift"
                   r"|\b(?:(levo)|(dextro))(?:convex|scoliosis|scoliotic|curvature)"  # "dextroconvex scoliosis"
                   # "L IJ", "R basilar": the dictated one-letter sides, before a place or a device
                   r"|\b(?:(l)|(r))\b(?=\s*(?:ij\b|basilar|base|apex|apical|upper|lower|mid|middle|lung|pleural|hemithorax"
                   r"|chest|subclavian|picc|hil|effusion|sided|costophrenic|hemidiaphragm|[>]))")
_DOMINANT = re.compile(r"\b(left|right)\s+(?:greater|larger|worse|more)\s+than\s+(?:left|right)\b"
                       r"|\b(l|r)\s*>\s*[lr]\b"
                       r"|\b(left|right)(?:[- ]sided)?\s+predominan\w*"
                       r"|\b(?:larger|greater|worse|more\s+(?:extensive|prominent))\s+on\s+the\s+(left|right)\b")


def _dominant(text: str) -> str | None:
    match = _DOMINANT.search(text)
    if not match:
        return None
    side = match.group(1) or match.group(2) or match.group(3) or match.group(4)
    return {"l": "left", "r": "right"}.get(side, side)

_ZONES = (
    ("upper", re.compile(r"\b(?:upper\s+(?:lobes?|zones?|lungs?)|apex|apices|apical|apicoposterior|biapical)\b")),
    ("middle", re.compile(r"\b(?:middle\s+lobe|mid[- ]?lungs?|mid[- ]?zones?|midlung)\b")),
    ("lingula", re.compile(r"\blingula(?:r)?\b")),
    ("lower", re.compile(r"\b(?:lower\s+(?:lobes?|zones?|lungs?)|bases?|basilar|basal|bibasilar|bibasal"
                         r"|retrocardiac|infrahilar)\b")),
)

# A second side given after the first: "opacities in the right lower lobe and, to a lesser
# extent, the left lower lobe".
_LESSER_EXTENT = re.compile(r"^[^.;]{0,40}?\band,?\s+to\s+a\s+(?:lesser|smaller)\s+(?:extent|degree),?\s+(?:in\s+)?"
                            r"(?:the\s+)?(left|right)\b")
# Both sides after the name: "consolidation in the right and left lower lobes".
_PAIR_AFTER = re.compile(r"^[^.;,]{0,25}?\b(?:left|right)\s+and\s+(?:left|right)\b")
# A zone given after the name: "reticular opacities with a basal predominance".
_PREDOMINANCE = re.compile(r"^[^.;]{0,20}?\bwith\s+(?:an?\s+)?((?:(?:upper|lower|mid|middle|basal|basilar|apical|peripheral"
                           r"|central)(?:[- ](?:lung|lobe|zone))?(?:\s+and\s+)?)+)\s+predominance\b")
_CHANGE = (
    (WORSE, re.compile(r"\b(?:new|newly|increas\w*|worse\w*|enlarging|(?:has|have)\s+enlarged"
                       r"|enlarged\s+(?:since|compared|from|in\s+the\s+interval)|larger|progress\w*"
                       r"|develop(?:ed|ing|ment)|interval\s+(?:development|appearance)|more\s+(?:prominent|extensive)"
                       r"|accumulat\w*|(?<!re-)expand(?:ing|ed)|bigger)\b")),  # "re-expanded" lung: better
    (BETTER, re.compile(r"\b(?:decreas\w*|improv\w*|smaller|resolving|less|diminish\w*|reduc\w*|regress\w*"
                        r"|clearing|nearly\s+resolved|partially\s+resolved|re-?expan\w*)\b")),
    (STABLE, re.compile(r"\b(?:unchanged|stable|stably|no\s+(?:significant\s+|interval\s+)?change|similar|persistent"
                        r"|persists?|again\s+(?:seen|noted|demonstrated)|redemonstrat\w*|grossly\s+unchanged"
                        r"|not\s+(?:significantly\s+)?changed|remains?|chronic|old|healed|longstanding)\b")),
)



@dataclass(frozen=True)
class Mention:
    """One finding named in one sentence, with what the sentence says of it."""

    label: str
    text: str                        # the words matched
    sentence: int                    # index into Reading.sentences
    start: int                       # offsets in that sentence
    end: int
    status: str = PRESENT            # present, absent or uncertain
    sides: frozenset[str] = frozenset()      # {"left"}, {"right"}, {"left", "right"}
    zones: frozenset[str] = frozenset()      # upper, middle, lower, lingula
    severity: frozenset[int] = frozenset()   # ordinal 1..4, a range gives both ends
    measures: tuple[float, ...] = ()         # millimetres
    change: str | None = None                # worse, better or stable
    position: str | None = None              # malpositioned or well positioned (devices)
    modifiers: str = ""                      # the words around it (for significance rules)
    dominant: str | None = None              # the larger side of a bilateral finding ("right greater than left")

    @property
    def positive(self) -> bool:
        return self.status != ABSENT


@dataclass
class Reading:
    text: str
    sentences: list[str] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def _clause_bounds(lower: str, start: int, end: int) -> tuple[int, int]:
    left = max((m.end() for m in _TERMINATOR.finditer(lower, 0, start)), default=0)
    right = next((m.start() for m in _TERMINATOR.finditer(lower, end)), len(lower))
    return left, right


def _status(lower: str, spans: list[tuple[int, int]], index: int) -> str:
    start, end = spans[index]
    c_start, c_end = _clause_bounds(lower, start, end)
    before = lower[c_start:start]
    # A post-trigger reaches back over the mentions of its own comma piece, or else the
    # nearest mention before it ("Opacity at the right base, infection cannot be excluded").
    next_start = next((s for s, _ in spans[index + 1:] if s < c_end), c_end)
    piece_end = lower.find(",", end, c_end)
    after_limit = c_end if piece_end == -1 else piece_end
    after = lower[end:after_limit]
    if next_start < after_limit:
        # Another mention stands between; the trigger belongs to it unless it is the
        # last mention before the trigger in a list ("effusion or pneumothorax cannot be excluded").
        between = lower[end:next_start]
        after = lower[end:after_limit] if re.fullmatch(r"\s*(?:,|or|and|/|,\s*or|,\s*and)?\s*", between) else ""
    if _PRE_NEG.search(before) or _POST_NEG.search(after):
        if not re.search(r"(?:cannot|can\s+not|not)\s+(?:be\s+)?(?:entirely\s+)?(?:excluded|ruled\s+out|exclude)", after + before[-40:]):
            return ABSENT
    if _PRE_UNCERTAIN.search(before) or _POST_UNCERTAIN.search(after):
        return UNCERTAIN
    # The first of a differential ("pneumonia versus atelectasis") is as uncertain as the second.
    if next_start < c_end and re.fullmatch(r"\s*,?\s*(?:versus|vs\.?)\s*", lower[end:next_start]):
        return UNCERTAIN
    return PRESENT


def _windows(lower: str, spans: list[tuple[int, int]], index: int, device: bool) -> tuple[str, str]:
    """The words before a mention that modify it, and those after it."""
    start, end = spans[index]
    prev_end = spans[index - 1][1] if index else 0
    before = lower[prev_end:start]
    cut = [m.end() for m in _CONJUNCTION.finditer(before)]
    pair = re.search(r"(?:left|right)\s+and\s+(?:left|right)\s*$|bilateral\w*\s*$", before)
    if cut and not pair:
        before = before[cut[-1]:]
    next_start = spans[index + 1][0] if index + 1 < len(spans) else len(lower)
    after = lower[end:next_start]
    if not device:
        # After a finding only its own predicate or place counts ("effusion on the left",
        # "the effusion is now moderate"), never the next clause's words.
        stop = _CONJUNCTION.search(after)
        after = after[:stop.start()] if stop else after
        end_of_clause = _TERMINATOR.search(after)
        after = after[:end_of_clause.start()] if end_of_clause else after
    else:
        end_of_sentence = re.search(r"\.\s", after)
        after = after[:end_of_sentence.start()] if end_of_sentence else after
    return before, after


def _sides(text: str) -> frozenset[str]:
    text = _blank(text, _NOT_A_SIDE)
    if _BILATERAL.search(text):
        return frozenset({"left", "right"})
    return frozenset(m.group(1) or ("left" if m.group(2) or m.group(4) else "right") for m in _SIDE.finditer(text))


def _descriptor_free(before: str, name: str, clause: str) -> str:
    """BEFORE without a closing "increased" that describes the finding, not a change: "an
    area of increased opacity" is an opacity, unless its clause compares ("increased
    opacity compared to the prior study")."""
    compares = re.search(r"compar|\bsince\b|\bthan\b|\bprior\b|\bprevious|\binterval\b|\bbefore\b", clause)
    steady = re.search(r"\b(?:similar|unchanged|stable|no\s+(?:significant\s+)?change)\b", clause)
    if re.search(r"opacit|densit|marking|lucen|attenuation", name) and (steady or not compares):
        return re.sub(r"\bincreased\s*$", " ", before)
    return before


_WHICH_CHANGE = re.compile(r"^[^.;]{0,60}?\b(?:which|that)\s+(?:is|are|has|have)\s+(?:been\s+)?(?:(?:slightly|markedly|mildly)\s+)?"
                           r"(new|unchanged|stable|increased|decreased|enlarged|improved|worsened|resolved|smaller|larger)\b")
_PRIOR_SIZE = re.compile(r"\b(?:previously|prior(?:ly)?|was|from|compared\s+(?:with|to))\s*(?:measuring\s+)?"
                         r"(\d+(?:\.\d+)?)\s*(mm|cm)\b")


def _size_change(clause: str) -> str | None:
    """The change two sizes in one clause give ("now measures 3.4 cm, previously 2.8 cm")."""
    prior = _PRIOR_SIZE.search(clause)
    if not prior:
        return None
    before = float(prior.group(1)) * (10 if prior.group(2) == "cm" else 1)
    rest = clause[:prior.start()] + " " + clause[prior.end():]
    now = [float(v) * (10 if u == "cm" else 1) for v, u in MEASURE.findall(rest)]
    if not now:
        return None
    ratio = now[0] / max(before, 0.1)
    return WORSE if ratio > 1.05 else BETTER if ratio < 0.95 else STABLE


def _change(text: str) -> str | None:
    for name, pattern in _CHANGE:
        if pattern.search(text):
            return name
    return None


def change_in(text: str) -> str | None:
    """The change TEXT words (worse, better or stable), or None: "increased", "new",
    "resolving", "unchanged"... (the words `Mention.change` reads)."""
    return _change(_blank(text.lower(), _PSEUDO)) or (STABLE if _PSEUDO.search(text.lower()) else None)


def hedged(text: str) -> bool:
    """Whether TEXT carries a hedge ("cannot be excluded", "possible", "likely"...)."""
    lower = text.lower()
    return bool(_PRE_UNCERTAIN.search(lower) or _POST_UNCERTAIN.search(lower))


_SIDE_AFTER = re.compile(r"^\W*(?:(?:is\s+)?(?:on|in)\s+the\s+)?(left|right)\b(?!\s+(?:atri|ventric|heart|main))")


@lru_cache(maxsize=4096)
def _read_sentence(sentence: str, index: int) -> tuple[Mention, ...]:
    lower = sentence.lower()
    found = mentions.find(sentence)
    spans = [(s, e) for s, e, _, _ in found]
    pseudo_free = _blank(lower, _PSEUDO)
    out = []
    for i, (start, end, label, forced) in enumerate(found):
        device = labels.CATEGORY.get(label) in ("tubesandlines", "device") or label == ANY_DEVICE
        status = ABSENT if forced == "absent" else _status(pseudo_free, spans, i)
        before, after = _windows(lower, spans, i, device)
        prev_end = spans[i - 1][1] if i else 0
        around = before + " " + lower[start:end] + " " + after
        c_start, c_end = _clause_bounds(lower, start, end)
        next_start = found[i + 1][0] if i + 1 < len(found) else len(lower)
        out.append(Mention(
            label=label, text=sentence[start:end], sentence=index, start=start, end=end, status=status,
            sides=_sides(before + " " + lower[start:end] + " " + after + " " + "".join(
                m.group(1) for m in [_LESSER_EXTENT.match(lower[end:next_start])] if m) + " " + "".join(
                m.group(0) for m in [_PAIR_AFTER.match(lower[end:next_start])] if m)) if not device else
            _sides(before + " " + lower[start:end]) | frozenset(m.group(1) for m in [_SIDE_AFTER.match(after)] if m),
            zones=frozenset(z for z, p in _ZONES if p.search(around + " " + "".join(
                m.group(1) for m in [_PREDOMINANCE.match(lower[end:next_start])] if m))),
            # The mention's own words count too: "the heart is moderately enlarged" is one
            # mention whose grade sits inside it (but its closing "large" is no grade).
            severity=frozenset() if device else (
                severity(no_change_adverbs(before) + " " + re.sub(r"\blarge$", "", lower[start:end]) + " "
                          + no_change_adverbs(after) + " "
                          + "".join(m.group(1) for m in [APPOSITIVE_GRADE.match(lower[end:])] if m))
                or severity("".join(m.group(1) for m in [NOW_GRADE.search(lower[prev_end:start])] if m))
                or severity("".join(m.group(1) for m in [NOW_GRADE_AFTER.match(lower[end:next_start])] if m))),
            # A device's own distance, not the advice after it ("6 cm above the carina; consider advancing 2 cm").
            measures=measures(before_advice(after) if device else around),
            change=(_change(_descriptor_free(before, lower[start:end], lower[c_start:c_end]))
                    or _change(lower[end:min(c_end, next_start)])
                    # the words that open the clause, before its first finding ("Stable peripheral and
                    # basal fibrotic lung disease")
                    or (_change(_descriptor_free(lower[c_start:start], lower[start:end], lower[c_start:c_end]))
                        if not any(c_start <= a < start for a, _ in spans) else None)
                    or _size_change(lower[c_start:c_end])
                    # "a mass in the left upper lobe which is new compared to CT"
                    or _change("".join(m.group(1) for m in [_WHICH_CHANGE.match(lower[end:])] if m)))
            if not device
            else _change(around),
            position=tip_position(after, label) if device else None,
            modifiers=lower[c_start:c_end],
            dominant=None if device else (
                _dominant(lower[max(c_start, spans[i - 1][1] if i else 0):min(c_end, next_start)])
                # "in the right lower lobe and, to a lesser extent, the left": the right is larger
                or next((({"left", "right"} - {m.group(1)}).pop() for m in [_LESSER_EXTENT.match(lower[end:next_start])]
                         if m), None)),
        ))
        pair = None if device else GRADED_PAIR.search(lower[spans[i - 1][1] if i else 0:start])
        after_pair = None if device or pair else SIDE_GRADES_AFTER.search(lower[end:next_start])
        if after_pair and after_pair.group(2) != after_pair.group(4):
            both = out.pop()
            first = lower[end:next_start][after_pair.start(1):after_pair.start(2)]
            out.extend(replace(both, sides=frozenset({side}), severity=severity(grade))
                       for grade, side in ((first, after_pair.group(2)), (after_pair.group(3), after_pair.group(4))))
        if pair and pair.group(2) != pair.group(4):
            # "Large left and small right pleural effusions": two findings, each its grade.
            both = out.pop()
            change = both.change or _change(_blank(lower[spans[i - 1][1] if i else 0:start], _PSEUDO))
            out.extend(replace(both, sides=frozenset({side}), severity=severity(grade or ""), change=change)
                       for grade, side in ((pair.group(1), pair.group(2)), (pair.group(3), pair.group(4))))
    return tuple(out)


def describe(text: str, label: str) -> Mention:
    """What TEXT as a whole says of LABEL: for an answer that names its finding only by
    the question ("Which side?" "The left side.")."""
    lower = text.lower()
    device = labels.CATEGORY.get(label) in ("tubesandlines", "device")
    return Mention(label=label, text=text, sentence=0, start=0, end=len(text), sides=_sides(lower),
                   zones=frozenset(z for z, p in _ZONES if p.search(lower)), severity=severity(no_change_adverbs(lower)),
                   measures=measures(before_advice(lower) if device else lower), change=_change(lower),
                   position=tip_position(lower, label) if device else None, modifiers=lower)


def read(text: str) -> Reading:
    """The sentences of TEXT and the finding mentions in each."""
    text = text if isinstance(text, str) else ""
    reading = Reading(text=text, sentences=reports.sentences(text))
    for i, sentence in enumerate(reading.sentences):
        reading.mentions.extend(_read_sentence(sentence, i))
    return reading

