"""Synthetic studies and pairs: the rendered text agrees with the generator's truth.

Gold labels match the sentences generated, reports split into MIMIC sections with
radphi.reports, clean targets carry no noise, normal studies read "No acute
cardiopulmonary process.", added/removed are the set differences of the pair, and
every comprehension answer is in the report.
"""
from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise

import pytest

from radphi import answers
from radphi import reports
from radphi.reports import find_findings, find_impression, split_sections
from lab.demo.synthetic import generate
from lab.demo.tests.audit import (
    mentioned_labels,
    names,
    template_groups,
)
from lab.demo.synthetic.corpus import assign_splits, patient_series, plan_patients
from lab.demo.synthetic.devices import DEVICES
from lab.demo.synthetic.findings import BY_LABEL, SPECS
from lab.demo.synthetic.impressions import NORMAL_IMPRESSION
from lab.demo.synthetic.pairs import progression, temporal_findings
from lab.demo.synthetic.phrasing import Phrasebook
from lab.demo.synthetic.studies import Study

NOISE = re.compile(r"\b(unchanged|increased|decreased|stable|new|resolved|resolution|removed|removal|recommend\w*|"
                   r"discussed|communicated|paged|compared|previously|interval|worse|improv\w*|progressed|"
                   r"persistent|follow-up|dr)\b|___|\d+:\d\d", re.IGNORECASE)
# Where "increased" describes what is seen, not a change, and belongs in clean text.
PRESENCE = re.compile(r"increased (reticular markings|opacity)|markings are increased", re.IGNORECASE)


@pytest.fixture(scope="module")
def series() -> list[list[Study]]:
    book = Phrasebook(0.25)
    lengths = plan_patients(11, 300)
    splits = assign_splits(11, len(lengths), 0.3, 0.1)
    return [patient_series(11, p, n, split, book) for p, (n, split) in enumerate(zip(lengths, splits))]


@pytest.fixture(scope="module")
def studies(series) -> list[Study]:
    return [study for patient in series for study in patient]


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return generate(seed=4, n_studies=200, test_fraction=0.2, validation_fraction=0.1)


def test_gold_labels_match_the_sentences_generated(studies):
    for study in studies:
        asserted, denied = set(), set()
        for sentence in study.sentences:
            named = set(mentioned_labels(sentence.text))
            if sentence.kind in ("finding", "device"):
                assert named <= set(sentence.labels), sentence
                assert all(names(sentence.text, label) for label in sentence.labels), sentence
                asserted |= set(sentence.labels)
            elif sentence.kind == "negative":
                assert named == set(sentence.labels), sentence
                denied |= named
            else:
                assert not named, sentence
        assert asserted == set(study.labels) | set(study.device_labels), study.study_id
        assert not denied & asserted


def test_sentences_follow_the_split_phrasing_and_dictation_order(studies):
    book = Phrasebook(0.25)
    kinds = Counter()
    for study in studies:
        for sentence in study.sentences:
            held = book.heldout(sentence.key, len(_templates(sentence.key)))
            assert (sentence.index in held) == (study.split == "test"), (study.split, sentence)
            kinds[sentence.kind] += 1
        positives = [s.kind in ("finding", "device") for s in study.sentences]
        assert positives == sorted(positives, reverse=True)  # positives first
    assert min(kinds.values()) > 50


def _templates(key: str) -> tuple[str, ...]:
    return template_groups()[key]


def test_reports_split_into_mimic_sections(studies):
    for study in studies:
        sections = split_sections(study.report)
        assert {"preamble", "examination", "comparison", "findings", "impression"} <= set(sections)
        assert sections["preamble"] == "FINAL REPORT"
        assert sections["findings"] == study.findings_noisy == find_findings(study.report)
        assert sections["impression"] == study.impression_noisy == find_impression(study.report)
        assert ("indication" in sections) != ("history" in sections)
        assert (sections["comparison"] == "None.") == (not study.has_comparison)


def test_clean_targets_have_no_noise_and_noisy_text_has_some(studies):
    noisy = Counter()
    for study in studies:
        for text in (study.findings_clean, study.impression_clean):
            assert text and not NOISE.search(PRESENCE.sub("", text)), text
        noisy["findings"] += study.findings_noisy != study.findings_clean
        noisy["impression"] += study.impression_noisy != study.impression_clean
        for sentence in reports.sentences(study.findings_clean):
            # Cleaning only removes noise: each clean sentence's words survive in order.
            assert sentence[:-1].lower()[1:] in study.findings_noisy.lower(), sentence
    assert noisy["findings"] > 0.3 * len(studies) and noisy["impression"] > 0.3 * len(studies)
    assert any(s.resolved for s in studies) and any("resolved" in s.findings_noisy for s in studies)
    assert any("Dr." in s.report for s in studies) and any("NOTIFICATION:" in s.report for s in studies)


