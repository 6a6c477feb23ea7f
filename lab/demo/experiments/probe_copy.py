"""Can a model copy text it has never seen? Extract findings on scrambled test reports.

    .venv/bin/python -m lab.demo.experiments.probe_copy runs/demo/sft2/final [--n 40]

Each test report of the demo corpus gets its content words replaced by random ones,
exactly as the copy drills do (lab.demo.synthetic.scramble; the kept words come from
the drills' manifest). A model that copies the FINDINGS section scores near 100 unigram
F1; one that re-writes findings in phrasings it knows scores far lower. HF weights,
greedy decoding, CPU. The log (lab/demo/LOG.md) quotes this probe for stages 1 to 3.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="an HF model directory, e.g. runs/demo/sft2/final")
    p.add_argument("--demo-dir", type=Path, default=Path("runs/demo"))
    p.add_argument("--n", type=int, default=40, help="test reports (default 40)")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()

    import torch
    from lab.demo.experiments.quick_task_score import score

    from radphi.backends.hf import HFBackend
    from radphi.records import read_jsonl
    from lab.demo.synthetic.scramble import WORD, Scrambler

    torch.set_num_threads(1)
    drills = args.demo_dir / "copy-drills"
    keep = frozenset(json.loads((drills / "manifest.json").read_text())["kept_words"])
    pool = sorted({w.lower() for r in read_jsonl(drills / "train" / "extract_findings.jsonl")
                   for w in WORD.findall(r["reference"])} - keep)
    rng = random.Random(args.seed)
    backend = HFBackend(args.model, device="cpu")
    scrambled = []
    for rec in read_jsonl(args.demo_dir / "corpus" / "test" / "extract_findings.jsonl")[:args.n]:
        scramble = Scrambler(keep, pool, rng)
        scrambled.append(dict(rec, report=scramble(rec["report"]), reference=scramble(rec["reference"])))
    scores = score(backend, "extract_findings", scrambled, max_new_tokens=224)
    print(json.dumps({"model": args.model, "n": len(scores), "scrambled_extract_findings_f1": 100 * sum(scores) / len(scores)}))


if __name__ == "__main__":
    main()
