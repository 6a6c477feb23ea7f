"""Clean impressions, written the way radiologists summarise a study.

Tubes and lines come first, each with where its tip lies; then the acute findings,
most urgent first; chronic and incidental findings (degenerative change, a tortuous
aorta, a calcified granuloma) are left to the findings section. A study with nothing
acute ends with "No acute cardiopulmonary process." Impression phrasings are not held
out: they are the targets, and a model can only be scored on wording it could learn.

Each impression sentence is returned with the labels it reports, so the noisy
rendering can put change words ("Unchanged", "Increased") in front of the right one.
"""

from __future__ import annotations

import random

from lab.demo.synthetic.devices import DEVICE_SPECS, DEVICES, Device
from lab.demo.synthetic.finding_types import Finding
from lab.demo.synthetic.findings import BY_LABEL, urgency

NORMAL_IMPRESSION = "No acute cardiopulmonary process."


def describe(finding: Finding) -> str:
    """The finding as a noun phrase: "small left pleural effusion"."""
    slots = finding.slots()
    text = BY_LABEL[finding.label].describe
    for name, value in slots.items():
        text = text.replace("{" + name + "}", value)
    return " ".join(text.split())


def describe_device(device: Device) -> str:
    """The device as a noun phrase: "right internal jugular line"."""
    name = DEVICES[device.label].name
    return f"{device.side} {name}" if device.side else name


def device_sentence(device: Device) -> str:
    """What an impression says of a tube or line: its name and where its tip lies."""
    name = describe_device(device)
    return capitalized(f"{name} {device.verb} {device.place}." if device.place else f"{name} in place.")


def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def join_list(items: list[str]) -> str:
    """"a", "a and b", "a, b, and c"."""
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def build_impression(rng: random.Random, findings: list[Finding], devices: list[Device]) -> list[tuple[str, tuple[str, ...]]]:
    """[(sentence, labels it reports)] for the clean impression."""
    order = {spec.label: i for i, spec in enumerate(DEVICE_SPECS)}
    out: list[tuple[str, tuple[str, ...]]] = []
    for device in sorted(devices, key=lambda d: order[d.label]):
        if DEVICES[device.label].line:
            out.append((device_sentence(device), (device.label,)))
    acute = sorted((f for f in findings if BY_LABEL[f.label].acute), key=lambda f: urgency(f.label))
    i = 0
    while i < len(acute):
        # Related findings are often dictated as one sentence ("... with ..."); joining
        # two now and then keeps the target from being a fixed one-per-line list.
        if i + 1 < len(acute) and rng.random() < 0.25:
            pair = acute[i:i + 2]
            text = capitalized(f"{describe(pair[0])} {rng.choice(('and', 'with'))} {describe(pair[1])}.")
            out.append((text, (pair[0].label, pair[1].label)))
            i += 2
        else:
            out.append((capitalized(describe(acute[i])) + ".", (acute[i].label,)))
            i += 1
    if not acute:
        out.append((NORMAL_IMPRESSION, ()))
    return out
