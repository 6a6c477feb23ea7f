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

PRESENT, ABSENT, UNCERTAIN = "present", "absent", "uncertain"
WORSE, BETTER, STABLE = "worse", "better", "stable"
MALPOSITIONED, WELL_POSITIONED = "malpositioned", "well positioned"

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

# Ordinal severity; a range ("small to moderate") gives both ends.
_SEVERITY_WORDS = {
    "trace": 1, "minimal": 1, "tiny": 1, "minimally": 1, "slight": 1, "slightly": 1,
    "small": 2, "mild": 2, "mildly": 2, "smaller": 2,
    "moderate": 3, "moderately": 3, "moderate-sized": 3, "medium": 3,
    "large": 4, "severe": 4, "severely": 4, "extensive": 4, "massive": 4, "marked": 4, "markedly": 4,
    "substantial": 4, "big": 4, "large-sized": 4,
}
_SEVERITY = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _SEVERITY_WORDS), key=len, reverse=True)) + r")\b")
# A second side given after the first: "opacities in the right lower lobe and, to a lesser
# extent, the left lower lobe".
_LESSER_EXTENT = re.compile(r"^[^.;]{0,40}?\band,?\s+to\s+a\s+(?:lesser|smaller)\s+(?:extent|degree),?\s+(?:in\s+)?"
                            r"(?:the\s+)?(left|right)\b")
# Both sides after the name: "consolidation in the right and left lower lobes".
_PAIR_AFTER = re.compile(r"^[^.;,]{0,25}?\b(?:left|right)\s+and\s+(?:left|right)\b")
# A zone given after the name: "reticular opacities with a basal predominance".
_PREDOMINANCE = re.compile(r"^[^.;]{0,20}?\bwith\s+(?:an?\s+)?((?:(?:upper|lower|mid|middle|basal|basilar|apical|peripheral"
                           r"|central)(?:[- ](?:lung|lobe|zone))?(?:\s+and\s+)?)+)\s+predominance\b")
# A grade given to each side after the name ("effusions, moderate on the right and small on
# the left").
_SIDE_GRADES_AFTER = re.compile(r"^[^.;]{0,30}?\b(" + "|".join(sorted(map(re.escape, _SEVERITY_WORDS), key=len, reverse=True))
                                + r")(?:\s+to\s+(?:" + "|".join(sorted(map(re.escape, _SEVERITY_WORDS), key=len, reverse=True))
                                + r"))?\s+on\s+the\s+(left|right)\s*,?\s+and\s+((?:" + "|".join(sorted(map(re.escape,
                                _SEVERITY_WORDS), key=len, reverse=True)) + r")(?:\s+to\s+(?:" + "|".join(sorted(map(
                                re.escape, _SEVERITY_WORDS), key=len, reverse=True)) + r"))?)\s+on\s+the\s+(left|right)\b")
# A grade on each side of a pair before one name ("large left and small right effusions").
_GRADED_PAIR = re.compile(r"(?:\b(" + "|".join(sorted(map(re.escape, _SEVERITY_WORDS), key=len, reverse=True)) + r")\s+)?"
                          r"\b(left|right)(?:-sided)?\s+and\s+(?:(" + "|".join(sorted(map(re.escape, _SEVERITY_WORDS), key=len,
                          reverse=True)) + r")\s+)?(left|right)(?:-sided)?"
                          r"(?:\s+(?:layering|dependent|loculated|free-flowing|simple|complex|subpulmonic))?\s*$")
_MEASURE = re.compile(r"(\d+(?:\.\d+)?)\s*(mm|cm)\b")
# A grade set off by a comma after the finding: "Right pneumothorax, large in size." The
# comma ends a finding's own words elsewhere (the next clause is another finding's), so
# this form is read on its own.
_GRADE_WORD = "|".join(sorted(map(re.escape, _SEVERITY_WORDS), key=len, reverse=True))
_APPOSITIVE_GRADE = re.compile(r"^\s*,\s*(?:(?:now|still|again|which\s+is)\s+)?((?:" + _GRADE_WORD + r")"
                               r"(?:\s+to\s+(?:" + _GRADE_WORD + r"))?)\s+in\s+(?:size|extent|amount|volume)\b")

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

