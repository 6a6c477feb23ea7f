"""MIMIC-CXR reports -> extract_findings, extract_impression, impression_prediction.

Reads the PhysioNet v2.0.0 layout:
- reports: `files/p{first two digits}/p{subject_id}/s{study_id}.txt` under REPORTS (the
  directory holding `files/`, or `files/` itself);
- the split table `mimic-cxr-2.0.0-split.csv[.gz]` (`dicom_id, study_id, subject_id, split`);
- optionally the official `mimic_cxr_sectioned.csv` (`study, impression, findings,
  last_paragraph, comparison`), whose sections then win over our own parse.

Sections are found by `radphi.reports.split_sections`, in the official parser's manner
(MIT-LCP mimic-cxr `txt/section_parser.py`), except for the 54 studies that MIT-LCP's
hand-written rules cover (mimic_sections.py): their conclusion is the rule's section
or span, taken as the impression, and the 8 with no findings at all give no record.
The official `create_section_files.py` leaves those 54 out of its CSV, so the rules
apply with or without `sectioned_csv`. A study without a split row is dropped (and
counted). The report given to the model is the whole text, one paragraph per line
(`common.clean_report`).

Targets: the section texts. The paper had GPT-4 clean them (no change language, no
names, no follow-up advice); pass `clean_targets=` a JSONL written by
`python -m radphi.training.cleanup_targets` (records with `meta.study_id` and `meta.section`)
to train on those instead. *(uncertain)*: whether the paper's extract tasks used the
cleaned or the raw section text as targets; cleaned is the better reading of Table 2.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from radphi.reports import split_sections
from radphi.training.loaders.common import (
    clean_report,
    collapse,
    iter_csv,
    make_record,
    norm_id,
)
from radphi.training.loaders.mimic_sections import rule_sections
from radphi.training.loaders.splits import MimicSplits, SplitCounter

log = logging.getLogger(__name__)

TASKS = ("extract_findings", "extract_impression", "impression_prediction")
DATASET = "mimic_cxr"


class ReportStore:
    """MIMIC-CXR report texts by study_id; the file index is built on first use."""

    def __init__(self, root: str | Path):
        root = Path(root).expanduser()
        self.files_dir = root if root.name == "files" or not (root / "files").is_dir() else root / "files"
        if not self.files_dir.is_dir():
            raise FileNotFoundError(f"MIMIC-CXR reports directory not found: {root}")
        self._paths: dict[str, Path] | None = None
        self._subjects: dict[str, str] = {}

    def _index(self) -> dict[str, Path]:
        if self._paths is None:
            self._paths = {}
            # files/p10/p10000032/s50414267.txt
            for path in sorted(self.files_dir.glob("p*/p*/s*.txt")):
                study = norm_id(path.stem)
                self._paths[study] = path
                self._subjects[study] = norm_id(path.parent.name)
            log.info("%s: %d reports", self.files_dir, len(self._paths))
        return self._paths

    def studies(self) -> list[str]:
        return list(self._index())

    def subject_of(self, study_id: object) -> str | None:
        self._index()
        return self._subjects.get(norm_id(study_id))

    def raw(self, study_id: object) -> str | None:
        path = self._index().get(norm_id(study_id))
        return path.read_text(encoding="utf-8", errors="replace") if path else None

    def text(self, study_id: object) -> str | None:
        """The report as the model sees it, or None when there is no file for the study."""
        raw = self.raw(study_id)
        return clean_report(raw) if raw is not None else None


_STORES: dict[str, ReportStore] = {}


def report_store(root: str | Path) -> ReportStore:
    """One shared store per directory, so several sources index the files once."""
    key = str(Path(root).expanduser().resolve())
    if key not in _STORES:
        _STORES[key] = ReportStore(root)
    return _STORES[key]


def read_sectioned_csv(path: str | Path) -> dict[str, dict[str, str]]:
    """study_id -> {findings, impression, last_paragraph, comparison} from mimic_cxr_sectioned.csv."""
    out: dict[str, dict[str, str]] = {}
    for row in iter_csv(path):
        study = norm_id(row.get("study", ""))
        if study:
            out[study] = {k: collapse(row.get(k)) for k in ("findings", "impression", "last_paragraph", "comparison")}
    return out


def sections_of(store: ReportStore, study: str, sectioned: dict[str, dict[str, str]] | None) -> dict[str, str]:
    """{findings, impression, ...} of STUDY: MIT-LCP's hand-written rule when one names the
    study (mimic_sections.py), else the official sectioned CSV's row, else our own parse."""
    raw = store.raw(study)
    ruled = rule_sections(study, raw) if raw is not None else None
    if ruled is not None:
        return {k: v for k, v in (("findings", ruled.findings), ("impression", ruled.impression),
                                  ("rule", ruled.rule)) if v}
    if sectioned is not None and study in sectioned:
        return {k: v for k, v in sectioned[study].items() if v}
    return split_sections(raw) if raw is not None else {}


def _clean_index(path: str | Path | None) -> dict[tuple[str, str], str]:
    if not path:
        return {}
    from radphi.training.loaders.cleanup import clean_targets_index

    return clean_targets_index(path)


def load(reports: str, split_csv: str, tasks: Iterable[str] = TASKS, sectioned_csv: str | None = None,
         clean_targets: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Records of the chosen TASKS for every study that has a report and a split."""
    tasks = tuple(tasks)
    unknown = set(tasks) - set(TASKS)
    if unknown:
        raise ValueError(f"mimic_cxr loader: unknown task(s) {sorted(unknown)}; it makes {', '.join(TASKS)}")
    store = report_store(reports)
    splits = MimicSplits.load(split_csv)
    sectioned = read_sectioned_csv(sectioned_csv) if sectioned_csv else None
    cleaned = _clean_index(clean_targets)
    counter = SplitCounter(DATASET)
    out: list[dict[str, Any]] = []
    for study in store.studies()[:limit]:
        split = splits.assign(study, counter=counter)
        if split is None:
            continue
        out.extend(_study_records(store, study, split, tasks, sectioned, cleaned, counter))
    counter.log()
    return out


def _study_records(store: ReportStore, study: str, split: str, tasks: tuple[str, ...],
                   sectioned: dict[str, dict[str, str]] | None, cleaned: dict[tuple[str, str], str],
                   counter: SplitCounter) -> Iterator[dict[str, Any]]:
    report = store.text(study) or ""
    sections = sections_of(store, study, sectioned)
    findings, impression = sections.get("findings", ""), sections.get("impression", "")
    if "rule" in sections:
        counter.add(sections["rule"])
    meta = {"dataset": DATASET, "study_id": study, "subject_id": store.subject_of(study)}
    if "extract_findings" in tasks and findings:
        target = cleaned.get((study, "findings"), findings)
        yield make_record(f"mimic-{study}-extract_findings", "extract_findings", {"report": report}, target,
                          split, **meta, cleaned=(study, "findings") in cleaned)
    if "extract_impression" in tasks and impression:
        target = cleaned.get((study, "impression"), impression)
        yield make_record(f"mimic-{study}-extract_impression", "extract_impression", {"report": report}, target,
                          split, **meta, cleaned=(study, "impression") in cleaned)
    if "impression_prediction" in tasks and findings and impression:
        yield make_record(f"mimic-{study}-impression_prediction", "impression_prediction", {"findings": findings},
                          impression, split, **meta)
    if not (findings or impression) and "rule" not in sections:
        counter.add("no_findings_or_impression")
