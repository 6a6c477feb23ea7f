"""Finding mentions in a sentence: where a text names a finding, and which canonical
label (radphi.labels) it names. radphi.verify.reading then reads what the sentence
says of each.

Label names and synonyms are matched word by word through a first-word index; a few
phrase patterns (report wording that is not a label name) are tried first.
"""

from __future__ import annotations

import re
from functools import lru_cache

from radphi import labels

# Pseudo-labels: generic phrases an impression uses for a group of findings.
ANY_DEVICE = "support devices"     # "support devices in place", "lines and tubes unchanged"
ACUTE_PROCESS = "acute process"    # "no acute cardiopulmonary process"

# Report wording for a label that is not a name to tag it by (so not in
# radphi.label_synonyms, which also reads label lists): "infection" in a chest film
# report means pneumonia; "heart is enlarged" is cardiomegaly said as a predicate.
_EXTRA_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"infection|infectious process|pneumonias", "pneumonia"),
    (r"consolidated|consolidative\s+(?:change|process)", "consolidation"),
    (r"(?:fractures?|fx)\s+of\s+(?:the\s+)?(?:[\w-]+,?\s+){0,8}?ribs?|(?:ribs?)\s+fractures?", "rib fracture"),
    (r"(?:heart|cardiac silhouette|cardiac size|heart size|cardiomediastinal silhouette)"
     r"(?:\s+size)?\s+(?:is|are|appears|remains)\s+(?:(?:now|again|still|top[- ]normal to)\s+)?"
     r"(?:(?:mildly|moderately|markedly|severely|slightly)\s+)?(?:enlarged|increased|large)", "enlarged cardiac silhouette"),
    (r"(?:heart|cardiac)\s+size\s+(?:is\s+)?(?:normal|within normal limits)|normal\s+(?:heart|cardiac)\s+size"
     r"|(?:heart|cardiac silhouette|cardiomediastinal silhouette)\s+(?:is|are)\s+(?:normal|unremarkable)",
     "enlarged cardiac silhouette|absent"),
    (r"pleural fluid collections?|fluid collections? in the pleural space", "pleural effusion"),
    (r"coronary\s+(?:artery\s+)?bypass\s+graft(?:ing|s)?(?:\s+clips)?|cabg\s+clips|bypass\s+graft\s+clips", "cabg grafts"),
    (r"hilar\s+and\s+(?:[\w-]+\s+){0,2}?(?:lymphadenopathy|adenopathy)", "enlarged hilum"),
    (r"calcified\s+(?:(?:left|right)\s+)?(?:(?:upper|middle|lower)\s+lobe\s+|lingular\s+|apical\s+|basilar\s+)?"
     r"(?:granulomas?|nodules?)", "calcified nodule"),
    (r"calcified\s+aortic\s+(?:knob|arch)|calcification\s+of\s+the\s+aortic\s+(?:knob|arch)", "vascular calcification"),
    (r"loss\s+of\s+(?:\w+\s+){0,2}height\s+of\s+(?:the\s+)?(?:[tlc]\d{1,2}\s+)?vertebral\s+bod(?:y|ies)"
     r"|vertebral\s+(?:body\s+)?(?:height\s+loss|compression|collapse)", "spinal fracture"),
    # A line's site with its kind between ("right internal jugular tunneled dialysis catheter").
    (r"(?:internal\s+jugular|ij)\s+(?:(?:tunneled|tunnelled|hemodialysis|dialysis|central|venous|triple[- ]lumen"
     r"|double[- ]lumen|introducer|non-?tunneled)\s+){1,3}(?:catheter|line|sheath)s?"
     r"|(?:internal\s+jugular|ij)\s+(?:introducer|sheath|cordis)(?:\s+sheath)?", "ij line"),
    (r"interstitial\s+(?:prominence|thickening|pattern|opacities|changes)", "increased reticular markings/ild pattern"),
    (r"subclavian\s+(?:(?:tunneled|tunnelled|hemodialysis|dialysis|central|venous|triple[- ]lumen|double[- ]lumen"
     r"|introducer|non-?tunneled)\s+){1,3}(?:catheter|line|sheath)s?", "subclavian line"),
    (r"lung\s+volumes\s+(?:are|remain|appear)\s+(?:(?:again|still|now|mildly|slightly|markedly)\s+)?"
     r"(?:reduced|low|decreased|diminished)", "low lung volumes"),
    (r"mediastinum\s+(?:is|was|remains|appears)\s+(?:(?:mildly|slightly|markedly|moderately|again|still|now)\s+)*"
     r"(?:shifted|displaced|deviated)", "mediastinal displacement"),
    (r"mediastinum\s+(?:is|was|remains|appears)\s+(?:(?:mildly|slightly|markedly|moderately|again|still|now)\s+)*widened",
     "mediastinal widening"),
    (r"mediastinum\s+(?:is|was|appears)\s+not\s+widened", "mediastinal widening|absent"),
    (r"fractures?\s+(?:deformit(?:y|ies)\s+)?of\s+(?:the\s+)?(?:(?:left|right|distal|proximal|mid|medial|lateral)\s+){0,3}"
     r"(?:clavicles?|clavicular\s+shaft)",
     "clavicle fracture"),
    (r"(?:pulmonary|lung)\s+metastases|metastatic\s+(?:pulmonary\s+)?nodules"
     r"|(?<!bone )(?<!osseous )(?<!skeletal )(?<!osteoblastic )(?<!osteolytic )(?<!blastic )(?<!lytic )(?<!hepatic )"
     r"(?<!liver )(?<!brain )(?<!adrenal )(?<!nodal )(?<!rib )(?<!spinal )(?<!vertebral )metastases",
     "multiple masses/nodules"),
    (r"enlargement\s+of\s+(?:the\s+)?(?:(?:left|right)\s+)?hil(?:um|a)", "enlarged hilum"),
    (r"compression\s+(?:deformit(?:y|ies)|fractures?)(?:\s+of\s+(?:a|the|an)\s+(?:[\w-]+\s+){0,3}?vertebral\s+bod(?:y|ies))?",
     "spinal fracture"),
    (r"(?:heart|cardiac\s+silhouette|(?:heart|cardiac)\s+size)\s+is\s+difficult\s+to\s+(?:assess|evaluate)"
     r"(?:\s+on\s+this\s+(?:view|film|study|examination|projection))?\s*,?\s+but\s+(?:appears|is)\s+"
     r"(?:(?:mildly|moderately|markedly|severely|slightly)\s+)?enlarged", "enlarged cardiac silhouette"),
    # The spine's region between the words of the name ("degenerative changes in the thoracic spine").
    (r"degenerative\s+(?:changes?|disease)\s+(?:of|in|involving|along|throughout)\s+(?:the\s+)?"
     r"(?:(?:visualized|imaged|included|thoracic|lumbar|cervical|thoracolumbar|lower|upper|mid)\s+)+spine"
     r"|(?:thoracic|lumbar|cervical|thoracolumbar)\s+(?:spine\s+)?degenerative\s+(?:changes?|disease)"
     r"|(?:thoracic|lumbar|cervical|thoracolumbar)\s+spondylosis", "spinal degenerative changes"),
    (r"degenerative\s+changes?\s+(?:of|in|at|involving)\s+(?:the\s+)?(?:(?:left|right|bilateral)\s+)?"
     r"(?:glenohumeral|shoulder|acromioclavicular|ac)\s+joints?", "shoulder osteoarthritis"),
    (r"lungs?\s+(?:are|is|appears?|remains?)\s+(?:(?:again|still|now|mildly|moderately|markedly|slightly)\s+)?"
     r"(?:hyperinflated|hyperexpanded|hyperaerated|overinflated)", "hyperaeration"),
    # A side between the words of a name ("elevated right hemidiaphragm"), or the name
    # said as a predicate ("the right hemidiaphragm is elevated").
    (r"(?:elevated|raised|elevation\s+of\s+the)\s+(?:left|right)\s+hemidiaphragm"
     r"|(?:(?:left|right)\s+)?hemidiaphragm\s+(?:is|remains|appears)\s+(?:(?:again|still|now|mildly|moderately"
     r"|markedly|slightly|minimally)\s+)?(?:elevated|raised)", "elevated hemidiaphragm"),
    (r"(?:enlarged|prominent)\s+(?:left|right)\s+hil(?:um|a)"
     r"|(?:(?:left|right)\s+)?hil(?:um|a)\s+(?:is|are|remains|appears?)\s+(?:(?:again|still|now|mildly|moderately"
     r"|markedly|slightly)\s+)?(?:enlarged|prominent|larger|fuller)", "enlarged hilum"),
    (r"(?:support|monitoring|medical)\s+devices?|lines?\s+and\s+tubes?|tubes?\s+and\s+lines?"
     r"|(?:lines?|tubes?),\s+(?:tubes?|lines?)\s+and\s+(?:devices?|drains?)|support\s+lines?"
     r"|(?<!kerley b )(?<!septal )(?<!b-)(?:tubes|lines|catheters)", ANY_DEVICE),
    (r"acute\s+(?:cardiopulmonary|cardiothoracic|intrathoracic|pulmonary|cardiac or pulmonary|chest)\s+"
     r"(?:process|abnormality|abnormalities|disease|findings?|pathology)|acute\s+(?:process|abnormality)", ACUTE_PROCESS),
    (r"lungs?\s+(?:are|is)\s+(?:otherwise\s+)?clear|clear\s+lungs", "lung opacity|absent"),
    (r"normal\s+(?:chest|chest radiograph|study|examination)", ACUTE_PROCESS + "|absent"),
)

