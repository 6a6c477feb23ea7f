"""Case noise for train-only studies: the same reports with some words' first letter
capitalised and some sentences' first letter lower-cased.

Why: the demo's byte-level BPE has no case folding, so "Eventration" at the start of a
sentence is other tokens than "eventration" in mid-sentence, and a 6M-parameter model that
has only seen the second misses the first (v5 missed 8 of 8 such test findings). On 100
development records, lower-casing sentence starts at inference (`lab/demo/experiments/quick_task_score.py
runs/demo/sft3/final TASK --n 100 --dev --lower-sentence-starts`) raised abnormality label
F1 from 87.7 to 89.8 but cost the devices task 3.7, so the model is taught the other way:
training inputs in which a word's case does not follow its place in the sentence.

Only the inputs of tasks whose answers never copy the input are changed (the labels, the
temporal tasks): the copy tasks' references are the input's own words. Changing case
neither adds nor removes words, so a batch that holds no held-out sentence still holds none.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

NOISY_TASKS = ("abnormality_labels", "tubes_lines_devices_labels", "qa_temporal_findings", "qa_temporal_progression")
INPUT_FIELDS = ("report", "prior_report")
_WORD = re.compile(r"\b([a-z])([a-z]{3,})\b")
_SENTENCE_START = re.compile(r"(^|[.:]\s+)([A-Z])(?=[a-z])")


def label_words() -> frozenset[str]:
    """The words (4+ letters) of the abnormality labels and their radphi.labels synonyms:
    the words a label task has to recognise whatever their case."""
    from radphi.labels import ABNORMALITY_LABELS, synonyms_of

    names = [*ABNORMALITY_LABELS, *(s for label in ABNORMALITY_LABELS for s in synonyms_of(label))]
    return frozenset(w for name in names for w in re.findall(r"[a-z]{4,}", name))


def case_noise(text: str, rng: random.Random, *, p_capital: float = 0.1, p_lower_start: float = 0.3,
               p_term: float = 0.0, terms: frozenset[str] = frozenset()) -> str:
    """TEXT with each lower-case word of 4+ letters capitalised with probability P_CAPITAL
    (P_TERM instead for a word in TERMS, when P_TERM is set), then each sentence's capital
    first letter lower-cased with probability P_LOWER_START (section names in capitals are
    left alone). One draw a word either way, so P_TERM=0 gives what it gave before."""
    def capital(m: re.Match[str]) -> str:
        p = p_term if p_term and m.group(0) in terms else p_capital
        return m.group(1).upper() + m.group(2) if rng.random() < p else m.group(0)

    text = _WORD.sub(capital, text)
    return _SENTENCE_START.sub(lambda m: m.group(1) + (m.group(2).lower() if rng.random() < p_lower_start
                                                       else m.group(2)), text)


def lower_sentence_starts(text: str) -> str:
    """TEXT with every sentence's capital first letter lower-cased (the inference-time probe)."""
    return _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).lower(), text)


def build_case_noised(src_dir: str | Path, out_dir: str | Path, *, seed: int = 0, share: float = 0.5,
                      p_term: float = 0.0) -> dict[str, int]:
    """Copy SRC_DIR/train/*.jsonl to OUT_DIR/train/, with case noise in the inputs of a SHARE
    of the NOISY_TASKS records (the rest, and the other tasks, as they are); P_TERM: the
    chance that a label word (`label_words`) is capitalised, over the 0.1 of others. Returns the
    number of records changed per task, also written to OUT_DIR/manifest.json (SRC_DIR's
    manifest with a `case_noise` entry)."""
    from radphi.records import read_jsonl, write_jsonl

    src, out = Path(src_dir), Path(out_dir)
    (out / "train").mkdir(parents=True, exist_ok=True)
    changed: dict[str, int] = {}
    terms = label_words() if p_term else frozenset()
    for path in sorted((src / "train").glob("*.jsonl")):
        task = path.stem
        rng = random.Random(f"{seed}:case:{task}")
        records = read_jsonl(path)
        if task in NOISY_TASKS:
            for rec in records:
                if rng.random() < share:
                    for key in INPUT_FIELDS:
                        if isinstance(rec.get(key), str):
                            rec[key] = case_noise(rec[key], rng, p_term=p_term, terms=terms)
                    changed[task] = changed.get(task, 0) + 1
        write_jsonl(out / "train" / path.name, records)
    source = src / "manifest.json"
    manifest = json.loads(source.read_text()) if source.is_file() else {}
    manifest["case_noise"] = {"generator": "lab.demo.synthetic.case_noise.build_case_noised", "source": str(src),
                              "seed": seed, "share": share, "p_term": p_term, "changed": changed}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return changed
