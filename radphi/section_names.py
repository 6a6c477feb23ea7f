"""Report section headers: what each written header ("IMPRESSON", "Reason for exam") means.

The vocabulary behind `radphi.reports.normalize_section_name`, kept apart from the
parser because it is data. It starts from the table of MIT-LCP's official MIMIC-CXR
section parser (mimic-cxr `txt/section_parser.py`, `normalize_section_names`: the
frequent headers with their counts in MIMIC-CXR, and the misspellings its authors
found, each seen once to a few times), and adds headers of pasted reports from other
systems. The names are facts about the reports; the code that uses them is ours.

Where this table deliberately departs from the official one, the entry says so.
"""

from __future__ import annotations

import re

# header (lower case, single spaces) -> section name. The official table first.
OFFICIAL_NAMES: dict[str, str] = {
    "preamble": "preamble", "impression": "impression", "comparison": "comparison",
    "indication": "indication", "findings": "findings", "examination": "examination",
    "technique": "technique", "history": "history", "comparisons": "comparison",
    "clinical history": "history", "reason for examination": "indication",
    "notification": "notification", "reason for exam": "indication",
    "clinical information": "history", "exam": "examination", "clinical indication": "indication",
    "conclusion": "impression", "chest, two views": "findings",
    "recommendation(s)": "recommendations", "type of examination": "examination",
    "reference exam": "comparison", "patient history": "history", "addendum": "addendum",
    "comparison exam": "comparison", "date": "date", "comment": "comment",
    "findings and impression": "impression", "wet read": "wet read", "comparison film": "comparison",
    "recommendations": "recommendations", "findings/impression": "impression", "pfi": "history",
    "recommendation": "recommendations", "wetread": "wet read",
    # misspellings seen in MIMIC-CXR
    "impresson": "impression", "imprression": "impression", "imoression": "impression",
    "impressoin": "impression", "imprssion": "impression", "impresion": "impression",
    "imperssion": "impression", "mpression": "impression", "impession": "impression",
    "findings/ impression": "impression", "finding": "findings", "findins": "findings",
    "findindgs": "findings", "findgings": "findings", "findngs": "findings",
    "findnings": "findings", "finidngs": "findings", "idication": "indication",
    "reference findings": "findings", "comparision": "comparison", "comparsion": "comparison",
    "comparrison": "comparison", "comparisions": "comparison",
    # Deliberate departures (tests/test_section_parser.py shows each):
    # - the official table maps "ndication" to impression (one study of MIMIC-CXR, where
    #   that was right); as a general rule the word is a misspelt INDICATION, and taking an
    #   indication ("?pna") for the conclusion would put a question into the impression.
    "ndication": "indication",
    # - the official table maps these to "conclusion" and stops there, so the official
    #   parser never finds their impression; a conclusion is the impression.
    "concusion": "impression", "coinclusion": "impression",
}

# Headers of pasted reports from other systems (not in the official table).
EXTRA_NAMES: dict[str, str] = {
    "impressions": "impression", "conclusions": "impression", "impression and findings": "impression",
    "indications": "indication", "reason for study": "indication", "exam reason": "indication",
    "reason": "indication", "clinical details": "history", "procedure": "examination",
    "type of exam": "examination", "comparison study": "comparison", "prior": "comparison",
    "priors": "comparison", "summary": "impression", "opinion": "impression",
}

SECTION_NAMES: dict[str, str] = {**OFFICIAL_NAMES, **EXTRA_NAMES}

# As in the official parser: a header containing one of these words is that section
# ("ADDENDUM #1", "FINDINGS IN DETAIL")...
MAIN_SECTIONS = ("impression", "findings", "history", "comparison", "addendum")
# ...and a header that names the exam itself ("CHEST (PA AND LAT):") heads the findings.
# The official list, with "semi-upright" for its "frontal semi-upright" (any semi-upright view).
EXAM_WORDS = re.compile(
    r"chest|portable|pa and lat|lateral and pa|ap and lat|lateral and ap|frontal and|"
    r"two views|frontal view|pa view|ap view|one view|lateral view|frontal upright|"
    r"semi-upright|bone window|ribs"
)

# Headers accepted in any case. MIMIC headers are upper case, and any upper-case
# "NAME:" at the start of a line is a header; pasted reports from other systems often
# write "Findings:", but accepting every mixed-case "Word:" line would split findings on
# structured lines such as "Heart: normal size". So only known names, and not those
# that read as ordinary words at a line's start ("Date:", "Comment:",
# "Prior:", "Reason:", "Summary:", "Opinion:", "Procedure:").
_NOT_MIXED_CASE = {"date", "comment", "prior", "priors", "reason", "summary", "opinion", "procedure",
                   "preamble"}
MIXED_CASE_HEADERS = tuple(sorted((name for name in SECTION_NAMES if name not in _NOT_MIXED_CASE),
                                  key=len, reverse=True))
