"""Training data: records from the configured sources, mixed with per-task caps and
weights, turned into prompt/completion pairs through `radphi.tasks`.

    from radphi.training.data import build_rows
    rows, summary = build_rows(sources, caps={"qa_comprehension": 467057, "*": 50000},
                               weights={"extract_findings": 2.0}, fmt="token", seed=0)
    rows["train"][0]  # {"id", "task", "prompt", "completion"}

Mixing (train split only), per task, as the paper's Table 3 did (50,000 to 467,057
train records per task): first a cap (a seeded sample of at most `caps[task]`, or
`caps["*"]`), then a weight that repeats or thins what is left (2.0 doubles it, 0.5
keeps half; fractional parts are a seeded sample). The validation split is capped per
task by `eval_cap` to keep the eval loss cheap; the test split is never trained on and
is not returned. Every step's counts are logged and returned in `summary`.

`build_data` is the one function that decides what a stage trains on: training
(radphi/training/sft.py, through `build_rows`) and `radphi data build` (radphi/training/data_build.py)
both call it, so what the command prints and writes is what trains. Its summary counts
records per split, task and source dataset, and what every rule (the loaders' and the
mixing's, radphi/training/loaders/tally.py) dropped or changed.

Prompts come from `radphi.tasks.training_text`, the one owner of prompt formats, so
training, serving and evaluation see the same text (the general `instruction` task of
Super-NaturalInstructions is one of `radphi.tasks.TASKS`, with its own template).
The completion ends with the end-of-text marker; a model whose end-of-sequence token
is another (Mistral's `</s>`) gets its own.
"""

from __future__ import annotations

import logging
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from radphi import tasks
from radphi.training.loaders import load_source
from radphi.training.loaders.tally import collecting

log = logging.getLogger(__name__)

def prompt_completion(record: Mapping[str, Any], fmt: str = tasks.DEFAULT_FORMAT,
                      eos_token: str = tasks.END_OF_TEXT) -> dict[str, str]:
    """{"prompt", "completion"} for one record; the completion ends with EOS_TOKEN."""
    answer = str(record.get("reference") or "")
    prompt, completion = tasks.training_text(record["task"], record, answer, fmt)
    if eos_token != tasks.END_OF_TEXT and completion.endswith(tasks.END_OF_TEXT):
        completion = completion[: -len(tasks.END_OF_TEXT)] + eos_token
    return {"prompt": prompt, "completion": completion}


def _lookup(table: Mapping[str, Any], task: str) -> Any:
    return table.get(task, table.get("*"))


def apply_caps_and_weights(records: list[dict[str, Any]], caps: Mapping[str, int] | None = None,
                           weights: Mapping[str, float] | None = None, seed: int = 0) -> tuple[list[dict[str, Any]], dict[str, dict[str, int]]]:
    """Mix train records per task; returns (records, {task: {"available", "capped", "final"}})."""
    caps, weights = caps or {}, weights or {}
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        by_task[rec["task"]].append(rec)
    out: list[dict[str, Any]] = []
    counts: dict[str, dict[str, int]] = {}
    for task in sorted(by_task):
        rng = random.Random(f"{seed}-{task}")
        items = by_task[task]
        cap = _lookup(caps, task)
        capped = rng.sample(items, cap) if cap is not None and len(items) > int(cap) else list(items)
        weight = float(_lookup(weights, task) if _lookup(weights, task) is not None else 1.0)
        whole, frac = divmod(max(weight, 0.0), 1.0)
        mixed = capped * int(whole) + rng.sample(capped, round(frac * len(capped)))
        counts[task] = {"available": len(items), "capped": len(capped), "final": len(mixed)}
        out.extend(mixed)
    random.Random(seed).shuffle(out)
    return out, counts


def load_records(sources: Iterable[Mapping[str, Any]], limit: int | None = None) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for source in sources:
        records.extend(load_source(dict(source), limit=limit))
    return records


@dataclass
class BuiltData:
    """What a stage trains and validates on: the records (in the one record shape) and
    their prompt/completion rows, in the same order, and every count on the way."""

    records: dict[str, list[dict[str, Any]]]
    rows: dict[str, list[dict[str, str]]]
    summary: dict[str, Any]


def token_counter(tokenizer: Any, chunk: int = 10_000) -> Callable[[list[str]], list[int]]:
    """texts -> token counts with TOKENIZER (a transformers tokenizer), as training counts them."""
    def count(texts: list[str]) -> list[int]:
        return [len(ids) for i in range(0, len(texts), chunk) for ids in tokenizer(texts[i:i + chunk])["input_ids"]]
    return count


def _source_name(rec: Mapping[str, Any]) -> str:
    meta = rec.get("meta") or {}
    return str(meta.get("dataset") or "records")


