"""MIT-LCP's hand-written section rules for the MIMIC-CXR reports its parser cannot section.

MIT-LCP/mimic-cxr `txt/section_parser.py` (`custom_mimic_cxr_rules`) names 54 studies;
its `create_section_files.py` takes their conclusion from these rules and leaves them
out of `mimic_cxr_sectioned.csv`, so a loader that sections them itself must honour the
same rules:

- 23 studies whose conclusion sits in a misnamed section (the *last* section of that
  name, after the official splitting): used as the impression; findings, when the
  official splitting finds a findings section, are kept.
- 23 studies whose conclusion is a fixed character span of the report file: used as the
  impression; no findings (the automatic sections of these reports are wrong).
- 8 studies with the span [0, 0]: "no findings at all in the entire report": no
  findings, no impression, so no record.

The study ids and rules below are facts about the dataset, read from that file (MIT
licence); the code is ours. The official splitting is re-implemented here (not with
`radphi.reports.split_sections`, which is deliberately more tolerant) because the
rules' "last section named X" depends on its exact boundaries: a header is
`\\n ([A-Z ()/,-]+):\\s`, and the next header is looked for only after the first newline
following a header. Names are normalised by `radphi.reports.normalize_section_name`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from radphi.reports import normalize_section_name

# study -> the section name that holds its conclusion
CUSTOM_SECTION_NAMES: dict[str, str] = {
    "50913680": "recommendations", "59363654": "examination", "59279892": "technique",
    "59768032": "recommendations", "57936451": "indication", "50058765": "indication",
    "53356173": "examination", "53202765": "technique", "50808053": "technique",
    "51966317": "indication", "50743547": "examination", "56451190": "note",
    "59067458": "recommendations", "59215320": "examination", "55124749": "indication",
    "54365831": "indication", "59087630": "recommendations", "58157373": "recommendations",
    "56482935": "recommendations", "58375018": "recommendations", "54654948": "indication",
    "55157853": "examination", "51491012": "history",
}

# study -> [start, end) of its conclusion in the report file's text; (0, 0): none at all
CUSTOM_INDICES: dict[str, tuple[int, int]] = {
    "50525523": (201, 349), "57564132": (233, 554), "59982525": (313, 717), "53488209": (149, 475),
    "54875119": (234, 988), "50196495": (59, 399), "56579911": (59, 218), "52648681": (292, 631),
    "59889364": (172, 453), "53514462": (73, 377), "59505494": (59, 450), "53182247": (59, 412),
    "51410602": (47, 320), "56412866": (522, 822), "54986978": (59, 306), "59003148": (262, 505),
    "57150433": (61, 394), "56760320": (219, 457), "59562049": (158, 348), "52674888": (145, 296),
    "55258338": (192, 568), "59330497": (140, 655), "52119491": (179, 454),
    "58235663": (0, 0), "50798377": (0, 0), "54168089": (0, 0), "53071062": (0, 0),
    "56724958": (0, 0), "54231141": (0, 0), "53607029": (0, 0), "52035334": (0, 0),
}

_OFFICIAL_HEADER = re.compile(r"\n ([A-Z ()/,-]+):\s")


def official_sections(text: str) -> list[tuple[str, str]]:
    """(normalised name, raw text) of each section, as the official `section_text` splits them."""
    first = _OFFICIAL_HEADER.search(text)
    if first is None:
        return [("full report", text)]
    sections = [("preamble", text[: first.start(1)])]
    match: re.Match[str] | None = first
    while match is not None:
        start = match.end()
        skip = text.find("\n", start)  # the official parser looks past the header's own line
        following = _OFFICIAL_HEADER.search(text, skip if skip != -1 else start)
        end = following.start() if following is not None else len(text)
        sections.append((normalize_section_name(match.group(1)), text[start:end]))
        match = following
    return sections


def _last(sections: list[tuple[str, str]], name: str, skip_empty: bool = False) -> str:
    for section_name, body in reversed(sections):
        if section_name == name and not (skip_empty and not body.strip()):
            return " ".join(body.split())
    return ""


@dataclass(frozen=True)
class RuleSections:
    """The sections a hand-written rule gives one study, and which rule gave them."""

    rule: str  # official_rule_section_name | official_rule_conclusion_span | official_rule_no_findings
    findings: str
    impression: str


def rule_sections(study: str, raw_text: str) -> RuleSections | None:
    """The sections of STUDY by MIT-LCP's hand-written rules, or None when no rule names it.

    RAW_TEXT is the report file read as text (universal newlines), as the official
    script reads it, so the character spans fall where it put them.
    """
    if study in CUSTOM_INDICES:
        start, end = CUSTOM_INDICES[study]
        if start == end:
            return RuleSections("official_rule_no_findings", "", "")
        return RuleSections("official_rule_conclusion_span", "", " ".join(raw_text[start:end].split()))
    if study in CUSTOM_SECTION_NAMES:
        sections = official_sections(raw_text)
        return RuleSections("official_rule_section_name", _last(sections, "findings", skip_empty=True),
                            _last(sections, CUSTOM_SECTION_NAMES[study]))
    return None
