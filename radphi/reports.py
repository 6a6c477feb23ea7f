"""Report text: section splitting, findings/impression lookup, PHI scrubbing, middle truncation.

This module owns everything that reads or rewrites the free text of a
radiology report, independent of any task or model:

    >>> split_sections(" FINDINGS: No effusion.\\n IMPRESSION: Normal.")
    {'findings': 'No effusion.', 'impression': 'Normal.'}
    >>> scrub_phi("Discussed with Dr. Smith at 10:15 on 01/02/2020.")
    'Discussed with Dr. ___ at ___ on ___.'
    >>> truncate_middle("one two three four five six", 5)
    ('one two [...] five six', True)

Section splitting follows the official MIMIC-CXR parser (MIT-LCP mimic-code,
txt/section_parser.py) so sections match the `mimic_cxr_sectioned.csv` the
loaders read; deviations are noted where they are made.
"""

from __future__ import annotations

import re
from typing import Callable

__all__ = [
    "CLINICAL_SECTIONS", "PHI_PLACEHOLDER", "TRUNCATION_MARKER", "clinical_text", "find_findings",
    "find_impression", "normalize_section_name", "scrub_phi", "scrub_phi_counted", "section_order",
    "sentence_spans", "sentences", "split_sections", "truncate_middle",
]

PHI_PLACEHOLDER = "___"  # MIMIC's own de-identification mark, so scrubbed text looks like MIMIC
TRUNCATION_MARKER = " [...] "

# --- section splitting -------------------------------------------------------

# Known section names that are also accepted in Title or lower case. MIMIC
# headers are upper case, but pasted reports from other systems often write
# "Findings:"; accepting any mixed-case "Word:" line would split findings on
# structured lines such as "Heart: normal size".
_MIXED_CASE_HEADERS = (
    "findings and impression", "findings", "impressions?", "indications?", "comparisons?",
    "technique", "clinical history", "history", "examination", "exam", "reason for exam(?:ination)?",
    "conclusions?", "recommendations?", "notification", "addendum", "wet read",
)
# The official parser uses r"\n ([A-Z ()/,-]+):\s", which needs a newline and
# exactly one space before the header. Real and pasted text varies, so a header
# may also start the text and be indented by any amount of spaces or tabs (or
# none), and may end the text.
_HEADER = re.compile(
    r"^[ \t]*(?P<name>[A-Z][A-Z ()/,&-]*[A-Z)]|(?i:" + "|".join(_MIXED_CASE_HEADERS) + r"))"
    r"[ \t]*:(?=\s|$)",
    re.MULTILINE,
)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")

_SECTION_ALIASES = {
    "comparisons": "comparison", "comparison exam": "comparison", "reference exam": "comparison",
    "clinical history": "history", "clinical information": "history",
    "patient history": "history", "reason for exam": "indication",
    "reason for examination": "indication", "clinical indication": "indication",
    "indications": "indication", "conclusion": "impression", "conclusions": "impression",
    "impressions": "impression", "findings and impression": "impression",
    "impression and findings": "impression", "finding": "findings", "exam": "examination",
    "type of examination": "examination", "recommendation": "recommendations",
    "recommendation(s)": "recommendations",
}
# As in the official parser: a name containing one of these becomes it...
_MAIN_SECTIONS = ("impression", "findings", "history", "comparison", "addendum")
# ...and a header that names the exam itself ("CHEST (PA AND LAT):") heads the findings.
_EXAM_WORDS = re.compile(
    r"chest|portable|pa and lat|lateral and pa|ap and lat|lateral and ap|frontal and|"
    r"two views|frontal view|pa view|ap view|one view|lateral view|frontal upright|"
    r"semi-upright|bone window|ribs"
)


def normalize_section_name(name: str) -> str:
    """Normalise a header ("COMPARISONS", "Reason for exam") to the official name."""
    name = " ".join(name.lower().split())
    if name in _SECTION_ALIASES:
        return _SECTION_ALIASES[name]
    for main in _MAIN_SECTIONS:
        if main in name:
            return main
    return "findings" if _EXAM_WORDS.search(name) else name


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _raw_sections(text: str) -> list[tuple[str, str]]:
    """(normalised name, collapsed text) in order, repeats kept; no header -> 'full report'."""
    matches = list(_HEADER.finditer(text))
    if not matches:
        return [("full report", _collapse(text))]
    sections = [("preamble", _collapse(text[: matches[0].start()]))]
    for match, following in zip(matches, matches[1:] + [None]):
        end = following.start() if following is not None else len(text)
        sections.append((normalize_section_name(match.group("name")),
                         _collapse(text[match.end():end])))
    return sections