# --- mention matching ----------------------------------------------------------


_WORD = re.compile(r"[a-z0-9]+(?:/[a-z0-9]+)*")


def _words(name: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(name.lower()))


@lru_cache(maxsize=1)
def _matcher() -> tuple[re.Pattern[str], dict[str, str], dict[str, list[tuple[tuple[str, ...], str]]]]:
    """The phrase patterns (few, tried first) and the label names by their first word.

    Names are matched word by word through a first-word index rather than by one regex
    of ~450 alternatives: Python's regex engine tries every alternative at every
    position, which cost 0.7 ms a sentence; the index costs a dictionary lookup a word.
    """
    names: dict[tuple[str, ...], str] = {}
    for label in labels.CATEGORY:
        if "/" not in label and "(" not in label:
            names.setdefault(_words(label), label)
    for synonym, label in labels.SYNONYMS.items():
        if "/" not in synonym or synonym in ("mass/nodule", "masses/nodules", "pacemaker/icd"):
            names.setdefault(_words(synonym), label)
    by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for words, label in names.items():
        if words:
            by_first.setdefault(words[0], []).append((words, label))
    for entries in by_first.values():
        entries.sort(key=lambda e: -len(e[0]))  # the longest name first: "pleural effusion" over "effusion"
    groups = {f"x{i}": target for i, (_, target) in enumerate(_EXTRA_PATTERNS)}
    regex = re.compile(r"(?<![\w-])(?:" + "|".join(f"(?P<x{i}>{pattern})" for i, (pattern, _) in
                                                 enumerate(_EXTRA_PATTERNS)) + r")(?![\w])", re.I)
    return regex, groups, by_first


