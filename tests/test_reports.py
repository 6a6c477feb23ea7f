"""Tests for radphi.reports: section splitting, findings lookup, truncation (PHI scrubbing: test_deid.py)."""

from __future__ import annotations

import time

import pytest

from radphi.reports import (
    TRUNCATION_MARKER,
    find_findings,
    find_impression,
    normalize_section_name,
    section_order,
    split_sections,
    truncate_middle,
)

# Synthetic reports in the MIMIC-CXR layout (one-space indent, " " blank lines).
STANDARD = """                                 FINAL REPORT
 EXAMINATION:  CHEST (PA AND LAT)
 
 INDICATION:  ___F with cough  // ?pna
 
 COMPARISON:  ___
 
 FINDINGS: 
 
 There is a small left pleural effusion.  No pneumothorax.  The endotracheal tube
 terminates 3.4 cm above the carina.
 
 IMPRESSION: 
 
 Small left pleural effusion.  Discussed with Dr. Smith at 10:15 on 01/02/2020.
"""

VARIANT_HEADERS = """                                 FINAL REPORT
 CLINICAL HISTORY:  Shortness of breath.
 
 REASON FOR EXAM:  Evaluate for edema.
 
 COMPARISONS:  Chest radiograph ___.
 
 PORTABLE AP CHEST RADIOGRAPH:
 
 Mild pulmonary vascular congestion.  Heart size is top normal.
 
 CONCLUSION:
 
 Mild vascular congestion.
"""

NO_FINDINGS_NO_IMPRESSION = """                                 FINAL REPORT
 INDICATION:  Line placement.
 
 COMPARISON:  None.
 
 Right internal jugular line ends in the low SVC.
 No pneumothorax.
 
 Otherwise unchanged.
"""

NO_HEADERS = """Heart size is normal.  Lungs are clear.

No pleural effusion or pneumothorax.
"""


def test_standard_report_sections_and_order():
    sections = split_sections(STANDARD)
    assert section_order(STANDARD) == ["preamble", "examination", "indication", "comparison",
                                       "findings", "impression"]
    assert sections["preamble"] == "FINAL REPORT"
    assert sections["examination"] == "CHEST (PA AND LAT)"
    assert sections["indication"] == "___F with cough // ?pna"
    assert sections["comparison"] == "___"
    assert sections["findings"] == ("There is a small left pleural effusion. No pneumothorax. "
                                    "The endotracheal tube terminates 3.4 cm above the carina.")
    assert sections["impression"].startswith("Small left pleural effusion.")
    assert "last_paragraph" not in sections


def test_section_names_are_normalised_like_the_official_parser():
    sections = split_sections(VARIANT_HEADERS)
    assert list(sections) == ["preamble", "history", "indication", "comparison", "findings",
                              "impression"]
    assert sections["findings"] == "Mild pulmonary vascular congestion. Heart size is top normal."
    assert sections["impression"] == "Mild vascular congestion."


@pytest.mark.parametrize("header, expected", [
    ("COMPARISONS", "comparison"), ("CLINICAL HISTORY", "history"),
    ("REASON FOR EXAM", "indication"), ("CONCLUSION", "impression"),
    ("FINDINGS AND IMPRESSION", "impression"), ("CHEST, TWO VIEWS", "findings"),
    ("PA AND LATERAL VIEWS OF THE CHEST", "findings"), ("PORTABLE SEMI-UPRIGHT", "findings"),
    ("ADDENDUM #1", "addendum"), ("TECHNIQUE", "technique"), ("WET READ", "wet read"),
    ("Indication", "indication"), ("  EXAM ", "examination"),
])
def test_normalize_section_name(header, expected):
    assert normalize_section_name(header) == expected


def test_no_headers_is_full_report():
    sections = split_sections(NO_HEADERS)
    # As officially: the first paragraph stays the section, the rest is the last paragraph.
    assert sections["full report"] == "Heart size is normal. Lungs are clear."
    assert sections["last_paragraph"] == "No pleural effusion or pneumothorax."
    assert "preamble" not in sections and "findings" not in sections


def test_last_paragraph_when_neither_findings_nor_impression():
    sections = split_sections(NO_FINDINGS_NO_IMPRESSION)
    # The official rule: everything after the last section's first paragraph, so the
    # line's position is not lost to the comparison.
    assert sections["last_paragraph"] == ("Right internal jugular line ends in the low SVC. No pneumothorax. "
                                          "Otherwise unchanged.")
    assert sections["comparison"] == "None."
    assert "findings" not in sections and "impression" not in sections


def test_empty_findings_dropped_and_the_last_repeated_header_kept():
    text = (" CHEST, PA AND LATERAL:\n \n INDICATION:  Cough.\n \n FINDINGS:  Lungs clear.\n"
            " \n FINDINGS:  No effusion.\n \n IMPRESSION:  \n")
    sections = split_sections(text)
    # The exam-title header maps to findings but is empty; of the two real ones the last
    # is kept, as the official create_section_files.py does.
    assert sections["findings"] == "No effusion."
    assert "impression" not in sections
    assert "last_paragraph" not in sections
    assert "preamble" not in sections


