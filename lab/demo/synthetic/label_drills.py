"""Label drills: abnormality-label training records whose sentence frames are scrambled.

The demo model reads a finding by its whole training sentence rather than by the words
that name it: it labels "There is hyperinflation." but not "Hyperinflation is noted.",
and misses held-out phrasings whose label words it knows. The keyword baseline has no
such trouble, since it looks only at the label words and the negations. In these drills
every word of a training report is replaced by a random one (the same word by the same
word within a record), except the words that decide the labels:

- the abnormality labels' words and their synonyms (`case_noise.label_words`);
- the words of the negations, the normal statements and the change and resolution
  wording ("No", "without", "sharp", "resolved", "previously");
- function words and the section headers (upper case).

So a finding's frame ("... is noted.", "Findings are consistent with ...") is noise, and
only the label words and their negations carry the answer. The gold labels are the
record's own. Only train-split records are used; the result is train-only, and it can
hold no held-out sentence, since every kept word comes from a training report in its
place.

No library does this (a data augmentation specific to this corpus), hence hand-written.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable
from pathlib import Path

from lab.demo.synthetic.case_noise import label_words
from lab.demo.synthetic.scramble import FUNCTION_WORDS, Scrambler

TASK = "abnormality_labels"
# The wording of resolution and change (lab.demo.synthetic.reports), and the few words
# that turn a finding into its absence.
CUE_WORDS = frozenset(["previously", "resolved", "resolution", "interval", "removed", "removal", "prior", "new",
                       "unchanged", "stable", "persistent", "increased", "decreased", "improved", "worse", "without",
                       "free", "clear", "negative", "normal"])
_WORD = re.compile(r"[A-Za-z]+")


def kept_words() -> frozenset[str]:
    """The words a drill leaves as they are (see the module docstring)."""
    from lab.demo.synthetic.augment import ANATOMY_NORMALS
    from lab.demo.synthetic.findings import COMBO_TEMPLATES, NEGATIONS, NORMALS

    sentences = [*(t for ts in NEGATIONS.values() for t in ts), *COMBO_TEMPLATES,
                 *(t for ts in NORMALS.values() for t in ts), *(t for ts in ANATOMY_NORMALS.values() for t in ts)]
    cues = {w.lower() for s in sentences for w in _WORD.findall(re.sub(r"\{[a-z_0-9]+\}", " ", s))}
    return frozenset(cues | label_words() | CUE_WORDS | FUNCTION_WORDS)


def build_label_drills(out_dir: str | Path, train_dirs: Iterable[str | Path], *, seed: int = 0,
                       n: int = 3000) -> int:
    """Write OUT_DIR/train/abnormality_labels.jsonl: N scrambled copies of train records of
    abnormality labels drawn from TRAIN_DIRS (each a directory of {task}.jsonl train files).
    Returns how many were written (also in OUT_DIR/manifest.json)."""
    from radphi.records import read_jsonl, write_jsonl

    dirs = [Path(d) for d in train_dirs]
    records = [r for d in dirs if (d / f"{TASK}.jsonl").is_file() for r in read_jsonl(d / f"{TASK}.jsonl")
               if r.get("split") == "train"]
    if not records:
        raise ValueError(f"no training records of {TASK} to drill in {[str(d) for d in dirs]}")
    keep = kept_words()
    pool = sorted({w.lower() for r in records for w in _WORD.findall(r["report"])} - keep)
    rng = random.Random(f"{seed}:label-drills")
    drills = []
    for rec in rng.sample(records, min(n, len(records))):
        scramble = Scrambler(keep, pool, rng)
        drills.append({**rec, "id": f"{rec['id']}-label-drill", "report": scramble(rec["report"]),
                       "meta": {**rec.get("meta", {}), "augmentation": "label-drill"}})
    out = Path(out_dir)
    (out / "train").mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "train" / f"{TASK}.jsonl", drills)
    manifest = {"generator": "lab.demo.synthetic.label_drills", "seed": seed, "n": len(drills),
                "sources": [str(d) for d in dirs], "kept_words": len(keep), "pool": len(pool)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return len(drills)
