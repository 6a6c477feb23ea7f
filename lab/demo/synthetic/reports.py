"""Noisy reports in the MIMIC-CXR layout, rendered from a Study's clean text.

The clean findings and impression are what the extraction and cleanup tasks must
recover. The rendered report adds what real reports hold and those tasks must drop:
the header sections (EXAMINATION, INDICATION, TECHNIQUE, COMPARISON), `___`
placeholders, change wording ("increased since the prior study", "Unchanged ..."),
statements about resolved findings and removed tubes, doctor names, dates and times,
"discussed with Dr. ___ at 10:15", follow-up advice, numbered impressions and now and
then a WET READ or NOTIFICATION section. Lines are wrapped and indented as in MIMIC,
so `radphi.reports.split_sections` reads the sections back exactly.
"""

from __future__ import annotations

import random
import textwrap

from lab.demo.synthetic.devices import DEVICES, is_malpositioned
from lab.demo.synthetic.findings import BY_LABEL
from lab.demo.synthetic.impressions import describe, describe_device
from lab.demo.synthetic.studies import Study

# Invented surnames: noise that names a doctor, as unscrubbed reports from other
# systems do. MIMIC itself writes ___ for every name, which is the common case here.
SURNAMES = ("Alvarez", "Chen", "Okafor", "Larsen", "Novak", "Patel", "Moreau", "Silva", "Kowalski",
            "Haddad", "Nakamura", "Brennan", "Lindqvist", "Osei")

SUFFIXES = {
    "no change": (", unchanged from prior", ", stable compared to ___", ", not significantly changed",
                  ", similar to the prior study"),
    "worsened": (", increased since the prior study", ", worse compared to ___", ", which has progressed",
                 ", larger than on the prior exam"),
    "improved": (", decreased compared to the prior exam", ", improved since ___", ", which has improved",
                 ", smaller than previously"),
    "new": (", new since the prior study", ", which is new", ", new compared to ___"),
}
FOLLOWERS = {
    "no change": ("This is unchanged from the prior exam.", "This is stable."),
    "worsened": ("This has increased since ___.", "This is worse than on the prior study."),
    "improved": ("This has decreased since the prior exam.", "This has slightly improved."),
    "new": ("This is new compared to ___.", "This is a new finding."),
}
PREFIXES = {"no change": ("Unchanged", "Stable", "Persistent"), "worsened": ("Increased", "Worsening", "Enlarging"),
            "improved": ("Decreased", "Improving", "Decreasing"), "new": ("New", "Interval development of")}
EXAMS = (("CHEST (PA AND LAT)", "Chest PA and lateral"), ("CHEST (PORTABLE AP)", "Portable AP upright chest radiograph"),
         ("CHEST (PORTABLE AP)", "Single frontal view of the chest"), ("CHEST (PA AND LAT)", "PA and lateral views of the chest"))
COMPLAINTS = ("shortness of breath", "cough and fever", "chest pain", "hypoxia", "a fall", "weakness",
              "new oxygen requirement", "preoperative evaluation", "tachycardia", "abdominal pain")
QUESTIONS = ("Evaluate for pneumonia.", "Eval for pneumothorax.", "? acute process", "r/o effusion",
             "Evaluate for CHF.", "Assess for interval change.", "Evaluate for acute cardiopulmonary process.",
             "Assess line and tube placement.", "? aspiration")
ADVICE = ("Recommend follow-up radiographs after treatment to document resolution.",
          "Clinical correlation is recommended.", "Recommend chest CT for further evaluation.",
          "Consider repeat radiograph after diuresis.", "Follow-up imaging in 6-8 weeks is suggested.")


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) if rng.random() < 0.3 else "___"


def _time(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return f"{rng.randint(0, 23)}:{rng.randint(0, 59):02d}"
    return f"{rng.randint(1, 12)}:{rng.randint(0, 59):02d} {rng.choice(('AM', 'PM'))}"


def _date(rng: random.Random) -> str:
    return f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}" if rng.random() < 0.25 else "___"


def discussion(rng: random.Random) -> str:
    return rng.choice((
        "Findings were discussed with Dr. {n} by telephone at {t} on {d}.",
        "These findings were communicated to Dr. {n} at {t}, {m} minutes after discovery.",
        "Dr. {n} was paged with these results at {t}.",
        "The above findings were discussed with Dr. {n} at {t}.",
    )).format(n=_name(rng), t=_time(rng), d=_date(rng), m=rng.randint(2, 30))


def with_change(rng: random.Random, text: str, change: str) -> str:
    """A clean sentence with change wording added: suffixed, followed, or prefixed."""
    form = rng.random()
    if form < 0.55:
        return text[:-1] + rng.choice(SUFFIXES[change]) + "."
    if form < 0.85:
        return f"{text} {rng.choice(FOLLOWERS[change])}"
    lowered = text[0].lower() + text[1:] if text[1:2].islower() else text
    return f"Compared to the prior study, {lowered}"


