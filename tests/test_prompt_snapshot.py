"""Snapshot of every task's prompt in every prompt format (radphi.tasks.render_prompt):
the paper's ten templates and the general-instruction task, rendered with a marker in
each field, compared exactly with tests/fixtures/prompt_templates.txt. A change to any
template, format marker or field substitution fails here. If the change is meant,
regenerate the file and review its diff:

    .venv/bin/python -m tests.test_prompt_snapshot > tests/fixtures/prompt_templates.txt
"""

from __future__ import annotations

from pathlib import Path

from radphi import tasks

SNAPSHOT = Path(__file__).parent / "fixtures" / "prompt_templates.txt"


def rendered() -> str:
    """Every task in every format, each field filled with «field» (optional fields too, so
    the snapshot also shows those that never reach the prompt)."""
    blocks = []
    for name, task in tasks.TASKS.items():
        fields = {f: f"«{f}»" for f in task.fields + task.optional_fields}
        for fmt in tasks.FORMATS:
            blocks.append(f"=== {name} / {fmt}\n{tasks.render_prompt(name, fields, fmt)}\n")
    return "".join(blocks)


def test_every_prompt_equals_the_snapshot():
    expected = SNAPSHOT.read_text(encoding="utf-8")
    assert rendered() == expected, (
        "a prompt changed; if that is meant, regenerate tests/fixtures/prompt_templates.txt "
        "(see this module's docstring) and review the diff")


def test_the_snapshot_holds_ten_paper_tasks_and_the_general_one_in_every_format():
    headers = [line for line in SNAPSHOT.read_text(encoding="utf-8").splitlines() if line.startswith("=== ")]
    names = {h[4:].split(" / ")[0] for h in headers}
    assert len(names - {tasks.GENERAL_TASK}) == 10 and tasks.GENERAL_TASK in names
    assert len(headers) == len(names) * len(tasks.FORMATS) == 33
    # No two tasks share a template (the tubes task once read like the abnormality one).
    bodies = SNAPSHOT.read_text(encoding="utf-8").split("=== ")[1:]
    token = [b.split("\n", 1)[1] for b in bodies if b.split("\n", 1)[0].endswith("/ token")]
    assert len(set(token)) == len(token)


if __name__ == "__main__":
    print(rendered(), end="")
