"""radphi.deid: recall per identifier kind and clinical text kept, on the written test sets;
typed placeholders, MIMIC's "___", idempotence, no network, and the measuring code itself."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from radphi.deid import PLACEHOLDERS, find_spans, libraries, scrub, scrub_text
from tests.deid_scoring import identifiers_left, load_set, score
from radphi.deid.spans import Span, merge, replace

FIXTURES = Path(__file__).parent / "fixtures"
DEV = load_set(FIXTURES / "deid_dev.jsonl")
HELDOUT = load_set(FIXTURES / "deid_heldout.jsonl")


def test_the_sets_cover_every_kind_in_the_forms_asked():
    strings = [r for r in DEV if r["form"] == "string"]
    reports = [r for r in DEV if r["form"] == "report"]
    assert len(strings) >= 150 and len(reports) >= 20
    kinds = {p["kind"] for r in DEV for p in r["phi"]}
    assert kinds == {"NAME", "DATE", "TIME", "AGE", "PHONE", "EMAIL", "URL", "IP", "ID", "SERIAL", "SSN", "ADDRESS"}
    for record in DEV + HELDOUT:
        for phi in record["phi"]:
            assert phi["text"] in record["text"], record["id"]
        for keep in record["keep"]:
            assert keep in record["text"], record["id"]


def test_dev_set_recall_per_kind_and_clinical_precision():
    result = score(DEV, scrub_text)
    for kind in result.identifiers:
        assert result.recall(kind) >= 0.95, (kind, [m for m in result.misses if m[1] == kind])
    assert sum(result.left.values()) <= 2, result.misses
    assert result.removed == 0, result.over


def test_heldout_set_at_most_two_identifiers_left_and_every_clinical_string_kept():
    result = score(HELDOUT, scrub_text)
    assert sum(result.identifiers.values()) >= 50
    assert sum(result.left.values()) <= 2, result.misses
    assert result.removed == 0, result.over


@pytest.mark.parametrize("text, expected", [
    ("on 1/2/2020.", "on [DATE]."), ("on 2020-01-02.", "on [DATE]."), ("on Jan 2, 2020.", "on [DATE]."),
    ("on 2 January 2020.", "on [DATE]."), ("on 12.03.2019", "on [DATE]"), ("in March 2019", "in [DATE]"),
    ("on 4-Mar-2021.", "on [DATE]."), ("DATE: 05JAN2020", "DATE: [DATE]"), ("at 10:15.", "at [TIME]."),
    ("at 8:19 AM.", "at [TIME]."), ("at 8 p.m. today", "at [TIME] today"), ("at 1430 hours", "at [TIME]"),
    ("by Dr. Smith.", "by Dr. [NAME]."), ("by Dr Jane Smith.", "by Dr [NAME]."), ("by dr. smith.", "by dr. [NAME]."),
    ("Jane Doe, MD", "[NAME], MD"), ("KIM, JENNIFER MD", "[NAME] MD"), ("Mr. Jones left.", "Mr. [NAME] left."),
    ("Patient John Smith presents.", "Patient [NAME] presents."), ("called to RN Thompson", "called to RN [NAME]"),
    ("MRN: 12345", "MRN: [ID]"), ("Acc: RA12345678", "Acc: [ID]"), ("serial PJN123456S", "serial [ID]"),
    ("call 555-123-4567.", "call [PHONE]."), ("pager 4471", "pager [PHONE]"), ("fax (617) 555-0199", "fax [PHONE]"),
    ("92-year-old man", "[AGE>89]-year-old man"), ("Age: 95", "Age: [AGE>89]"), ("96F with pain", "[AGE>89]F with pain"),
    ("mail jkim@ucsf.edu", "mail [EMAIL]"), ("see https://pacs.example.org/v?s=1", "see [URL]"),
    ("from 192.168.1.25", "from [IP]"), ("SSN 123-45-6789", "SSN [SSN]"),
    ("at 1420 Maple Street", "at [ADDRESS]"), ("Boston, MA 02114", "[ADDRESS], MA [ADDRESS]"),
])
def test_each_kind_gets_its_typed_placeholder(text, expected):
    assert scrub_text(text) == expected


@pytest.mark.parametrize("text", [
    "Nodule measures 3.4 cm.", "A 5 mm nodule.", "Compression deformity of T8.", "T12/L1 and L4-5 levels.",
    "Chest, 2 views: PA and lateral.", "Occupies 50% of the hemithorax.", "The lower 1/2 of the lung.",
    "Tube 2.5 x 3.1 cm at T3-T4.", "WET READ: ___ ___ ___", "Lesion may 5 be larger.", "Grade 2 of 4.",
    "Dr. ___ was paged.", "It is March.", "Tip 4-5 cm above the carina.", "Swan-Ganz catheter and right PICC.",
    "Kerley B lines.", "Mr. ___ has a Jones fracture.", "Mass at the 10 o'clock position.", "Increased over 2 hours.",
    "A 67-year-old woman; an 89-year-old man.", "Series 3 image 145.", "BI-RADS 4; Bosniak 2F; LI-RADS 5.",
    "Discussed with Interventional Radiology.", "Exam name: CHEST PA AND LAT", "Status post median sternotomy.",
    "Technologist Note: Patient Motion.", "Discussed with Emergency Department Staff.", "Heart size normal; ratio 1:10.",
])
def test_clinical_text_is_left_alone(text):
    result = scrub(text)
    assert (result.text, result.total) == (text, 0)


def test_scrubbing_is_idempotent_and_leaves_mimic_placeholders():
    for record in DEV:
        once = scrub(record["text"])
        twice = scrub(once.text)
        assert (twice.text, twice.total) == (once.text, 0), record["id"]
    assert scrub_text("Discussed with Dr. ___ at 10:15 on ___.") == "Discussed with Dr. ___ at [TIME] on ___."
    assert scrub("") == scrub(None) and scrub("").text == "" and scrub("").total == 0  # type: ignore[arg-type]


def test_counts_per_kind_hold_no_identifier():
    result = scrub("KIM, JENNIFER MD saw Mr. Jones on 4-Mar-2021; MRN 00482913; 92 yo.")
    assert dict(result.counts) == {"NAME": 2, "DATE": 1, "ID": 1, "AGE": 1}
    assert set(PLACEHOLDERS) >= set(result.counts)


def test_overlapping_findings_are_joined_with_the_longest_ones_kind():
    text = "call 123-45-6789 now"
    assert merge([Span(5, 16, "SSN"), Span(5, 12, "PHONE"), Span(10, 20, "ID")]) == [Span(5, 20, "SSN")]
    assert replace(text, [Span(5, 16, "SSN")]) == ("call [SSN] now", {"SSN": 1})


def test_library_findings_inside_clinical_text_are_cut_back():
    # presidio's phone matcher reads "123-45-6789. 2.5" as one number; the measurement must survive.
    text = "SSN 123-45-6789. 2.5 cm nodule."
    assert scrub_text(text) == "SSN [SSN]. 2.5 cm nodule."


def test_each_library_finds_its_kinds_offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the scrubber tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    libraries.presidio_recognizers.cache_clear()  # load again, under the ban
    text = "Mail jkim@ucsf.edu or radiology@mgh.harvard.edu, host 10.1.4.22, call (415) 555-0132."
    kinds = {s.kind for s in libraries.presidio_spans(text)}
    assert {"EMAIL", "IP", "PHONE"} <= kinds
    other = "SSN 123-45-6789 on 4-Mar-2021"
    philter = {(s.kind, other[s.start:s.end]) for s in libraries.philter_spans(other)}
    assert ("SSN", "123-45-6789") in philter and any(kind == "DATE" for kind, _ in philter)
    assert {s.kind for s in find_spans(text, libraries=(), use_rules=True)} >= {"PHONE"}


def test_a_missing_library_stops_the_scrub(monkeypatch):
    def missing():
        raise libraries.LibraryMissing("the de-identification library presidio-analyzer is not installed")

    monkeypatch.setattr(libraries, "presidio_recognizers", missing)
    with pytest.raises(libraries.LibraryMissing):
        scrub("Seen by Dr. Smith.")


def test_the_measure_counts_partial_leaks_and_shared_words():
    record = {"id": "t", "text": "Mr. Jones has a Jones fracture. Acc RA12345678 on 4-Mar-2021.",
              "phi": [{"kind": "NAME", "text": "Jones"}, {"kind": "ID", "text": "RA12345678"},
                      {"kind": "DATE", "text": "4-Mar-2021"}], "keep": ["Jones fracture"]}
    assert identifiers_left(record, "Mr. [NAME] has a Jones fracture. Acc [ID] on [DATE].") == []
    left = identifiers_left(record, "Mr. Jones has a Jones fracture. Acc RA1234[ID] on [DATE]-2021.")
    assert [p["text"] for p in left] == ["Jones", "RA12345678"]  # the year alone is allowed
    # Words are counted, not placed: one "Jones" may stay, whichever it is (a known limit of the measure).
    result = score([record], lambda text: text.replace("Jones fracture", "[NAME] fracture"))
    assert result.removed == 1 and dict(result.left) == {"ID": 1, "DATE": 1}
    assert result.recall("NAME") == 1.0 and result.recall() == pytest.approx(1 / 3)
