"""The synthetic chest X-ray corpus: reports, gold answers for all ten tasks, knowledge QA
and general instructions, generated from a seed with the standard library alone.

    python -m lab.demo.synthetic --out data/synthetic --seed 0 --studies 2000

    from lab.demo.synthetic import build_corpus
    counts = build_corpus("data/synthetic", seed=0, n_studies=2000)

Layout: OUT/{train,validation,test}/{task}.jsonl, one record per line in the shape of
DESIGN.md ("The record"), and OUT/manifest.json. Modules: phrasing (templates and
their train/held-out split), catalog_lungs / catalog_other / findings (findings
vocabulary and sentences), devices, studies (structured truth and clean findings),
impressions, reports (noisy MIMIC-layout text), pairs (prior/current truth), questions
(qa_comprehension), knowledge (radiology_qa), general (stage-1 stand-in), corpus and cli.
The tests check generated text against its truth with lab/demo/tests/audit.py.
"""

from __future__ import annotations

from lab.demo.synthetic.corpus import DEFAULT_STUDIES, build_corpus, generate

__all__ = ["DEFAULT_STUDIES", "build_corpus", "generate"]