def test_impressions_put_lines_first_and_normal_studies_read_no_acute_process(studies):
    normal = 0
    for study in studies:
        acute = [f for f in study.findings if BY_LABEL[f.label].acute]
        lines = [d for d in study.devices if DEVICES[d.label].line]
        sentences = [text for text, _ in study.impression]
        assert [bool(labels) and labels[0] in DEVICES for _, labels in study.impression][: len(lines)] == [True] * len(lines)
        for device in lines:
            assert device.place in study.impression_clean
        if not study.findings and not lines:
            assert study.impression_clean == NORMAL_IMPRESSION
            normal += 1
        assert (sentences[-1] == NORMAL_IMPRESSION) == (not acute)
        reported = {label for _, labels in study.impression for label in labels}
        assert reported == {f.label for f in acute} | {d.label for d in lines}
    assert normal >= 20


def test_pairs_added_removed_and_progression_follow_the_structured_truth(series):
    changed = Counter()
    for patient in series:
        for prior, current in pairwise(patient):
            diff = temporal_findings(prior, current)
            assert set(diff["added"]) == set(current.labels) - set(prior.labels)
            assert set(diff["removed"]) == set(prior.labels) - set(current.labels)
            assert {f.label for f in current.resolved} == set(diff["removed"])
            items = progression(prior, current)
            assert {i["finding"] for i in items} == set(prior.labels) & set(current.labels)
            before = {f.label: f for f in prior.findings}
            for finding in current.findings:
                if finding.label in before and BY_LABEL[finding.label].scale:
                    scale = BY_LABEL[finding.label].scale
                    step = scale.index(finding.severity) - scale.index(before[finding.label].severity)
                    want = {0: "no change", 1: "worsened", -1: "improved"}[step]
                    assert {i["change"] for i in items if i["finding"] == finding.label} == {want}
            changed.update(i["change"] for i in items)
            changed.update(added=len(diff["added"]), removed=len(diff["removed"]))
    assert min(changed[k] for k in ("no change", "worsened", "improved", "added", "removed")) > 5


def test_temporal_records_agree_with_the_two_studies_label_records(records):
    labels = {r["meta"]["study_id"]: set(answers.parse_abnormality_labels(r["reference"])["labels"])
              for r in records if r["task"] == "abnormality_labels"}
    pairs = [r for r in records if r["task"] == "qa_temporal_findings"]
    assert len(pairs) > 30
    for r in pairs:
        prior, current = labels[r["meta"]["prior_study_id"]], labels[r["meta"]["study_id"]]
        parsed = answers.parse_temporal_findings(r["reference"])
        assert set(parsed["added"]) == current - prior and set(parsed["removed"]) == prior - current
    for r in records:
        if r["task"] == "qa_temporal_progression":
            both = labels[r["meta"]["prior_study_id"]] & labels[r["meta"]["study_id"]]
            assert {i["finding"] for i in answers.parse_progression(r["reference"])} == both


def test_comprehension_answers_are_in_the_report(records):
    labels = {r["meta"]["study_id"]: set(answers.parse_abnormality_labels(r["reference"])["labels"])
              for r in records if r["task"] == "abnormality_labels"}
    names = sorted(((s.name, s.label) for s in SPECS), key=lambda pair: -len(pair[0]))
    kinds = Counter()
    for r in (r for r in records if r["task"] == "qa_comprehension"):
        kind, answer = r["meta"]["question_type"], r["reference"]
        findings = split_sections(r["report"])["findings"].lower()
        kinds[kind] += 1
        if kind == "presence":
            label = next(label for name, label in names if name in r["question"])
            assert answer.startswith("Yes, ") == (label in labels[r["meta"]["study_id"]]), r
            assert answer.startswith("Yes, ") or answer == "No."
        elif kind in ("location", "severity", "device_position"):
            assert answer[:-1].lower()[:4] in findings, (r["question"], answer)
        elif kind == "abnormalities" and answer != "No abnormalities are seen.":
            assert labels[r["meta"]["study_id"]]
    assert all(kinds[k] > 10 for k in ("presence", "location", "severity", "device_position", "abnormalities"))


def test_label_references_are_the_studies_truth_in_reading_order(studies):
    """Each study's labels are its findings' (devices') labels, once each, in the order the
    printed report first mentions them; format_labels keeps that order when asked to."""
    checked = 0
    for study in studies:
        for got, present, kind in ((study.labels, {f.label for f in study.findings}, "finding"),
                                   (study.device_labels, {d.label for d in study.devices}, "device")):
            assert sorted(got) == sorted(present) and len(got) == len(set(got))
            text = " ".join(study.findings_noisy.split())
            assert text and text in " ".join(study.report.split())
            firsts = []
            for label in got:
                spots = [text.find(" ".join(s.text.rstrip(".").split())) for s in study.sentences
                         if s.kind == kind and label in s.labels]
                spots = [p for p in spots if p >= 0]
                if spots:
                    firsts.append(min(spots))
            assert firsts == sorted(firsts), (got, study.report)
            checked += len(firsts) > 1
        assert answers.format_labels({"labels": study.labels, "keep_order": True}) == (", ".join(study.labels) or "none")
    assert checked > 10  # the order was tested on studies with several labels
