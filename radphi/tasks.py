"""The task catalogue: THE owner of prompts and of what each task is scored on.

Each task has its input fields, its instruction template (the paper's wording, Table 2),
its answer parser and answer writer (`radphi.answers`), the names of the metrics that
evaluate it (`metrics`, the paper's headline ones), the per-record columns `radphi eval`
computes for it (`columns`, in the order of the paper's tables) and the key of the
scorer that reads its answers into sets (`scorer`, resolved by `radphi.evaluation.scoring`;
radphi never imports evaluation). Besides the paper's ten radiology tasks, `TASKS` holds
the general-instruction task of stage 1 (Super-NaturalInstructions, `GENERAL_TASK`).
Training, serving and evaluation all render prompts through `render_prompt`, so a
template changed here changes everywhere.

    >>> from radphi.tasks import render_prompt
    >>> render_prompt("impression_prediction", {"findings": "No effusion."})
    '<instruct>Given the findings from a radiology report: No effusion. Based on the above findings from a radiology report, write an impression.\\n<output>'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from radphi import answers
from radphi.errors import InputError

INSTRUCT_TOKEN = "<instruct>"
OUTPUT_TOKEN = "<output>"
END_OF_TEXT = "<|endoftext|>"
SPECIAL_TOKENS = (INSTRUCT_TOKEN, OUTPUT_TOKEN)

# The two prompt formats of the paper's ablation (Table 16). `token` is the default:
# it scored F1 29.2 against 5.4 for Phi-2's own `default` format.
# `chat` is for instruct models: the prompt here is the user message, which a backend
# puts through the model's own chat template (`chat_messages`; llama.cpp: the GGUF's
# tokenizer.chat_template, transformers: apply_chat_template).
CHAT_FORMAT = "chat"
FORMATS: dict[str, str] = {
    "token": INSTRUCT_TOKEN + "{prompt}\n" + OUTPUT_TOKEN,
    "default": "Instruct: {prompt}\nOutput:",
    CHAT_FORMAT: "{prompt}",
}
DEFAULT_FORMAT = "token"

# Where generation stops, per format, besides the model's own end-of-text token.
# A model that runs on into a new turn is cut there. A chat model stops on its
# template's end-of-turn tokens, which the backend reads from the template.
STOP_STRINGS: dict[str, tuple[str, ...]] = {
    "token": (END_OF_TEXT, INSTRUCT_TOKEN),
    "default": (END_OF_TEXT, "\nInstruct:", "Instruct:"),
    CHAT_FORMAT: (),
}

# Fields that hold report text. Only these may be shortened in the middle when a
# prompt would overflow the context; a question is never cut.
LONG_TEXT_FIELDS = ("report", "prior_report", "findings", "text")

_TEMPORAL_PREAMBLE = (
    "Given the below radiology report for an image and its prior report for reference: "
    "{report} {prior_report}"
)

_EXTRACT = (
    "Given the radiology report below: {report} Output the %s of the radiology report. "
    "Each sentence in the output should describe an observation or a finding about the image. "
    "Do not mention any changes in observations, follow-up suggestions, doctor names, or noisy details."
)


@dataclass(frozen=True)
class Task:
    """One task: how its prompt is written, and how its answer is read and written."""

    name: str
    title: str
    fields: tuple[str, ...]
    template: str
    parse: Callable[[str], Any]
    format_answer: Callable[[Any], str]
    metrics: tuple[str, ...]
    # Every per-record column `radphi eval` computes, in the order of the paper's tables:
    # the lexical ones (TEXT_METRICS), RadGraph F1, the judge's, the checker's flag
    # counts (FLAG_COLUMNS) and the scorer's.
    columns: tuple[str, ...]
    # The key of the scorer that reads prediction and reference into sets and compares
    # them (a key of radphi.evaluation.scoring.SCORERS; None: the task's columns are all).
    scorer: str | None = None
    optional_fields: tuple[str, ...] = field(default=())
    # Extractive tasks: the input field whose sentences the answer copies. Grounded
    # decoding (`radphi.grounding`, on by default) keeps the answer to them.
    copies_from: str | None = None

    def instruction(self, fields: Mapping[str, Any]) -> str:
        """The instruction text with the inputs put in (without the format's markers)."""
        return render_instruction(self.name, fields)


TEXT_METRICS = ("f1", "precision", "recall", "bleu1", "rougeL")
JUDGE_METRICS = ("judge_relevance", "judge_accuracy")
LABEL_METRICS = ("label_precision", "label_recall", "label_f1")
# Counts behind the label tasks' corpus-level (micro) scores, not metrics to average.
LABEL_COUNT_COLUMNS = ("label_tp", "label_fp", "label_fn")
TEMPORAL_SET_METRICS = tuple(f"{side}_{m}" for side in ("added", "removed") for m in ("precision", "recall", "f1"))
# The checker's per-record flag counts (radphi.verify.CATEGORIES in order, then the
# significant ones), for every task with a source text; tests/test_eval_verify.py
# checks the names against the categories.
FLAG_COLUMNS = ("flags_missed_finding", "flags_false_finding", "flags_position", "flags_severity",
                "flags_significant")

# Records of general instructions (Super-NaturalInstructions, stage 1 of training): the
# whole instruction is one field, the prompt the instruction alone.
GENERAL_TASK = "instruction"

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task(
            name="radiology_qa",
            title="Radiology Q&A",
            fields=("question",),
            # Rad-Phi2-Base is asked the question alone; `system` is metadata for
            # stratified evaluation, never part of the prompt.
            template="{question}",
            parse=answers.parse_text,
            format_answer=answers.format_text,
            metrics=TEXT_METRICS,
            columns=TEXT_METRICS,  # no source text: nothing for the checker to check against
            optional_fields=("system",),
        ),
        Task(
            name="impression_prediction",
            title="Impression prediction",
            fields=("findings",),
            template=(
                "Given the findings from a radiology report: {findings} "
                "Based on the above findings from a radiology report, write an impression."
            ),
            parse=answers.parse_text,
            format_answer=answers.format_text,
            metrics=("radgraph_f1", "rougeL", "f1"),
            columns=("radgraph_f1", "rougeL", "f1", "precision", "recall", "bleu1") + FLAG_COLUMNS,
        ),
        Task(
            name="abnormality_labels",
            title="Abnormality labels",
            fields=("report",),
            template=(
                "Given the below radiology report: {report} "
                "What abnormality labels can be tagged to these findings?"
            ),
            parse=answers.parse_abnormality_labels,
            format_answer=answers.format_labels,
            metrics=LABEL_METRICS,
            columns=LABEL_METRICS + LABEL_COUNT_COLUMNS + FLAG_COLUMNS,
            scorer="labels",
        ),
        Task(
            name="tubes_lines_devices_labels",
            title="Tubes, lines and devices labels",
            fields=("report",),
            template=(
                "Given the below radiology report: {report} "
                "What tubes, lines and devices labels can be tagged to these findings?"
            ),
            parse=answers.parse_tubes_lines_devices_labels,
            format_answer=answers.format_labels,
            metrics=LABEL_METRICS,
            columns=LABEL_METRICS + LABEL_COUNT_COLUMNS + FLAG_COLUMNS,
            scorer="labels",
        ),
        Task(
            name="qa_temporal_findings",
            title="Temporal findings (added / removed)",
            fields=("report", "prior_report"),
            template=(
                _TEMPORAL_PREAMBLE + " What findings are added and what findings are removed in the "
                "current radiology report for an image, compared to its reference report from before?"
            ),
            parse=answers.parse_temporal_findings,
            format_answer=answers.format_temporal_findings,
            metrics=JUDGE_METRICS + ("added_f1", "removed_f1"),
            columns=JUDGE_METRICS + TEMPORAL_SET_METRICS + TEXT_METRICS + FLAG_COLUMNS,
            scorer="temporal_findings",
        ),
        Task(
            name="qa_temporal_progression",
            title="Temporal progression",
            fields=("report", "prior_report"),
            template=(
                _TEMPORAL_PREAMBLE + " For each finding in the current radiology report for an image, "
                "has it improved, worsened or shown no change compared to its reference report from before?"
            ),
            parse=answers.parse_progression,
            format_answer=answers.format_progression,
            metrics=JUDGE_METRICS + ("progression_accuracy",),
            columns=JUDGE_METRICS + ("progression_accuracy",) + FLAG_COLUMNS,
            scorer="progression",
        ),
        Task(
            name="extract_findings",
            title="Extract findings",
            fields=("report",),
            # The paper's Table 2 prints "Output the impression" for this task too; that
            # reads as a copy-paste typo, so the findings task asks for the findings.
            template=_EXTRACT % "findings",
            parse=answers.parse_text,
            format_answer=answers.format_text,
            metrics=TEXT_METRICS,
            columns=TEXT_METRICS + FLAG_COLUMNS,
            copies_from="report",
        ),
        Task(
            name="extract_impression",
            title="Extract impression",
            fields=("report",),
            template=_EXTRACT % "impression",
            parse=answers.parse_text,
            format_answer=answers.format_text,
            metrics=TEXT_METRICS,
            columns=TEXT_METRICS + FLAG_COLUMNS,
            # Not grounded: an impression is rewritten as much as copied (numbering and
            # change words go); on a development set the free answer scored far higher
            # (lab/demo/LOG.md, "Grounded extraction").
        ),
        Task(
            name="cleanup_report_text",
            title="Clean up report text",
            fields=("text",),
            template=(
                "Given the text from a radiology report: {text} Update the impressions or findings such "
                "that each sentence in the output describes an impression or observation about the image. "
                "Remove any mention of change of an observation and just state its presence. Do not include "
                "any follow-up suggestions or advice, and avoid mentioning any doctor names or other noisy details."
            ),
            parse=answers.parse_text,
            format_answer=answers.format_text,
            metrics=TEXT_METRICS,
            columns=TEXT_METRICS + FLAG_COLUMNS,
            copies_from="text",
        ),
        Task(
            name="qa_comprehension",
            title="Question about a report",
            fields=("report", "question"),
            # The report comes before the question, so follow-up questions on the same
            # report share the prompt's prefix and a backend can reuse its evaluation.
            template="Answer the question using the radiology report below as context: {report} Question: {question}",
            parse=answers.parse_text,
            format_answer=answers.format_text,
            metrics=JUDGE_METRICS + TEXT_METRICS,
            columns=JUDGE_METRICS + TEXT_METRICS + FLAG_COLUMNS,
        ),
        Task(
            name=GENERAL_TASK,
            title="General instruction",
            fields=("instruction",),
            # A Super-NaturalInstructions definition, a blank line, then the instance's
            # input (radphi/training/loaders/supernatural.py): the prompt is that text alone.
            template="{instruction}",
            parse=answers.parse_text,
            format_answer=answers.format_text,
            # ROUGE-L is Super-NaturalInstructions' own metric.
            metrics=("rougeL",),
            columns=TEXT_METRICS,  # no report: nothing for the checker to check against
        ),
    )
}

