"""Deterministic section work: the report's own findings and impression, and clean-up by
the paper's instruction, each with what was left out and why.

- `own_section(report, "findings")`: the report's FINDINGS (or IMPRESSION) section as
  written, found by radphi.reports' parser; None when the report has none, and only then
  does a model decide what the findings are.
- `clean_up(text)`: keeps every sentence that names a finding, a hedge or a change, and
  removes only what the clean-up instruction (radphi.tasks, `cleanup_report_text`) names:
  change wording, follow-up advice, doctor names and other noise. Section headers of the
  findings and impression stay. Every removal is a `Piece` with its reason, so the page
  can show it struck through beside the result.

Hand-written rules, because the instruction's categories are specific to radiology
reports (no library names "follow-up advice" or "communication of results"); what a
sentence says of a finding is read by radphi.verify.reading, the checker's reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from radphi import reports

FINDINGS, IMPRESSION = "findings", "impression"

CHANGE, ADVICE, NAMES, NOISE, OTHER_SECTION = (
    "change wording", "follow-up advice", "names and communication", "noise", "not findings or impression")


@dataclass(frozen=True)
class Piece:
    """A run of the input: kept (REASON None) or removed (REASON says which rule)."""

    text: str
    reason: str | None = None

    @property
    def removed(self) -> bool:
        return self.reason is not None


def own_section(report: str, name: str) -> str | None:
    """The report's own NAME section ("findings" or "impression") as written (hard wraps
    undone, `reports.Section.text`), or None when the parser finds none."""
    section = reports.find_section(report, name)
    return section.text if section is not None else None


# --- clean-up ----------------------------------------------------------------

_ADVICE = re.compile(
    r"\b(?:recommend\w*|suggest(?:ed|s)?\b(?!ive)|advis\w*|follow[- ]?up|consider\w*|could be (?:obtained|performed)"
    r"|(?:correlat\w*|correlation)\s+(?:clinically|with)|clinical correlation|if (?:clinically )?indicated"
    r"|should be (?:obtained|performed)|(?:repeat|further) (?:imaging|radiograph|evaluation|ct|study))", re.I)
_NAMES = re.compile(
    r"\b(?:dr\.?|doctor|discussed|communicated|telephoned|paged|notified|conveyed|relayed|informed|called"
    r"|spoke|by phone|via telephone|at the time of (?:this|the) (?:dictation|report)|nurse|np\b|pa\b|m\.?d\.?\b)",
    re.I)
_NOISE = re.compile(
    r"^(?:_+|\[?\s*(?:electronically )?signed.*|dictated by.*|report (?:read|approved) by.*|end of (?:the )?report\.?"
    r"|\W*)$", re.I)
# Comparison phrases with no finding of their own; removed from inside a kept sentence.
_COMPARISON = re.compile(
    r"(?:^|(?<=[,;]\s)|(?<=^))(?:(?:as |when )?compared (?:to|with)|in comparison (?:to|with)|since|relative to)"
    r"\s+(?:the\s+)?(?:prior|previous|preceding|last|recent|most recent|earlier|___)[^,.;]*(?:,\s*|$)"
    r"|,?\s+(?:as |when )?compared (?:to|with) (?:the\s+)?(?:prior|previous|preceding|last|earlier|___)[^,.;]*"
    r"|,?\s+(?:since|from) (?:the\s+)?(?:prior|previous|preceding|last|earlier) (?:study|exam\w*|radiograph|film|image)s?"
    r"|,?\s+in the interval\b", re.I)
# A kept sentence's communication tail: ", discussed with Dr. ___ at 10:15".
_COMMUNICATION_TAIL = re.compile(
    r"[,;]?\s+(?:(?:and\s+)?(?:these\s+|this\s+|the\s+)?(?:findings?|results?)\s+(?:were|was)\s+)?"
    r"(?:discussed|communicated|telephoned|conveyed|relayed|reviewed)\s+(?:with|to)\b(?:[^.;]|(?<=\b[DdMm]r)\.|(?<=\bMrs)\.)*",
    re.I)


def _carries(sentence: str) -> bool:
    """Whether SENTENCE names a finding, a hedge or a change (so it must be kept)."""
    from radphi.verify.reading import change_in, hedged, read

    return bool(read(sentence).mentions or hedged(sentence) or change_in(sentence))


def _trim(sentence: str) -> list[Piece]:
    """A kept sentence with its comparison phrases and communication tail removed, when
    what remains still names each of its findings."""
    from radphi.verify.reading import read

    labels = {m.label for m in read(sentence).mentions}
    pieces: list[Piece] = []
    at = 0
    cuts = [(m.start(), m.end(), CHANGE) for m in _COMPARISON.finditer(sentence) if m.end() > m.start()]
    cuts += [(m.start(), m.end(), NAMES) for m in _COMMUNICATION_TAIL.finditer(sentence)]
    for start, end, reason in sorted(cuts):
        if start < at:
            continue
        rest = sentence[:start] + sentence[end:]
        if not rest.strip(" ,;.") or {m.label for m in read(rest).mentions} != labels:
            continue
        pieces.append(Piece(sentence[at:start]))
        pieces.append(Piece(sentence[start:end], reason))
        at = end
    pieces.append(Piece(sentence[at:]))
    pieces = [p for p in pieces if p.text]
    if pieces and pieces[0].removed and len(pieces) > 1:  # the sentence lost its start: capitalise
        first = pieces[1].text
        pieces[1] = Piece(first[:1].upper() + first[1:])
    return pieces


def _clean_sentence(sentence: str) -> list[Piece]:
    if _carries(sentence):
        return _trim(sentence)
    if _NOISE.match(sentence.strip()):
        return [Piece(sentence, NOISE)]
    if _ADVICE.search(sentence):
        return [Piece(sentence, ADVICE)]
    if _NAMES.search(sentence):
        return [Piece(sentence, NAMES)]
    return [Piece(sentence)]


_KEEP_SECTIONS = ("findings", "impression", "full report", "last_paragraph", "addendum", "wet read")


def clean_up_pieces(text: str) -> list[Piece]:
    """TEXT as kept and removed pieces, in order (see the module docstring). Joined, all
    the pieces give TEXT's sections back (white space within them collapsed)."""
    out: list[Piece] = []
    for section in reports.parse_sections(text):
        body = section.flat
        if section.header is None and not body:
            continue
        keep = section.name in _KEEP_SECTIONS
        header = f"{section.header}:" if section.header else ""
        if out:
            out.append(Piece("\n"))
        if not keep:
            out.append(Piece(" ".join(x for x in (header, body) if x), OTHER_SECTION))
            continue
        if header:
            out.append(Piece(header + (" " if body else "")))
        spans = reports.sentence_spans(body)
        for i, (start, end) in enumerate(spans):
            gap = body[spans[i - 1][1]:start] if i else body[:start]
            if gap:
                out.append(Piece(gap))
            out.extend(_clean_sentence(body[start:end]))
    # Removed runs merge; kept runs merge.
    merged: list[Piece] = []
    for piece in out:
        if merged and merged[-1].reason == piece.reason:
            merged[-1] = Piece(merged[-1].text + piece.text, piece.reason)
        else:
            merged.append(piece)
    return merged


def clean_up(text: str) -> tuple[str, list[Piece]]:
    """(the cleaned text, its pieces): the kept pieces joined, spaces tidied."""
    pieces = clean_up_pieces(text)
    kept = "".join(p.text for p in pieces if not p.removed)
    lines = [re.sub(r"\s+([,.;])", r"\1", re.sub(r"[ \t]+", " ", line)).strip(" ,;") for line in kept.split("\n")]
    lines = [_capitalise(line) for line in lines if line]
    return "\n".join(lines), pieces


def _capitalise(line: str) -> str:
    """A line whose first sentence lost its start ("moderate atelectasis") starts with a capital."""
    head, sep, rest = line.partition(": ")
    if sep and head.isupper():
        return f"{head}: {rest[:1].upper()}{rest[1:]}"
    return line[:1].upper() + line[1:]
