"""The checker (radphi.verify): time per record, detection on a case set, and its
negation/uncertainty rules against medspacy's ConText.

    .venv/bin/python bench/bench_verify.py                       # tests/fixtures/verify_cases.jsonl
    .venv/bin/python bench/bench_verify.py --cases OTHER.jsonl
    PYTHONPATH=. /path/to/venv-with-medspacy/bin/python bench/bench_verify.py --medspacy

A case is {"task", "fields", "prediction", "kind": "correct"|"wrong", "expected": [{"category",
"finding", "significant"}]}. A wrong draft counts as detected in its category when a flag of
that category is raised (the finding named or not); a correct draft is a false alarm when
any significant flag is raised. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from radphi.verify import verify  # noqa: E402
from radphi.verify.reading import ABSENT, PRESENT, UNCERTAIN, _read_sentence, read  # noqa: E402

# (sentence, finding words, expected status): the scope cases a report writes most.
NEGATION_SET = [
    ("No pleural effusion.", "pleural effusion", ABSENT),
    ("No pleural effusion or pneumothorax.", "pneumothorax", ABSENT),
    ("There is no focal consolidation, effusion, or pneumothorax.", "pneumothorax", ABSENT),
    ("Without evidence of pneumothorax.", "pneumothorax", ABSENT),
    ("The previously seen pneumothorax has resolved.", "pneumothorax", ABSENT),
    ("The endotracheal tube has been removed.", "endotracheal tube", ABSENT),
    ("No pneumothorax, but there is a small left pleural effusion.", "pleural effusion", PRESENT),
    ("No focal consolidation, although there is bibasilar atelectasis.", "atelectasis", PRESENT),
    ("No change in the moderate left pleural effusion.", "pleural effusion", PRESENT),
    ("Pneumonia cannot be excluded.", "pneumonia", UNCERTAIN),
    ("Right lower lobe opacity may represent atelectasis.", "atelectasis", UNCERTAIN),
    ("Right lower lobe opacity may represent atelectasis.", "opacity", PRESENT),
    ("Possible small left pleural effusion.", "pleural effusion", UNCERTAIN),
    ("Findings are concerning for pneumonia.", "pneumonia", UNCERTAIN),
    ("Pneumothorax is no longer seen.", "pneumothorax", ABSENT),
    ("There is a small right apical pneumothorax.", "pneumothorax", PRESENT),
    ("Moderate pulmonary edema.", "pulmonary edema", PRESENT),
    ("No evidence of pulmonary edema.", "pulmonary edema", ABSENT),
    ("Atelectasis versus pneumonia at the left base.", "pneumonia", UNCERTAIN),
    ("Free of consolidation.", "consolidation", ABSENT),
    ("Interval resolution of the left pleural effusion.", "pleural effusion", ABSENT),
    ("A small effusion is not excluded.", "effusion", UNCERTAIN),
    ("Mild cardiomegaly without pulmonary edema.", "pulmonary edema", ABSENT),
    ("Mild cardiomegaly without pulmonary edema.", "cardiomegaly", PRESENT),
    ("Left lower lobe consolidation, likely pneumonia.", "pneumonia", UNCERTAIN),
    ("No new consolidation.", "consolidation", ABSENT),
    ("Subtle opacity at the right base could be early pneumonia.", "pneumonia", UNCERTAIN),
    ("The pneumothorax is not seen on this study.", "pneumothorax", ABSENT),
    ("Negative for pneumothorax.", "pneumothorax", ABSENT),
    ("Persistent small left effusion.", "effusion", PRESENT),
]


def ours(sentence: str, words: str) -> str | None:
    for m in read(sentence).mentions:
        if words.lower() in m.text.lower() or m.text.lower() in words.lower():
            return m.status
    return None


def medspacy_statuses() -> list[str | None]:
    import medspacy
    from medspacy.target_matcher import TargetRule

    nlp = medspacy.load()
    nlp.get_pipe("medspacy_target_matcher").add(
        [TargetRule(words, "FINDING") for words in sorted({w for _, w, _ in NEGATION_SET})])
    out: list[str | None] = []
    for sentence, words, _ in NEGATION_SET:
        doc = nlp(sentence)
        ent = next((e for e in doc.ents if e.text.lower() == words.lower()), None)
        out.append(None if ent is None else ABSENT if ent._.is_negated else UNCERTAIN if ent._.is_uncertain
                   else PRESENT)
    return out


def negation_report(with_medspacy: bool) -> None:
    expected = [e for _, _, e in NEGATION_SET]
    mine = [ours(s, w) for s, w, _ in NEGATION_SET]
    print(f"negation/uncertainty, {len(NEGATION_SET)} sentences: radphi.verify rules "
          f"{sum(a == b for a, b in zip(mine, expected))}/{len(expected)} right")
    if with_medspacy:
        theirs = medspacy_statuses()
        print(f"  medspacy ConText (default rules): {sum(a == b for a, b in zip(theirs, expected))}/{len(expected)}")
        for (sentence, words, want), got in zip(NEGATION_SET, theirs):
            if got != want:
                print(f"    medspacy: {sentence!r} [{words}] -> {got}, want {want}")
    for (sentence, words, want), got in zip(NEGATION_SET, mine):
        if got != want:
            print(f"    ours: {sentence!r} [{words}] -> {got}, want {want}")


def inserted(case: dict, baseline: dict[str, set]) -> set[tuple[str, str]]:
    """The expected flags of a wrong draft that its report's correct draft does not have:
    the error put in (a correct impression may already leave out a minor finding)."""
    base = baseline.get(case.get("report_id", ""), set())
    return {(e["category"], e["finding"]) for e in case["expected"]} - base


def detection_report(cases: list[dict], show: bool = False) -> None:
    baseline = {c.get("report_id", ""): {(e["category"], e["finding"]) for e in c["expected"]}
                for c in cases if c["kind"] == "correct"}
    hits: dict[str, list[bool]] = defaultdict(list)
    named: dict[str, list[bool]] = defaultdict(list)
    drafts: list[bool] = []
    alarms, correct, exact = 0, 0, 0
    for case in cases:
        flags = verify(case["task"], case["fields"], case["prediction"])
        got = {(f.category.value, f.finding, f.significant) for f in flags}
        want = {(e["category"], e["finding"], e["significant"]) for e in case["expected"]}
        exact += got == want
        if show and got != want:
            print(f"  {case.get('id')}: extra {sorted(got - want)} missing {sorted(want - got)}")
        if case["kind"] == "correct":
            correct += 1
            alarms += any(f.significant for f in flags)
            continue
        ok = True
        for category, finding in inserted(case, baseline):
            hit = any(f.category.value == category for f in flags)
            hits[category].append(hit)
            named[category].append(any(f.category.value == category and f.finding == finding for f in flags))
            ok &= hit
        drafts.append(ok)
    print(f"detection on {len(cases)} cases ({correct} correct drafts, {len(drafts)} wrong):")
    for category in ("missed_finding", "false_finding", "position", "severity"):
        h, n = hits.get(category, []), named.get(category, [])
        if h:
            print(f"  {category:15s} {sum(h):3d}/{len(h):3d} = {100 * sum(h) / len(h):5.1f}% of inserted errors flagged "
                  f"in their category ({100 * sum(n) / len(n):5.1f}% with the right finding)")
    if drafts:
        print(f"  wrong drafts flagged in the right category: {sum(drafts)}/{len(drafts)} = "
              f"{100 * sum(drafts) / len(drafts):.1f}%")
    if correct:
        print(f"  false alarms: significant flags on {alarms}/{correct} correct drafts = {100 * alarms / correct:.1f}%")
    print(f"  exact flag sets (category, finding, significance): {exact}/{len(cases)}")


def speed_report(cases: list[dict], repeats: int) -> None:
    records = [(c["task"], c["fields"], c["prediction"]) for c in cases]
    per_record = []
    # The sentence cache is emptied before every record, so each is timed as if its
    # text had never been seen (the cache only helps repeated text).
    for _ in range(repeats):
        elapsed = 0.0
        for task, fields, prediction in records:
            _read_sentence.cache_clear()
            start = time.perf_counter()
            verify(task, fields, prediction)
            elapsed += time.perf_counter() - start
        per_record.append(elapsed / len(records) * 1000)
    slowest = 0.0
    for task, fields, prediction in records:
        _read_sentence.cache_clear()
        start = time.perf_counter()
        verify(task, fields, prediction)
        slowest = max(slowest, (time.perf_counter() - start) * 1000)
    print(f"speed, uncached: {statistics.median(per_record):.2f} ms per record (median of {repeats} passes over "
          f"{len(records)} records; min {min(per_record):.2f}, max {max(per_record):.2f}); slowest record "
          f"{slowest:.2f} ms")
    lengths = Counter(c["task"] for c in cases)
    print(f"  tasks: {dict(lengths)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=Path, default=ROOT / "tests" / "fixtures" / "verify_cases.jsonl")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--show", action="store_true", help="print every case whose flags differ from expected")
    parser.add_argument("--medspacy", action="store_true", help="also run medspacy's ConText on the negation set")
    args = parser.parse_args()
    cases = [json.loads(line) for line in args.cases.read_text(encoding="utf-8").splitlines() if line.strip()]
    speed_report(cases, args.repeats)
    detection_report(cases, show=args.show)
    negation_report(args.medspacy)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
