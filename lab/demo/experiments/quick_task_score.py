"""A quick score of a model on the demo corpus's test split (or development set), one task.

    .venv/bin/python -m lab.demo.experiments.quick_task_score runs/demo/sft3/final abnormality_labels
    .venv/bin/python -m lab.demo.experiments.quick_task_score runs/demo/sft3/final extract_findings --n 40
    .venv/bin/python -m lab.demo.experiments.quick_task_score runs/demo/sft3/final abnormality_labels --n 60 --dev
    .venv/bin/python -m lab.demo.experiments.quick_task_score radphi/assets/radphi-demo.gguf abnormality_labels --dev --errors

Greedy, on CPU: an HF directory (so a checkpoint can be looked at while it trains, before
any GGUF export), a GGUF file or `keyword`. Label tasks report the mean label F1, temporal
findings the added F1, the others mean unigram F1, as lab.demo.evaluate does; the
figures are x100. For the shipped tables, with CIs, use `python -m lab.demo.evaluate`.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from radphi.tasks import LABEL_TASKS


def by_labels(backend: Any, rec: dict[str, Any], max_new_tokens: int) -> str:
    """A temporal-findings answer from two abnormality-label answers of BACKEND (current and
    prior report) and their set difference: a probe of how far the model's label reading
    carries the temporal task, not how the app answers it."""
    from radphi import answers
    from radphi.backends import GenParams, Request

    def labels(report: str) -> list[str]:
        out = backend.generate(Request.build("abnormality_labels", {"report": report}),
                               GenParams(max_new_tokens=max_new_tokens)).text
        return answers.parse_abnormality_labels(out)["labels"]

    now, before = labels(rec["report"]), labels(rec["prior_report"])
    return answers.temporal_difference(now, before)


def score(backend: Any, task: str, records: list[dict[str, Any]], max_new_tokens: int,
          grounded: bool = True, errors: Counter[str] | None = None, temporal_by_labels: bool = False,
          grounding: Any = None) -> list[float]:
    """Greedy answers of BACKEND to RECORDS, each scored against its reference: label F1
    for the label tasks, added F1 for temporal findings, unigram F1 for the others (as
    lab.demo.evaluate scores them).
    GROUNDED as GenParams.grounded (extract findings and clean-up copy the input), GROUNDING
    as GenParams.grounding (a radphi.grounding.GroundingSettings; None: the defaults).
    ERRORS, for a label task, counts each "missed: LABEL" and "false: LABEL".
    TEMPORAL_BY_LABELS answers temporal findings with `by_labels`."""
    from radphi.evaluation.labels_metrics import label_scores, temporal_findings_scores
    from radphi.evaluation.metrics import f1
    from radphi import answers
    import dataclasses

    from radphi.backends import GenParams, Request

    def parse_labels(task: str, text: str) -> list[str]:
        return answers.parse_abnormality_labels(text)["labels"] if task == "abnormality_labels" else \
            answers.parse_tubes_lines_devices_labels(text)["labels"]

    params = GenParams(max_new_tokens=max_new_tokens, grounded=grounded)
    if grounding is not None:
        params = dataclasses.replace(params, grounding=grounding)
    scores = []
    for rec in records:
        out = by_labels(backend, rec, max_new_tokens) if temporal_by_labels and task == "qa_temporal_findings" else \
            backend.generate(Request.build(task, rec), params).text
        if errors is not None and task in LABEL_TASKS:
            said, gold = set(parse_labels(task, out)), set(parse_labels(task, rec["reference"]))
            errors.update([f"missed: {x}" for x in gold - said] + [f"false: {x}" for x in said - gold])
        scores.append(label_scores(task, out, rec["reference"])["label_f1"] if task in LABEL_TASKS
                      else temporal_findings_scores(out, rec["reference"])["added_f1"]
                      if task == "qa_temporal_findings" else f1(out, rec["reference"]))
    return scores


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="an HF model directory with its tokenizer, a GGUF file or 'keyword'")
    p.add_argument("task", help="a task name, e.g. abnormality_labels")
    p.add_argument("--n", type=int, default=0, help="the first N test records (default all)")
    p.add_argument("--demo-dir", type=Path, default=Path("runs/demo"))
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--lower-sentence-starts", action="store_true",
                   help="lower-case each sentence's first letter in the inputs first (the probe behind "
                        "lab.demo.synthetic.case_noise)")
    p.add_argument("--dev", action="store_true",
                   help="score the development set (DEMO_DIR/corpus-dev/dev, held-out phrasings, never trained on) "
                        "instead of the test split")
    p.add_argument("--by-labels", action="store_true",
                   help="temporal findings: answer with two label answers' set difference (a probe)")
    p.add_argument("--errors", action="store_true", help="label tasks: also count the missed and false labels")
    args = p.parse_args()

    import torch

    from radphi.backends import load_backend
    from radphi.records import read_jsonl

    torch.set_num_threads(2)
    backend = load_backend(args.model, device="cpu") if Path(args.model).is_dir() else load_backend(args.model)
    split_dir = args.demo_dir / "corpus-dev" / "dev" if args.dev else args.demo_dir / "corpus" / "test"
    records = read_jsonl(split_dir / f"{args.task}.jsonl")
    records = records[:args.n] if args.n else records
    if args.lower_sentence_starts:
        from lab.demo.synthetic.case_noise import INPUT_FIELDS, lower_sentence_starts

        records = [rec | {k: lower_sentence_starts(rec[k]) for k in INPUT_FIELDS if isinstance(rec.get(k), str)}
                   for rec in records]
    errors: Counter[str] = Counter()
    scores = score(backend, args.task, records, args.max_new_tokens, errors=errors, temporal_by_labels=args.by_labels)
    metric = "label_f1" if args.task in LABEL_TASKS else "added_f1" if args.task == "qa_temporal_findings" else "f1"
    result = {"model": args.model, "task": args.task + (" (by labels)" if args.by_labels else ""), "n": len(scores),
              metric: round(100 * statistics.mean(scores), 2)}
    if args.errors and args.task in LABEL_TASKS:
        result |= {"missed": sum(n for k, n in errors.items() if k.startswith("missed")),
                   "false": sum(n for k, n in errors.items() if k.startswith("false")),
                   "top_errors": dict(errors.most_common(8))}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
