"""Copy drills for the extraction tasks: training records whose kept words are scrambled.

A small model trained on templated reports learns a shortcut for "extract the findings"
and "clean up the text": it re-writes the findings in the training phrasings it knows
instead of copying the words in front of it, and fails on the test split's held-out
phrasings (the v3 demo model wrote "The cardiac silhouette is normal in size." for
"Cardiac size is within normal limits."). In these drills every content word of a
training record is replaced by a random one, the same word by the same word in the
input and the answer, so the answer can only be produced by copying.

What marks text for removal (change wording, comparison and communication sentences,
follow-up advice) is left as it is: those words are learned from the training records
themselves, as the words the gold answers delete (`noise_vocabulary`). Section headers
(upper case) stay too. Only train-split records are used; the result is train-only.

No library does this (it is a data augmentation specific to these two tasks), hence
the hand-written code.
"""

from __future__ import annotations

import difflib
import json
import random
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lab.demo.synthetic.corpus import write_splits

TASKS = ("extract_findings", "cleanup_report_text")
WORD = re.compile(r"[A-Za-z]+")
# Function words stay: they carry the noise sentences ("compared to the prior study").
FUNCTION_WORDS = frozenset(["the", "to", "of", "is", "at", "were", "from", "with", "has", "was", "these", "on",
                            "which", "by", "a", "an", "and", "for", "in", "than", "been", "have", "this", "not",
                            "no", "there", "are", "or", "its", "be", "as"])


def _words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def noise_vocabulary(cleanup_records: Iterable[dict[str, Any]]) -> frozenset[str]:
    """Words that the cleanup answers mostly delete (and the function words)."""
    deleted: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for rec in cleanup_records:
        source, answer = _words(rec["text"]), _words(rec["reference"])
        seen.update(source)
        matcher = difflib.SequenceMatcher(None, source, answer, autojunk=False)
        for tag, i1, i2, _, _ in matcher.get_opcodes():
            if tag in ("delete", "replace"):
                deleted.update(source[i1:i2])
    # Mostly deleted and not rare (names, "recommend"), or often deleted and deleted
    # in a fair share of its uses ("prior", "study"): a finding word that also occurs
    # in a change sentence ("effusion") is neither.
    noisy = {w for w, n in deleted.items()
             if (n >= 3 and n >= 0.5 * seen[w]) or (n >= 20 and n >= 0.25 * seen[w])}
    return frozenset(noisy | FUNCTION_WORDS)


class Scrambler:
    """Replaces every word outside `keep` (and every upper-case header) consistently."""

    def __init__(self, keep: frozenset[str], pool: list[str], rng: random.Random):
        self.keep, self.pool, self.rng = keep, pool, rng
        self.mapping: dict[str, str] = {}

    def _swap(self, match: re.Match[str]) -> str:
        word = match.group(0)
        key = word.lower()
        if key in self.keep or (len(word) > 1 and word.isupper()):
            return word
        if key not in self.mapping:
            self.mapping[key] = self.rng.choice(self.pool)
        new = self.mapping[key]
        return new[0].upper() + new[1:] if word[0].isupper() else new

    def __call__(self, text: str) -> str:
        return WORD.sub(self._swap, text)


def build_scrambled(out_dir: str | Path, train_dirs: Iterable[str | Path], *, seed: int = 0,
                    per_task: int = 4000) -> dict[str, int]:
    """Write OUT_DIR/train/{task}.jsonl: PER_TASK scrambled copies of train records of TASKS
    drawn from TRAIN_DIRS (each a directory of {task}.jsonl train files)."""
    from radphi.records import read_jsonl

    dirs = [Path(d) for d in train_dirs]  # read once per task and named in the manifest: not a one-shot iterator
    sources = {task: [r for d in dirs if (d / f"{task}.jsonl").is_file() for r in read_jsonl(d / f"{task}.jsonl")
                      if r.get("split") == "train"] for task in TASKS}
    keep = noise_vocabulary(sources["cleanup_report_text"])
    pool = sorted({w for recs in sources.values() for r in recs for w in _words(r["reference"])} - keep)
    if not pool:
        raise ValueError("no training records of extract_findings or cleanup_report_text to scramble")
    rng = random.Random(f"{seed}:scramble")
    out = Path(out_dir)
    drills: list[dict[str, Any]] = []
    for records in sources.values():
        for rec in rng.sample(records, min(per_task, len(records))):
            scramble = Scrambler(keep, pool, rng)
            drill = {k: (scramble(v) if k in ("report", "text", "reference") and isinstance(v, str) else v)
                     for k, v in rec.items()}
            drill["id"] = f"{rec['id']}-scrambled"
            drill["meta"] = {**rec.get("meta", {}), "augmentation": "scrambled"}
            drills.append(drill)
    counts = write_splits(out, drills)
    manifest = {"generator": "lab.demo.synthetic.scramble", "seed": seed, "per_task": per_task,
                "sources": [str(d) for d in dirs], "kept_words": sorted(keep), "pool": len(pool),
                "counts": counts}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return counts