_MALPOSITION = re.compile(
    r"\b(?:(?:right|left)\s+main\s*stem|mainstem|bronchus\s+intermedius|(?:in|into|within)\s+the\s+(?:(?:distal|proximal|mid|lower|upper)\s+)?(?:esophagus|airway|trachea"
    r"|bronchus|lung|pleural\s+space|hypopharynx|neck|right\s+lower\s+lobe\s+bronchus)|esophageal|coil(?:ed|s|ing)\s+(?:with)?in\s+(?:the\s+)?(?:(?:mid|upper|lower|distal|proximal|cervical)\s+)?(?:esophag|pharyn|hypopharyn|oropharyn|mouth|neck|thorax|chest)"
    r"|too\s+(?:low|high|deep|proximal|distal|far)|low[- ]lying|high[- ]lying|should\s+be\s+(?:withdrawn|advanced|retracted"
    r"|repositioned|pulled\s+back)|withdraw\w*|retract\w*|advanc(?:ed|ing|ement)\s+(?:(?:it|the\s+tube|the\s+catheter)\s+)?(?:by|of)|recommend\s+(?:repositioning"
    r"|withdrawal|advancement)|reposition\w*|malposition\w*|kink\w*|above\s+the\s+(?:gastroesophageal|ge|g-e)\s+junction"
    r"|at\s+the\s+(?:thoracic\s+inlet|carina)|(?:not|never)\s+(?:in|within)\s+the\s+stomach|does\s+not\s+(?:reach|extend)"
    r"|proximal\s+(?:side\s*port|sideport)\s+(?:above|at)\s+the)\b")
_WELL_POSITIONED = re.compile(
    r"\b(?:(?:in|at)\s+(?:standard|appropriate|satisfactory|good|adequate|expected|acceptable|unchanged|stable)\s+position"
    r"|(?:appropriately|well|satisfactorily|adequately|properly|standardly)\s+(?:positioned|placed|sited)"
    r"|(?:in|within|into)\s+the\s+(?:stomach|gastric\s+(?:body|fundus|lumen)|duodenum|(?:mid|upper|lower|distal|proximal)?\s*svc"
    r"|superior\s+vena\s+cava|cavoatrial\s+junction)|below\s+the\s+(?:diaphragm|gastroesophageal\s+junction)"
    r"|(?:(?:[3-6](?:\.\d+)?|7(?:\.0)?)\s*cm\s+)above\s+the\s+carina|terminat\w*\s+(?:in|at)\s+the\s+(?:mid|lower|low|upper|distal)?\s*svc"
    r"|at\s+the\s+cavoatrial)\b")


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


_CHANGE_ADVERB = re.compile(r"\b(?:slightly|mildly|minimally|moderately|markedly|severely)\s+(?:increas\w*|decreas\w*"
                            r"|improv\w*|wors\w*|smaller|larger|progress\w*|diminish\w*|less|more)\b")


def _no_change_adverbs(text: str) -> str:
    """TEXT without the adverbs that grade a change, not the finding ("slightly increased
    right effusion", "the pneumothorax is slightly smaller"). Applied to the words around
    a mention, never to its own ("mildly increased interstitial markings" is graded)."""
    return _CHANGE_ADVERB.sub(" ", text)


def _severity(text: str) -> frozenset[int]:
    text = re.sub(r"\bsmall\s+(?:bowel|airways?|vessels?)\b", " ", text)
    text = re.sub(r"\bthin\s+(?:crescent|rim|sliver|stripe|band|lucency)\b", " trace ", text)
    return frozenset(_SEVERITY_WORDS[m.group(1)] for m in _SEVERITY.finditer(text))


def _measures(text: str) -> tuple[float, ...]:
    return tuple(float(v) * (10 if unit == "cm" else 1) for v, unit in _MEASURE.findall(text))


def _descriptor_free(before: str, name: str, clause: str) -> str:
    """BEFORE without a closing "increased" that describes the finding, not a change: "an
    area of increased opacity" is an opacity, unless its clause compares ("increased
    opacity compared to the prior study")."""
    compares = re.search(r"compar|\bsince\b|\bthan\b|\bprior\b|\bprevious|\binterval\b|\bbefore\b", clause)
    steady = re.search(r"\b(?:similar|unchanged|stable|no\s+(?:significant\s+)?change)\b", clause)
    if re.search(r"opacit|densit|marking|lucen|attenuation", name) and (steady or not compares):
        return re.sub(r"\bincreased\s*$", " ", before)
    return before


