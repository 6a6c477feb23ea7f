"""Super-NaturalInstructions (allenai/natural-instructions) -> general instruction records.

Reads the repository layout: `tasks/taskNNN_<source>_<type>.json` (keys `Definition`, a
list holding one string; `Instances`, a list of `{id, input, output}` whose `output` is a
list of strings; `Input_language`, `Output_language`, ...) and the task lists
`splits/default/train_tasks.txt` and `test_tasks.txt` (one task name per line, without
`.json`; the English track). Some task files hold a bare `NaN`, which Python's json
module reads.

Each instance becomes `{"task": "instruction", "instruction": Definition + "\\n\\n" +
input, "reference": the first output}`.

- Train tasks give `train` records (the last `validation_per_task` instances of each go
  to `validation`, for the eval loss); `max_per_task` caps each train task (a seeded
  sample, the same on every run).
- Test tasks give `test` records by the official evaluation protocol: the first
  `eval_instances_per_task` (100) instances of each task, in file order (the dataset
  puts its label-balanced evaluation instances first), never a sample.
- `english_only` keeps tasks whose input and output languages are both exactly
  English. Older checkouts of the task files (for example commit 031cfe2) have no
  language keys, a plain-string `Definition` and no instance ids: such a task is assumed
  English (the default split is the English track), which is logged and counted, and
  its instances get ids `{task name}-{index}`.

The real `splits/default` lists 756 train tasks and 119 test tasks; the paper reports
757 English tasks and 2,410,002 training records. Every skip is logged and handed to
the data build's tally (tally.py).

*(uncertain)*: how the paper joined Definition and input (here a blank line between
them), and whether it capped instances per task (its 2,410,002 records over 757
tasks suggest it did not; the stage 1 config caps for a shorter run).
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from pathlib import Path
from typing import Any

from radphi.tasks import GENERAL_TASK
from radphi.training.loaders.common import make_record
from radphi.training.loaders.tally import note

log = logging.getLogger(__name__)

DATASET = "super_natural_instructions"


def read_task_list(path: Path) -> list[str]:
    if not path.is_file():
        return []
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [n.removesuffix(".json") for n in names if n and not n.startswith("#")]


LANGUAGE_KEYS = ("Input_language", "Output_language")
OFFICIAL_EVAL_INSTANCES = 100


def _language(task: dict[str, Any]) -> str:
    """"english", "other", or "unknown" for a task file without language keys (older checkouts)."""
    if not any(k in task for k in LANGUAGE_KEYS):
        return "unknown"
    english = task.get("Input_language") == ["English"] and task.get("Output_language") == ["English"]
    return "english" if english else "other"


def _definition(task: dict[str, Any]) -> str:
    value = task.get("Definition")
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip()


def load(root: str, split_dir: str = "splits/default", english_only: bool = True,
         max_per_task: int | None = None, validation_per_task: int = 0, include_test: bool = True,
         eval_instances_per_task: int = OFFICIAL_EVAL_INSTANCES, max_tasks: int | None = None,
         seed: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
    """Records from the tasks listed in SPLIT_DIR's train_tasks.txt (and test_tasks.txt).

    LIMIT (a quick look): at most LIMIT tasks per list and LIMIT instances per task.
    """
    base = Path(root).expanduser()
    tasks_dir = base / "tasks"
    lists = {"train": read_task_list(base / split_dir / "train_tasks.txt"),
             "test": read_task_list(base / split_dir / "test_tasks.txt") if include_test else []}
    if not lists["train"] and not lists["test"]:
        raise FileNotFoundError(f"no task lists in {base / split_dir} (train_tasks.txt, test_tasks.txt)")
    if limit is not None:
        max_tasks = min(max_tasks or limit, limit)
    out: list[dict[str, Any]] = []
    skipped: Counter = Counter()
    for split, names in lists.items():
        for name in names[:max_tasks]:
            path = tasks_dir / f"{name}.json"
            if not path.is_file():
                skipped["missing_task_file"] += 1
                continue
            task = json.loads(path.read_text(encoding="utf-8"))
            language = _language(task)
            if english_only and language == "other":
                skipped["not_english"] += 1
                continue
            definition = _definition(task)
            if not definition:
                skipped["no_definition"] += 1
                continue
            if english_only and language == "unknown":
                skipped["assumed_english_no_language_keys"] += 1  # kept, but counted
            out.extend(_task_records(name, task, definition, split, max_per_task, validation_per_task,
                                     eval_instances_per_task, seed, limit, skipped))
    for rule, n in skipped.items():
        note(DATASET, rule, n)
    if skipped["assumed_english_no_language_keys"]:
        log.info("super-natural-instructions: %d task files have no language keys (an older checkout): "
                 "assumed English", skipped["assumed_english_no_language_keys"])
    log.info("super-natural-instructions: %d records; %s", len(out), dict(skipped))
    return out


def _task_records(name: str, task: dict[str, Any], definition: str, split: str, max_per_task: int | None,
                  validation_per_task: int, eval_instances: int, seed: int, limit: int | None,
                  skipped: Counter) -> list[dict[str, Any]]:
    raw = [i for i in task.get("Instances") or [] if isinstance(i, dict)]
    # Ids by position in the file: older task files have none, and the position is stable.
    indexed = [(k, inst) for k, inst in enumerate(raw)]
    if split == "test":
        # The official protocol: the first instances, before anything is filtered.
        skipped["test_beyond_first_instances"] += max(len(indexed) - eval_instances, 0)
        indexed = indexed[:eval_instances]
    usable = [(k, i) for k, i in indexed if str(i.get("input") or "").strip() and _first_output(i)]
    skipped["instance_without_input_or_output"] += len(indexed) - len(usable)
    if split == "train" and max_per_task is not None and len(usable) > max_per_task:
        skipped["capped_per_task"] += len(usable) - max_per_task
        # A sample seeded by task name: the same instances on every run and every process.
        usable = random.Random(f"{seed}-{name}").sample(usable, max_per_task)
    if limit is not None:
        usable = usable[:limit]
    n_val = min(validation_per_task, max(len(usable) - 1, 0)) if split == "train" else 0
    records = []
    for j, (k, inst) in enumerate(usable):
        rec_split = "validation" if j >= len(usable) - n_val else split
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
