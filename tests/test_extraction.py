"""Deterministic section work (radphi.extraction) and the grounded fallback, on 34 reports
written for this test: 22 with a findings section in many layouts (the section must
come back exactly as written) and 12 without one (the model decides, and no clause
that names a finding, a hedge or a change may be lost, whatever the model prefers)."""

from __future__ import annotations

import pytest

from radphi import grounding, reports
from radphi.extraction import ADVICE, CHANGE, NAMES, OTHER_SECTION, clean_up, own_section
from radphi.verify.reading import change_in, hedged, read
from tests.test_grounding import is_copy

F = [  # findings sections, as the report writes them
    "Small left pleural effusion. No pneumothorax.",
    "Since the prior examination, the pulmonary edema has worsened. Heart size is enlarged.",
    "Right lower lobe opacity, though infection cannot be excluded. No effusion.",
    "The endotracheal tube terminates 3.4 cm above the carina. Lungs are clear.",
    "Interval increase in the small left pleural effusion. Right PICC terminates in the low SVC.",
    "Moderate cardiomegaly, unchanged. Mild pulmonary vascular congestion.",
    "No focal consolidation, pleural effusion or pneumothorax. Normal cardiomediastinal silhouette.",
    "Emphysema is noted in both upper lobes, which is new. Calcified granuloma in the left upper lobe.",
    "Possible small right apical pneumothorax. Discussed with Dr. ___ at 10:15.",
    "Bibasilar atelectasis has decreased. Sternotomy wires are intact.",
    "Left lower lobe collapse. Nasogastric tube coils in the stomach.",
    "1. Small bilateral pleural effusions.\n2. No pneumothorax.",
    "Heart size: normal. Mediastinum: unremarkable. Lungs: clear.",
    "Compared to the prior study, moderate atelectasis in the right middle lobe. No pneumothorax.",
]


def mimic(findings: str, impression: str = "No acute process.") -> str:
    body = "\n ".join(findings.split("\n"))
    return (f"                                 FINAL REPORT\n EXAMINATION:  CHEST (PA AND LAT)\n \n"
            f" INDICATION:  ___F with cough  // ?pna\n \n COMPARISON:  ___\n \n FINDINGS: \n \n {body}\n \n"
            f" IMPRESSION: \n \n {impression}\n")


def wrapped(findings: str) -> str:  # MIMIC's hard wrap at a word near 40 characters
    words, lines, line = findings.split(), [], ""
    for w in words:
        if len(line) + len(w) > 40:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    return mimic("\n".join(lines + [line]))


PRESENT = (
    [(mimic(f), f) for f in F[:8]]
    + [(f"FINDINGS: {f}\nIMPRESSION: Normal.", f) for f in F[8:11]]
    + [(f"Findings:\r\n{f}\r\n\r\nImpression:\r\nStable.", f) for f in F[11:13]]
    + [(f"INDICATION: Cough.\nFINDNGS: {F[13]}\nIMPRESSON: Atelectasis.", F[13])]
    + [(wrapped(F[1]), F[1]), (wrapped(F[4]), F[4])]
    + [(f" FINDINGS:  Preliminary read.\n \n FINDINGS:  {F[0]}\n \n IMPRESSION:  Effusion.\n", F[0])]
    + [(f"CHEST, TWO VIEWS:\n\nINDICATION: Fever.\n\nFINDINGS: {F[9]}\n\nIMPRESSION: Better.", F[9])]
    + [(f"  \tFINDINGS:\t{F[2]}\n    IMPRESSION:  Opacity.", F[2])]
    + [(f"FINDINGS: {F[5]}", F[5])]
)

ABSENT = [
    F[1], F[2], F[4], F[7], F[8],
    f"INDICATION: Dyspnea.\n\n{F[5]} Recommend follow-up radiograph.",
    f"COMPARISON: None.\n\n{F[9]} Findings discussed with the team.",
    f"{F[3]}\n\n{F[6]}",
    "Right pleural effusion has resolved. Left basilar opacity may represent atelectasis or pneumonia.",
    "Findings discussed with Dr. Smith at 10:15. New right upper lobe consolidation, concerning for pneumonia.",
    "Since the prior examination, cardiomegaly is stable, and the edema is increased.",
    "Dobhoff tube terminates in the stomach, though the tip is not well seen. Recommend repeat radiograph.",
]