_NOW_GRADE = re.compile(r"\bnow\s+(" + "|".join(sorted(map(re.escape, _SEVERITY_WORDS), key=len, reverse=True)) + r")\b[^.;]*$")
_NOW_GRADE_AFTER = re.compile(r"^[^.;]{0,40}?\bnow\s+(" + "|".join(sorted(map(re.escape, _SEVERITY_WORDS), key=len,
                                                                           reverse=True)) + r")\b")
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
    now = [float(v) * (10 if u == "cm" else 1) for v, u in _MEASURE.findall(rest)]
    if not now:
        return None
    ratio = now[0] / max(before, 0.1)
    return WORSE if ratio > 1.05 else BETTER if ratio < 0.95 else STABLE


def _before_advice(text: str) -> str:
    """A device's words before the advice about it: its own distance, not the one to move
    it by ("6 cm above the carina; consider advancing 2 cm")."""
    return re.split(r";|\b(?:consider|recommend\w*|advanc\w*|withdraw\w*|retract\w*|pull\w*|should)\b", text)[0]


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


_CENTRAL_LINES = ("picc", "ij line", "subclavian line", "chest port", "swan-ganz catheter")
_DEEP = re.compile(r"\b(?:in|into|within|at|over)\s+the\s+(?:(?:mid|upper|lower|distal|proximal)\s+)?(?:right\s+)?"
                   r"(?:atrium|ventricle)\b|\bright\s+atrial\b")
# A central line whose tip sits in a vein short of the SVC, or turned into another vein.
_SHORT = re.compile(r"\b(?:terminat\w*|tip|ends?|directed|extends?|courses?|projects?|lies)\b[^.;]{0,40}?\b(?:in|into|within|at)"
                    r"\s+the\s+(?:(?:left|right|proximal|distal)\s+)*(?:brachiocephalic|innominate|subclavian|axillary"
                    r"|internal\s+jugular|jugular|azygos|contralateral)")
# The source says where a tip is without calling it wrong: a stated place, which
# an answer calling the device malpositioned contradicts.
STATED = "stated"
_TIP_STATED = re.compile(r"\b(?:terminat\w*|tip|ends|projects?|lies|leads?\s+(?:in|terminating))\b")
_SIDE_AFTER = re.compile(r"^\W*(?:(?:is\s+)?(?:on|in)\s+the\s+)?(left|right)\b(?!\s+(?:atri|ventric|heart|main))")


# Where a device's tip lies, named alike in both texts: a place the answer gives that the
# source does not ("leads in the right atrium and left ventricle" for the right ventricle).
_PLACES = (
    ("distal pulmonary artery", re.compile(r"\b(?:distal|lobar|segmental|subsegmental|interlobar|(?:lower|upper|middle)\s+lobe)"
                                           r"\s+(?:[\w-]+\s+){0,3}?(?:pulmonary\s+)?(?:artery|arterial)(?:\s+branch)?"
                                           r"|\binterlobar\s+(?:pulmonary\s+)?artery")),
    ("right pulmonary artery", re.compile(r"\bright\s+(?:main\s+)?pulmonary\s+artery")),
    ("left pulmonary artery", re.compile(r"\bleft\s+(?:main\s+)?pulmonary\s+artery")),
    ("main pulmonary artery", re.compile(r"\bmain\s+pulmonary\s+artery|\bpulmonary\s+(?:artery\s+)?trunk|\bpulmonary\s+outflow")),
    ("right atrium", re.compile(r"\bright\s+atri(?:um|al)\b")),
    ("left atrium", re.compile(r"\bleft\s+atri(?:um|al)\b")),
    ("right ventricle", re.compile(r"\bright\s+ventric\w*")),
    ("left ventricle", re.compile(r"\bleft\s+ventric\w*")),
    ("cavoatrial junction", re.compile(r"\bcavo-?atrial\b")),
    ("svc", re.compile(r"\bsvc\b|\bsuperior\s+vena\s+cava\b")),
    ("brachiocephalic vein", re.compile(r"\b(?:brachiocephalic|innominate)\s+vein")),
    ("subclavian vein", re.compile(r"\bsubclavian\s+vein")),
    ("jugular vein", re.compile(r"\bjugular\s+vein")),
    ("azygos", re.compile(r"\bazygos\b")),
    ("coronary sinus", re.compile(r"\bcoronary\s+sinus\b")),
    ("stomach", re.compile(r"\bstomach\b|\bgastric\b|\bfundus\b|\bantrum\b")),
    ("duodenum", re.compile(r"\bduoden\w*|\bpost-?pyloric\b|\bjejun\w*")),
    ("esophagus", re.compile(r"\besophag\w*")),
    ("right mainstem bronchus", re.compile(r"\bright\s+main\s*stem|\bbronchus\s+intermedius")),
    ("left mainstem bronchus", re.compile(r"\bleft\s+main\s*stem")),
    ("thoracic inlet", re.compile(r"\bthoracic\s+inlet\b")),
)


