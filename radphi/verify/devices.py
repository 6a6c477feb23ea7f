"""What a report says of a device's tip: malpositioned, well positioned, or a place
stated, and the named places themselves (so an answer that moves a tip can be caught).
Read by radphi.verify.reading for every device mention.
"""

from __future__ import annotations

import re

MALPOSITIONED, WELL_POSITIONED = "malpositioned", "well positioned"
# The source says where a tip is without calling it wrong: a stated place, which an
# answer calling the device malpositioned contradicts.
STATED = "stated"

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


_CENTRAL_LINES = ("picc", "ij line", "subclavian line", "chest port", "swan-ganz catheter")
_DEEP = re.compile(r"\b(?:in|into|within|at|over)\s+the\s+(?:(?:mid|upper|lower|distal|proximal)\s+)?(?:right\s+)?"
                   r"(?:atrium|ventricle)\b|\bright\s+atrial\b")
# A central line whose tip sits in a vein short of the SVC, or turned into another vein.
_SHORT = re.compile(r"\b(?:terminat\w*|tip|ends?|directed|extends?|courses?|projects?|lies)\b[^.;]{0,40}?\b(?:in|into|within|at)"
                    r"\s+the\s+(?:(?:left|right|proximal|distal)\s+)*(?:brachiocephalic|innominate|subclavian|axillary"
                    r"|internal\s+jugular|jugular|azygos|contralateral)")
_TIP_STATED = re.compile(r"\b(?:terminat\w*|tip|ends|projects?|lies|leads?\s+(?:in|terminating))\b")


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


def tip_position(text: str, label: str = "") -> str | None:
    """Where TEXT (the words after a device) puts its tip: malpositioned, well positioned,
    stated (a place named, neither called right nor wrong), or None."""
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


def before_advice(text: str) -> str:
    """A device's words before the advice about it: its own distance, not the one to move
    it by ("6 cm above the carina; consider advancing 2 cm")."""
    return re.split(r";|\b(?:consider|recommend\w*|advanc\w*|withdraw\w*|retract\w*|pull\w*|should)\b", text)[0]
