"""radiology_qa: knowledge question-answer records across the 16 Radiopaedia systems.

The facts live in knowledge_facts.json (data, not code), written for this project in our
own words (nothing copied from Radiopaedia or any other source; general textbook knowledge,
simplified, not clinical guidance). Each fact has
one answer and several questions it answers. The questions are split like every other
phrasing: held-out question wordings form the test split, so the test asks about
facts the model was trained on in words it never saw (the way the paper held out
summary articles whose content other articles covered). A fact with at least three
training wordings also gives one to the validation split.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from radphi.tasks import TASKS
from lab.demo.synthetic.phrasing import Phrasebook

Fact = tuple[str, str, tuple[str, ...]]  # (article, answer, questions the answer answers)

# One entry per Radiopaedia system, in the order of SYSTEMS.
FACTS: dict[str, tuple[Fact, ...]] = {
    system: tuple((f["article"], f["answer"], tuple(f["questions"])) for f in facts)
    for system, facts in json.loads((Path(__file__).with_name("knowledge_facts.json")).read_text(encoding="utf-8")).items()
}

SYSTEMS = ("chest", "cardiac", "central nervous system", "urogenital", "oncology", "breast", "musculoskeletal",
           "hepatobiliary", "vascular", "gastrointestinal", "obstetrics", "interventional", "trauma", "spine",
           "forensic", "not specified")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def question_splits(book: Phrasebook, system: str, article: str, n: int) -> list[str]:
    """The split of each of a fact's `n` question wordings."""
    key = f"qa:{system}:{article}"
    held = set(book.heldout(key, n))
    train = [i for i in range(n) if i not in held]
    splits = ["test" if i in held else "train" for i in range(n)]
    if len(train) >= 3:
        splits[train[-1]] = "validation"
    if not held:  # phrasing split turned off: test reuses one wording, as without held-out phrasings
        splits[-1] = "test"
    return splits


def knowledge_records(book: Phrasebook) -> list[dict[str, Any]]:
    """One radiology_qa record per question wording of every fact."""
    out: list[dict[str, Any]] = []
    task = TASKS["radiology_qa"]
    for system in SYSTEMS:
        for article, answer, questions in FACTS[system]:
            splits = question_splits(book, system, article, len(questions))
            held_out = bool(book.heldout(f"qa:{system}:{article}", len(questions)))
            for i, (question, split) in enumerate(zip(questions, splits)):
                out.append({
                    "id": f"synthetic-qa-{slug(system)}-{slug(article)}-{i}", "task": "radiology_qa",
                    "question": question, "system": system, "reference": task.format_answer(answer), "split": split,
                    "meta": {"dataset": "synthetic", "system": system, "article": article, "article_type": "fact",
                             "phrasing": "heldout" if split == "test" and held_out else "train"},
                })
    return out