def _nested_counts(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """{task: {source dataset: n}}"""
    out: dict[str, Counter] = defaultdict(Counter)
    for rec in records:
        out[rec["task"]][_source_name(rec)] += 1
    return {task: dict(c) for task, c in sorted(out.items())}


def build_data(sources: Iterable[Mapping[str, Any]] | None = None, *, records: list[dict[str, Any]] | None = None,
               caps: Mapping[str, int] | None = None, weights: Mapping[str, float] | None = None,
               eval_cap: int | None = 500, fmt: str = tasks.DEFAULT_FORMAT, eos_token: str = tasks.END_OF_TEXT,
               max_tokens: int | None = None, count_tokens: Callable[[list[str]], list[int]] | None = None,
               seed: int = 0, limit: int | None = None) -> BuiltData:
    """THE function that decides what a stage trains on (training and `radphi data build`).

    With MAX_TOKENS and COUNT_TOKENS (texts -> token counts), a pair longer than
    MAX_TOKENS is dropped and counted: cutting it would cut the answer and its
    end-of-text, and teach the model not to stop. LIMIT (a quick look) bounds what each
    loader reads and keeps at most LIMIT records per task and split.
    """
    with collecting() as tally:
        if records is None:
            records = load_records(sources or [], limit=limit)
        by_split: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for rec in records:
            by_split[rec.get("split") or "train"].append(rec)
        summary: dict[str, Any] = {
            "records": {s: dict(Counter(r["task"] for r in rs)) for s, rs in by_split.items()},
            "by_source": {s: _nested_counts(rs) for s, rs in sorted(by_split.items())},
        }
        train, summary["mix"] = apply_caps_and_weights(by_split["train"], caps, weights, seed)
        validation, val_counts = apply_caps_and_weights(by_split["validation"], {"*": eval_cap} if eval_cap else {},
                                                        {}, seed)
        for task, c in summary["mix"].items():
            tally.add(f"mix/train/{task}", "train_cap", c["available"] - c["capped"])
            tally.add(f"mix/train/{task}", "train_weight_repeat", max(c["final"] - c["capped"], 0))
            tally.add(f"mix/train/{task}", "train_weight_thin", max(c["capped"] - c["final"], 0))
        for task, c in val_counts.items():
            tally.add(f"mix/validation/{task}", "validation_cap", c["available"] - c["capped"])
        kept: dict[str, list[dict[str, Any]]] = {}
        rows: dict[str, list[dict[str, str]]] = {}
        dropped: dict[str, Counter] = {}
        for split, recs in (("train", train), ("validation", validation)):
            built = [{"id": str(r.get("id", "")), "task": r["task"], **prompt_completion(r, fmt, eos_token)}
                     for r in recs]
            dropped[split] = Counter()
            if max_tokens and count_tokens and built:
                lengths = count_tokens([b["prompt"] + b["completion"] for b in built])
                keep = [n <= max_tokens for n in lengths]
                dropped[split] = Counter(b["task"] for b, k in zip(built, keep) if not k)
                recs = [r for r, k in zip(recs, keep) if k]
                built = [b for b, k in zip(built, keep) if k]
                for task, n in dropped[split].items():
                    tally.add(f"mix/{split}/{task}", "too_long", n)
            kept[split], rows[split] = recs, built
        summary["length_rule"] = "applied" if max_tokens and count_tokens else "not applied"
        summary["dropped_too_long"] = {s: dict(c) for s, c in dropped.items() if c}
        summary["rows"] = {s: dict(Counter(r["task"] for r in rs)) for s, rs in rows.items()}
        summary["rules"] = tally.as_dict()
    _log_summary(summary)
    return BuiltData(kept, rows, summary)


def build_rows(sources: Iterable[Mapping[str, Any]] | None = None, *, records: list[dict[str, Any]] | None = None,
               caps: Mapping[str, int] | None = None, weights: Mapping[str, float] | None = None,
               eval_cap: int | None = 500, fmt: str = tasks.DEFAULT_FORMAT, eos_token: str = tasks.END_OF_TEXT,
               max_tokens: int | None = None, count_tokens: Callable[[list[str]], list[int]] | None = None,
               seed: int = 0) -> tuple[dict[str, list[dict[str, str]]], dict[str, Any]]:
    """{"train": rows, "validation": rows} and a summary of every count on the way (build_data)."""
    built = build_data(sources, records=records, caps=caps, weights=weights, eval_cap=eval_cap, fmt=fmt,
                       eos_token=eos_token, max_tokens=max_tokens, count_tokens=count_tokens, seed=seed)
    return built.rows, built.summary


def _log_summary(summary: dict[str, Any]) -> None:
    for task, c in summary["mix"].items():
        log.info("train %-28s available %8d  after cap %8d  after weight %8d", task, c["available"], c["capped"],
                 c["final"])
    for split, counts in summary["dropped_too_long"].items():
        log.warning("%s: dropped %s pairs longer than max_length", split, counts)
    for split, counts in summary["rows"].items():
        log.info("%s rows: %d %s", split, sum(counts.values()), counts)
