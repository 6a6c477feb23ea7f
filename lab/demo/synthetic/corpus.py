"""Build the synthetic corpus: every task's records, split by patient, written as JSONL.

    from lab.demo.synthetic import build_corpus
    counts = build_corpus("data/synthetic", seed=0, n_studies=2000)
    # writes data/synthetic/{train,validation,test}/{task}.jsonl and manifest.json

Patients are assigned to splits before any text is written, and all of a patient's
studies (so every prior/current pair) share that split: no report, and no prior of a
pair, crosses splits. Test-split studies are written only with held-out phrasings.
Every random draw comes from a `random.Random` seeded with a string made of the seed
and the patient's index, so the same seed gives byte-identical files, and a patient's
text does not depend on how many patients come after it.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

from radphi.records import write_jsonl
from radphi.tasks import TASKS, training_text
from lab.demo.synthetic.augment import extra_phrasings
from lab.demo.synthetic.general import general_record
from lab.demo.synthetic.impressions import build_impression
from lab.demo.synthetic.knowledge import knowledge_records
from lab.demo.synthetic.pairs import evolve, progression, temporal_findings
from lab.demo.synthetic.phrasing import Phrasebook
from lab.demo.synthetic.questions import comprehension
from lab.demo.synthetic.reports import render
from lab.demo.synthetic.studies import Study, compose_findings, sample_content

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
# About 4M training tokens at ~4 characters a token, prompts included (see the CLI's
# --studies help and the summary it prints).
DEFAULT_STUDIES = 2000
SERIES_LENGTHS = (1, 1, 1, 2, 2, 3)  # studies per patient: about half come as prior/current pairs


def plan_patients(seed: int | str, n_studies: int) -> list[int]:
    """How many studies each patient has; they sum to `n_studies`."""
    rng = random.Random(f"{seed}:plan")
    lengths: list[int] = []
    while sum(lengths) < n_studies:
        lengths.append(min(rng.choice(SERIES_LENGTHS), n_studies - sum(lengths)))
    return lengths


def assign_splits(seed: int, n_patients: int, test_fraction: float, validation_fraction: float) -> list[str]:
    """A split per patient; a nonzero fraction gets at least one patient when there are three or more."""
    def size(fraction: float) -> int:
        n = round(n_patients * fraction)
        return max(n, 1) if fraction > 0 and n_patients >= 3 else n

    order = list(range(n_patients))
    random.Random(f"{seed}:splits").shuffle(order)
    n_test, n_val = size(test_fraction), size(validation_fraction)
    splits = ["train"] * n_patients
    for rank, patient in enumerate(order):
        if rank < n_test:
            splits[patient] = "test"
        elif rank < n_test + n_val:
            splits[patient] = "validation"
    return splits


def patient_series(seed: int, patient: int, length: int, split: str, book: Phrasebook) -> list[Study]:
    """The studies of one patient, oldest first, with their text rendered."""
    rng = random.Random(f"{seed}:patient:{patient}")
    studies: list[Study] = []
    for order in range(length):
        study_id = f"5{patient:06d}{order}"
        if order == 0:
            findings, devices = sample_content(rng)
            study = Study(study_id, f"1{patient:07d}", split, 0, findings, devices,
                          has_comparison=rng.random() < 0.5)
        else:
            study = evolve(rng, studies[-1], study_id, order)
        study.sentences = compose_findings(rng, study.findings, study.devices, book, study.heldout)
        study.impression = build_impression(rng, study.findings, study.devices)
        render(rng, study)
        studies.append(study)
    return studies


def _record(rid: str, task: str, fields: dict[str, str], structure: Any, study: Study, **meta: Any) -> dict[str, Any]:
    return {"id": rid, "task": task, **fields, "reference": TASKS[task].format_answer(structure), "split": study.split,
            "meta": {"dataset": "synthetic", "study_id": study.study_id, "patient_id": study.patient_id,
                     "phrasing": "heldout" if study.heldout else "train", **meta}}


def study_records(rng: random.Random, study: Study, book: Phrasebook, questions: int) -> list[dict[str, Any]]:
    """The single-study tasks' records of one study."""
    sid, report = study.study_id, study.report
    records = [
        # Labels in reading order (Study.labels says why); scoring compares them as sets.
        _record(f"synthetic-{sid}-abnormality_labels", "abnormality_labels", {"report": report},
                {"labels": study.labels, "keep_order": True}, study),
        _record(f"synthetic-{sid}-tubes_lines_devices_labels", "tubes_lines_devices_labels", {"report": report},
                {"labels": study.device_labels, "keep_order": True}, study),
        _record(f"synthetic-{sid}-extract_findings", "extract_findings", {"report": report}, study.findings_clean, study),
        _record(f"synthetic-{sid}-extract_impression", "extract_impression", {"report": report},
                study.impression_clean, study),
        _record(f"synthetic-{sid}-impression_prediction", "impression_prediction", {"findings": study.findings_noisy},
                study.impression_clean, study),
    ]
    # One cleanup pair per study, from the section with more noise to remove.
    noisy_findings = study.findings_noisy != study.findings_clean
    noisy_impression = study.impression_noisy != study.impression_clean
    # An impression without noise is often the bare "No acute cardiopulmonary process.",
    # the same text in every split; the findings are never that uniform.
    section = "impression" if noisy_impression and (not noisy_findings or rng.random() < 0.4) else "findings"
    text, clean = ((study.findings_noisy, study.findings_clean) if section == "findings"
                   else (study.impression_noisy, study.impression_clean))
    records.append(_record(f"synthetic-{sid}-cleanup_report_text", "cleanup_report_text", {"text": text}, clean,
                           study, section=section))
    for i, (kind, question, answer) in enumerate(comprehension(rng, study, book, questions)):
        records.append(_record(f"synthetic-{sid}-qa_comprehension-{i}", "qa_comprehension",
                               {"report": report, "question": question}, answer, study, question_type=kind))
    return records


