"""Radiology-specific identifier rules: what the field libraries do not know about report text.

Hand-written because no library covers them: names found by their context in a report
(titles, credentials, signature and "discussed with" lines, "LAST, FIRST MD"), MIMIC's
"Dr. ___ at 10:15", ages over 89 in the ways an indication line writes them, the
date forms of PACS and dictation systems (05JAN2020, 4-Mar-2021, 20210304), labelled
record, accession and device serial numbers, pagers and extensions, street addresses,
cities next to a state or ZIP, and the clinical text that must never be taken for an
identifier (see `CLINICAL`).

    >>> from radphi.deid.spans import merge
    >>> [(s.kind, "KIM, JENNIFER MD"[s.start:s.end]) for s in merge(find("KIM, JENNIFER MD"))]
    [('NAME', 'KIM, JENNIFER')]
"""

from __future__ import annotations

import re

from radphi.deid.spans import Span

_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_MON3 = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec)"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
_YY = r"(?:\d{2}|(?:19|20)\d{2})"
_WEEKDAY = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?"
_STATES = ("AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|"
           "NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY")
# Most state abbreviations are also clinical words ("CT", "MS", "PA" views, "NC" non-contrast, "MI",
# "AR", "NM"): a city before one of them counts only when a ZIP code follows; these few need none.
_STATES_SAFE = "AK|AZ|CA|FL|IL|KY|MN|NJ|NV|NY|OH|TX|WA|WV|WY|VT|NH|MT"
_ZIP = r"\d{5}(?:-\d{4})?"

# A capitalised name word ("Smith", "O'Brien", "Garcia-Lopez", "McDonald") or an upper-case one.
_CAP = r"(?:[A-Z][a-z]*(?:['\u2019][A-Z]?[a-z]+)?[a-z]+(?:-[A-Z][a-z]+)?|[A-Z]['\u2019][A-Z][a-z]+)"
_UPPER = r"[A-Z](?:['\u2019]?[A-Z])+(?:-[A-Z]+)?"
_INITIAL = r"[A-Z]\."
_NAME = rf"(?:{_INITIAL}\s?)*(?:{_CAP}|{_UPPER})(?:\s+(?:{_INITIAL}\s+)?(?:{_CAP}|{_UPPER})){{0,2}}"
# After a role word or label, an upper-case name needs three letters ("discussed with CT" is not a name).
_UPPER3 = r"[A-Z](?:['\u2019]?[A-Z]){2,}(?:-[A-Z]+)?"
_LNAME = rf"(?:{_INITIAL}\s?)*(?:{_CAP}|{_UPPER3})(?:\s+(?:{_INITIAL}\s+)?(?:{_CAP}|{_UPPER3})){{0,2}}"
_CRED = r"(?:M\.D\.|MD|D\.O\.|DO|RN|NP|PA-C|PhD|MBBS|FRCR|CNMT|RT\s?\([A-Z]+\)|RDMS|RVT|ARNP|CRNA|FACR)"
_CRED_LOWER = r"(?:md|m\.d\.|rn|np|do)"
# Capitalised words that follow a title or label but are not names (sentence and report words).
_NOT_NAMES = {w.lower() for w in {
    "The", "A", "An", "And", "Or", "Of", "On", "In", "At", "To", "By", "For", "With", "Was", "Is", "Has", "Had",
    "Who", "He", "She", "They", "Patient", "Pt", "Name", "ID", "MRN", "DOB", "Date", "Exam", "Study", "History",
    "Findings", "Impression", "Report", "Reports", "Denies", "Presents", "Status", "Please", "Call", "Page",
    "Number", "No", "Not", "Unknown", "None", "Dr", "Doctor", "Mr", "Mrs", "Ms", "Team", "Service", "Department",
    "ED", "ICU", "ER", "OR", "Radiology", "Emergency", "Surgery", "Medicine", "Cardiology", "Orthopedics",
    "Oncology", "Neurology", "Urology", "Physician", "Nurse", "Resident", "Fellow", "Attending", "Tech",
    "Technologist", "Identifier", "Account", "Encounter", "Order", "Accession", "Record", "Signed", "Seen",
    "Findings", "Results", "Case", "Critical", "Preliminary", "Wet", "Final", "Images", "Exam", "Left", "Right",
    "Radiologist", "Interventional", "Vascular", "Thoracic", "General", "Trauma", "Stroke", "Neurosurgery",
    "Pulmonary", "Hospitalist", "Primary", "Covering", "Referring", "Ordering", "On-call", "Clinical", "Care",
    "CT", "MRI", "MR", "US", "IR", "PACS", "IV", "NP", "RN", "PA", "MD", "DO", "Practitioner", "Unit", "Floor",
    "Also", "Via", "Over", "Telephone", "Phone", "Prior", "Same", "This", "That", "These", "Both", "All",
    "Staff", "Note", "Notes", "Motion", "Position", "Positioning", "Information", "Instructions", "Preparation",
    "Identification", "Safety", "Education", "Consent", "Comfort", "Transport", "Services", "Aware", "Notified",
    "Comment", "Comments", "Room", "Office", "Desk", "Group", "Associates", "Imaging", "Center", "Hospital",
}}


