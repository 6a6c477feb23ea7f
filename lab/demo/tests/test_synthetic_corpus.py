"""The synthetic corpus on disk: determinism, split hygiene, held-out phrasings, the
record shape, and gold answers that round-trip through each task's parser."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from radphi.records import read_jsonl
from radphi.reports import sentences
from radphi.tasks import GENERAL_TASK, TASKS
from radphi.training.loaders.records import load as load_records
from lab.demo import ROOT
from lab.demo.synthetic import build_corpus, generate
from lab.demo.tests.audit import phrasing_of, phrasing_regexes
from lab.demo.synthetic.cli import main
from lab.demo.synthetic.corpus import training_chars
from lab.demo.synthetic.knowledge import FACTS, SYSTEMS
from lab.demo.synthetic.phrasing import Phrasebook

SMALL = {"seed": 3, "n_studies": 240, "test_fraction": 0.2, "validation_fraction": 0.1}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int], list[dict]]:
    out = tmp_path_factory.mktemp("synthetic")
    counts = build_corpus(out, **SMALL)
    records = [r for path in sorted(out.glob("*/*.jsonl")) for r in read_jsonl(path)]
    return out, counts, records


def test_every_task_is_written_for_every_split(corpus):
    out, counts, records = corpus
    for split in ("train", "validation", "test"):
        for task in TASKS:
            if (split, task) == ("validation", "radiology_qa"):
                continue  # three wordings per fact: two for training, one held out for test
            assert counts.get(f"{split}/{task}", 0) > 0, (split, task)
    for key, n in counts.items():
        assert len(read_jsonl(out / f"{key}.jsonl")) == n
    assert sum(counts.values()) == len(records)
    assert json.loads((out / "manifest.json").read_text())["counts"] == counts


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path: Path):
    """Two processes with different hash seeds, so no set or dict order can leak into the text."""
    def run(out: str, seed: int, hash_seed: str) -> Path:
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-m", "lab.demo.synthetic", "--out", str(tmp_path / out), "--seed", str(seed),
                        "--studies", "60", "--general", "20"], check=True, env=env, capture_output=True,
                       cwd=ROOT)
        return tmp_path / out

    a, b, c = run("a", 5, "1"), run("b", 5, "2"), run("c", 6, "1")
    files = sorted(p.relative_to(a) for p in a.rglob("*.jsonl"))
    assert len(files) >= 30 and files == sorted(p.relative_to(b) for p in b.rglob("*.jsonl"))
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert (a / "manifest.json").read_bytes() == (b / "manifest.json").read_bytes()
    assert (a / "train" / "abnormality_labels.jsonl").read_bytes() != (c / "train" / "abnormality_labels.jsonl").read_bytes()


def test_records_have_the_one_shape_and_ids_are_unique(corpus):
    _, _, records = corpus
    assert len({r["id"] for r in records}) == len(records)
    for r in records:
        fields = TASKS[r["task"]].fields
        assert all(isinstance(r[f], str) and r[f].strip() for f in fields), r["id"]
        assert r["reference"].strip() and r["split"] in ("train", "validation", "test")
        assert r["meta"]["dataset"] == "synthetic"
        assert r["meta"]["phrasing"] == ("heldout" if r["split"] == "test" else "train")


def test_every_reference_round_trips_through_its_task(corpus):
    _, _, records = corpus
    for r in records:
        if r["task"] == GENERAL_TASK:
            continue
        task = TASKS[r["task"]]
        parsed = task.parse(r["reference"])
        if r["task"].endswith("_labels"):
            # Written in reading order (see Study.labels); parsing recovers the same set.
            items = [] if r["reference"] == "none" else r["reference"].split(", ")
            assert task.format_answer(parsed) == task.format_answer(items), r["id"]
            assert len(parsed["labels"]) == len(items), r["id"]
        else:
            assert task.format_answer(parsed) == r["reference"], r["id"]
        if r["task"].endswith("_labels"):
            assert parsed["unknown"] == [], r["reference"]
        if r["task"] == "qa_temporal_progression":
            assert len(parsed) == r["reference"].count("\n") + 1 or r["reference"] == "No findings to compare."


def test_the_records_loader_accepts_every_line(corpus):
    out, counts, _ = corpus
    for key, n in counts.items():
        assert len(load_records(str(out / f"{key}.jsonl"))) == n


def test_splits_share_no_study_patient_report_or_prior(corpus):
    _, _, records = corpus
    studies, patients, reports = defaultdict(set), defaultdict(set), defaultdict(set)
    for r in records:
        meta = r["meta"]
        if "study_id" in meta:
            studies[r["split"]].add(meta["study_id"])
            patients[r["split"]].add(meta["patient_id"])
            reports[r["split"]].add(r.get("report") or r.get("findings") or r.get("text"))
        if "prior_study_id" in meta:
            reports[r["split"]].add(r["prior_report"])
    for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
        assert not studies[a] & studies[b] and not patients[a] & patients[b] and not reports[a] & reports[b]
    for r in records:
        if "prior_study_id" in r["meta"]:
            assert r["meta"]["prior_study_id"] in studies[r["split"]]
            assert r["meta"]["prior_study_id"] < r["meta"]["study_id"]


def test_test_split_is_written_only_in_held_out_phrasings(corpus):
    _, _, records = corpus
    regexes = phrasing_regexes(Phrasebook(0.25))
    seen = defaultdict(int)
    for r in records:
        if r["task"] == "extract_findings":
            texts, prefix = sentences(r["reference"]), ("pos:", "neg:", "normal:", "dev:")
        elif r["task"] == "qa_comprehension":
            texts, prefix = [r["question"]], ("q:",)
        elif r["task"] == GENERAL_TASK:
            texts, prefix = [r["instruction"].split("\n\n")[0]], ("gen:",)
        else:
            continue
        want = "heldout" if r["split"] == "test" else "train"
        for text in texts:
            shares = set().union(*(phrasing_of(text, regexes, p) for p in prefix))
            assert shares == {want}, (r["split"], text, shares)
            seen[want] += 1
    assert seen["heldout"] > 200 and seen["train"] > 1000


def test_knowledge_qa_covers_16_systems_and_tests_unseen_wordings_of_trained_facts(corpus):
    _, _, records = corpus
    qa = [r for r in records if r["task"] == "radiology_qa"]
    assert len(SYSTEMS) == 16 and set(FACTS) == set(SYSTEMS)
    assert {r["system"] for r in qa} == set(SYSTEMS)
    assert all(5 <= len(FACTS[s]) <= 15 for s in SYSTEMS)
    train_questions = {r["question"] for r in qa if r["split"] == "train"}
    train_answers = {r["reference"] for r in qa if r["split"] == "train"}
    for r in qa:
        if r["split"] == "test":
            assert r["question"] not in train_questions and r["reference"] in train_answers


def test_general_instructions_have_exact_answers(corpus):
    _, _, records = corpus
    general = [r for r in records if r["task"] == GENERAL_TASK]
    kinds = {r["meta"]["kind"] for r in general}
    assert {"copy", "sort_words", "sort_numbers", "parity", "category", "numbers", "cities"} <= kinds
    for r in general:
        text = r["instruction"].split("\n\n", 1)[1]
        kind = r["meta"]["kind"]
        if kind == "copy":
            assert r["reference"] == text
        elif kind == "sort_numbers":
            numbers = [int(x) for x in r["reference"].split(", ")]
            assert numbers == sorted(numbers) and sorted(numbers) == sorted(int(x) for x in text.split(", "))
        elif kind == "sort_words":
            assert r["reference"].split(", ") == sorted(text.split(", "))
        elif kind == "parity":
            assert r["reference"] == ("even" if int(text) % 2 == 0 else "odd")
        elif kind == "count":
            assert int(r["reference"]) == len(text.split())


def test_cli_writes_the_corpus_and_prints_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["--out", str(tmp_path), "--seed", "1", "--studies", "30", "--general", "10"]) == 0
    printed = capsys.readouterr().out
    assert "abnormality_labels" in printed and "records in" in printed
    assert len(read_jsonl(tmp_path / "train" / "abnormality_labels.jsonl")) > 0
    assert sum(len(read_jsonl(p)) for p in tmp_path.glob("*/instruction.jsonl")) == 10


def test_default_size_is_about_four_million_training_tokens_and_quick():
    start = time.perf_counter()
    records = generate(seed=0)
    seconds = time.perf_counter() - start
    train_chars = sum(training_chars(r) for r in records if r["split"] == "train")
    assert 3.5e6 <= train_chars / 4 <= 4.5e6, train_chars
    assert seconds < 60, seconds  # about 2 s on a 2-core machine


def test_extra_train_studies_are_new_train_only_and_never_repeat_a_held_out_input(corpus, tmp_path: Path):
    from lab.demo.synthetic.corpus import build_extra_train, input_key

    out, _, records = corpus
    counts = build_extra_train(tmp_path / "extra", out, seed=SMALL["seed"], n_studies=120)
    extra = [r for path in sorted((tmp_path / "extra").glob("*/*.jsonl")) for r in read_jsonl(path)]
    assert sum(counts.values()) == len(extra) > 120 and {p.parent.name for p in (tmp_path / "extra").glob("*/*")} == {"train"}
    assert {r["split"] for r in extra} == {"train"} and {r["meta"]["phrasing"] for r in extra} == {"train"}
    assert {r["task"] for r in extra} == {t for t in TASKS if t not in ("radiology_qa", GENERAL_TASK)}
    # new patients: no id or report of the corpus comes back
    assert not {r["id"] for r in extra} & {r["id"] for r in records}
    assert not {r["meta"]["patient_id"] for r in extra} & {r["meta"].get("patient_id") for r in records}
    held_out = {input_key(r) for r in records if r["split"] != "train" and r["task"] in TASKS}
    assert not {input_key(r) for r in extra} & held_out
    # only training phrasings, as the corpus's own train split
    regexes = phrasing_regexes(Phrasebook(0.25))
    for r in extra:
        if r["task"] == "extract_findings":
            for text in sentences(r["reference"]):
                assert set().union(*(phrasing_of(text, regexes, p) for p in ("pos:", "neg:", "normal:", "dev:"))) == {"train"}
    # deterministic from the seed
    build_extra_train(tmp_path / "again", out, seed=SMALL["seed"], n_studies=120)
    for path in sorted((tmp_path / "extra" / "train").glob("*.jsonl")):
        assert path.read_bytes() == (tmp_path / "again" / "train" / path.name).read_bytes()
    # a second batch holds other new patients again
    build_extra_train(tmp_path / "batch1", out, seed=SMALL["seed"], n_studies=40, batch=1)
    second = [r for path in sorted((tmp_path / "batch1" / "train").glob("*.jsonl")) for r in read_jsonl(path)]
    assert second and not {r["meta"]["patient_id"] for r in second} & {r["meta"]["patient_id"] for r in extra}
    assert not {input_key(r) for r in second} & held_out
    # the lexicon phrasings come only with augment=True and lexicon=True, and say so
    build_extra_train(tmp_path / "lexicon", out, seed=SMALL["seed"], n_studies=60, batch=2, augment=True, lexicon=True)
    manifest = json.loads((tmp_path / "lexicon" / "manifest.json").read_text())
    plain = json.loads((tmp_path / "extra" / "manifest.json").read_text())
    assert manifest["lexicon"] is True and plain["lexicon"] is False and manifest["extra_phrasings"] > 150


def test_a_development_set_is_written_in_the_held_out_phrasings_only(corpus, tmp_path: Path):
    """split="dev": new patients written like the test split (held-out phrasings), for
    choosing decoding settings without the test split; never training phrasings."""
    from lab.demo.synthetic.corpus import build_extra_train, input_key

    out, _, records = corpus
    build_extra_train(tmp_path / "dev", out, seed=SMALL["seed"], n_studies=60, batch=3, split="dev")
    dev = [r for path in sorted((tmp_path / "dev").glob("*/*.jsonl")) for r in read_jsonl(path)]
    assert dev and {p.parent.name for p in (tmp_path / "dev").glob("*/*.jsonl")} == {"dev"}
    assert {r["split"] for r in dev} == {"dev"} and {r["meta"]["phrasing"] for r in dev} == {"heldout"}
    assert not {r["meta"]["patient_id"] for r in dev} & {r["meta"].get("patient_id") for r in records}
    assert not {input_key(r) for r in dev} & {input_key(r) for r in records if r["task"] in TASKS}
    regexes = phrasing_regexes(Phrasebook(0.25))
    kinds = set()
    for r in dev:
        if r["task"] == "extract_findings":
            for text in sentences(r["reference"]):
                kinds |= set().union(*(phrasing_of(text, regexes, p) for p in ("pos:", "neg:", "normal:", "dev:")))
    assert "heldout" in kinds and "train" not in kinds
    with pytest.raises(ValueError, match="split"):
        build_extra_train(tmp_path / "bad", out, seed=SMALL["seed"], n_studies=5, split="test")
