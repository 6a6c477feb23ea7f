"""Super-NaturalInstructions (allenai/natural-instructions) -> general instruction records.

Reads the repository layout: `tasks/taskNNN_<source>_<type>.json` (keys `Definition`, a
list holding one string; `Instances`, a list of `{id, input, output}` whose `output` is a
list of strings; `Input_language`, `Output_language`, ...) and the task lists
`splits/default/train_tasks.txt` and `test_tasks.txt` (one task name per line, without
`.json`; the English track). Some task files hold a bare `NaN`, which Python's json
module reads.

Each instance becomes `{"task": "instruction", "instruction": Definition + "\\n\\n" +
input, "reference": the first output}`. Train tasks give `train` records (the last
`validation_per_task` instances of each go to `validation`, for the eval loss); test
tasks give `test` records. `max_per_task` caps instances per task (a seeded sample, the
same on every run); `english_only` keeps tasks whose input and output languages are
both exactly English.

*(uncertain)*: how the paper joined Definition and input (here a blank line between
them), and whether it capped instances per task (its 2,410,002 records over 757
tasks suggest it did not; the stage 1 config caps for a shorter run).
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path
from typing import Any

from training.loaders.common import GENERAL_TASK, make_record

log = logging.getLogger(__name__)

DATASET = "super_natural_instructions"


def read_task_list(path: Path) -> list[str]:
    if not path.is_file():
        return []
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [n.removesuffix(".json") for n in names if n and not n.startswith("#")]


def _is_english(task: dict[str, Any]) -> bool:
    return task.get("Input_language") == ["English"] and task.get("Output_language") == ["English"]


def _definition(task: dict[str, Any]) -> str:
    value = task.get("Definition")
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip()


def load(root: str, split_dir: str = "splits/default", english_only: bool = True,
         max_per_task: int | None = None, validation_per_task: int = 0, include_test: bool = True,
         max_tasks: int | None = None, seed: int = 0) -> list[dict[str, Any]]:
    """Records from the tasks listed in SPLIT_DIR's train_tasks.txt (and test_tasks.txt)."""
    base = Path(root).expanduser()
    tasks_dir = base / "tasks"
    lists = {"train": read_task_list(base / split_dir / "train_tasks.txt"),
             "test": read_task_list(base / split_dir / "test_tasks.txt") if include_test else []}
    if not lists["train"] and not lists["test"]:
        raise FileNotFoundError(f"no task lists in {base / split_dir} (train_tasks.txt, test_tasks.txt)")
    out: list[dict[str, Any]] = []
    skipped = {"missing": 0, "not_english": 0, "no_definition": 0}
    for split, names in lists.items():
        for name in names[:max_tasks]:
            path = tasks_dir / f"{name}.json"
            if not path.is_file():
                skipped["missing"] += 1
                continue
            task = json.loads(path.read_text(encoding="utf-8"))
            if english_only and not _is_english(task):
                skipped["not_english"] += 1
                continue
            definition = _definition(task)
            if not definition:
                skipped["no_definition"] += 1
                continue
            out.extend(_task_records(name, task, definition, split, max_per_task, validation_per_task, seed))
    log.info("super-natural-instructions: %d records; tasks skipped: %s", len(out), skipped)
    return out


def _task_records(name: str, task: dict[str, Any], definition: str, split: str, max_per_task: int | None,
                  validation_per_task: int, seed: int) -> list[dict[str, Any]]:
    instances = [i for i in task.get("Instances") or []
                 if isinstance(i, dict) and str(i.get("input") or "").strip() and _first_output(i)]
    if max_per_task is not None and len(instances) > max_per_task:
        # A sample seeded by task name: the same instances on every run and every process.
        instances = random.Random(f"{seed}-{name}").sample(instances, max_per_task)
    n_val = min(validation_per_task, max(len(instances) - 1, 0)) if split == "train" else 0
    records = []
    for k, inst in enumerate(instances):
        rec_split = "validation" if k >= len(instances) - n_val else split
        records.append(make_record(
            str(inst.get("id") or f"{name}-{k}"), GENERAL_TASK,
            {"instruction": f"{definition}\n\n{str(inst['input']).strip()}"}, _first_output(inst), rec_split,
            dataset=DATASET, source_task=name, categories=task.get("Categories"),
        ))
    return records


def _first_output(instance: dict[str, Any]) -> str:
    output = instance.get("output")
    if isinstance(output, list):
        output = next((o for o in output if str(o).strip()), "")
    return str(output or "").strip()
