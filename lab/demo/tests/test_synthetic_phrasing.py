"""The synthetic corpus's phrasing catalogue: every template says what its truth says.

Exhaustive over the catalogue (every template with every side, lobe, severity, level
and tip position it can take): a positive sentence names its own label and no other,
states the facts questions ask about, a denial names only what it denies, a normal
statement names no label; and the train/held-out split of every group is strict.
"""
from __future__ import annotations

import itertools
import random

import pytest

from radphi import labels as vocab
from lab.demo.tests.audit import (
    mentioned_labels,
    names,
    phrasing_of,
    phrasing_regexes,
    slot_patterns,
    template_groups,
)
from lab.demo.synthetic.devices import DEVICE_SPECS, Device
from lab.demo.synthetic.finding_types import Finding, FindingSpec, regions
from lab.demo.synthetic.findings import (
    COMBO_NAMES,
    COMBO_TEMPLATES,
    NEGATIONS,
    NORMALS,
    SPECS,
)
from lab.demo.synthetic.phrasing import Phrasebook, fill, slots_of, template_regex

IMAGENOME_REGIONS = {
    "right lung", "right apical zone", "right upper lung zone", "right mid lung zone", "right lower lung zone",
    "right hilar structures", "right costophrenic angle", "right cardiophrenic angle", "right hemidiaphragm",
    "left lung", "left apical zone", "left upper lung zone", "left mid lung zone", "left lower lung zone",
    "left hilar structures", "left costophrenic angle", "left cardiophrenic angle", "left hemidiaphragm",
    "trachea", "right clavicle", "left clavicle", "aortic arch", "upper mediastinum", "svc", "cardiac silhouette",
    "left cardiac silhouette", "right cardiac silhouette", "cavoatrial junction", "right atrium", "descending aorta",
    "carina", "left upper abdomen", "right upper abdomen", "abdomen", "spine", "mediastinum",
}


def every_finding(spec: FindingSpec) -> list[Finding]:
    return [Finding(spec.label, side if not spec.lobes else "", lobe, sev, detail)
            for side, lobe, sev, detail in itertools.product(spec.sides, spec.lobes or ("",), spec.scale or ("",),
                                                            spec.details or ("",))]


def every_device(spec) -> list[Device]:
    places = [(p.replace("{cm}", "3.4"), verbs) for p, verbs in spec.places] or [("", ("",))]
    return [Device(spec.label, side, place, verb) for side in spec.sides for place, verbs in places for verb in verbs]


def test_catalogue_covers_both_label_vocabularies():
    assert sorted(s.label for s in SPECS) == sorted(vocab.ABNORMALITY_LABELS)
    assert sorted(d.label for d in DEVICE_SPECS) == sorted(vocab.TUBES_LINES_DEVICES_LABELS)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.label)
def test_positive_sentences_name_their_label_and_no_other(spec: FindingSpec):
    for template in spec.templates:
        for finding in every_finding(spec):
            sentence = fill(template, finding.slots())
            named = set(mentioned_labels(sentence))
            assert named <= {spec.label}, (sentence, named)
            assert names(sentence, spec.label), sentence


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.label)
def test_templates_state_side_lobe_severity_and_level(spec: FindingSpec):
    for template in spec.templates:
        slots = slots_of(template)
        if spec.scale:
            assert slots & {"sev", "sevly"}, template
        if spec.lobes:
            assert "lobe" in slots, template
        elif spec.sides != ("",):
            assert slots & {"side", "sided"}, template
        if spec.details:
            assert "detail" in slots, template
        for finding in every_finding(spec):
            sentence = fill(template, finding.slots()).lower()
            assert finding.location().lower() in sentence or finding.side == "" or finding.side in sentence
            assert finding.severity[:4] in sentence


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.label)
def test_regions_are_chest_imagenome_bbox_names(spec: FindingSpec):
    for finding in every_finding(spec):
        found = regions(spec, finding)
        assert found and set(found) <= IMAGENOME_REGIONS, (spec.label, found)
        if finding.side == "bilateral":
            assert len(found) == 2