def pair_records(prior: Study, current: Study) -> list[dict[str, Any]]:
    fields = {"report": current.report, "prior_report": prior.report}
    meta = {"prior_study_id": prior.study_id}
    base = f"synthetic-{current.study_id}-{prior.study_id}"
    return [
        _record(f"{base}-qa_temporal_findings", "qa_temporal_findings", fields, temporal_findings(prior, current),
                current, **meta),
        _record(f"{base}-qa_temporal_progression", "qa_temporal_progression", fields, progression(prior, current),
                current, **meta),
    ]


def patient_records(seed: int, patient: int, length: int, split: str, book: Phrasebook,
                    questions: int) -> list[dict[str, Any]]:
    """Every record of one patient: each study's single-study tasks, then each pair's."""
    studies = patient_series(seed, patient, length, split, book)
    rng = random.Random(f"{seed}:records:{patient}")
    records = [r for study in studies for r in study_records(rng, study, book, questions)]
    for prior, current in pairwise(studies):
        records.extend(pair_records(prior, current))
    return records


def generate(seed: int = 0, n_studies: int = DEFAULT_STUDIES, test_fraction: float = 0.1,
             validation_fraction: float = 0.05, heldout_phrasing_fraction: float = 0.25,
             n_general: int | None = None, questions_per_study: int = 3) -> list[dict[str, Any]]:
    """All records, in a fixed order: studies by patient, then knowledge QA, then general instructions."""
    book = Phrasebook(heldout_phrasing_fraction)
    lengths = plan_patients(seed, n_studies)
    splits = assign_splits(seed, len(lengths), test_fraction, validation_fraction)
    records: list[dict[str, Any]] = []
    for patient, (length, split) in enumerate(zip(lengths, splits)):
        records.extend(patient_records(seed, patient, length, split, book, questions_per_study))
    records = drop_shared_inputs(records)
    records.extend(knowledge_records(book))
    n_general = n_studies if n_general is None else n_general
    general_rng = random.Random(f"{seed}:general")
    for index in range(n_general):
        roll = general_rng.random()
        split = "test" if roll < test_fraction else "validation" if roll < test_fraction + validation_fraction else "train"
        records.append(general_record(general_rng, book, index, split))
    return records


