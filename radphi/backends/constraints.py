"""Constrained answers for the structured tasks: one answer shape per task, written
out as a GBNF grammar (for llama.cpp's `LlamaGrammar`, transformers through
llguidance, and servers that take a `grammar`) and as a regular expression (for
vLLM's `regex` and for checking every answer), both built from `radphi.labels`'
vocabularies so they follow them.

    labels              `none`, or labels of the task's vocabulary joined by ", "
    temporal findings   `Added: a; b. Removed: none.` with abnormality labels
    temporal progression  lines `finding[ in region]: improved|worsened|no change`,
                        or `No findings to compare.`

These are the answer texts `radphi.answers` writes (`format_labels`,
`format_temporal_findings`, `format_progression`), so a constrained answer parses
without loss. `check` fails closed: an answer that does not match the shape, or was
cut off at the token limit before the shape could end, is a violation, whatever the
backend or server claimed to enforce (servers may ignore a constraint silently).

Hand-written: the grammars are a few lines generated from our own vocabularies; no
library writes a grammar for a domain vocabulary.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from radphi import answers, labels

# Regions of temporal progression are Chest ImaGenome bbox names ("left lower lung zone"):
# a few lower-case words, kept short so a wandering model cannot run on inside one.
_REGION_WORDS = 4
_WORD_CHARS = 20


@dataclass(frozen=True)
class Shape:
    """One task's answer shape as a GBNF grammar and the equivalent regular expression."""

    task: str
    gbnf: str
    regex: str

    @functools.cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.regex)


def _gbnf_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _gbnf_choice(options: tuple[str, ...]) -> str:
    return " | ".join(_gbnf_literal(o) for o in options)


def _regex_choice(options: tuple[str, ...]) -> str:
    # Longest first: an alternation tries left to right.
    return "(?:" + "|".join(re.escape(o) for o in sorted(options, key=len, reverse=True)) + ")"


def _labels_shape(task: str, vocabulary: str) -> Shape:
    vocab = labels.VOCABULARIES[vocabulary]
    none = answers.NONE_WORD
    gbnf = "\n".join([
        'root ::= " "? answer',
        f'answer ::= {_gbnf_literal(none)} | label (", " label)*',
        f"label ::= {_gbnf_choice(vocab)}",
    ])
    label = _regex_choice(vocab)
    return Shape(task, gbnf, rf"{re.escape(none)}|{label}(?:, {label})*")


def _temporal_shape(task: str) -> Shape:
    vocab = labels.ABNORMALITY_LABELS
    none = answers.NONE_WORD
    gbnf = "\n".join([
        'root ::= " "? "Added: " items ". Removed: " items "."',
        f'items ::= {_gbnf_literal(none)} | label ("; " label)*',
        f"label ::= {_gbnf_choice(vocab)}",
    ])
    label = _regex_choice(vocab)
    items = rf"(?:{re.escape(none)}|{label}(?:; {label})*)"
    return Shape(task, gbnf, rf"Added: {items}\. Removed: {items}\.")


def _progression_shape(task: str) -> Shape:
    vocab = labels.ABNORMALITY_LABELS
    empty = answers.format_progression([])
    changes = answers.CHANGES
    n = _WORD_CHARS
    gbnf = "\n".join([
        f'root ::= " "? ({_gbnf_literal(empty)} | line ("\\n" line)*)',
        'line ::= label (" in " region)? ": " change',
        f"change ::= {_gbnf_choice(changes)}",
        f'region ::= word (" " word){{0,{_REGION_WORDS - 1}}}',
        # Any word but "in": the answer is read back by splitting at its last " in ".
        f'word ::= [a-hj-z] [a-z]{{0,{n - 1}}} | "i" ([a-mo-z] [a-z]{{0,{n - 2}}})? | "in" [a-z]{{1,{n - 2}}}',
        f"label ::= {_gbnf_choice(vocab)}",
    ])
    word = f"(?:[a-hj-z][a-z]{{0,{n - 1}}}|i(?:[a-mo-z][a-z]{{0,{n - 2}}})?|in[a-z]{{1,{n - 2}}})"
    line = rf"{_regex_choice(vocab)}(?: in {word}(?: {word}){{0,{_REGION_WORDS - 1}}})?: {_regex_choice(changes)}"
    return Shape(task, gbnf, rf"{re.escape(empty)}|{line}(?:\n{line})*")


_BUILDERS = {
    "abnormality_labels": lambda t: _labels_shape(t, "abnormality"),
    "tubes_lines_devices_labels": lambda t: _labels_shape(t, "tubes_lines_devices"),
    "qa_temporal_findings": _temporal_shape,
    "qa_temporal_progression": _progression_shape,
}
STRUCTURED_TASKS: tuple[str, ...] = tuple(_BUILDERS)


@functools.lru_cache(maxsize=None)
def shape(task: str) -> Shape | None:
    """The answer shape of a structured task; None for a free-text task."""
    build = _BUILDERS.get(task)
    return build(task) if build else None


def applies(task: str, constrained: bool) -> bool:
    """Whether an answer to TASK is decoded under a constraint (and checked against it)."""
    return constrained and task in _BUILDERS


def check(task: str, text: str, finish_reason: str = "stop") -> str | None:
    """Why TEXT breaks TASK's answer shape, or None when it keeps it.

    Fails closed: an answer cut off at the token limit is a violation even when what
    came so far matches (a label list cut after a comma, or before its last label,
    would look complete)."""
    s = shape(task)
    if s is None:
        return None
    if finish_reason == "length":
        return "cut off at the token limit before the answer was complete"
    if finish_reason == "cancelled":
        return "stopped before the answer was complete"
    if s.compiled.fullmatch(text.strip()) is None:
        return "the answer does not have the task's shape (vocabulary labels in the task's format)"
    return None
