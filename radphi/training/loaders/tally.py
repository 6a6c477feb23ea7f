"""What each data rule dropped or changed, and why: one tally for a whole data build.

Loaders report every record a rule drops, moves or rewrites with `note(source, rule, n)`;
`radphi data build` and training (radphi/training/data.py) collect them with `collecting()` and
print them with the reason each rule exists (REASONS). Outside `collecting()` a note is
only counted by its caller's own log line, so the loaders stay plain functions.

    with collecting() as tally:
        records = load_source({...})
    tally.rows()  # [("medical_diff_vqa/qa_temporal_findings", "level_change_to_progression", 3, "..."), ...]

A context variable rather than an argument threaded through every loader: the rules
sit deep inside each loader, and a build may run several sources in turn.
"""

from __future__ import annotations

import contextvars
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# rule -> why it exists (printed next to its count). A rule without an entry prints
# its name only; keep this table complete for the rules the loaders use.
REASONS: dict[str, str] = {
    # THE SPLIT RULE (splits.py)
    "kept_train": "kept, in MIMIC-CXR's train split of its current study",
    "kept_validation": "kept, in MIMIC-CXR's validate split of its current study",
    "kept_test": "kept, in MIMIC-CXR's test split of its current study (never trained on)",
    "moved_to_mimic_split": "the dataset's own split differs: the current study's MIMIC-CXR split is used",
    "dropped_study_not_in_mimic_split": "the study has no row in MIMIC-CXR's split table",
    "dropped_prior_not_in_mimic_split": "the prior study has no row in MIMIC-CXR's split table",
    "dropped_prior_in_other_split": "the prior study is in another split: its text would leak across splits",
    # shared
    "dropped_no_report": "no MIMIC-CXR report file for the study (or its prior)",
    "dropped_empty": "an empty study id, question, answer, text or target",
    "duplicate": "the same question on the same study again (Diff-VQA repeats it per reference study)",
    # MIMIC-CXR
    "no_findings_or_impression": "the report has neither a findings nor an impression section",
    "official_rule_no_findings": "MIT-LCP's hand-written rules: the report has no findings at all",
    "official_rule_conclusion_span": "MIT-LCP's hand-written rules: the conclusion is a fixed span; only the "
                                     "impression task is made (its automatic sections are unreliable)",
    "official_rule_section_name": "MIT-LCP's hand-written rules: the conclusion sits in a misnamed section, "
                                  "used as the impression",
    # Chest ImaGenome
    "skipped_no_labels": "no label of the task's categories in any region (skip_empty_*)",
    "dropped_prior_image_unknown": "the prior image's study is in neither MIMIC-CXR's split table nor the scene graphs",
    "duplicate_scene_graph_file": "the same scene graph file found twice below the root (kept once)",
    # Medical-Diff-VQA
    "level_change_to_progression": "a 'level of X has changed from A to B' answer: a progression target "
                                   "(worsened or improved by the level's order), not a temporal-findings one",
    "level_change_unordered": "a level change whose levels have no order (acute, increasing...): left out",
    "level_change_removed_from_findings": "the level-change sentence is left out of a temporal-findings "
                                          "target that also adds or removes findings",
    "level_change_only_not_findings": "the answer is only a level change: left out of temporal findings "
                                      "(it would read 'Added: none. Removed: none.')",
    # Super-NaturalInstructions
    "assumed_english_no_language_keys": "an older task file without Input_language/Output_language: "
                                        "assumed English (the default split lists English tasks)",
    "not_english": "the task's input or output language is not English",
    "missing_task_file": "a task in the split list has no tasks/NAME.json",
    "no_definition": "the task file has no Definition",
    "test_beyond_first_instances": "official evaluation: only the first instances of each test task",
    "instance_without_input_or_output": "an instance without input or output",
    "capped_per_task": "max_per_task: a seeded sample of each train task's instances",
    # JSONL sources
    "unknown_task": "a line whose task is not one of the tasks",
    "empty_field_or_reference": "a line with an empty input field or reference",
    "bad_line": "a line that is not a JSON object",
    # mixing (radphi/training/data.py)
    "train_cap": "task_caps: a seeded sample of at most the cap per task",
    "train_weight_repeat": "task_weights > 1: records repeated",
    "train_weight_thin": "task_weights < 1: records left out",
    "validation_cap": "eval_cap: validation records per task at most",
    "too_long": "prompt + answer longer than max_length tokens (cutting would cut the answer and its end)",
}


@dataclass
class Tally:
    """(source, rule) -> count, in the order first seen."""

    counts: Counter = field(default_factory=Counter)

    def add(self, source: str, rule: str, n: int = 1) -> None:
        if n:
            self.counts[(source, rule)] += n

    def rows(self) -> list[tuple[str, str, int, str]]:
        return [(source, rule, n, REASONS.get(rule, "")) for (source, rule), n in self.counts.items()]

    def as_dict(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for (source, rule), n in self.counts.items():
            out.setdefault(source, {})[rule] = n
        return out


_ACTIVE: contextvars.ContextVar[Tally | None] = contextvars.ContextVar("training_data_tally", default=None)


def note(source: str, rule: str, n: int = 1) -> None:
    """Count N records that RULE dropped or changed in SOURCE, when a tally is collecting."""
    tally = _ACTIVE.get()
    if tally is not None:
        tally.add(source, rule, n)


@contextmanager
def collecting() -> Iterator[Tally]:
    """Collect every note made inside the block (nested blocks share the outer tally)."""
    outer = _ACTIVE.get()
    if outer is not None:
        yield outer
        return
    tally = Tally()
    token = _ACTIVE.set(tally)
    try:
        yield tally
    finally:
        _ACTIVE.reset(token)
