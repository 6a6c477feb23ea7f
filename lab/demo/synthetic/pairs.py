"""Prior/current pairs: how a study evolves into the next, and the temporal gold answers.

A later study of a patient starts from the prior's findings: each persists (its
severity may rise or fall), resolves, or new ones appear; tubes and lines come and
go. The truth is kept as structure, so the gold answers follow from set differences
and severity steps and never from reading text:

- added / removed: abnormality labels present now and not before, and the reverse
  (devices are not part of this task; Medical-Diff-VQA's differences are findings);
- progression: one {finding, region, change} per region of each finding present in
  both studies, change by its severity (a finding without a severity scale is "no
  change"), region named as a Chest ImaGenome bbox.
"""

from __future__ import annotations

import random

from radphi import labels as vocab
from lab.demo.synthetic.devices import DEVICES, sample_device
from lab.demo.synthetic.finding_types import Finding, regions, sample_finding
from lab.demo.synthetic.findings import BY_LABEL
from lab.demo.synthetic.studies import Study, draw_label

CHANGE_WEIGHTS = (("no change", 0.45), ("worsened", 0.3), ("improved", 0.25))


def _step(finding: Finding, rng: random.Random) -> tuple[Finding, str]:
    """The finding one study later, with its change (limited by the ends of its scale)."""
    scale = BY_LABEL[finding.label].scale
    if not scale:
        return finding, "no change"
    change = rng.choices([c for c, _ in CHANGE_WEIGHTS], weights=[w for _, w in CHANGE_WEIGHTS])[0]
    index = scale.index(finding.severity) + {"no change": 0, "worsened": 1, "improved": -1}[change]
    if not 0 <= index < len(scale):
        return finding, "no change"
    return Finding(finding.label, finding.side, finding.lobe, scale[index], finding.detail), change


def evolve(rng: random.Random, prior: Study, study_id: str, order: int) -> Study:
    """The next study of the same patient, with its changes and what resolved."""
    findings: list[Finding] = []
    changes: dict[str, str] = {}
    resolved: list[Finding] = []
    for finding in prior.findings:
        keep = 0.95 if not BY_LABEL[finding.label].acute else 0.6
        if rng.random() < keep:
            finding, change = _step(finding, rng)
            findings.append(finding)
            changes[finding.label] = change
        else:
            resolved.append(finding)
    present = {f.label for f in findings} | {f.label for f in resolved}
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        label = draw_label(rng, present, acute_only=True)
        if label is not None:
            present.add(label)
            findings.append(sample_finding(BY_LABEL[label], rng))
            changes[label] = "new"
    devices, removed = [], []
    for device in prior.devices:
        (devices if rng.random() < 0.75 or not DEVICES[device.label].line else removed).append(device)
    if rng.random() < 0.2:
        label = rng.choice(("endotracheal tube", "enteric tube", "ij line", "picc", "chest tube"))
        if label not in {d.label for d in devices}:
            devices.append(sample_device(DEVICES[label], rng))
            changes[label] = "new"
    return Study(study_id, prior.patient_id, prior.split, order, findings, devices, has_comparison=True,
                 changes=changes, resolved=resolved, removed_devices=removed)


def temporal_findings(prior: Study, current: Study) -> dict[str, list[str]]:
    """{"added", "removed"}: abnormality labels, in vocabulary order."""
    before, after = set(prior.labels), set(current.labels)
    return {"added": [label for label in vocab.ABNORMALITY_LABELS if label in after - before],
            "removed": [label for label in vocab.ABNORMALITY_LABELS if label in before - after]}


def progression(prior: Study, current: Study) -> list[dict[str, str]]:
    """[{finding, region, change}] for each finding present in both studies."""
    before = {f.label for f in prior.findings}
    items = []
    for finding in current.findings:
        if finding.label in before:
            change = current.changes.get(finding.label, "no change")
            for region in regions(BY_LABEL[finding.label], finding):
                items.append({"finding": finding.label, "region": region, "change": change})
    order = {label: i for i, label in enumerate(vocab.ABNORMALITY_LABELS)}
    return sorted(items, key=lambda item: (order[item["finding"]], item["region"]))
