"""Extra train-only phrasings (lab.demo.synthetic.augment): they say what their group
says, never come near a held-out sentence, and change nothing unless asked for."""
from __future__ import annotations

import random

import pytest

from lab.demo.tests.audit import (
    mentioned_labels,
    names,
    phrasing_of,
    phrasing_regexes,
)
from lab.demo.synthetic.augment import (
    extra_phrasings,
    heldout_sentences,
    overlaps,
    spec_fills,
    words,
)
from lab.demo.synthetic.corpus import assign_splits, patient_series, plan_patients
from lab.demo.synthetic.findings import BY_LABEL, NORMALS
from lab.demo.synthetic.phrasing import Phrasebook

FRACTION = 0.25


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "lexicon"])
def extras(request) -> dict[str, tuple[str, ...]]:
    return extra_phrasings(FRACTION, lexicon=request.param)


def _fills(key: str, template: str) -> list[str]:
    return spec_fills(BY_LABEL[key[4:]], template) if key.startswith("pos:") else [template]


def test_extras_cover_findings_and_normal_anatomy(extras):
    assert sum(key.startswith("pos:") for key in extras) > 40
    assert {key[7:] for key in extras if key.startswith("normal:")} == set(NORMALS)
    assert "Normal costophrenic angles." in extras["normal:pleura"]


def test_no_extra_is_contains_or_is_contained_in_a_held_out_sentence(extras):
    held = heldout_sentences(Phrasebook(FRACTION))
    regexes = phrasing_regexes(Phrasebook(FRACTION))
    assert "The costophrenic angles are sharp." in held  # the normal statement v4 mislabelled
    for key, templates in extras.items():
        for template in templates:
            sentences = _fills(key, template)
            assert not overlaps(sentences, held), template
            for sentence in sentences:
                assert "heldout" not in phrasing_of(sentence, regexes), sentence
    # the containment test itself: both directions, word boundaries respected
    assert overlaps(["Eventration of the left hemidiaphragm is noted."], ["Eventration of the left hemidiaphragm."])
    assert overlaps(["Emphysema."], ["Emphysema is noted in both upper lobes."])
    assert not overlaps(["Evidence of emphysema."], ["Subcutaneous emphysematous change."])
    assert words("The CP angles, sharp.") == " the cp angles sharp "


def test_extras_name_their_label_and_normals_name_none(extras):
    for key, templates in extras.items():
        for template in templates:
            for sentence in _fills(key, template):
                named = set(mentioned_labels(sentence))
                if key.startswith("pos:"):
                    label = key[4:]
                    assert named <= {label} and names(sentence, label), sentence
                else:
                    assert not named, sentence


def test_extras_only_reach_train_draws_and_change_nothing_when_absent(extras):
    plain, augmented = Phrasebook(FRACTION), Phrasebook(FRACTION, extras=extras)
    key, templates = "normal:pleura", NORMALS["pleura"]
    seen = {augmented.pick(random.Random(i), key, templates, heldout=False)[1] for i in range(300)}
    assert set(extras[key]) <= seen and not seen & {templates[i] for i in plain.heldout(key, len(templates))}
    test_draws = {augmented.pick(random.Random(i), key, templates, heldout=True)[1] for i in range(100)}
    assert test_draws == {templates[i] for i in plain.heldout(key, len(templates))}
    # a book without extras draws exactly as before, so earlier corpora rebuild byte-identical
    lengths = plan_patients(3, 60)
    splits = assign_splits(3, len(lengths), 0.2, 0.1)
    for patient, (n, split) in enumerate(zip(lengths, splits)):
        one = patient_series(3, patient, n, split, Phrasebook(FRACTION))
        two = patient_series(3, patient, n, split, Phrasebook(FRACTION, extras={}))
        assert [s.report for s in one] == [s.report for s in two]


def test_augmented_studies_use_the_extras_and_keep_gold_labels_true(extras):
    book = Phrasebook(FRACTION, extras=extras)
    lengths = plan_patients(5, 200)
    studies = [s for p, n in enumerate(lengths) for s in patient_series(5, 500_000 + p, n, "train", book)]
    texts = {s.text for study in studies for s in study.sentences}
    extra_texts = {f for key, ts in extras.items() for t in ts for f in _fills(key, t)}
    assert len(texts & extra_texts) > 30
    for study in studies:
        asserted = {label for s in study.sentences if s.kind == "finding" for label in s.labels}
        assert asserted == set(study.labels)
        for sentence in study.sentences:
            if sentence.kind == "normal":
                assert not mentioned_labels(sentence.text)
