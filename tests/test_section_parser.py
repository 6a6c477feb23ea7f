"""The section parser (radphi.reports) against a set of header variants and edge cases.

Expected outputs are the official MIT-LCP MIMIC-CXR parser's (mimic-cxr
txt/section_parser.py with create_section_files.py's "last section of a name") where
its behaviour is right; where ours deliberately differs, the test says "DEPARTURE"
and what the official parser gives.
"""

from __future__ import annotations

import pytest

from radphi.reports import find_findings, find_impression, find_section, normalize_section_name, parse_sections, \
    split_sections
from radphi.section_names import OFFICIAL_NAMES

# (header as written, what the official table makes of it)
OFFICIAL_VARIANTS = [
    ("IMPRESSON", "impression"), ("IMPRRESSION", "impression"), ("IMORESSION", "impression"),
    ("IMPRESSOIN", "impression"), ("IMPRSSION", "impression"), ("IMPRESION", "impression"),
    ("IMPERSSION", "impression"), ("MPRESSION", "impression"), ("IMPESSION", "impression"),
    ("FINDINGS/ IMPRESSION", "impression"), ("FINDINGS/IMPRESSION", "impression"),
    ("FINDINGS AND IMPRESSION", "impression"), ("CONCLUSION", "impression"),
    ("FINDING", "findings"), ("FINDINS", "findings"), ("FINDINDGS", "findings"), ("FINDGINGS", "findings"),
    ("FINDNGS", "findings"), ("FINDNINGS", "findings"), ("FINIDNGS", "findings"),
    ("REFERENCE FINDINGS", "findings"), ("CHEST, TWO VIEWS", "findings"),
    ("IDICATION", "indication"), ("REASON FOR EXAMINATION", "indication"), ("REASON FOR EXAM", "indication"),
    ("CLINICAL INDICATION", "indication"),
    ("COMPARISION", "comparison"), ("COMPARSION", "comparison"), ("COMPARRISON", "comparison"),
    ("COMPARISIONS", "comparison"), ("COMPARISONS", "comparison"), ("REFERENCE EXAM", "comparison"),
    ("COMPARISON EXAM", "comparison"), ("COMPARISON FILM", "comparison"),
    ("CLINICAL HISTORY", "history"), ("CLINICAL INFORMATION", "history"), ("PATIENT HISTORY", "history"),
    ("PFI", "history"), ("TYPE OF EXAMINATION", "examination"), ("EXAM", "examination"),
    ("RECOMMENDATION(S)", "recommendations"), ("RECOMMENDATION", "recommendations"),
    ("WETREAD", "wet read"), ("NOTIFICATION", "notification"), ("TECHNIQUE", "technique"),
    # the official substring and exam-title rules
    ("ADDENDUM TO REPORT", "addendum"), ("PA AND LATERAL VIEWS OF THE CHEST", "findings"),
    ("PORTABLE AP CHEST RADIOGRAPH", "findings"), ("FRONTAL SEMI-UPRIGHT", "findings"),
    ("NOTE", "note"),
]


@pytest.mark.parametrize("header, expected", OFFICIAL_VARIANTS)
def test_header_variants_as_the_official_table(header, expected):
    assert normalize_section_name(header) == expected


def test_every_official_entry_is_honoured_bar_the_named_departures():
    departures = {"ndication", "concusion", "coinclusion"}
    for header, name in OFFICIAL_NAMES.items():
        if header not in departures:
            assert normalize_section_name(header.upper()) == name, header
    assert len(OFFICIAL_NAMES) >= 60


def test_departure_ndication_is_an_indication_not_an_impression():
    # DEPARTURE: the official table maps "ndication" to impression (one MIMIC study).
    report = " NDICATION:  ?pna\n \n FINDINGS:  Lungs are clear.\n"
    assert normalize_section_name("NDICATION") == "indication"
    sections = split_sections(report)
    assert sections["indication"] == "?pna" and "impression" not in sections


def test_departure_misspelt_conclusion_is_the_impression():
    # DEPARTURE: the official table maps CONCUSION to "conclusion" and stops, so the
    # official parser finds no impression in this report.
    report = " FINDINGS:  Small effusion.\n \n CONCUSION:  Small left effusion.\n"
    assert split_sections(report)["impression"] == "Small left effusion."


def test_misspelt_impression_keeps_the_impression():
    report = " FINDINGS:  Small left effusion.\n \n IMPRESSON:  Small effusion, no pneumothorax.\n"
    assert split_sections(report) == {"findings": "Small left effusion.",
                                      "impression": "Small effusion, no pneumothorax."}
    assert find_section(report, "impression").header == "IMPRESSON"


def test_two_findings_sections_keep_the_last():
    report = (" FINDINGS:  Preliminary: lungs clear.\n \n FINDINGS:  Small left effusion.\n"
              " \n IMPRESSION:  Effusion.\n")
    assert split_sections(report)["findings"] == "Small left effusion."
    assert find_findings(report) == "Small left effusion."
    # Both stay in what the checker reads as the report's clinical text.
    assert [s.flat for s in parse_sections(report) if s.name == "findings"] == [
        "Preliminary: lungs clear.", "Small left effusion."]


def test_an_empty_last_findings_leaves_the_one_with_text():
    # The official parser drops empty findings sections before taking the last.
    report = " FINDINGS:  Small left effusion.\n \n FINDINGS:\n \n IMPRESSION:  Effusion.\n"
    assert find_findings(report) == "Small left effusion."


