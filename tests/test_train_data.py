"""Mixing with per-task caps and weights, and prompt/completion pairs built through
radphi.tasks (one prompt format for training, serving and evaluation)."""
from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

from radphi import cli, tasks
from radphi.training.data import apply_caps_and_weights, build_rows, prompt_completion

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


def stage_config(tmp_path: Path, extra: str = "") -> Path:
    """A stage config over the fixtures of every dataset, in their real layouts."""
    split_csv, reports = F / "mimic-cxr-2.0.0-split.csv", F / "mimic-cxr-reports"
    path = tmp_path / "stage.toml"
    path.write_text(f"""
prompt_format = "token"
eval_cap = 2
seed = 1
{extra}
[task_caps]
qa_comprehension = 3
[task_weights]
extract_findings = 2.0
[[sources]]
loader = "mimic_cxr"
reports = "{reports}"
split_csv = "{split_csv}"
[[sources]]
loader = "imagenome"
scene_graphs = "{F / 'chest-imagenome'}"
reports = "{reports}"
split_csv = "{split_csv}"
[[sources]]
loader = "diff_vqa"
questions_csv = "{F / 'mimic_pair_questions.csv'}"
reports = "{reports}"
split_csv = "{split_csv}"
[[sources]]
loader = "supernatural"
root = "{F / 'natural-instructions-old'}"
validation_per_task = 1
""")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_radphi_data_build_writes_and_counts_what_the_stage_trains_on(tmp_path, capsys):
    config = stage_config(tmp_path)
    out = tmp_path / "built"
    assert cli.main(["data", "build", "--config", str(config), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["written"] == {
        "train": {"abnormality_labels": 4, "extract_findings": 6, "extract_impression": 5, "impression_prediction": 3,
                  "instruction": 3, "qa_comprehension": 3, "qa_temporal_findings": 1, "qa_temporal_progression": 2,
                  "tubes_lines_devices_labels": 2},
        "validation": {"abnormality_labels": 1, "extract_findings": 2, "extract_impression": 2,
                       "impression_prediction": 2, "instruction": 1, "qa_comprehension": 2,
                       "qa_temporal_findings": 1, "qa_temporal_progression": 1, "tubes_lines_devices_labels": 1},
    }
    # per source: progression comes from ImaGenome relationships and Diff-VQA level changes
    assert summary["by_source"]["train"]["qa_temporal_progression"] == {"chest_imagenome": 1, "medical_diff_vqa": 1}
    assert summary["by_source"]["test"]["instruction"] == {"super_natural_instructions": 2}  # counted, not written
    assert not (out / "test").exists()
    rules = summary["rules"]
    assert rules["medical_diff_vqa/qa_temporal_findings"]["level_change_only_not_findings"] == 2
    assert rules["mimic_cxr"]["official_rule_no_findings"] == 1
    assert rules["super_natural_instructions"]["assumed_english_no_language_keys"] == 2
    assert rules["mix/train/extract_findings"] == {"train_weight_repeat": 3}
    assert rules["mix/train/qa_comprehension"] == {"train_cap": 1}
    assert rules["mix/validation/qa_comprehension"] == {"validation_cap": 1}
    assert "train      qa_temporal_progression      medical_diff_vqa                     1" in printed
    assert "level_change_only_not_findings" in printed and "Added: none. Removed: none." in printed  # the why
    assert "max_length rule NOT applied" in printed
    # The files hold exactly the records, in the one record shape, owner-only.
    findings = read_jsonl(out / "train" / "extract_findings.jsonl")
    assert len(findings) == 6 and Counter(r["id"] for r in findings) == {
        "mimic-50414267-extract_findings": 2, "mimic-53189527-extract_findings": 2, "mimic-50913680-extract_findings": 2}
    prog = {r["id"]: r for r in read_jsonl(out / "validation" / "qa_temporal_progression.jsonl")}
    assert prog["diffvqa-57375967-58000001-row13-progression"]["reference"] == "edema: improved"
    assert set(prog["diffvqa-57375967-58000001-row13-progression"]) == {
        "id", "task", "report", "prior_report", "reference", "split", "meta"}
    assert (out / "summary.json").stat().st_mode & 0o777 == 0o600
    assert (out / "train" / "extract_findings.jsonl").stat().st_mode & 0o777 == 0o600


def test_data_build_is_what_training_builds(tmp_path):
    from radphi.training.data_build import build
    from radphi.training.sft import load_config

    config = stage_config(tmp_path)
    summary = build(config, tmp_path / "built", stream=io.StringIO())
    cfg = load_config(config)
    rows, train_summary = build_rows(cfg.sources, caps=cfg.task_caps, weights=cfg.task_weights,
                                     eval_cap=cfg.eval_cap, fmt=cfg.prompt_format, seed=cfg.seed)
    assert train_summary["rows"] == {s: summary["written"][s] for s in ("train", "validation")}
    built_ids = [r["id"] for s in ("train",) for t in sorted(summary["written"][s])
                 for r in read_jsonl(tmp_path / "built" / s / f"{t}.jsonl")]
    assert sorted(built_ids) == sorted(r["id"] for r in rows["train"])


def test_data_build_limit_is_a_quick_look_and_bad_input_is_one_line(tmp_path, capsys):
    config = stage_config(tmp_path)
    out = tmp_path / "look"
    assert cli.main(["data", "build", "--config", str(config), "--out", str(out), "--limit", "1"]) == 0
    printed = capsys.readouterr().out
    assert "QUICK LOOK (--limit 1)" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert all(n <= 2 for split in summary["written"].values() for n in split.values())  # 1, x2 by the weight
    assert cli.main(["data", "build", "--config", str(tmp_path / "nope.toml"), "--out", str(out)]) == 2
    assert "config not found" in capsys.readouterr().err
    bad = stage_config(tmp_path, extra='bogus_key = 1')
    assert cli.main(["data", "build", "--config", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown config key" in err and "Traceback" not in err


def test_data_build_with_the_models_tokenizer_applies_the_length_rule(tmp_path, tiny_phi_dir):
    from radphi.training.data import token_counter
    from radphi.training.data_build import build
    from radphi.training.sft_model import load_tokenizer

    config = stage_config(tmp_path, extra="max_length = 120")
    stream = io.StringIO()
    summary = build(config, tmp_path / "built", tokenizer=str(tiny_phi_dir), stream=stream)
    assert summary["length_rule"] == "applied" and "NOT applied" not in stream.getvalue()
    # Report tasks are longer than 120 tokens; the short instructions are not.
    assert summary["dropped_too_long"]["train"]["extract_impression"] == 5
    assert summary["written"]["train"]["instruction"] == 3 and "extract_impression" not in summary["written"]["train"]
    assert summary["rules"]["mix/train/extract_impression"] == {"too_long": 5}
    assert summary["rules"]["mix/validation/extract_impression"] == {"too_long": 2}
    tokenizer, _ = load_tokenizer(str(tiny_phi_dir))
    kept = read_jsonl(tmp_path / "built" / "train" / "instruction.jsonl")
    lengths = token_counter(tokenizer)(["".join(prompt_completion(r, eos_token=tokenizer.eos_token).values())
                                        for r in kept])
    assert max(lengths) <= 120
