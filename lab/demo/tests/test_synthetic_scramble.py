"""Copy drills (lab.demo.synthetic.scramble): scrambled, still consistent, train-only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from radphi.records import read_jsonl
from lab.demo.synthetic import build_corpus
from lab.demo.synthetic.scramble import (
    TASKS,
    WORD,
    Scrambler,
    build_scrambled,
    noise_vocabulary,
)


@pytest.fixture(scope="module")
def drills(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("scramble")
    build_corpus(root / "corpus", seed=5, n_studies=160, test_fraction=0.2, validation_fraction=0.1)
    build_scrambled(root / "drills", [root / "corpus" / "train"], seed=1, per_task=60)
    return root / "corpus", root / "drills"


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(any(w == b for b in it) for w in small)


def test_noise_vocabulary_holds_the_change_and_comparison_words_not_the_findings(drills):
    corpus, _ = drills
    keep = noise_vocabulary(read_jsonl(corpus / "train" / "cleanup_report_text.jsonl"))
    assert {"prior", "compared", "unchanged", "the"} <= keep
    assert not {"effusion", "pneumothorax", "atelectasis", "cardiomegaly"} & keep


def test_scrambler_is_consistent_and_keeps_case_headers_and_kept_words():
    import random

    s = Scrambler(frozenset({"the", "prior"}), ["alpha", "beta"], random.Random(0))
    out = s("FINDINGS: Effusion, unlike the prior effusion.")
    first, second = re.findall(r"[A-Za-z]+", out)[1], re.findall(r"[A-Za-z]+", out)[-1]
    assert out.startswith("FINDINGS: ") and " the prior " in out
    assert first[0].isupper() and first.lower() == second and second in {"alpha", "beta"}


def test_drills_are_train_only_scrambled_copies_whose_answer_is_still_a_copy(drills):
    corpus, out = drills
    originals = {r["id"]: r for task in TASKS for r in read_jsonl(corpus / "train" / f"{task}.jsonl")}
    for task in TASKS:
        rows = read_jsonl(out / "train" / f"{task}.jsonl")
        assert len(rows) == 60
        changed = 0
        for r in rows:
            source = originals[r["id"].removesuffix("-scrambled")]
            assert r["split"] == "train" and r["meta"]["augmentation"] == "scrambled"
            field = "report" if task == "extract_findings" else "text"
            # the same shape: as many words, the same punctuation and line breaks
            assert len(words(r[field])) == len(words(source[field]))
            assert re.sub(r"[A-Za-z]+", "w", r[field]) == re.sub(r"[A-Za-z]+", "w", source[field])
            assert re.sub(r"[A-Za-z]+", "w", r["reference"]) == re.sub(r"[A-Za-z]+", "w", source["reference"])
            # the answer can still be copied from the input, in order
            assert is_subsequence(words(r["reference"]), words(r[field]))
            changed += r["reference"] != source["reference"]
        assert changed >= 55


def test_drills_are_deterministic(drills, tmp_path: Path):
    corpus, out = drills
    build_scrambled(tmp_path / "again", [corpus / "train"], seed=1, per_task=60)
    for task in TASKS:
        assert (out / "train" / f"{task}.jsonl").read_bytes() == (tmp_path / "again" / "train" / f"{task}.jsonl").read_bytes()