def test_exam_title_header_then_findings():
    report = " CHEST (PA AND LAT):\n \n INDICATION:  Cough.\n \n FINDINGS:  Clear lungs.\n"
    sections = split_sections(report)
    assert sections["findings"] == "Clear lungs." and sections["indication"] == "Cough."


def test_exam_title_header_with_text_is_the_findings():
    report = " INDICATION:  Cough.\n \n PORTABLE AP CHEST RADIOGRAPH:\n \n Mild congestion.\n"
    assert find_findings(report) == "Mild congestion."


def test_departure_findings_header_followed_by_impression_on_the_next_line():
    # DEPARTURE: the official parser looks for the next header only after the first
    # line break following "FINDINGS:"'s whitespace, which here is the end of the
    # IMPRESSION line: its findings become "IMPRESSION: No acute process." and it has
    # no impression. Here the findings are empty (so dropped) and the impression found.
    report = " INDICATION:  Cough.\n FINDINGS:\n IMPRESSION:  No acute process.\n"
    sections = split_sections(report)
    assert sections == {"indication": "Cough.", "impression": "No acute process."}
    assert find_impression(report) == "No acute process."


def test_departure_headers_without_the_mimic_indent():
    # DEPARTURE: the official header needs a newline and one space; this paste would be
    # one "full report" there.
    report = "FINDINGS: Clear lungs.\nIMPRESSION: Normal."
    assert split_sections(report) == {"findings": "Clear lungs.", "impression": "Normal."}
    indented = "\tFINDINGS:   Clear lungs.\n    IMPRESSION:\tNormal."
    assert split_sections(indented) == {"findings": "Clear lungs.", "impression": "Normal."}


def test_departure_title_case_known_headers_only():
    report = "Findings: Clear lungs.\nHeart: normal size.\nImpresson: No acute disease."
    # "Heart:" is not a section name, so it stays in the findings; "Impresson:" is known.
    assert split_sections(report) == {"findings": "Clear lungs. Heart: normal size.",
                                      "impression": "No acute disease."}


def test_midline_colons_and_times_are_not_headers():
    report = " WET READ: ___ ___ 8:19 AM\n  Lungs clear.\n \n FINDINGS:  Heart size: normal. AP: ok.\n"
    sections = split_sections(report)
    assert list(sections) == ["wet read", "findings"]
    assert sections["findings"] == "Heart size: normal. AP: ok."


def test_last_paragraph_is_everything_after_the_last_sections_first_paragraph():
    report = (" INDICATION:  Line placement.\n \n COMPARISON:  None.\n \n Right IJ line ends in the SVC.\n"
              " \n No pneumothorax.\n")
    sections = split_sections(report)
    assert sections["comparison"] == "None."
    assert sections["last_paragraph"] == "Right IJ line ends in the SVC. No pneumothorax."
    assert find_findings(report) == "Right IJ line ends in the SVC. No pneumothorax."
    assert find_section(report, "last_paragraph").text == "Right IJ line ends in the SVC.\n\nNo pneumothorax."


def test_no_blank_line_and_no_findings_gives_no_last_paragraph():
    # As officially: nothing to call the findings, so extract findings falls to the model.
    report = " INDICATION:  Cough.\n COMPARISON:  None. Lungs are clear.\n"
    assert "last_paragraph" not in split_sections(report)
    assert find_findings(report) == ""


def test_only_an_impression_gives_no_findings():
    report = " INDICATION:  Cough.\n \n IMPRESSION:  No acute process.\n"
    assert find_findings(report) == "" and find_impression(report) == "No acute process."


def test_section_text_is_the_reports_own_lines():
    report = ("                                 FINAL REPORT\r\n EXAMINATION:  CHEST (PA AND LAT)\r\n \r\n"
              " FINDINGS: \r\n \r\n There is a small left effusion.  No pneumothorax.\r\n"
              " The tube ends 3.4 cm above the carina.\r\n \r\n IMPRESSION: \r\n \r\n Small effusion.\r\n")
    section = find_section(report, "findings")
    # The hard wrap is undone; the words and their spacing are the report's.
    assert section.text == "There is a small left effusion.  No pneumothorax. The tube ends 3.4 cm above the carina."
    listed = find_section(" IMPRESSION:\n 1. Small effusion,\n   unchanged.\n 2. No pneumothorax.\n", "impression")
    assert listed.text == "1. Small effusion, unchanged.\n2. No pneumothorax."
    normalised = report.replace("\r\n", "\n")
    assert normalised[section.start:section.end] == section.body
    assert split_sections(report)["preamble"] == "FINAL REPORT"


def test_empty_and_odd_input():
    assert split_sections("") == {"full report": ""}
    assert parse_sections(None) == [] and split_sections(None) == {}
    assert find_findings("   ") == ""
    assert split_sections("IMPRESSION:") == {}


def test_a_report_pasted_on_one_line_is_split_at_its_headers():
    one_line = ("EXAMINATION: CHEST PA AND LATERAL. INDICATION: Cough for three days. FINDINGS: Low lung volumes. "
                "Left lower lobe consolidation. IMPRESSION: Left lower lobe pneumonia.")
    assert split_sections(one_line) == {"examination": "CHEST PA AND LATERAL.", "indication": "Cough for three days.",
                                        "findings": "Low lung volumes. Left lower lobe consolidation.",
                                        "impression": "Left lower lobe pneumonia."}
    # Only known headers split it, and a report with line breaks keeps the official rules.
    assert split_sections("Lungs are clear. Note: no effusion.") == {"full report": "Lungs are clear. Note: no effusion."}
