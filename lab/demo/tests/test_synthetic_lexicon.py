"""Lexicon phrasings (lab.demo.synthetic.lexicon): findings named by radphi.labels'
synonyms, with the slots the gold answers need, on top of augment's extras only when asked.
(That they never come near a held-out sentence and name their label is checked for all
extras in test_synthetic_augment.py, with and without the lexicon.)"""
from __future__ import annotations

import itertools

from lab.demo.synthetic.augment import extra_phrasings, spec_fills
from lab.demo.synthetic.findings import BY_LABEL
from lab.demo.synthetic.lexicon import PER_FINDING, lexicon_phrases
from lab.demo.synthetic.phrasing import Phrasebook

FRACTION = 0.25


def _train_templates(label: str) -> tuple[str, ...]:
    spec = BY_LABEL[label]
    return tuple(spec.templates[i] for i in Phrasebook(FRACTION).allowed(f"pos:{label}", len(spec.templates), False))


def test_a_synonym_takes_the_key_term_s_place_and_keeps_the_slots():
    scarring = lexicon_phrases(BY_LABEL["pleural/parenchymal scarring"], _train_templates("pleural/parenchymal scarring"))
    assert "{side} apical pleural thickening" in scarring
    effusion = lexicon_phrases(BY_LABEL["pleural effusion"], _train_templates("pleural effusion"))
    assert effusion and all(p.startswith("{sev} {side} ") and "{s}" not in p for p in effusion)
    assert not any(p.endswith("xs") for p in effusion)  # no "hydrothoraxs"


def test_only_new_words_a_few_per_finding_written_as_reports_write_them():
    for label, spec in BY_LABEL.items():
        train = _train_templates(label)
        phrases = lexicon_phrases(spec, train)
        assert len(phrases) <= PER_FINDING
        for phrase in phrases:
            words = phrase.lower().split()
            assert all(a != b for a, b in itertools.pairwise(words)), phrase
            assert phrase not in train
    pneumothorax = lexicon_phrases(BY_LABEL["pneumothorax"], _train_templates("pneumothorax"))
    assert any("PTX" in p for p in pneumothorax) and not any("ptx" in p for p in pneumothorax)


def test_a_synonym_that_cannot_carry_the_side_is_not_used():
    # "elevated {side} hemidiaphragm": no synonym is a contiguous part of it, and a bare
    # "raised hemidiaphragm" would leave the side (and the region in the gold) unsaid.
    spec = BY_LABEL["elevated hemidiaphragm"]
    assert lexicon_phrases(spec, _train_templates("elevated hemidiaphragm")) == []


def test_lexicon_extras_add_to_the_plain_ones_and_fill_cleanly():
    plain, lexicon = extra_phrasings(FRACTION), extra_phrasings(FRACTION, lexicon=True)
    assert all(set(v) <= set(lexicon[k]) for k, v in plain.items())
    added = {k: [t for t in v if t not in plain.get(k, ())] for k, v in lexicon.items()}
    assert sum(map(len, added.values())) > 40
    assert "Findings of {side} apical pleural thickening." in added["pos:pleural/parenchymal scarring"]
    for key, templates in added.items():
        for template in templates:
            for sentence in spec_fills(BY_LABEL[key[4:]], template):
                assert "{" not in sentence and "  " not in sentence, sentence