def _plural_of(word: str, token: str) -> bool:
    return token == word or (not word.endswith("s") and token in (word + "s", word + "es"))


def _name_matches(lower: str, taken: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    _, _, by_first = _matcher()
    tokens = [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(lower)]
    found: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i][0]
        candidates = by_first.get(token) or by_first.get(token[:-1]) or by_first.get(token[:-2]) or []
        hit = None
        for words, label in candidates:
            k = len(words)
            if hit and k < hit[3]:
                break  # a longer name matched only as a plural: no exact one of its length
            window = tokens[i:i + k]
            if len(window) < k:
                continue
            if all(t[0] == w for t, w in zip(window[:-1], words[:-1])) and _plural_of(words[-1], window[-1][0]):
                # Words of one name are joined by spaces or hyphens only ("swan-ganz").
                if all(re.fullmatch(r"[\s-]*", lower[a[2]:b[1]]) for a, b in zip(window, window[1:])):
                    exact = window[-1][0] == words[-1]
                    if exact or hit is None:
                        hit = (tokens[i][1], window[-1][2], label, k)
                    if exact:
                        break  # "pulmonary nodules" is its own name, not the plural of "pulmonary nodule"
        if hit and not any(s < hit[1] and hit[0] < e for s, e in taken):
            found.append(hit[:3])
            i += hit[3]
        else:
            i += 1
    return found


def find(sentence: str) -> list[tuple[int, int, str, str | None]]:
    """(start, end, label, forced status or None) of each mention in SENTENCE, in order.

    A phrase pattern may force a status ("heart size is normal" is an absent
    cardiomegaly); label names never do.
    """
    regex, groups, _ = _matcher()
    lower = sentence.lower()
    found: list[tuple[int, int, str, str | None]] = []
    for match in regex.finditer(sentence):
        label, _, forced = groups[match.lastgroup or ""].partition("|")
        found.append((match.start(), match.end(), label, forced or None))
    generic = [f for f in found if f[2] == ANY_DEVICE and f[1] - f[0] <= len("catheters")]
    specific = [f for f in found if f not in generic]
    names = _name_matches(lower, [(s, e) for s, e, _, _ in specific])
    # A bare "tubes" or "lines" yields to the name it ends ("two left chest tubes").
    found = specific + [g for g in generic if not any(s < g[1] and g[0] < e for s, e, _ in names)]
    taken = [(s, e) for s, e, _, _ in found]
    found.extend((s, e, label, None) for s, e, label in names if not any(a < e and s < b for a, b in taken))
    found.sort()
    # "subclavian central venous line": the generic name maps to the internal jugular,
    # but the site word before it names the line.
    return [(s, e, "subclavian line" if label == "ij line" and re.search(r"subclavian\s+$", lower[max(0, s - 12):s])
             else label, forced) for s, e, label, forced in found]