# The two label tasks (Chest ImaGenome vocabularies), in the order the app shows them.
LABEL_TASKS: tuple[str, ...] = tuple(t.name for t in TASKS.values() if t.scorer == "labels")
# The radiology tasks a user runs (the workbench's tabs and batch): all but stage 1's
# general-instruction task, which exists for training and evaluation.
RADIOLOGY_TASKS: tuple[str, ...] = tuple(name for name in TASKS if name != GENERAL_TASK)

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise InputError(f"unknown task {name!r}; choose one of: {', '.join(TASKS)}") from None


def clean_field(value: Any) -> str:
    """The one whitespace rule for inserted inputs: strip the ends, keep the inside.

    Inputs go into the template between single spaces, so stripping the ends is all
    that is needed for a stable prompt; line breaks inside a report are kept.
    """
    if value is None:
        return ""
    return str(value).strip()


def validate_fields(task: Task, fields: Mapping[str, Any]) -> dict[str, str]:
    """The task's input fields, cleaned; raises InputError naming any that are missing or empty."""
    missing = [f for f in task.fields if not clean_field(fields.get(f))]
    if missing:
        raise InputError(f"{task.name}: empty or missing input field(s): {', '.join(missing)}")
    return {f: clean_field(fields[f]) for f in task.fields}


