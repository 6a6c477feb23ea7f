"""qa_comprehension: questions a report answers, with short gold answers.

Question kinds: is a finding present ("Yes, small left pleural effusion." / "No."),
where is it, how severe is it, which abnormalities are seen, is a tube or line present,
where does its tip lie, which devices are present. Every answer follows from the
study's structured truth, and everything it states is in the report's text (the
templates always state side, lobe, severity and tip position). "No." is asked only
of labels the report may deny (see findings.negatable) or that have resolved, so a
related finding never makes it doubtful. Question wordings are template groups
(`q:<kind>`) with held-out phrasings like the findings'.
"""

from __future__ import annotations

import random

from lab.demo.synthetic.devices import DEVICES, Device
from lab.demo.synthetic.finding_types import Finding
from lab.demo.synthetic.findings import BY_LABEL, negatable
from lab.demo.synthetic.impressions import (
    capitalized,
    describe,
    describe_device,
    join_list,
)
from lab.demo.synthetic.phrasing import Phrasebook, fill
from lab.demo.synthetic.studies import Study

QUESTIONS: dict[str, tuple[str, ...]] = {
    "presence": ("Is there evidence of {name}?", "Does the report describe {name}?", "Is {name} present?",
                 "Is there any {name}?", "Does this study show {name}?"),
    "location": ("Where is the {name}?", "Where is the {name} located?", "What is the location of the {name}?",
                 "In what location is the {name} seen?"),
    "severity": ("How severe is the {name}?", "What is the severity of the {name}?", "What level is the {name}?",
                 "What degree of {name} is described?"),
    "abnormalities": ("What abnormalities are seen in this image?", "What abnormalities does the report describe?",
                      "Which abnormal findings are present?", "List the abnormal findings in this report."),
    "device_presence": ("Is there {ask}?", "Does the patient have {ask}?", "Is {ask} present?",
                        "Does the image show {ask}?"),
    "device_position": ("Where does the {name} terminate?", "Where is the tip of the {name}?",
                        "What is the position of the {name}?", "Where does the {name} end?"),
    "devices": ("What tubes, lines or devices are present?", "Which support devices are seen?",
                "List the tubes, lines and devices in this report.", "What devices does the report mention?"),
}
LINES = tuple(label for label, spec in DEVICES.items() if spec.line)


def _ask(rng: random.Random, book: Phrasebook, study: Study, kind: str, **slots: str) -> str:
    _, template = book.pick(rng, f"q:{kind}", QUESTIONS[kind], study.heldout)
    return fill(template, slots)


def comprehension(rng: random.Random, study: Study, book: Phrasebook, n: int = 3) -> list[tuple[str, str, str]]:
    """Up to `n` (kind, question, answer) triples about the study, each of a different kind."""
    present = {f.label for f in study.findings}
    deniable = negatable(present) + [f.label for f in study.resolved if f.label not in present]
    located = [f for f in study.findings if f.location()]
    graded = [f for f in study.findings if BY_LABEL[f.label].scale]
    placed = [d for d in study.devices if d.place and DEVICES[d.label].line]
    absent_lines = [label for label in LINES if label not in {d.label for d in study.devices}]
    makers = {
        "presence": lambda: _presence(rng, book, study, deniable),
        "location": (lambda: _location(rng, book, study, rng.choice(located))) if located else None,
        "severity": (lambda: _severity(rng, book, study, rng.choice(graded))) if graded else None,
        "abnormalities": lambda: _abnormalities(rng, book, study),
        "device_presence": lambda: _device_presence(rng, book, study, absent_lines),
        "device_position": (lambda: _device_position(rng, book, study, rng.choice(placed))) if placed else None,
        "devices": lambda: _devices(rng, book, study),
    }
    kinds = [kind for kind, make in makers.items() if make is not None]
    weights = {"presence": 4, "location": 3, "severity": 3, "abnormalities": 1.5, "device_presence": 1,
               "device_position": 3, "devices": 1}
    out = []
    while kinds and len(out) < n:
        kind = rng.choices(kinds, weights=[weights[k] for k in kinds])[0]
        kinds.remove(kind)
        question, answer = makers[kind]()  # type: ignore[misc]
        out.append((kind, question, answer))
    return out


def _presence(rng: random.Random, book: Phrasebook, study: Study, deniable: list[str]) -> tuple[str, str]:
    if study.findings and (not deniable or rng.random() < 0.55):
        finding = rng.choice(study.findings)
        name = BY_LABEL[finding.label].name
        return _ask(rng, book, study, "presence", name=name), f"Yes, {describe(finding)}."
    label = rng.choice(deniable)
    return _ask(rng, book, study, "presence", name=BY_LABEL[label].name), "No."


def _location(rng: random.Random, book: Phrasebook, study: Study, finding: Finding) -> tuple[str, str]:
    return (_ask(rng, book, study, "location", name=BY_LABEL[finding.label].name),
            capitalized(finding.location()) + ".")


def _severity(rng: random.Random, book: Phrasebook, study: Study, finding: Finding) -> tuple[str, str]:
    return _ask(rng, book, study, "severity", name=BY_LABEL[finding.label].name), capitalized(finding.severity) + "."


def _abnormalities(rng: random.Random, book: Phrasebook, study: Study) -> tuple[str, str]:
    found = [describe(f) for f in study.findings]
    answer = capitalized(join_list(found)) + "." if found else "No abnormalities are seen."
    return _ask(rng, book, study, "abnormalities"), answer


def _device_presence(rng: random.Random, book: Phrasebook, study: Study, absent: list[str]) -> tuple[str, str]:
    if study.devices and (not absent or rng.random() < 0.6):
        device = rng.choice(study.devices)
        answer = f"Yes, {device.place}." if device.place and DEVICES[device.label].line else "Yes."
        return _ask(rng, book, study, "device_presence", ask=DEVICES[device.label].ask), answer
    label = rng.choice(absent)
    return _ask(rng, book, study, "device_presence", ask=DEVICES[label].ask), "No."


def _device_position(rng: random.Random, book: Phrasebook, study: Study, device: Device) -> tuple[str, str]:
    return (_ask(rng, book, study, "device_position", name=DEVICES[device.label].name),
            capitalized(device.place) + ".")


def _devices(rng: random.Random, book: Phrasebook, study: Study) -> tuple[str, str]:
    names = [describe_device(d) for d in study.devices]
    answer = capitalized(join_list(names)) + "." if names else "None."
    return _ask(rng, book, study, "devices"), answer
