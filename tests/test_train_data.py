"""Mixing with per-task caps and weights, and prompt/completion pairs built through
radphi.tasks (one prompt format for training, serving and evaluation)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from radphi import tasks
from training.data import apply_caps_and_weights, build_rows, prompt_completion

F = Path(__file__).parent / "fixtures" / "train"


def fake_records(task: str, n: int, split: str = "train") -> list[dict]:
    return [{"id": f"{task}-{i}", "task": task, "question": f"q{i}?", "reference": f"a{i}", "split": split}
            for i in range(n)]


def test_caps_then_weights_per_task_with_a_default():
    recs = fake_records("radiology_qa", 100) + [dict(r, task="instruction", instruction=r["question"])
                                                for r in fake_records("x", 40)]
    mixed, counts = apply_caps_and_weights(recs, caps={"radiology_qa": 30, "*": 1000},
                                           weights={"radiology_qa": 2.0, "instruction": 0.5}, seed=1)
    assert counts["radiology_qa"] == {"available": 100, "capped": 30, "final": 60}
    assert counts["instruction"] == {"available": 40, "capped": 40, "final": 20}
    per_id = Counter(r["id"] for r in mixed if r["task"] == "radiology_qa")
    assert len(per_id) == 30 and set(per_id.values()) == {2}  # each capped record exactly twice
    again, _ = apply_caps_and_weights(recs, caps={"radiology_qa": 30, "*": 1000},
                                      weights={"radiology_qa": 2.0, "instruction": 0.5}, seed=1)
    assert [r["id"] for r in again] == [r["id"] for r in mixed]  # seeded: the same on every process


def test_prompt_completion_matches_the_task_catalogue():
    rec = {"task": "impression_prediction", "findings": "Small left effusion.", "reference": "Effusion."}
    pair = prompt_completion(rec)
    assert pair["prompt"] == tasks.render_prompt("impression_prediction", rec)
    assert pair["prompt"].startswith("<instruct>") and pair["prompt"].endswith("<output>")
    assert pair["completion"] == "Effusion.<|endoftext|>"
    default = prompt_completion(rec, fmt="default")
    assert default["prompt"].endswith("Output:") and default["completion"] == " Effusion.<|endoftext|>"
    assert prompt_completion(rec, eos_token="</s>")["completion"] == "Effusion.</s>"


def test_general_instructions_are_wrapped_like_a_bare_question():
    general = prompt_completion({"task": "instruction", "instruction": " Name a colour.\n\nsky ", "reference": "blue"})
    qa = prompt_completion({"task": "radiology_qa", "question": "Name a colour.\n\nsky", "reference": "blue"})
    assert general == qa == {"prompt": "<instruct>Name a colour.\n\nsky\n<output>", "completion": "blue<|endoftext|>"}


def test_build_rows_from_sources_caps_validation_and_drops_overlong():
    sources = [{"loader": "radiopaedia", "path": str(F / "radiopaedia_qa.jsonl"), "validation_fraction": 0},
               {"loader": "supernatural", "root": str(F / "natural-instructions"), "validation_per_task": 2}]

    def words(texts: list[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    rows, summary = build_rows(sources, eval_cap=1, max_tokens=30, count_tokens=words, seed=0)
    assert summary["records"]["test"] == {"radiology_qa": 2, "instruction": 2}  # never trained on
    assert Counter(r["task"] for r in rows["validation"]) == {"instruction": 1}  # capped per task
    assert summary["rows"]["train"] == {"radiology_qa": 6, "instruction": 3}
    assert all(set(r) == {"id", "task", "prompt", "completion"} for r in rows["train"])
    assert all(r["completion"].endswith("<|endoftext|>") for r in rows["train"])
    tight, tight_summary = build_rows(sources, max_tokens=8, count_tokens=words, seed=0)
    assert tight_summary["dropped_too_long"]["train"]["instruction"] == 3
    assert all(r["task"] == "radiology_qa" for r in tight["train"])