def split_sections(text: str) -> dict[str, str]:
    """Split a report into {section name: text}, in order of first appearance.

    Text before the first header is "preamble" (omitted when empty, where the
    official parser keeps an empty one); a report without headers is
    "full report". A repeated header has its texts joined with a space. Empty
    findings/impression sections are dropped; other empty sections are kept,
    since a blank COMPARISON is itself information. When neither findings nor
    impression remains, the last paragraph (after the last blank line, or the
    whole text when there is none, where the official parser gives nothing)
    is added as "last_paragraph".
    """
    if not isinstance(text, str):
        return {}
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    merged: dict[str, str] = {}
    for name, body in _raw_sections(text):
        if name in merged:
            merged[name] = f"{merged[name]} {body}".strip()
        else:
            merged[name] = body
    for name in ("preamble", "findings", "impression"):
        if name in merged and not merged[name]:
            del merged[name]
    if "findings" not in merged and "impression" not in merged:
        paragraphs = [p for p in (_collapse(p) for p in _BLANK_LINE.split(text)) if p]
        if paragraphs:
            merged["last_paragraph"] = paragraphs[-1]
    return merged


def section_order(text: str) -> list[str]:
    """The section names of `text` in order of first appearance."""
    return list(split_sections(text))


def _find_section(text: str, name: str) -> str:
    sections = split_sections(text)
    if name in sections:
        return sections[name]
    if "full report" in sections:
        # A paste without headers is taken to be the section itself.
        return text.strip()
    return sections.get("last_paragraph", "")


def find_findings(text: str) -> str:
    """The FINDINGS of a pasted report; else its last paragraph; else ("" if only an impression).

    Text with no headers at all is returned stripped, on the view that the
    user pasted the findings alone.
    """
    return _find_section(text, "findings")


def find_impression(text: str) -> str:
    """The IMPRESSION of a pasted report, with the same fallbacks as find_findings."""
    return _find_section(text, "impression")


# Sections that describe the image. INDICATION ("eval for pneumonia"), HISTORY,
# COMPARISON and TECHNIQUE name findings the image may not have, so a reader of what a
# report *found* skips them.
CLINICAL_SECTIONS = ("findings", "impression", "full report", "last_paragraph", "addendum", "wet read")


def clinical_text(text: str) -> str:
    """The parts of a report that describe the image (CLINICAL_SECTIONS), in order."""
    sections = split_sections(text)
    kept = [body for name, body in sections.items() if name in CLINICAL_SECTIONS and body]
    return " ".join(kept) if kept else " ".join(sections.values())


# --- sentences ---------------------------------------------------------------