def test_header_at_start_without_indent_and_title_case():
    text = "Findings: Clear lungs.\nHeart: normal size.\nImpression: No acute disease."
    sections = split_sections(text)
    # Title-case "Heart:" is not a known section name, so it stays in the findings.
    assert sections == {"findings": "Clear lungs. Heart: normal size.",
                        "impression": "No acute disease."}
    crlf = "FINDINGS:\r\n  Clear.\r\nIMPRESSION:\r\n  Normal."
    assert split_sections(crlf) == {"findings": "Clear.", "impression": "Normal."}


def test_times_and_midline_colons_are_not_headers():
    text = " WET READ: ___ ___ 8:19 AM\n  Lungs clear.\n \n FINDINGS:  Heart size: normal. AP: ok.\n"
    sections = split_sections(text)
    assert list(sections) == ["wet read", "findings"]
    assert sections["wet read"] == "___ ___ 8:19 AM Lungs clear."
    assert sections["findings"] == "Heart size: normal. AP: ok."


def test_split_sections_of_empty_and_blank_text():
    assert split_sections("") == {"full report": ""}
    assert split_sections("  \n \n ") == {"full report": ""}


def test_find_findings_and_impression():
    assert find_findings(STANDARD).startswith("There is a small left pleural effusion.")
    assert find_impression(STANDARD).startswith("Small left pleural effusion.")
    assert find_findings(VARIANT_HEADERS).startswith("Mild pulmonary vascular congestion.")
    assert find_impression(VARIANT_HEADERS) == "Mild vascular congestion."
    last = "Right internal jugular line ends in the low SVC. No pneumothorax. Otherwise unchanged."
    assert find_findings(NO_FINDINGS_NO_IMPRESSION) == last
    assert find_impression(NO_FINDINGS_NO_IMPRESSION) == last
    assert find_findings(NO_HEADERS) == NO_HEADERS.strip()
    assert find_impression(NO_HEADERS) == NO_HEADERS.strip()
    # Only an impression: no findings to offer, rather than the impression in disguise.
    assert find_findings(" INDICATION: x\n IMPRESSION: Normal.\n") == ""
    assert find_findings("") == ""


def _words(n: int) -> str:
    # Equal-width words, so an even character split is an even word split.
    return " ".join(f"w{i:06d}" for i in range(n))


def test_truncate_noop_when_short():
    text = "Heart size normal.  Lungs clear."
    assert truncate_middle(text, 5) == (text, False)
    assert truncate_middle(text, 100) == (text, False)


def test_truncate_keeps_head_and_tail_within_budget():
    text = _words(1000)
    for budget in (3, 10, 99, 500, 999):
        shortened, cut = truncate_middle(text, budget)
        words = shortened.split()
        assert cut is True
        assert len(words) <= budget
        assert TRUNCATION_MARKER.strip() in words
        assert words[0] == "w000000" and words[-1] == "w000999"
        head = words.index("[...]")
        tail = len(words) - head - 1
        assert abs(head - tail) <= 2
        # Not needlessly short: within a couple of words of the budget.
        assert len(words) >= budget - 3
        # Whole words, a true prefix and suffix: cuts fall on whitespace.
        assert words[:head] == [f"w{i:06d}" for i in range(head)]
        assert words[head + 1:] == [f"w{i:06d}" for i in range(1000 - tail, 1000)]


def test_truncate_with_custom_counter_and_tiny_budgets():
    text = "x" * 1000
    shortened, cut = truncate_middle(text, 100, count_tokens=len)
    assert cut and len(shortened) <= 100 and TRUNCATION_MARKER in shortened
    assert shortened.startswith("xxx") and shortened.endswith("xxx")
    assert truncate_middle(_words(50), 0) == ("", True)
    assert truncate_middle(text, 4, count_tokens=len) == ("", True)
    assert truncate_middle(_words(50), 1) == ("[...]", True)


def test_truncate_one_megabyte_is_fast():
    text = _words(130_000)  # about 1 MB
    assert len(text) > 1_000_000
    start = time.perf_counter()
    shortened, cut = truncate_middle(text, 2048)
    small_budget = time.perf_counter() - start
    start = time.perf_counter()
    half, _ = truncate_middle(text, 60_000)
    large_budget = time.perf_counter() - start
    assert cut and 2040 <= len(shortened.split()) <= 2048
    assert 59_990 <= len(half.split()) <= 60_000
    # Generous bounds: a linear scan of cut points would take minutes.
    assert small_budget < 5 and large_budget < 10


def test_sentences_of_dictation_in_lower_case():
    from radphi.reports import sentences

    assert sentences("there is a mass which is new. the right pneumothorax is now small. atelectasis vs. pneumonia.") == [
        "there is a mass which is new.", "the right pneumothorax is now small.", "atelectasis vs. pneumonia."]
    assert sentences("Tube placed at 8 a.m. today. Lungs clear.") == ["Tube placed at 8 a.m. today.", "Lungs clear."]
