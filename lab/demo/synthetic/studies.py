"""One synthetic study: what it shows (its structured truth) and its clean findings.

A Study holds the findings and devices the generator drew, the changes since the
prior study when there is one, and the clean FINDINGS sentences written from them.
Every sentence records which template group and template made it, and which labels
it asserts or denies, so tests can check the text against the truth.

    rng = random.Random("0:patient:1")
    findings, devices = sample_content(rng)
    sentences = compose_findings(rng, findings, devices, Phrasebook(0.25), heldout=False)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from radphi import labels as vocab
from lab.demo.synthetic.devices import DEVICE_SPECS, DEVICES, Device, sample_device
from lab.demo.synthetic.finding_types import Finding, sample_finding
from lab.demo.synthetic.findings import (
    BY_LABEL,
    COMBO_NAMES,
    COMBO_TEMPLATES,
    GROUPS,
    NEGATIONS,
    NORMALS,
    SPECS,
    negatable,
)
from lab.demo.synthetic.phrasing import Phrasebook, fill

# Labels that one study never holds together: they would describe the same air or
# fluid twice, or contradict each other.
EXCLUSIVE = (
    frozenset({"pneumothorax", "hydropneumothorax"}), frozenset({"pleural effusion", "hydropneumothorax"}),
    frozenset({"mass/nodule (not otherwise specified)", "multiple masses/nodules"}),
    frozenset({"elevated hemidiaphragm", "diaphragmatic eventration (benign)"}),
)
CHRONIC = tuple(spec.label for spec in SPECS if not spec.acute)

# Clinical pictures that make findings co-occur as they do on real films: (weight,
# findings with their probabilities, devices with their probabilities).
SCENARIOS: tuple[tuple[float, dict[str, float], dict[str, float]], ...] = (
    (0.24, {}, {}),  # normal
    (0.12, {"enlarged cardiac silhouette": 0.8, "vascular congestion": 0.6, "pulmonary edema/hazy opacity": 0.6,
            "pleural effusion": 0.6, "fluid overload/heart failure": 0.25, "vascular redistribution": 0.2},
     {"cardiac pacer and wires": 0.2}),
    (0.12, {"pneumonia": 0.5, "consolidation": 0.5, "lung opacity": 0.3, "pleural effusion": 0.25,
            "airspace opacity": 0.2}, {}),
    (0.14, {"atelectasis": 0.6, "pleural effusion": 0.5, "pulmonary edema/hazy opacity": 0.3, "lung opacity": 0.2,
            "pneumothorax": 0.1}, {"endotracheal tube": 0.8, "enteric tube": 0.75, "ij line": 0.5, "picc": 0.25,
                                    "swan-ganz catheter": 0.1, "intra-aortic balloon pump": 0.05}),
    (0.06, {"atelectasis": 0.6, "pleural effusion": 0.6, "enlarged cardiac silhouette": 0.3},
     {"sternotomy wires": 0.95, "cabg grafts": 0.6, "prosthetic valve": 0.3, "mediastinal drain": 0.4,
      "chest tube": 0.4, "swan-ganz catheter": 0.2}),
    (0.32, {}, {}),  # anything, drawn by prevalence
)


@dataclass(frozen=True)
class Sentence:
    """One clean sentence of a findings section, and what it says."""

    kind: str                 # finding | device | negative | normal
    key: str                  # its template group
    index: int                # its template within the group
    text: str
    labels: tuple[str, ...]   # labels it asserts (finding, device) or denies (negative)
    group: str


@dataclass
class Study:
    study_id: str
    patient_id: str
    split: str
    order: int
    findings: list[Finding]
    devices: list[Device]
    has_comparison: bool = False
    changes: dict[str, str] = field(default_factory=dict)  # label -> new|improved|worsened|no change
    resolved: list[Finding] = field(default_factory=list)
    removed_devices: list[Device] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    impression: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    report: str = ""
    findings_noisy: str = ""
    impression_noisy: str = ""

    @property
    def heldout(self) -> bool:
        return self.split == "test"

    def _in_mention_order(self, kind: str, present: set[str], vocabulary: tuple[str, ...] | list[str]) -> list[str]:
        """Present labels in the order the findings section first asserts them (then any
        it does not, in vocabulary order). The label sets are what is scored; the order is
        the reading order, which a small model learns far more easily than a global one
        (a 6M-parameter model trained on vocabulary-ordered targets reached label F1 ~0.4)."""
        text = " ".join((self.findings_noisy or self.findings_clean).split())

        def position(sentence: Sentence) -> int:
            # Sentences are reordered and reworded when the report is written; find each
            # by its opening words in the report as printed.
            for probe in (sentence.text.rstrip("."), sentence.text[:30], sentence.text[:15]):
                at = text.find(" ".join(probe.split()))
                if at >= 0:
                    return at
            return len(text)

        mentioned = sorted((s for s in self.sentences if s.kind == kind), key=position)
        ordered = [lab for s in mentioned for lab in s.labels if lab in present]
        ordered += [lab for lab in vocabulary if lab in present]
        return list(dict.fromkeys(ordered))

    @property
    def labels(self) -> list[str]:
        return self._in_mention_order("finding", {f.label for f in self.findings}, vocab.ABNORMALITY_LABELS)

    @property
    def device_labels(self) -> list[str]:
        return self._in_mention_order("device", {d.label for d in self.devices}, vocab.TUBES_LINES_DEVICES_LABELS)

    @property
    def findings_clean(self) -> str:
        return " ".join(s.text for s in self.sentences)

    @property
    def impression_clean(self) -> str:
        return " ".join(text for text, _ in self.impression)


def compatible(label: str, present: set[str]) -> bool:
    return label not in present and not any(label in pair and present & (pair - {label}) for pair in EXCLUSIVE)


def draw_label(rng: random.Random, present: set[str], acute_only: bool = False) -> str | None:
    """A label drawn by prevalence among those compatible with `present`."""
    choices = [s for s in SPECS if compatible(s.label, present) and (s.acute or not acute_only)]
    if not choices:
        return None
    # The square root flattens prevalence: rare labels (pneumomediastinum, a goiter) still
    # get enough training reports for a small model to learn their wording.
    return rng.choices(choices, weights=[s.weight ** 0.5 for s in choices])[0].label


def sample_content(rng: random.Random) -> tuple[list[Finding], list[Device]]:
    """The findings and devices of a first study, drawn from a clinical scenario."""
    scenario = rng.choices(range(len(SCENARIOS)), weights=[s[0] for s in SCENARIOS])[0]
    _, probs, device_probs = SCENARIOS[scenario]
    present: set[str] = set()
    labels = [label for label, p in probs.items() if rng.random() < p]
    if scenario == len(SCENARIOS) - 1:
        labels = []
        for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
            label = draw_label(rng, present | set(labels))
            if label:
                labels.append(label)
    elif scenario != 0 and rng.random() < 0.3:
        extra = draw_label(rng, set(labels))
        if extra:
            labels.append(extra)
    if rng.random() < 0.25:  # incidental chronic findings, normal studies included
        labels.append(rng.choice(CHRONIC))
    findings = []
    for label in labels:
        if compatible(label, present):
            present.add(label)
            findings.append(sample_finding(BY_LABEL[label], rng))
    device_labels = [label for label, p in device_probs.items() if rng.random() < p]
    if "endotracheal tube" in device_probs and "endotracheal tube" not in device_labels and rng.random() < 0.3:
        device_labels.append("tracheostomy tube")
    if rng.random() < 0.25:  # any device, by flattened prevalence, so every label turns up
        device_labels.append(rng.choices(DEVICE_SPECS, weights=[d.weight ** 0.5 for d in DEVICE_SPECS])[0].label)
    devices = [sample_device(DEVICES[label], rng) for label in dict.fromkeys(device_labels)]
    return findings, devices


def _sort_key(sentence: Sentence) -> tuple[bool, int, int]:
    # Positives first, in dictation order; then normal anatomy and denials, group by group.
    rank = {"device": 0, "finding": 0, "normal": 1, "negative": 2}[sentence.kind]
    return rank > 0, GROUPS.index(sentence.group), rank


def compose_findings(rng: random.Random, findings: list[Finding], devices: list[Device],
                     book: Phrasebook, heldout: bool) -> list[Sentence]:
    """The clean findings sentences: devices, positives, denials and normal anatomy, in dictation order."""
    out: list[Sentence] = []
    order = {spec.label: i for i, spec in enumerate(DEVICE_SPECS)}
    for device in sorted(devices, key=lambda d: order[d.label]):
        key = f"dev:{device.label}"
        index, template = book.pick(rng, key, DEVICES[device.label].templates, heldout)
        out.append(Sentence("device", key, index, fill(template, device.slots()), (device.label,), "devices"))
    for finding in findings:
        spec = BY_LABEL[finding.label]
        key = f"pos:{finding.label}"
        index, template = book.pick(rng, key, spec.templates, heldout)
        out.append(Sentence("finding", key, index, fill(template, finding.slots()), (finding.label,), spec.group))
    present = {f.label for f in findings}
    out.extend(_negatives(rng, present, book, heldout))
    busy = {BY_LABEL[label].group for label in present}
    for group, templates in NORMALS.items():
        if group not in busy and rng.random() < (0.85 if not present else 0.6):
            index, template = book.pick(rng, f"normal:{group}", templates, heldout)
            out.append(Sentence("normal", f"normal:{group}", index, template, (), group))
    return sorted(out, key=_sort_key)


def _negatives(rng: random.Random, present: set[str], book: Phrasebook, heldout: bool) -> list[Sentence]:
    deniable = negatable(present)
    rng.shuffle(deniable)
    out: list[Sentence] = []
    combos = [label for label in deniable if label in COMBO_NAMES]
    if len(combos) >= 2 and rng.random() < 0.5:
        first, second = combos[:2]
        index, template = book.pick(rng, "neg:combo", COMBO_TEMPLATES, heldout)
        text = fill(template, {"n1": COMBO_NAMES[first], "n2": COMBO_NAMES[second]})
        out.append(Sentence("negative", "neg:combo", index, text, (first, second), BY_LABEL[first].group))
        deniable = [label for label in deniable if label not in (first, second)]
    for label in deniable[: rng.choice((0, 1, 1, 2, 2, 3))]:
        index, template = book.pick(rng, f"neg:{label}", NEGATIONS[label], heldout)
        out.append(Sentence("negative", f"neg:{label}", index, template, (label,), BY_LABEL[label].group))
    return out
