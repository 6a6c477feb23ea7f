"""Report text: section splitting, findings/impression lookup, middle truncation.

This module owns everything that reads or rewrites the free text of a
radiology report, independent of any task or model:

    >>> split_sections(" FINDINGS: No effusion.\\n IMPRESSION: Normal.")
    {'findings': 'No effusion.', 'impression': 'Normal.'}
    >>> truncate_middle("one two three four five six", 5)
    ('one two [...] five six', True)

Section splitting follows the official MIMIC-CXR parser (MIT-LCP mimic-cxr,
txt/section_parser.py and create_section_files.py) so sections match the
`mimic_cxr_sectioned.csv` the loaders read; its header names are in
radphi.section_names, and every deliberate departure is named in `parse_sections`
and shown by tests/test_section_parser.py. De-identification (PHI scrubbing)
lives in `radphi.deid`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from radphi.section_names import EXAM_WORDS, MAIN_SECTIONS, MIXED_CASE_HEADERS, SECTION_NAMES

__all__ = [
    "CLINICAL_SECTIONS", "TRUNCATION_MARKER", "clinical_text", "find_findings",
    "find_impression", "normalize_section_name", "section_order",
    "sentence_spans", "sentences", "split_sections", "truncate_middle",
]

TRUNCATION_MARKER = " [...] "

# --- section splitting -------------------------------------------------------

# A header is a name and a colon at the start of a line. The official parser
# (r"\n ([A-Z ()/,-]+):\s") needs a newline and exactly one space before it; real
# and pasted text varies, so here a header may also start the text, be indented by
# any spaces or tabs (or none), and end the text. Upper-case names are any; other
# cases only the known ones (section_names.MIXED_CASE_HEADERS).
_HEADER = re.compile(
    r"^[ \t]*(?P<name>[A-Z][A-Z ()/,&-]*[A-Z)]|(?i:"
    + "|".join(re.escape(n) for n in MIXED_CASE_HEADERS) + r"))"
    r"[ \t]*:(?=\s|$)",
    re.MULTILINE,
)
# A known header (the same names, in upper case) inside a one-line report, at its start or
# after a sentence (see parse_sections).
_INLINE_HEADER = re.compile(r"(?:^|(?<=[.;]))\s*(?P<name>" + "|".join(re.escape(n.upper()) for n in MIXED_CASE_HEADERS)
                            + r")\s*:(?=\s|$)")
# A blank line: MIMIC writes " \n" lines (the official parser splits on "\n \n"); a
# paste has "\n\n" or lines of tabs.
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_ITEM_START = re.compile(r"(?:\(?\d{1,2}[.)]|[-*\u2022])\s")


@dataclass(frozen=True)
class Section:
    """One section of a report, as written: NAME normalised ("impression" for
    "IMPRESSON"), HEADER as written (None for the preamble, a report without headers
    and the last paragraph), BODY its text exactly as in the report (line breaks
    normalised to "\\n") and START/END where BODY lies in that text."""

    name: str
    header: str | None
    body: str
    start: int
    end: int

    @property
    def text(self) -> str:
        """The body as the report has it, with hard line wraps undone: each line's
        indentation and trailing spaces removed, a wrapped line joined to the one before
        with a space, but a blank line (a paragraph break, kept as one empty line) and a
        line that starts a numbered or bulleted item kept as breaks."""
        out: list[str] = []
        for line in (raw.strip() for raw in self.body.split("\n")):
            if not line:
                if out and out[-1]:
                    out.append("")
            elif out and out[-1] and not _ITEM_START.match(line):
                out[-1] += " " + line
            else:
                out.append(line)
        while out and not out[-1]:
            out.pop()
        return "\n".join(out)

    @property
    def flat(self) -> str:
        """The body with all white space collapsed to single spaces."""
        return " ".join(self.body.split())


def normalize_section_name(name: str) -> str:
    """Normalise a header ("COMPARISONS", "Reason for exam", "IMPRESSON") to its section name."""
    name = " ".join(name.lower().split())
    if name in SECTION_NAMES:
        return SECTION_NAMES[name]
    for main in MAIN_SECTIONS:
        if main in name:
            return main
    return "findings" if EXAM_WORDS.search(name) else name


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_sections(text: str) -> list[Section]:
    """Every section of a report in order, repeats and empty ones kept.

    The official parser's rules, with these departures (tests/test_section_parser.py):

    - a header may start the text and be indented by any amount, or not at all;
    - the next header is looked for right after a header's colon. The official parser
      looks only after the first line break following it, so "FINDINGS:" with
      "IMPRESSION: ..." on the next line loses the impression into the findings; here the
      findings are empty and the impression is found;
    - a blank line is any line of spaces or tabs, not only MIMIC's " ";
    - a report on one line ("INDICATION: ... FINDINGS: ... IMPRESSION: ...", as pasted) is
      split at its known headers inside the line; the official parser keeps it whole.

    Text before the first header is "preamble" (also when empty, as officially); a
    report without headers is one "full report" section. When no findings or
    impression section has a body, the last section is split at its first blank line
    and what follows becomes "last_paragraph" (the official rule: many reports are a
    header or two followed by a few paragraphs of findings).
    """
    if not isinstance(text, str):
        return []
    text = _normalise_newlines(text)
    matches = list(_HEADER.finditer(text))
    if "\n" not in text.strip() and len(matches) <= 1:
        # A report pasted as one line ("INDICATION: ... FINDINGS: ... IMPRESSION: ..."): its
        # headers stand inside the line, after a sentence or at the start.
        matches = list(_INLINE_HEADER.finditer(text)) or matches
    if not matches:
        out = [Section("full report", None, text, 0, len(text))]
    else:
        out = [Section("preamble", None, text[: matches[0].start()], 0, matches[0].start())]
        for match, following in zip(matches, matches[1:] + [None]):
            end = following.start() if following is not None else len(text)
            out.append(Section(normalize_section_name(match.group("name")), " ".join(match.group("name").split()),
                               text[match.end():end], match.end(), end))
    if not any(s.name in ("findings", "impression") and s.body.strip() for s in out):
        last = out[-1]
        body = last.body.strip("\n")
        blank = _BLANK_LINE.search(last.body, last.body.find(body[:1]) if body else 0)
        if blank is not None and last.body[blank.end():].strip():
            cut = last.start + blank.start()
            out[-1] = Section(last.name, last.header, text[last.start:cut], last.start, cut)
            out.append(Section("last_paragraph", None, text[last.start + blank.end():last.end],
                               last.start + blank.end(), last.end))
    return out


def find_section(text: str, name: str) -> Section | None:
    """The report's own section NAME: the last one with a body, as the official
    `create_section_files.py` keeps the last of two FINDINGS sections (usually the
    first is an empty exam title, or a preliminary read the final one replaces)."""
    found = [s for s in parse_sections(text) if s.name == name and s.body.strip()]
    return found[-1] if found else None


def split_sections(text: str) -> dict[str, str]:
    """A report as {section name: text, white space collapsed}, in order of first appearance.

    A repeated section keeps its last non-empty text (the official rule). An empty
    findings, impression or preamble is left out; other empty sections are kept, since
    a blank COMPARISON is itself information. See `parse_sections` for the rest.
    """
    if not isinstance(text, str):
        return {}
    merged: dict[str, str] = {}
    for section in parse_sections(text):
        if section.name in merged and not section.flat:
            continue
        merged[section.name] = section.flat
    for name in ("preamble", "findings", "impression"):
        if name in merged and not merged[name]:
            del merged[name]
    return merged


def section_order(text: str) -> list[str]:
    """The section names of `text` in order of first appearance."""
    return list(split_sections(text))


def _find_text(text: str, name: str) -> str:
    section = find_section(text, name)
    if section is not None:
        return section.flat
    sections = parse_sections(text)
    if sections and sections[0].name == "full report":
        # A paste without headers is taken to be the section itself.
        return text.strip()
    last = find_section(text, "last_paragraph")
    return last.flat if last is not None else ""


def find_findings(text: str) -> str:
    """The FINDINGS of a pasted report, white space collapsed (`find_section(text,
    "findings").text` keeps its lines); else its last paragraph; else "" (for instance
    when it has only an impression).

    Text with no headers at all is returned stripped, on the view that the user pasted
    the findings alone.
    """
    return _find_text(text, "findings")


def find_impression(text: str) -> str:
    """The IMPRESSION of a pasted report, with the same fallbacks as find_findings."""
    return _find_text(text, "impression")


# Sections that describe the image. INDICATION ("eval for pneumonia"), HISTORY,
# COMPARISON and TECHNIQUE name findings the image may not have, so a reader of what a
# report *found* skips them.
CLINICAL_SECTIONS = ("findings", "impression", "full report", "last_paragraph", "addendum", "wet read")


def clinical_text(text: str) -> str:
    """The parts of a report that describe the image (CLINICAL_SECTIONS), in order; every
    repeat of a section included (an addendum after another, two findings sections)."""
    sections = parse_sections(text)
    kept = [s.flat for s in sections if s.name in CLINICAL_SECTIONS and s.flat]
    return " ".join(kept) if kept else " ".join(s.flat for s in sections if s.flat)


# --- sentences ---------------------------------------------------------------

# A sentence ends at . ? ! ; or : followed by white space and a capital, digit, "_"
# (MIMIC's placeholder) or a bracket, or at a line break; list numbering ("1. ", "2) ")
# starts a new one. So an inline header ("FINDINGS: The lungs ...") is a sentence of its
# own. "3.4 cm", "10:15" and "Dr. Smith" stay whole.
_SENTENCE_END = re.compile(r"(?<=[.?!;:])(?<!\b[DdMm]r\.)(?<!\bMs\.)(?<!\bMrs\.)(?<!\bvs\.)\s+(?=[A-Z0-9_\[(])|\s*\n\s*|\s+(?=\(?\d{1,2}[.)]\s+[A-Z])")
_NUMBERING = re.compile(r"^\(?\d{1,2}[.)]\s+")
# List numbering split off as a piece of its own ("1." before "Small effusion."): no sentence.
_BARE_NUMBER = re.compile(r"^\(?\d{1,2}[.)]\s*$")


# Dictation in lower case starts sentences without a capital: a full stop after a word of
# two letters or more before a lower-case word ends a sentence too (not after "vs.",
# "approx.", "e.g.", "a.m.", an initial).
_LOWER_CASE_END = re.compile(r"(?<=[a-z0-9)][a-z0-9)]\.)(?<!\bvs\.)(?<!\bapprox\.)(?<!\bdr\.)(?<!\bno\.)(?<!\bst\.)"
                             r"(?<!\bcf\.)(?<!\betc\.)(?<!\bapp\.)(?<!\bmr\.)(?<!\bms\.)(?<!\bpt\.)(?<!\bhx\.)(?<!\bfig\.)"
                             r"\s+(?=[a-z])")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of TEXT, numbering and edge white space left out."""
    if not isinstance(text, str) or not text.strip():
        return []
    spans, start = [], 0
    ends = sorted([*_SENTENCE_END.finditer(text), *_LOWER_CASE_END.finditer(text)], key=lambda m: m.start())
    for match in [*ends, None]:
        end = match.start() if match is not None else len(text)
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip())
        numbering = _NUMBERING.match(piece[lead:]) or _BARE_NUMBER.match(piece[lead:])
        if numbering:
            lead += numbering.end()
        s, e = start + lead, start + len(piece.rstrip())
        if e > s:
            spans.append((s, e))
        if match is not None:
            start = match.end()
    return spans


def sentences(text: str, *, flat: bool = False) -> list[str]:
    """The sentences of TEXT (see sentence_spans). FLAT: white space collapsed to single
    spaces first, so a line break inside a sentence does not end it."""
    if flat and isinstance(text, str):
        text = " ".join(text.split())
    return [text[s:e] for s, e in sentence_spans(text)]


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