def _is_name_word(word: str) -> bool:
    return word.rstrip(".,:;").lower() not in _NOT_NAMES


def _name_spans(m: re.Match[str], group: str = "name") -> list[Span]:
    """The name in M, less words at its edges that are not names ("Dr. Smith Reviewed" -> "Smith")."""
    start, end = m.span(group)
    words = list(re.finditer(r"[^\s,]+", m.string[start:end]))
    while words and not _is_name_word(words[0].group(0)):
        words.pop(0)
    while words and not _is_name_word(words[-1].group(0)):
        words.pop()
    if not words:
        return []
    first, last = start + words[0].start(), start + words[-1].end()
    if re.fullmatch(r"(?:[A-Z]\.\s?)+", m.string[first:last]):
        return []  # initials alone ("J.") are too little to identify and too often a list marker
    return [Span(first, last, "NAME")]


_Rule = tuple[re.Pattern[str], str, str]  # pattern, kind, the group that holds the identifier


def _rules(*rows: tuple[str, int, str, str]) -> tuple[_Rule, ...]:
    return tuple((re.compile(p, flags), kind, group) for p, flags, kind, group in rows)


_I = re.I
RULES: tuple[_Rule, ...] = _rules(
    # --- names -----------------------------------------------------------------------------
    # After a title: "Dr. Smith", "Mrs. O'Brien", "Pt. Anderson", "nurse Maria Alvarez", "RN Harper".
    (rf"\b(?:[Dd]r|DR|[Dd]octor|Mrs?|MRS?|Ms|MS|Miss|Mx|Pt|[Nn]urse|RN|NP|PA-C|[Pp]rof)\.?\s+(?P<name>{_NAME})",
     0, "NAME", "name"),
    # Lower-case "dr. smith", "per dr kim".
    (r"\b(?:dr|doctor)\.?\s+(?P<name>[a-z][a-z'\-]{1,})\b(?<!\bthe)", 0, "NAME", "name"),
    # Before a credential: "Jennifer Kim, MD", "J. Kim, M.D.", "Sarah Connor, RN", "Ahmed Hassan, DO".
    (rf"(?P<name>{_NAME}),?\s+{_CRED}(?![A-Za-z])", 0, "NAME", "name"),
    # "KIM, JENNIFER MD", "Wong, Kevin", "kim, jennifer md", "gupta, rohan md".
    (rf"(?P<name>{_UPPER},\s*{_UPPER}(?:\s+[A-Z]\.?)?)(?=\s+{_CRED}\b|\s*$|\s*[;\n])", re.M, "NAME", "name"),
    (rf"\b(?P<name>[a-z][a-z'\-]+,\s*[a-z][a-z'\-]+)\s+{_CRED_LOWER}\b", 0, "NAME", "name"),
    # After a role or a label: "Attending radiologist: Emily Watson", "Dictated by: Wong, Kevin",
    # "Patient John Smith", "ordering provider Jamal Washington", "ED physician Natalie Brandt".
    (r"(?i:\b(?:patient(?:'s)?(?:\s+name)?|pt\.?(?:\s+name)?|(?<!exam )(?<!study )(?<!procedure )name|pcp|referring(?:\s+(?:physician|provider|md))?|"
     r"attending(?:\s+(?:radiologist|physician))?|radiologist|rad|resident|fellow|technologist|tech|operator|"
     r"assistant|physician|clinician|provider|surgeon|nurse|rn|np|cc|"
     r"(?:dictated|transcribed|reviewed|signed|verified|interpreted|read|seen|approved|confirmed|relayed|"
     r"acknowledged|discussed|called)\s+(?:(?:electronically|in\s+person)\s+)?(?:by|with|to)|"
     r"(?:electronically\s+)?signed(?:\s+electronically)?(?:\s+by)?|"
     r"daughter|son|wife|husband|mother|father|sister|brother|spouse|partner|friend)\b"
     rf"\s*[:,]?\s*(?:the\s+)?)(?P<name>{_UPPER},\s*{_UPPER}|{_CAP},\s*{_CAP}(?=\s*(?:$|[;\n]|{_CRED}))|{_LNAME})",
     0, "NAME", "name"),
    # --- ages over 89 --------------------------------------------------------------------------
    (r"\b(?P<age>(?:9\d|1[01]\d))(?=\s*-?\s*(?:years?|yrs?|y)[\s-]*(?:old|o\b|/o\b|\.o\.?)|\s*(?:yo|y/o|y\.o\.?|yrs?|y)\b|"
     r"\s?[MF]\b)", _I, "AGE", "age"),
    (r"\b(?:age[ds]?|aged)\s*:?\s*(?P<age>9\d|1[01]\d)\b", _I, "AGE", "age"),
    (r"\b(?P<age>(?:ninety|one[\s-]hundred)(?:[\s-](?:and[\s-])?(?:one|two|three|four|five|six|seven|eight|nine|ten))?)"
     r"(?=[\s-]+(?:years?|yrs?)[\s-]*old|\s+yo\b)", _I, "AGE", "age"),
    (r"\bage\s*:?\s*(?P<age>(?:ninety|one hundred)(?:[\s-](?:one|two|three|four|five|six|seven|eight|nine))?)\b",
     _I, "AGE", "age"),
    # --- SSN -----------------------------------------------------------------------------------
    (r"\b(?:ssn|ss#|social\s+security(?:\s+(?:number|no\.?|#))?)\s*[:#]?\s*(?P<id>\d{3}[\s-]?\d{2}[\s-]?\d{4})\b",
     _I, "SSN", "id"),
    (r"(?<![\d-])(?P<id>\d{3}-\d{2}-\d{4})(?![\d-])", 0, "SSN", "id"),
    # --- contact numbers ------------------------------------------------------------------------
    (r"(?<![\w-])(?P<id>(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4})(?!\d)"
     r"(?:\s*(?:ext\.?|extension|x)\s*\d{1,6})?", _I, "PHONE", "id"),
    (r"(?<![\w.-])(?P<id>\d{3}-\d{4})(?![\w-])", 0, "PHONE", "id"),
    (r"\b(?:ext|extension|pager|pgr|beeper|bleep|tel|phone|telephone|cell|mobile|fax|x)\.?\s*[:#]?\s*"
     r"(?P<id>\d[\d-]{2,}\d)\b", _I, "PHONE", "id"),
    # --- record, accession, order and device numbers ----------------------------------------------
    (r"\b(?:mrn|mr\s?#|mr\s?no\.?|medical\s+record(?:\s+(?:number|no\.?|#))?|acc(?:ession)?(?:\s+(?:number|no\.?))?|"
     r"(?:patient|pt)\s+(?:id|identifier|number)|id|unit\s+no\.?|order(?:\s+(?:number|no\.?))?|encounter|csn|fin|"
     r"visit(?:\s+(?:number|no\.?))?|account|acct|study(?:\s+uid)?|uid|member\s+id|medicare(?:\s+id)?|npi|"
     r"requisition|serial(?:\s+(?:number|no\.?))?|s/n|sn|lot|specimen|case\s+(?:number|no\.?))\s*(?:#\s*:?|:|#)?\s*"
     r"(?P<id>(?=(?:[A-Za-z.\-/]*\d){3})[A-Za-z0-9][A-Za-z0-9.\-/]*[A-Za-z0-9])",
     _I, "ID", "id"),
    (r"#\s?(?P<id>\d{4,})", 0, "ID", "id"),
    # Unlabelled: long digit runs, digit-letter codes with 5+ digits, dotted DICOM UIDs.
    (r"(?<![\d.,])(?P<id>\d{6,})(?!\d|[.,]\d)", 0, "ID", "id"),
    (r"\b(?P<id>(?=(?:[A-Z-]*\d){5})[A-Z]{1,4}-?\d[\dA-Z-]*\d[A-Z]?|\d{2,}(?:-[A-Z0-9]+)+-\d{3,}|"
     r"\d+(?:\.\d+){4,})\b", 0, "ID", "id"),
    # --- addresses ------------------------------------------------------------------------------------
    (r"\b(?P<id>\d{1,6}[A-Z]?\s+(?:[NSEW]\.?\s+)?(?:[A-Z][a-z]+\s+){1,3}"
     r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Terrace|Way|Place|Pl|Parkway|Pkwy|"
     r"Highway|Hwy|Circle|Cir|Square|Sq|Trail|Plaza)\b\.?)", 0, "ADDRESS", "id"),
    (r"\b(?P<id>(?:apt|apartment|suite|ste)\b\.?\s*#?\s*(?=\w*\d)\w+)", _I, "ADDRESS", "id"),
    (r"(?P<id>\b(?:https?|ftp)://[^\s<>\"']+[^\s<>\"'.,;:)])", _I, "URL", "id"),
    (r"\b(?P<id>p\.?\s?o\.?\s+box\s+\d+)", _I, "ADDRESS", "id"),
    (rf"\b(?:zip(?:\s+code)?)\s*:?\s*(?P<id>{_ZIP})\b", _I, "ADDRESS", "id"),
    (rf"\b(?:{_STATES})\s+(?P<id>{_ZIP})\b", 0, "ADDRESS", "id"),
    (r"(?<![\d-])(?P<id>\d{5}-\d{4})(?![\d-])", 0, "ADDRESS", "id"),
    # A city: before a state with a ZIP, before an unambiguous state, after a street, or after "lives in".
    (rf"\b(?P<id>(?:[A-Z][a-z]+\s){{0,2}}[A-Z][a-z]+),\s+(?:(?:{_STATES})\.?\s+{_ZIP}|(?:{_STATES_SAFE})\b)",
     0, "ADDRESS", "id"),
    (r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Terrace|Way|Place|Pl)\.?,\s+"
     r"(?:(?:Apt|Suite|Ste)\.?\s*\w+,\s+)?(?P<id>(?:[A-Z][a-z]+\s){0,2}[A-Z][a-z]+)\b", 0, "ADDRESS", "id"),
    (r"\b(?:lives|living|resides|residing|resident|home|located|visiting|transferred|transported|moved|relocated|"
     r"travell?ed|came|arrived|nursing\s+home)\s+(?:in|at|of|from)\s+(?P<id>(?:[A-Z][a-z]+\s){0,2}[A-Z][a-z]+)\b",
     0, "ADDRESS", "id"),
)