@pytest.mark.parametrize("spec", DEVICE_SPECS, ids=lambda s: s.label)
def test_device_sentences_name_the_device_and_where_its_tip_lies(spec):
    for template in spec.templates:
        if spec.places:
            assert "{place}" in template, template
        for device in every_device(spec):
            sentence = fill(template, device.slots())
            named = mentioned_labels(sentence)
            assert set(named) == {spec.label}, (sentence, named)
            assert device.place in sentence and device.side in sentence.lower()


def test_denials_name_only_what_they_deny_and_normal_statements_name_nothing():
    for label, templates in NEGATIONS.items():
        for template in templates:
            assert set(mentioned_labels(template)) == {label}, template
    for template in COMBO_TEMPLATES:
        for first, second in itertools.permutations(COMBO_NAMES, 2):
            sentence = fill(template, {"n1": COMBO_NAMES[first], "n2": COMBO_NAMES[second]})
            assert set(mentioned_labels(sentence)) == {first, second}, sentence
    for templates in NORMALS.values():
        for template in templates:
            assert mentioned_labels(template) == [], template


def test_question_names_are_unique_so_answers_are_unambiguous():
    names = [s.name for s in SPECS]
    assert len(names) == len(set(names))
    assert len({d.name for d in DEVICE_SPECS}) == len(DEVICE_SPECS)


def test_every_group_has_a_strict_split_at_the_default_fraction():
    book = Phrasebook(0.25)
    for key, templates in template_groups().items():
        held = book.heldout(key, len(templates))
        assert len(templates) >= 2, key
        assert 1 <= len(held) < len(templates), key
        assert set(book.allowed(key, len(templates), True)) == held
        assert set(book.allowed(key, len(templates), False)) == set(range(len(templates))) - held


def test_the_split_is_fixed_by_key_and_fraction_and_off_at_zero():
    a, b = Phrasebook(0.25), Phrasebook(0.25)
    assert all(a.heldout(k, len(t)) == b.heldout(k, len(t)) for k, t in template_groups().items())
    assert len(Phrasebook(0.5).heldout("pos:pleural effusion", 7)) == 4
    off = Phrasebook(0.0)
    assert off.heldout("pos:pleural effusion", 7) == frozenset()
    assert off.allowed("pos:pleural effusion", 7, heldout=True) == list(range(7))
    rng = random.Random(0)
    picks = {a.pick(rng, "pos:pleural effusion", ["x"] * 7, heldout=True)[0] for _ in range(200)}
    assert picks == set(a.heldout("pos:pleural effusion", 7))


def test_fill_capitalises_and_regexes_match_only_their_own_template():
    patterns = slot_patterns()
    short, long_ = "{sev} {side} pleural effusion{s}.", "There {is} {a}{sev} {side} pleural effusion{s}."
    slots = Finding("pleural effusion", "bilateral", severity="small").slots()
    assert fill(short, slots) == "Small bilateral pleural effusions."
    assert fill(long_, slots) == "There are small bilateral pleural effusions."
    assert template_regex(short, patterns).fullmatch(fill(short, slots))
    assert not template_regex(short, patterns).fullmatch(fill(long_, slots))
    assert template_regex("ETT {verb} {place}.", patterns).fullmatch("ETT ends 4.5 cm above the carina.")


def test_no_sentence_can_come_from_both_shares_of_a_group():
    """A held-out template that renders a sentence a train template also renders would leak."""
    regexes = phrasing_regexes(Phrasebook(0.25))
    for spec in SPECS:
        for template in spec.templates:
            for finding in every_finding(spec)[:6]:
                assert len(phrasing_of(fill(template, finding.slots()), regexes, f"pos:{spec.label}")) == 1
    for spec in DEVICE_SPECS:
        for template in spec.templates:
            for device in every_device(spec)[:6]:
                assert len(phrasing_of(fill(template, device.slots()), regexes, f"dev:{spec.label}")) == 1
