"""THE SPLIT RULE (DATA_FORMATS.md): MIMIC-CXR's own split, keyed by study_id, for every
report task.

Reads `mimic-cxr-2.0.0-split.csv[.gz]` (columns `dicom_id, study_id, subject_id, split`;
split is `train`, `validate` or `test`). Chest ImaGenome and Medical-Diff-VQA records
take the split of their current study whatever their own split files say; a pair whose
prior study falls in another split is dropped, so no test study's text reaches
training through any task. `SplitCounter` counts what each rule kept, moved and
dropped, logs it and hands it to the data build's tally (tally.py).

    splits = MimicSplits.load("mimic-cxr-2.0.0-split.csv.gz")
    counter = SplitCounter("diff_vqa")
    split = splits.assign("50414267", prior="53189527", own="val", counter=counter)  # None: dropped
    counter.log()
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from radphi.training.loaders.common import iter_csv, norm_id, resolve_existing
from radphi.training.loaders.tally import note

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
_ALIASES = {
    "train": "train", "training": "train",
    "validate": "validation", "validation": "validation", "valid": "validation", "val": "validation",
    "dev": "validation",
    "test": "test", "testing": "test",
}


def normalize_split(name: str | None) -> str | None:
    """`validate`/`valid`/`val` -> `validation`, etc.; None for anything else."""
    if name is None:
        return None
    return _ALIASES.get(str(name).strip().lower())


@dataclass
class SplitCounter:
    """How many records each part of the split rule kept, moved or dropped, for one source."""

    source: str
    counts: Counter = field(default_factory=Counter)

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] += n

    def log(self) -> dict[str, int]:
        """Log the counts (and hand them to the build's tally, radphi/training/loaders/tally.py)."""
        for what, n in self.counts.items():
            note(self.source, what, n)
        if self.counts:
            log.info("%s split rule: %s", self.source,
                     ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items())))
        return dict(self.counts)


@dataclass
class MimicSplits:
    """study_id -> split, and dicom_id -> study_id, from MIMIC-CXR's split table."""

    by_study: dict[str, str]
    study_of_dicom: dict[str, str]

    @classmethod
    def load(cls, path: str | Path) -> MimicSplits:
        return _load_cached(str(resolve_existing(path).resolve()))

    def split_of(self, study_id: object) -> str | None:
        return self.by_study.get(norm_id(study_id))

    def assign(self, study_id: object, *, prior: object = None, own: str | None = None,
               counter: SplitCounter | None = None) -> str | None:
        """The split a record of STUDY_ID (compared with PRIOR) belongs to, or None to drop it.

        OWN is the split the derived dataset itself gave; a difference is counted as a move.
        """
        counter = counter if counter is not None else SplitCounter("?")
        split = self.split_of(study_id)
        if split is None:
            counter.add("dropped_study_not_in_mimic_split")
            return None
        if prior is not None and str(prior).strip():
            prior_split = self.split_of(prior)
            if prior_split is None:
                counter.add("dropped_prior_not_in_mimic_split")
                return None
            if prior_split != split:
                counter.add("dropped_prior_in_other_split")
                return None
        if own is not None and normalize_split(own) != split:
            counter.add("moved_to_mimic_split")
        counter.add(f"kept_{split}")
        return split


@functools.lru_cache(maxsize=4)
def _load_cached(path: str) -> MimicSplits:
    by_study: dict[str, str] = {}
    study_of_dicom: dict[str, str] = {}
    conflicts = 0
    for row in iter_csv(path):
        study = norm_id(row.get("study_id", ""))
        split = normalize_split(row.get("split"))
        if not study or split is None:
            continue
        if by_study.setdefault(study, split) != split:
            conflicts += 1
        dicom = row.get("dicom_id", "").strip()
        if dicom:
            study_of_dicom[dicom] = study
    if conflicts:
        log.warning("%s: %d rows put a study in two splits; the first row's split is used", path, conflicts)
    log.info("%s: %d studies (%s)", path, len(by_study),
             ", ".join(f"{s}={sum(1 for v in by_study.values() if v == s)}" for s in SPLITS))
    return MimicSplits(by_study, study_of_dicom)