# Dates and times, with a check on the match (see _date_ok).
DATE_RULES: tuple[_Rule, ...] = _rules(
    (r"\b(?P<d>\d{4}[-/.](?:1[0-2]|0?[1-9])[-/.](?:[12]\d|3[01]|0?[1-9]))(?:[T ](?P<t>\d{1,2}:\d{2}(?::\d{2})?))?"
     r"(?!\d)", 0, "DATE", "d"),
    (r"\b(?P<d>\d{1,2}[/-]\d{1,2}[/-](?:\d{4}|\d{2}))(?![\d/-])", 0, "DATE", "d"),
    (r"\b(?P<d>\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2}))(?![\d.])", 0, "DATE", "d"),
    (rf"\b(?P<d>\d{{1,2}}[-\s]?{_MON3}[a-z]*\.?[-\s]?{_YY})(?!\d)", _I, "DATE", "d"),   # 4-Mar-2021, 05JAN2020
    (rf"\b(?P<d>(?:{_WEEKDAY},?\s+)?(?:{_DAY}(?:\s+of)?\s+{_MONTH}\.?(?:,?\s+{_YEAR})?|"
     rf"{_MONTH}\.?\s+{_DAY}(?:,?\s+{_YEAR})?|{_MONTH}\.?,?\s+{_YEAR}))(?![\w])", _I, "DATE", "d"),
    (r"\b(?P<d>(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))\b", 0, "DATE", "d"),    # 20210304
    (r"(?<![\d/.])(?P<d>(?:1[0-2]|0?[1-9])/(?:[12]\d|3[01]|0?[1-9]))(?![\d/])", 0, "DATE", "d"),
    # times: "10:15", "8:45 AM", "2:05 p.m.", "3 pm", "1430 hours", "at 0830", a date's "0615"
    (r"\b(?P<d>(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?:\s?(?:[ap]m\b|[ap]\.m\.)|\s?h\b)?)(?!\d)", _I, "TIME", "d"),
    (r"\b(?P<d>(?:1[0-2]|0?[1-9])\s?(?:[ap]m\b|[ap]\.m\.))", _I, "TIME", "d"),
    (r"\b(?P<d>(?:[01]\d|2[0-3])[0-5]\d\s?(?:h|hrs?|hours)\b\.?)", _I, "TIME", "d"),
    (r"\b(?:at|@)\s+(?P<d>(?:[01]\d|2[0-3])[0-5]\d)\b(?!\s*(?:mg|ml|cc|cm|mm|hu|units?|%))", _I, "TIME", "d"),
    (rf"(?:{_MON3}[a-z]*\.?[-\s]?{_YY}|\d{{4}})\s+(?P<d>(?:[01]\d|2[0-3])[0-5]\d)\b", _I, "TIME", "d"),
)

