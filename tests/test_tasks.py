"""The task catalogue: names, fields, the paper's wording, the one rendering rule, formats."""

from __future__ import annotations

import os

import pytest

from radphi import tasks
from radphi.errors import InputError

EXPECTED_FIELDS = {
    "radiology_qa": ("question",),
    "impression_prediction": ("findings",),
    "abnormality_labels": ("report",),
    "tubes_lines_devices_labels": ("report",),
    "qa_temporal_findings": ("report", "prior_report"),
    "qa_temporal_progression": ("report", "prior_report"),
    "extract_findings": ("report",),
    "extract_impression": ("report",),
    "cleanup_report_text": ("text",),
    "qa_comprehension": ("report", "question"),
    tasks.GENERAL_TASK: ("instruction",),  # Super-NaturalInstructions, stage 1 of training
}


def test_ten_radiology_tasks_and_the_general_instruction_with_exact_fields():
    assert {name: t.fields for name, t in tasks.TASKS.items()} == EXPECTED_FIELDS
    # The workbench offers the ten radiology tasks, not stage 1's general instruction.
    assert len(tasks.RADIOLOGY_TASKS) == 10 and tasks.GENERAL_TASK not in tasks.RADIOLOGY_TASKS


@pytest.mark.parametrize(
    "task, fields, expected",
    [
        ("impression_prediction", {"findings": "F"},
         "Given the findings from a radiology report: F Based on the above findings from a radiology report, write an impression."),
        ("abnormality_labels", {"report": "R"},
         "Given the below radiology report: R What abnormality labels can be tagged to these findings?"),
        ("qa_comprehension", {"report": "R", "question": "Q?"},
         "Answer the question using the radiology report below as context: R Question: Q?"),
        ("qa_temporal_findings", {"report": "R", "prior_report": "P"},
         "Given the below radiology report for an image and its prior report for reference: R P What findings are added "
         "and what findings are removed in the current radiology report for an image, compared to its reference report from before?"),
        ("cleanup_report_text", {"text": "T"},
         "Given the text from a radiology report: T Update the impressions or findings such that each sentence in the output "
         "describes an impression or observation about the image. Remove any mention of change of an observation and just "
         "state its presence. Do not include any follow-up suggestions or advice, and avoid mentioning any doctor names or "
         "other noisy details."),
        ("extract_findings", {"report": "R"},
         "Given the radiology report below: R Output the findings of the radiology report. Each sentence in the output should "
         "describe an observation or a finding about the image. Do not mention any changes in observations, follow-up "
         "suggestions, doctor names, or noisy details."),
        ("radiology_qa", {"question": "What is a Kerley B line?"}, "What is a Kerley B line?"),
    ],
)
def test_paper_wording(task, fields, expected):
    assert tasks.render_instruction(task, fields) == expected


def test_extract_impression_is_findings_with_impression():
    f = tasks.render_instruction("extract_findings", {"report": "R"})
    i = tasks.render_instruction("extract_impression", {"report": "R"})
    assert i == f.replace("findings of the radiology report", "impression of the radiology report")
    assert i != f


def test_token_and_default_formats():
    assert tasks.render_prompt("radiology_qa", {"question": "Q"}) == "<instruct>Q\n<output>"
    assert tasks.render_prompt("radiology_qa", {"question": "Q"}, "default") == "Instruct: Q\nOutput:"
    with pytest.raises(InputError, match="unknown prompt format"):
        tasks.render_prompt("radiology_qa", {"question": "Q"}, "chatml")


def test_one_whitespace_rule_strips_ends_keeps_inside():
    report = "  \n FINDINGS: a.\n  IMPRESSION: b.  \n"
    out = tasks.render_instruction("abnormality_labels", {"report": report})
    assert "report: FINDINGS: a.\n  IMPRESSION: b. What abnormality" in out


def test_braces_in_input_are_literal():
    out = tasks.render_instruction("radiology_qa", {"question": "what is {findings} and {0}?"})
    assert out == "what is {findings} and {0}?"


def test_system_is_metadata_not_prompt():
    out = tasks.render_prompt("radiology_qa", {"question": "Q", "system": "chest"})
    assert "chest" not in out


@pytest.mark.parametrize("value", ["", "   \n", None])
def test_empty_field_is_refused_clearly(value):
    with pytest.raises(InputError, match="qa_comprehension: empty or missing input field\\(s\\): question"):
        tasks.render_prompt("qa_comprehension", {"report": "R", "question": value})


def test_unknown_task():
    with pytest.raises(InputError, match="unknown task 'foo'"):
        tasks.render_prompt("foo", {})


def test_report_precedes_question_for_prefix_reuse():
    report = "FINDINGS: small left pleural effusion. " * 5
    a = tasks.render_prompt("qa_comprehension", {"report": report, "question": "Which side?"})
    b = tasks.render_prompt("qa_comprehension", {"report": report, "question": "How large?"})
    assert report.strip() in os.path.commonprefix([a, b])


def test_training_text_ends_with_eos():
    prompt, completion = tasks.training_text("radiology_qa", {"question": "Q"}, " A ")
    assert prompt == "<instruct>Q\n<output>"
    assert completion == "A<|endoftext|>"
    _, completion = tasks.training_text("radiology_qa", {"question": "Q"}, "A", "default")
    assert completion == " A<|endoftext|>"


def test_every_task_names_metrics_and_roundtrips_its_empty_answer():
    for t in tasks.TASKS.values():
        assert t.metrics and set(t.metrics) <= set(t.columns), t.name
        assert len(set(t.columns)) == len(t.columns), t.name
        assert t.parse(t.format_answer(t.parse(""))) == t.parse("")


def test_every_task_scorer_is_one_evaluation_resolves():
    from radphi.evaluation import scoring

    named = {t.scorer for t in tasks.TASKS.values()} - {None}
    assert named == set(scoring.SCORERS)
    assert tasks.LABEL_TASKS == ("abnormality_labels", "tubes_lines_devices_labels")
    # The scorer's columns are the task's: a label record gets its label columns, nothing else.
    row = scoring.SCORERS["labels"]("abnormality_labels", "cardiomegaly, banana", "cardiomegaly")
    assert {k for k in row if not k.startswith("_")} == set(tasks.LABEL_METRICS + tasks.LABEL_COUNT_COLUMNS)
    assert set(scoring.SCORERS["temporal_findings"]("qa_temporal_findings", "", "")) == set(tasks.TEMPORAL_SET_METRICS)


def test_the_general_instruction_is_its_own_template_around_the_whole_instruction():
    text = "Name the colour of the sky.\n\nInput: noon"
    assert tasks.render_instruction(tasks.GENERAL_TASK, {"instruction": f"  {text} "}) == text
    assert tasks.training_text(tasks.GENERAL_TASK, {"instruction": text}, " blue ") == (
        f"<instruct>{text}\n<output>", "blue<|endoftext|>")