def render_instruction(task_name: str, fields: Mapping[str, Any]) -> str:
    """The task's instruction with its inputs put in: the text between the format markers."""
    task = get_task(task_name)
    values = validate_fields(task, fields)
    # A substitution by regex rather than str.format: report text may hold braces.
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], task.template)


def wrap_prompt(instruction: str, fmt: str = DEFAULT_FORMAT) -> str:
    """Put an instruction into a prompt format (`token` or `default`; `chat`: the user
    message, which the backend renders through the model's chat template)."""
    try:
        template = FORMATS[fmt]
    except KeyError:
        raise InputError(f"unknown prompt format {fmt!r}; choose one of: {', '.join(FORMATS)}") from None
    return template.replace("{prompt}", instruction)


def render_prompt(task_name: str, fields: Mapping[str, Any], fmt: str = DEFAULT_FORMAT) -> str:
    """The exact prompt a model sees for this task and input, in the given format."""
    return wrap_prompt(render_instruction(task_name, fields), fmt)


def chat_messages(user: str, system: str | None = None) -> list[dict[str, str]]:
    """The `chat` format's conversation: the task's instruction as the user message,
    under an optional system message. The instruction keeps the report before the
    question, so two questions on one report share the rendered prompt's prefix."""
    messages = [{"role": "system", "content": system}] if system and system.strip() else []
    return messages + [{"role": "user", "content": user}]


def choose_format(*, has_prompt_tokens: bool, has_chat_template: bool, declared: str | None = None) -> str:
    """A model's own prompt format: what its file declares (our GGUF exports write
    `radphi.prompt_format`), else `token` when its vocabulary has `<instruct>` and
    `<output>`, `chat` when it has a chat template, `default` (Phi-2's) otherwise."""
    if declared in FORMATS:
        return declared
    if has_prompt_tokens:
        return "token"
    return CHAT_FORMAT if has_chat_template else "default"


def training_text(task_name: str, fields: Mapping[str, Any], answer: str, fmt: str = DEFAULT_FORMAT) -> tuple[str, str]:
    """(prompt, completion) for supervised fine-tuning: the completion ends with end-of-text."""
    if fmt == CHAT_FORMAT:
        raise InputError("training in the chat format is not supported: train with the token or default format")
    prompt = render_prompt(task_name, fields, fmt)
    sep = "" if fmt == "token" else " "
    return prompt, sep + answer.strip() + END_OF_TEXT