# Clinical text that looks like an identifier and is not: clock-face positions, vertebral levels,
# measurements, scores. Spans inside these are dropped, from the libraries' findings as from ours.
CLINICAL = re.compile(
    r"\b(?:1[0-2]|[1-9])(?::[0-5]\d)?\s*o['\u2019]?\s?clock\b|\b(?:1[0-2]|[1-9]):[03]0\s+(?:position|axis)\b|"
    r"\b[CTLS]\d{1,2}(?:\s?[-/]\s?[CTLS]?\d{1,2})*\b|"
    r"\b\d+(?:\.\d+)?(?:\s?-\s?\d+(?:\.\d+)?)?(?:\s?[x\u00d7]\s?\d+(?:\.\d+)?)*\s?"
    r"(?:cm|mm|ml|cc|hu|mgy(?:-cm)?|msv|kv|mas|mg|%|degrees?)(?![a-z])|"
    r"(?<![\d:])\d{1,3}(?:\s?-\s?\d{1,3})?\s?(?:hours?|hrs|days?|weeks?|months?|years?(?!\s*-?\s*old))\b|"
    r"\b(?:BI|LI|TI|PI|O|C|Lung)-RADS\s?\d[A-C]?\b|\bBosniak\s?\d[F]?\b|\bASPECTS\s?\d+\b|"
    r"\b(?:series|image|img|slice|se|im)\s*#?\s*\d+\b|\bgrade\s\d(?:\s?(?:of|/)\s?\d)?\b|"
    r"\bratio\s+(?:of\s+)?\d+:\d+|\b\d+:\d+\s+(?:ratio|dilution)\b",
    re.I,
)