def _random_changes(rng: random.Random, study: Study) -> dict[str, str]:
    """Change words for a study compared with a prior the corpus does not hold: pure noise."""
    labels = [f.label for f in study.findings]
    return {label: rng.choices(("no change", "worsened", "improved", "new"), (6, 1.5, 1.5, 1))[0]
            for label in labels}


def noisy_findings(rng: random.Random, study: Study, changes: dict[str, str]) -> list[str]:
    out: list[str] = []
    if rng.random() < 0.15:
        out.append(rng.choice(("PA and lateral views of the chest were obtained.",
                               "Portable AP upright view of the chest.", "Single frontal view of the chest was provided.")))
    if study.has_comparison and rng.random() < 0.1:
        out.append("Comparison is made to the prior study from ___.")
    rate = 0.8 if study.order > 0 else 0.4
    gone = [f"Previously seen {describe(f)} {'have' if f.side == 'bilateral' else 'has'} resolved."
            if rng.random() < 0.5 else f"Interval resolution of the previously noted {describe(f)}."
            for f in study.resolved]
    gone += [rng.choice(("The previously seen {} has been removed.", "Interval removal of the {}."))
             .format(describe_device(d)) for d in study.removed_devices]
    placed = False
    for sentence in study.sentences:
        if sentence.kind not in ("device", "finding") and not placed:
            out.extend(gone)  # resolved and removed items follow the positive findings
            placed = True
        change = changes.get(sentence.labels[0]) if sentence.labels and sentence.kind != "negative" else None
        out.append(with_change(rng, sentence.text, change) if change and rng.random() < rate else sentence.text)
    if not placed:
        out.extend(gone)
    if rng.random() < 0.05 and any(BY_LABEL[f.label].acute for f in study.findings):
        out.append(rng.choice(ADVICE))
    if rng.random() < 0.03:
        out.append(f"Dr. {_name(rng)} was informed of this finding.")
    return out


def noisy_impression(rng: random.Random, study: Study, changes: dict[str, str]) -> tuple[list[str], str]:
    """(impression sentences with noise, a NOTIFICATION section or "")."""
    items: list[str] = []
    for text, labels in study.impression:
        change = changes.get(labels[0]) if len(labels) == 1 and labels[0] not in DEVICES else None
        if change and rng.random() < 0.7:
            text = f"{rng.choice(PREFIXES[change])} {text[0].lower() + text[1:]}"
        items.append(text)
    for device in study.devices:
        if is_malpositioned(device):
            items.append(f"Recommend repositioning of the {describe_device(device)}.")
    if rng.random() < 0.2 and any(BY_LABEL[f.label].acute for f in study.findings):
        items.append(rng.choice(ADVICE))
    notification = ""
    roll = rng.random()
    if roll < 0.25:
        items.append(discussion(rng))
    elif roll < 0.33:
        notification = (f"The findings were discussed with Dr. {_name(rng)} by Dr. {_name(rng)} on the telephone "
                        f"on {_date(rng)} at {_time(rng)}, {rng.randint(2, 30)} minutes after discovery of the findings.")
    return items, notification


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=76, initial_indent=" ", subsequent_indent=" ",
                         break_on_hyphens=False, break_long_words=False)


def render(rng: random.Random, study: Study) -> None:
    """Write study.report, study.findings_noisy and study.impression_noisy."""
    changes = study.changes if study.order > 0 else (_random_changes(rng, study) if study.has_comparison else {})
    findings = noisy_findings(rng, study, changes)
    impression, notification = noisy_impression(rng, study, changes)
    study.findings_noisy = " ".join(findings)
    exam, technique = rng.choice(EXAMS[1:] if study.devices else EXAMS)
    age = "___-year-old " + rng.choice(("man", "woman", "male", "female"))
    indication = f"{age} with {rng.choice(COMPLAINTS)}.  // {rng.choice(QUESTIONS)}"
    comparison = rng.choice(("___.", "Chest radiograph from ___.", "___ and ___.")) if study.has_comparison else "None."
    parts = [" " * 33 + "FINAL REPORT"]
    if rng.random() < 0.08:
        parts.append(f" WET READ: ___ ___ {_time(rng)}\n   {impression[0]}")
    parts.append(f" EXAMINATION:  {exam}")
    parts.append(f" {'INDICATION' if rng.random() < 0.8 else 'HISTORY'}:  {indication}")
    if rng.random() < 0.7:
        parts.append(f" TECHNIQUE:  {technique}")
    parts.append(f" COMPARISON:  {comparison}")
    parts.append(" FINDINGS:\n \n" + _wrap(study.findings_noisy))
    if len(impression) > 1 and rng.random() < 0.3:
        numbered = [f"{i}. {text}" for i, text in enumerate(impression, start=1)]
        study.impression_noisy = " ".join(numbered)
        body = "\n \n".join(_wrap(item) for item in numbered)
    else:
        study.impression_noisy = " ".join(impression)
        body = _wrap(study.impression_noisy)
    parts.append(" IMPRESSION:\n \n" + body)
    if notification:
        parts.append(" NOTIFICATION:  " + notification)
    study.report = "\n \n".join(parts) + "\n"
