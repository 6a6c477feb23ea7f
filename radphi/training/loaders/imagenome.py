"""Chest ImaGenome scene graphs -> abnormality_labels, tubes_lines_devices_labels,
qa_temporal_progression.

Reads `{dicom_id}_SceneGraph.json` files found at any depth below SCENE_GRAPHS (the
dataset root, `silver_dataset/`, or a scene_graph directory: documented at
`silver_dataset/scene_graph/`, found by public readers of the real release at
`silver_dataset/scene_graph/scene_graph/`), with report
texts from MIMIC-CXR (`mimic_cxr.ReportStore`) and splits from MIMIC-CXR's split
table: ImaGenome's own `splits/*.csv` are not read, since the split rule keys every
record on its current study's MIMIC-CXR split.

- Labels: the union of `yes` labels over every region of every image of the study:
  `anatomicalfinding` and `disease` for abnormality labels, `tubesandlines` and `device`
  for tubes/lines/devices. Targets are written by the task's `format_answer`.
- Progression: each `relationships[]` entry whose `relationship_names` hold
  `comparison|yes|improved|worsened|no change` gives one {finding, region, change} per
  `yes` finding in its `attributes`, region = `bbox_name`. The prior study is the study
  of the image named before `_` in `object_id` (looked up in MIMIC-CXR's split table,
  else in the scene graphs read). A pair whose prior is in another split is dropped.

*(uncertain)*: whether `attributes` of a relationship is a flat list or a list of
lists, and whether `relationship_names` is a list or a string (both are read); whether
the paper kept studies with no tubes/lines/devices (Table 3's 94,915 against 221,035
abnormality records suggests not: `skip_empty_tubes=True` by default).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from radphi import answers
from radphi.training.loaders.common import make_record, norm_id
from radphi.training.loaders.mimic_cxr import report_store
from radphi.training.loaders.splits import MimicSplits, SplitCounter
from radphi.training.loaders.tally import note

log = logging.getLogger(__name__)

TASKS = ("abnormality_labels", "tubes_lines_devices_labels", "qa_temporal_progression")
DATASET = "chest_imagenome"
ABNORMALITY_CATEGORIES = ("anatomicalfinding", "disease")
TUBES_CATEGORIES = ("tubesandlines", "device")
CHANGES = {"improved": "improved", "worsened": "worsened", "no change": "no change"}


def scene_graph_files(root: str | Path) -> list[Path]:
    """Every `*_SceneGraph.json` below ROOT, at any depth, each file name once.

    The release documents `silver_dataset/scene_graph/{dicom_id}_SceneGraph.json`, but
    public readers of the real files find them one level deeper
    (`silver_dataset/scene_graph/scene_graph/`), so ROOT may be the dataset root,
    `silver_dataset/`, either scene_graph directory, or anything above them. A file
    name found twice (an archive unzipped twice) is read once, and counted.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"Chest ImaGenome scene graphs: not a directory: {root}")
    by_name: dict[str, Path] = {}
    duplicates = 0
    # sorted: the shallowest path of a name wins, the same on every run
    for path in sorted(root.rglob("*_SceneGraph.json"), key=lambda p: (len(p.parts), str(p))):
        if path.name in by_name:
            duplicates += 1
            continue
        by_name[path.name] = path
    if not by_name:
        raise FileNotFoundError(f"no *_SceneGraph.json files under {root} (looked at every depth, e.g. "
                                f"silver_dataset/scene_graph/ and silver_dataset/scene_graph/scene_graph/)")
    if duplicates:
        log.warning("%s: %d scene graph files found twice below it; each read once", root, duplicates)
        note(DATASET, "duplicate_scene_graph_file", duplicates)
    return sorted(by_name.values(), key=lambda p: p.name)


def _flat(value: Any) -> list[str]:
    """A string, a list of strings or a list of lists of strings, as a flat list."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    out: list[str] = []
    for item in value:
        out.extend(_flat(item))
    return out


def _yes(entries: Iterable[str], categories: tuple[str, ...]) -> list[str]:
    """Labels of `category|yes|label` entries in CATEGORIES."""
    out = []
    for entry in entries:
        parts = [p.strip() for p in entry.split("|")]
        if len(parts) == 3 and parts[0].lower() in categories and parts[1].lower() == "yes" and parts[2]:
            out.append(parts[2].lower())
    return out


def read_scene_graph(path: Path) -> dict[str, Any]:
    # Some PhysioNet JSON carries a bare NaN; Python's json reads it.
    return json.loads(path.read_text(encoding="utf-8"))


def study_labels(graph: dict[str, Any], categories: tuple[str, ...]) -> set[str]:
    labels: set[str] = set()
    for region in graph.get("attributes") or []:
        labels.update(_yes(_flat(region.get("attributes")), categories))
    return labels


def progression_items(graph: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """prior dicom_id -> [{finding, region, change}] from the graph's comparison relationships."""
    out: dict[str, list[dict[str, str]]] = defaultdict(list)
    for rel in graph.get("relationships") or []:
        changes = [CHANGES[n.split("|")[2].strip().lower()] for n in _flat(rel.get("relationship_names"))
                   if n.count("|") == 2 and n.split("|")[1].strip().lower() == "yes"
                   and n.split("|")[2].strip().lower() in CHANGES]
        prior_dicom = str(rel.get("object_id") or "").split("_")[0].strip()
        region = str(rel.get("bbox_name") or "").strip()
        findings = _yes(_flat(rel.get("attributes")), ABNORMALITY_CATEGORIES)
        if not prior_dicom:
            continue
        for change in changes:
            for finding in findings:
                out[prior_dicom].append({"finding": finding, "region": region, "change": change})
    return out