def _date_ok(m: re.Match[str]) -> bool:
    text = m.group("d")
    if re.fullmatch(r"\d{1,2}/\d{1,2}", text):
        # A bare month/day is a date only after a date word: "on 3/4", "since 11/30" (else "3/4" is a fraction).
        before = m.string[max(0, m.start("d") - 12):m.start("d")].lower()
        return bool(re.search(r"\b(?:on|since|from|of|dated|until|by|to|with|date:?)\s*$", before)) or len(text) > 4
    month = re.search(_MONTH, text, re.I)
    if month and month.group(0).islower() and not re.search(r"\d{4}", text) and not re.search(r"\d", text[:month.start()]):
        return False  # "may 5" in lower case is prose
    if re.fullmatch(rf"{_MONTH}", text.strip(". "), re.I) is not None:
        return False
    return True


def find(text: str) -> list[Span]:
    """Identifier spans in TEXT by the radiology rules (unmerged; see radphi.deid.spans.merge)."""
    spans: list[Span] = []
    for pattern, kind, group in RULES:
        for m in pattern.finditer(text):
            if kind == "NAME":
                spans.extend(_name_spans(m, group))
            elif m.group(group):
                spans.append(Span(m.start(group), m.end(group), kind))
    for pattern, kind, group in DATE_RULES:
        for m in pattern.finditer(text):
            if kind == "DATE" and not _date_ok(m):
                continue
            spans.append(Span(m.start(group), m.end(group), kind))
            if kind == "DATE" and "t" in pattern.groupindex and m.group("t"):
                spans.append(Span(m.start("t"), m.end("t"), "TIME"))
    return spans