# A sentence ends at . ? ! or ; followed by white space and a capital, digit, "_"
# (MIMIC's placeholder) or a bracket, or at a line break; list numbering ("1. ", "2) ")
# starts a new one. "3.4 cm" and "10:15" stay whole.
_SENTENCE_END = re.compile(r"(?<=[.?!;])(?<!\b\d\.)(?<!\b\d\d\.)\s+(?=[A-Z0-9_\[(])|\s*\n\s*|\s+(?=\(?\d{1,2}[.)]\s+[A-Z])")
_NUMBERING = re.compile(r"^\(?\d{1,2}[.)]\s+")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of TEXT, numbering and edge white space left out."""
    if not isinstance(text, str) or not text.strip():
        return []
    spans, start = [], 0
    for match in [*_SENTENCE_END.finditer(text), None]:
        end = match.start() if match is not None else len(text)
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip())
        numbering = _NUMBERING.match(piece[lead:])
        if numbering:
            lead += numbering.end()
        s, e = start + lead, start + len(piece.rstrip())
        if e > s:
            spans.append((s, e))
        if match is not None:
            start = match.end()
    return spans


def sentences(text: str) -> list[str]:
    """The sentences of TEXT (see sentence_spans)."""
    return [text[s:e] for s, e in sentence_spans(text)]


# --- PHI scrubbing -----------------------------------------------------------

_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_MONTH_WORD = re.compile(r"\b" + _MONTH, re.I)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"
_NAME_WORD = r"[A-Z][A-Za-z'\u2019-]+"


def _keep_prefix(match: re.Match[str]) -> str:
    return match.group("keep") + PHI_PLACEHOLDER


def _month_date(match: re.Match[str]) -> str | None:
    # "may 5" or "mar 3" in lower case is usually prose; trust a lower-case
    # month word only when a four-digit year comes with it.
    month = _MONTH_WORD.search(match.group(0))
    if month is not None and month.group(0).islower() and not re.search(_YEAR, match.group(0)):
        return None
    return PHI_PLACEHOLDER


def _short_date(match: re.Match[str]) -> str | None:
    # "1/2" and "2/3" are fractions far more often than dates; a bare
    # month/day is scrubbed only with a two-digit part ("01/02", "12/25").
    return PHI_PLACEHOLDER if len(match.group(0)) > 3 else None


_Replacement = Callable[[re.Match[str]], "str | None"]
# Order matters: phone numbers before dates (both contain dashes), dates
# before times and names ("Dr. Smith January 2").
_PHI_PATTERNS: tuple[tuple[re.Pattern[str], _Replacement], ...] = tuple(
    (re.compile(pattern, flags), replacement) for pattern, flags, replacement in (
        # phone numbers, with an extension
        (r"(?<![\w-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[.-])\d{3}[.-]\d{4}(?!\d)"
         r"(?:\s*(?:ext\.?|extension|x)\s*\d{1,6})?", re.I, lambda m: PHI_PLACEHOLDER),
        (r"(?<![\w.-])\d{3}-\d{4}(?![\w-])", 0, lambda m: PHI_PLACEHOLDER),
        (r"(?P<keep>\b(?:ext|extension|pager|beeper|pgr|tel|phone|telephone)\.?\s*[:#]?\s*)"
         r"\d{3,}", re.I, _keep_prefix),
        # dates: ISO (with an optional time), numeric, month names
        (r"\b\d{4}[-/.](?:1[0-2]|0?[1-9])[-/.](?:[12]\d|3[01]|0?[1-9])"
         r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z?)?(?!\d)", 0, lambda m: PHI_PLACEHOLDER),
        (r"\b\d{1,2}[/-]\d{1,2}[/-](?:\d{4}|\d{2})(?![\d/-])", 0, lambda m: PHI_PLACEHOLDER),
        (r"\b\d{1,2}\.\d{1,2}\.\d{4}(?!\d)", 0, lambda m: PHI_PLACEHOLDER),
        (rf"\b(?:{_DAY}(?:\s+of)?\s+{_MONTH}(?:,?\s+{_YEAR})?|{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?"
         rf"|{_MONTH},?\s+{_YEAR})(?![\w])", re.I, _month_date),
        (r"(?<![\d/.])(?:1[0-2]|0?[1-9])/(?:[12]\d|3[01]|0?[1-9])(?![\d/])", 0, _short_date),
        # times: "10:15", "8:19 AM", "10:15am", "8 pm", "1430 hours"
        (r"\b(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?!\d)(?:\s?(?:[ap]m\b|[ap]\.m\.))?", re.I,
         lambda m: PHI_PLACEHOLDER),
        (r"\b(?:1[0-2]|0?[1-9])\s?(?:[ap]m\b|[ap]\.m\.)", re.I, lambda m: PHI_PLACEHOLDER),
        (r"\b(?:[01]\d|2[0-3])[0-5]\d\s?(?:h|hrs|hours)\b", re.I, lambda m: PHI_PLACEHOLDER),
        # record numbers: labelled ones of any length, "#1234...", then any 6+ digit run
        (r"(?P<keep>\b(?:mrn|mr\s?#|mr\s?no\.?|medical record(?:\s?(?:number|no\.?|#))?|"
         r"acc(?:ession)?(?:\s?(?:number|no\.?|#))?|patient id|pt id|unit no\.?)\s*[:#]?\s*)"
         r"[a-z]{0,3}\d[\d-]{2,}", re.I, _keep_prefix),
        (r"#\s?\d{4,}", 0, lambda m: PHI_PLACEHOLDER),
        (r"(?<![\d.,])\d{6,}(?!\d|[.,]\d)", 0, lambda m: PHI_PLACEHOLDER),
        # names: after "Dr."/"Doctor", and before ", MD"/" M.D."
        (rf"(?P<keep>\b(?:[Dd]r|DR|[Dd]octor|DOCTOR)\.?\s+)(?:[A-Z]\.\s*)?{_NAME_WORD}"
         rf"(?:\s+(?:[A-Z]\.\s+)?{_NAME_WORD})?", 0, _keep_prefix),
        (rf"\b{_NAME_WORD}(?:\s+[A-Z]\.)?(?:\s+{_NAME_WORD})?(?=(?:,\s*|\s+)(?:M\.D\.|MD\b))", 0,
         lambda m: PHI_PLACEHOLDER),
    )
)


def scrub_phi_counted(text: str) -> tuple[str, int]:
    """Replace dates, times, names, record and phone numbers with "___"; return (text, count).

    Meant for text bound for a non-local API. Clinical numbers ("3.4 cm",
    "T8", "2 views", "50%", "1/2") are left alone, as are existing "___".
    This is pattern matching, not a guarantee: it lowers risk, it does not
    certify text as de-identified.
    """
    if not isinstance(text, str) or not text:
        return "", 0
    count = 0

    def replace(match: re.Match[str], replacement: _Replacement) -> str:
        nonlocal count
        new = replacement(match)
        if new is None:
            return match.group(0)
        count += 1
        return new

    for pattern, replacement in _PHI_PATTERNS:
        text = pattern.sub(lambda m, r=replacement: replace(m, r), text)
    return text, count


def scrub_phi(text: str) -> str:
    """scrub_phi_counted without the count."""
    return scrub_phi_counted(text)[0]


# --- middle truncation -------------------------------------------------------


def _word_count(text: str) -> int:
    return len(text.split())


def truncate_middle(
    text: str, max_tokens: int, count_tokens: Callable[[str], int] = _word_count
) -> tuple[str, bool]:
    """Shorten `text` to at most `max_tokens` by cutting out its middle; return (text, cut?).

    Keeps a head and a tail of about equal length, cut on whitespace where
    possible, joined by TRUNCATION_MARKER. The cut is found by binary search
    over its size, so `count_tokens` runs O(log len(text)) times; every
    candidate is counted whole, so the bound holds for any tokenizer. If even
    the marker alone does not fit, returns ("", True).
    """
    if count_tokens(text) <= max_tokens:
        return text, False
    marker_only = TRUNCATION_MARKER.strip()
    if count_tokens(marker_only) > max_tokens:
        return "", True

    def candidate(keep: int) -> str:
        head_end, tail_start = keep, len(text) - keep
        # Back off to whitespace, unless that would lose over half the piece.
        space = _last_space(text, head_end // 2, head_end + 1)
        if space != -1:
            head_end = space
        space = _first_space(text, tail_start - 1, tail_start + keep // 2)
        if space != -1:
            tail_start = space
        head, tail = text[:head_end].rstrip(), text[tail_start:].lstrip()
        if not head and not tail:
            return marker_only
        return f"{head}{TRUNCATION_MARKER}{tail}".strip()

    def fits(keep: int) -> str | None:
        shortened = candidate(keep)
        return shortened if count_tokens(shortened) <= max_tokens else None

    # Gallop up from a small cut, then bisect: the cost then grows with the
    # size of the answer, not of the text (a 1 MB report cut to 512 tokens
    # never counts a 500 kB candidate).
    best, low, limit, keep = marker_only, 0, (len(text) - 1) // 2, 64
    while keep <= limit and (shortened := fits(keep)) is not None:
        best, low, keep = shortened, keep, keep * 2
    high = min(keep, limit + 1)
    while high - low > 1:
        middle = (low + high) // 2
        shortened = fits(middle)
        if shortened is not None:
            best, low = shortened, middle
        else:
            high = middle
    return best, True


def _last_space(text: str, start: int, end: int) -> int:
    return max(text.rfind(char, max(start, 0), end) for char in " \n\t")


def _first_space(text: str, start: int, end: int) -> int:
    found = [i for i in (text.find(char, max(start, 0), end) for char in " \n\t") if i != -1]
    return min(found, default=-1)