def _dedupe(items: list[dict[str, str]]) -> list[dict[str, str]]:
    seen = {(i["finding"], i["region"], i["change"]) for i in items}
    return [{"finding": f, "region": r, "change": c} for f, r, c in sorted(seen)]


def load(scene_graphs: str, reports: str, split_csv: str, tasks: Iterable[str] = TASKS,
         skip_empty_abnormality: bool = False, skip_empty_tubes: bool = True,
         limit: int | None = None) -> list[dict[str, Any]]:
    """Records of the chosen TASKS for every study with scene graphs, a report and a split."""
    tasks = tuple(tasks)
    unknown = set(tasks) - set(TASKS)
    if unknown:
        raise ValueError(f"imagenome loader: unknown task(s) {sorted(unknown)}; it makes {', '.join(TASKS)}")
    store = report_store(reports)
    splits = MimicSplits.load(split_csv)
    studies: dict[str, dict[str, Any]] = defaultdict(lambda: {"abn": set(), "tld": set(), "prior": defaultdict(list),
                                                              "dicoms": []})
    study_of_dicom = dict(splits.study_of_dicom)
    for path in scene_graph_files(scene_graphs)[:limit]:
        graph = read_scene_graph(path)
        study = norm_id(graph.get("study_id", ""))
        dicom = str(graph.get("image_id") or path.name.split("_")[0])
        if not study:
            log.warning("%s: no study_id; skipped", path)
            continue
        study_of_dicom.setdefault(dicom, study)
        s = studies[study]
        s["dicoms"].append(dicom)
        s["abn"] |= study_labels(graph, ABNORMALITY_CATEGORIES)
        s["tld"] |= study_labels(graph, TUBES_CATEGORIES)
        for prior_dicom, items in progression_items(graph).items():
            s["prior"][prior_dicom].extend(items)
    counters = {t: SplitCounter(f"{DATASET}/{t}") for t in tasks}
    out: list[dict[str, Any]] = []
    for study, s in studies.items():
        out.extend(_records(study, s, tasks, store, splits, study_of_dicom, counters,
                            skip_empty_abnormality, skip_empty_tubes))
    for counter in counters.values():
        counter.log()
    return out


def _records(study: str, s: dict[str, Any], tasks: tuple[str, ...], store: Any, splits: MimicSplits,
             study_of_dicom: dict[str, str], counters: dict[str, SplitCounter],
             skip_empty_abnormality: bool, skip_empty_tubes: bool) -> Iterator[dict[str, Any]]:
    report = store.text(study)
    meta = {"dataset": DATASET, "study_id": study, "dicom_ids": sorted(s["dicoms"])}
    for task, labels, skip in (("abnormality_labels", s["abn"], skip_empty_abnormality),
                               ("tubes_lines_devices_labels", s["tld"], skip_empty_tubes)):
        if task not in tasks:
            continue
        if report is None:
            counters[task].add("dropped_no_report")
            continue
        if skip and not labels:
            counters[task].add("skipped_no_labels")
            continue
        split = splits.assign(study, counter=counters[task])
        if split is not None:
            yield make_record(f"imagenome-{study}-{task}", task, {"report": report},
                              answers.format_labels(sorted(labels)), split, **meta)
    if "qa_temporal_progression" not in tasks:
        return
    counter = counters["qa_temporal_progression"]
    by_prior_study: dict[str, list[dict[str, str]]] = defaultdict(list)
    for prior_dicom, items in s["prior"].items():
        prior = study_of_dicom.get(prior_dicom)
        if prior is None:
            counter.add("dropped_prior_image_unknown")
            continue
        by_prior_study[prior].extend(items)
    for prior, items in sorted(by_prior_study.items()):
        prior_report = store.text(prior)
        if report is None or prior_report is None or prior == study:
            counter.add("dropped_no_report")
            continue
        split = splits.assign(study, prior=prior, counter=counter)
        if split is None:
            continue
        yield make_record(f"imagenome-{study}-{prior}-qa_temporal_progression", "qa_temporal_progression",
                          {"report": report, "prior_report": prior_report},
                          answers.format_progression(_dedupe(items)), split, **meta, prior_study_id=prior)