def test_the_fixture_set_is_large_enough():
    assert len(PRESENT) >= 20 and len(ABSENT) >= 10 and len(PRESENT) + len(ABSENT) >= 30


@pytest.mark.parametrize("report, findings", PRESENT)
def test_the_reports_own_findings_section_comes_back_exactly(report, findings):
    assert own_section(report, "findings") == findings


def test_the_reports_own_impression_section_comes_back_exactly():
    assert own_section(mimic(F[0], "1. Small effusion.\n2. No pneumothorax."), "impression") == \
        "1. Small effusion.\n2. No pneumothorax."
    assert own_section("INDICATION: x\nIMPRESSON: Normal chest.", "impression") == "Normal chest."
    assert own_section(F[0], "impression") is None and own_section(F[0], "findings") is None


def must_keep(source: str) -> list[str]:
    """The clauses (comma pieces) of SOURCE's clinical part that name a finding, carry a
    hedge or qualify one ("though ..."): change wording alone ("since the prior
    examination", "which is new") may go, as the instruction asks."""
    clinical = reports.clinical_text(source)
    out = []
    for sentence in grounding.sentences(clinical):
        for clause in sentence.rstrip(".").split(", "):
            if read(clause).mentions or hedged(clause) or clause.startswith(("though", "but", "although")):
                out.append(clause)
    return out


def lost_clauses(source: str, out: str) -> list[str]:
    return [c for c in must_keep(source) if c.lower() not in out.lower()]


def greedy_cutter(answer, options, n_tokens):
    """A model that would stop at once, cut every sentence at its first comma, and start
    every sentence after its first comma: the worst case for losing a clause."""
    if options == [".", ","]:
        return [0.0, -9.0], -9.0
    return [0.0 if o.strip()[:1].isupper() and "," not in o else -3.0 for o in options], 5.0


@pytest.mark.parametrize("source", ABSENT)
def test_without_a_section_no_finding_bearing_clause_is_lost(source):
    assert own_section(source, "findings") is None
    out = "".join(grounding.extract(source, greedy_cutter))
    assert is_copy(out, source)
    assert must_keep(source) and lost_clauses(source, out) == []


def test_the_same_model_without_the_rules_loses_clauses():
    # The rules are what keep them: with both off, this scorer drops findings.
    free = grounding.GroundingSettings(whole_clauses=False, keep_findings=False)
    lost = 0
    for source in ABSENT:
        out = "".join(grounding.extract(source, greedy_cutter, settings=free))
        lost += len(lost_clauses(source, out))
    assert lost >= len(ABSENT)


CLEANUP = ("EXAMINATION: Chest, portable AP.\nCOMPARISON: Prior study from yesterday.\n"
           "FINDINGS: Since the prior examination, the pulmonary edema has worsened. Right lower lobe opacity, "
           "though infection cannot be excluded. Small pneumothorax, discussed with Dr. Smith at 10:15. "
           "Heart size is stable.\nIMPRESSION: Worsening edema. Recommend follow-up radiograph. "
           "Findings discussed with Dr. ___ by telephone.")


def test_clean_up_keeps_every_finding_hedge_and_change_and_the_headers():
    text, pieces = clean_up(CLEANUP)
    assert text == ("FINDINGS: The pulmonary edema has worsened. Right lower lobe opacity, though infection cannot "
                    "be excluded. Small pneumothorax. Heart size is stable.\nIMPRESSION: Worsening edema.")
    removed = [(p.text.strip(), p.reason) for p in pieces if p.removed]
    assert removed == [
        ("EXAMINATION: Chest, portable AP.", OTHER_SECTION), ("COMPARISON: Prior study from yesterday.", OTHER_SECTION),
        ("Since the prior examination,", CHANGE),
        (", discussed with Dr. Smith at 10:15", NAMES),
        ("Recommend follow-up radiograph.", ADVICE),
        ("Findings discussed with Dr. ___ by telephone.", NAMES),
    ]


@pytest.mark.parametrize("report", [r for r, _ in PRESENT] + ABSENT)
def test_clean_up_never_drops_a_finding_clause(report):
    text, pieces = clean_up(report)
    assert lost_clauses(report, text) == []
    # Kept and removed pieces together are the report's sections, word for word.
    everything = " ".join("".join(p.text for p in pieces).split()).lower()
    for section in reports.parse_sections(report):
        assert section.flat.lower() in everything