def drop_shared_inputs(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop validation records whose inputs a train record of the same task has, and test
    records whose inputs a train or validation record has.

    Reports are drawn independently per patient, so this almost never fires (short
    normal findings can coincide); it makes "the splits share no report" a guarantee.
    """
    train = {input_key(r) for r in records if r["split"] == "train"}
    validation = {input_key(r) for r in records if r["split"] == "validation"} - train
    kept = [r for r in records if r["split"] == "train" or (r["split"] == "validation" and input_key(r) not in train)
            or (r["split"] == "test" and input_key(r) not in train and input_key(r) not in validation)]
    if len(kept) < len(records):
        log.info("dropped %d validation/test records whose inputs a train record has", len(records) - len(kept))
    return kept


# Extra train-only patients are numbered from here: their ids and random streams never
# meet those of a corpus's own patients (ids are printed with six digits).
EXTRA_PATIENT_BASE = 500_000
EXTRA_BATCH_PATIENTS = 100_000


def input_key(record: dict[str, Any]) -> tuple[str, ...]:
    """What a model sees of a record: its task and input fields."""
    return (record["task"], *(record[f] for f in TASKS[record["task"]].fields))


def build_extra_train(out_dir: str | Path, corpus_dir: str | Path, *, seed: int = 0, n_studies: int,
                      questions_per_study: int = 3, batch: int = 0, augment: bool = False,
                      split: str = "train", lexicon: bool = False) -> dict[str, int]:
    """More training studies for the corpus at CORPUS_DIR, written to OUT_DIR/train/{task}.jsonl.

    New patients (numbered from EXTRA_PATIENT_BASE), training phrasings only, the
    report tasks only (knowledge QA and general instructions have no new material).
    A record whose inputs equal a validation or test record of CORPUS_DIR is dropped,
    so the held-out splits stay held out. CORPUS_DIR itself is not touched: its test
    split, and any model evaluated on it, stay as they were. Batch B (0, 1, ...) holds
    other patients than every other batch: patients from EXTRA_PATIENT_BASE + B * 100,000.
    `augment` adds lab.demo.synthetic.augment's extra train-only phrasings, and `lexicon`
    (with `augment`) lab.demo.synthetic.lexicon's synonym phrasings among them.

    `split="dev"` writes OUT_DIR/dev/ instead: studies written, like the test split, in
    the held-out phrasings only. It is for choosing decoding settings on held-out
    phrasings without looking at the test split; never train on it.
    """
    from radphi.records import read_jsonl

    if split not in ("train", "dev"):
        raise ValueError(f"split must be 'train' or 'dev', not {split!r}")

    lengths = plan_patients(f"{seed}:extra" if batch == 0 else f"{seed}:extra:{batch}", n_studies)
    first = EXTRA_PATIENT_BASE + batch * EXTRA_BATCH_PATIENTS
    if batch < 0 or len(lengths) > EXTRA_BATCH_PATIENTS or first + len(lengths) > 999_999:
        raise ValueError(f"extra batch {batch} with {n_studies} studies does not fit the patient numbers "
                         f"{EXTRA_PATIENT_BASE}-999999 ({EXTRA_BATCH_PATIENTS} a batch)")
    # Train batches leave out the corpus's held-out inputs; a dev set leaves out every input
    # of the corpus, so that it holds nothing a model was trained or tested on.
    avoid = ("validation", "test") if split == "train" else ("train", "validation", "test")
    held_out = {input_key(rec) for avoid_split in avoid
                for path in sorted((Path(corpus_dir) / avoid_split).glob("*.jsonl"))
                for rec in read_jsonl(path) if rec["task"] in TASKS}
    # The corpus's own held-out share, so that exactly its test phrasings stay unseen.
    fraction = json.loads((Path(corpus_dir) / "manifest.json").read_text())["heldout_phrasing_fraction"]
    book = Phrasebook(fraction, extras=extra_phrasings(fraction, lexicon=lexicon) if augment else {})
    records: list[dict[str, Any]] = []
    for i, length in enumerate(lengths):
        # patient_records writes a "test" series in the held-out phrasings.
        records.extend(patient_records(seed, first + i, length, "train" if split == "train" else "test", book,
                                       questions_per_study))
    kept = [{**r, "split": split} for r in records if input_key(r) not in held_out]
    out = Path(out_dir)
    counts = write_splits(out, kept)
    manifest = {"generator": "lab.demo.synthetic.build_extra_train", "seed": seed, "batch": batch, "split": split,
                "n_studies": n_studies,
                "extra_phrasings": sum(map(len, book.extras.values())), "lexicon": bool(augment and lexicon),
                "corpus": str(corpus_dir), "dropped_as_held_out": len(records) - len(kept), "counts": counts}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    log.info("extra training studies: %d records in %s (%d dropped as held out)", len(kept), out,
             len(records) - len(kept))
    return counts


def write_splits(out: Path, records: list[dict[str, Any]]) -> dict[str, int]:
    """Write RECORDS to OUT/{split}/{task}.jsonl, in order; return {"split/task": records}."""
    out.mkdir(parents=True, exist_ok=True)
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault((record["split"], record["task"]), []).append(record)
    counts: dict[str, int] = {}
    for (split, task), items in sorted(grouped.items()):
        (out / split).mkdir(parents=True, exist_ok=True)
        counts[f"{split}/{task}"] = write_jsonl(out / split / f"{task}.jsonl", items)
    return counts


def build_corpus(out_dir: str | Path, *, seed: int = 0, n_studies: int = DEFAULT_STUDIES, test_fraction: float = 0.1,
                 validation_fraction: float = 0.05, heldout_phrasing_fraction: float = 0.25,
                 n_general: int | None = None, questions_per_study: int = 3) -> dict[str, int]:
    """Write OUT_DIR/{split}/{task}.jsonl and OUT_DIR/manifest.json; return {"split/task": records}.

    `n_general` general-instruction records (default: as many as studies) go to
    OUT_DIR/{split}/instruction.jsonl.
    """
    if not 0 <= test_fraction + validation_fraction < 1:
        raise ValueError("test_fraction + validation_fraction must be in [0, 1)")
    records = generate(seed, n_studies, test_fraction, validation_fraction, heldout_phrasing_fraction,
                       n_general, questions_per_study)
    out = Path(out_dir)
    counts = write_splits(out, records)
    chars: Counter[str] = Counter()
    for record in records:
        chars[record["split"]] += training_chars(record)
    manifest = {"generator": "lab.demo.synthetic", "seed": seed, "n_studies": n_studies,
                "test_fraction": test_fraction, "validation_fraction": validation_fraction,
                "heldout_phrasing_fraction": heldout_phrasing_fraction, "counts": counts,
                "prompt_and_completion_chars": dict(sorted(chars.items()))}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    log.info("synthetic corpus: %d records in %s", len(records), out)
    return counts


def training_chars(record: dict[str, Any]) -> int:
    """Characters of the record's prompt and completion in the token format, as training sees them."""
    prompt, completion = training_text(record["task"], record, record["reference"])
    return len(prompt) + len(completion)