def places(text: str) -> frozenset[str]:
    """The anatomical places TEXT puts a device tip in (see _PLACES)."""
    found = set()
    for name, pattern in _PLACES:
        if pattern.search(text):
            found.add(name)
            text = pattern.sub(" ", text)  # "distal right lower lobe pulmonary artery branch" is one place
    return frozenset(found)


def _position(text: str, label: str = "") -> str | None:
    # "at the cavoatrial junction/right atrium" is well placed; "3 cm below the cavoatrial junction" is deep.
    at_junction = re.search(r"cavo-?atrial", text) and not re.search(r"\bbelow\s+(?:the\s+)?(?:[\w-]+\s+){0,4}?cavo-?atrial", text)
    if label in _CENTRAL_LINES and ((_DEEP.search(text) and not at_junction) or _SHORT.search(text)):
        return MALPOSITIONED
    if _MALPOSITION.search(text):
        return MALPOSITIONED
    if _WELL_POSITIONED.search(text) or (label == "swan-ganz catheter" and "pulmonary artery" in text):
        return WELL_POSITIONED
    if _TIP_STATED.search(text):
        return STATED
    return None


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
                _severity(_no_change_adverbs(before) + " " + re.sub(r"\blarge$", "", lower[start:end]) + " "
                          + _no_change_adverbs(after) + " "
                          + "".join(m.group(1) for m in [_APPOSITIVE_GRADE.match(lower[end:])] if m))
                or _severity("".join(m.group(1) for m in [_NOW_GRADE.search(lower[prev_end:start])] if m))
                or _severity("".join(m.group(1) for m in [_NOW_GRADE_AFTER.match(lower[end:next_start])] if m))),
            # A device's own distance, not the advice after it ("6 cm above the carina; consider advancing 2 cm").
            measures=_measures(_before_advice(after) if device else around),
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
            position=_position(after, label) if device else None,
            modifiers=lower[c_start:c_end],
            dominant=None if device else (
                _dominant(lower[max(c_start, spans[i - 1][1] if i else 0):min(c_end, next_start)])
                # "in the right lower lobe and, to a lesser extent, the left": the right is larger
                or next((({"left", "right"} - {m.group(1)}).pop() for m in [_LESSER_EXTENT.match(lower[end:next_start])]
                         if m), None)),
        ))
        pair = None if device else _GRADED_PAIR.search(lower[spans[i - 1][1] if i else 0:start])
        after_pair = None if device or pair else _SIDE_GRADES_AFTER.search(lower[end:next_start])
        if after_pair and after_pair.group(2) != after_pair.group(4):
            both = out.pop()
            first = lower[end:next_start][after_pair.start(1):after_pair.start(2)]
            out.extend(replace(both, sides=frozenset({side}), severity=_severity(grade))
                       for grade, side in ((first, after_pair.group(2)), (after_pair.group(3), after_pair.group(4))))
        if pair and pair.group(2) != pair.group(4):
            # "Large left and small right pleural effusions": two findings, each its grade.
            both = out.pop()
            change = both.change or _change(_blank(lower[spans[i - 1][1] if i else 0:start], _PSEUDO))
            out.extend(replace(both, sides=frozenset({side}), severity=_severity(grade or ""), change=change)
                       for grade, side in ((pair.group(1), pair.group(2)), (pair.group(3), pair.group(4))))
    return tuple(out)


def describe(text: str, label: str) -> Mention:
    """What TEXT as a whole says of LABEL: for an answer that names its finding only by
    the question ("Which side?" "The left side.")."""
    lower = text.lower()
    device = labels.CATEGORY.get(label) in ("tubesandlines", "device")
    return Mention(label=label, text=text, sentence=0, start=0, end=len(text), sides=_sides(lower),
                   zones=frozenset(z for z, p in _ZONES if p.search(lower)), severity=_severity(_no_change_adverbs(lower)),
                   measures=_measures(_before_advice(lower) if device else lower), change=_change(lower),
                   position=_position(lower, label) if device else None, modifiers=lower)


def read(text: str) -> Reading:
    """The sentences of TEXT and the finding mentions in each."""
    text = text if isinstance(text, str) else ""
    reading = Reading(text=text, sentences=reports.sentences(text))
    for i, sentence in enumerate(reading.sentences):
        reading.mentions.extend(_read_sentence(sentence, i))
    return reading
