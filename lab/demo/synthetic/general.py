"""General instructions standing in for stage 1 (Super-NaturalInstructions).

Simple tasks with exact answers: copy, sort (words, numbers), classify (parity,
category, question or statement), extract (numbers, cities), count, upper-case and
reverse. They are written as records of the general instruction task that the
Super-NaturalInstructions loader writes (`radphi.tasks.GENERAL_TASK`, "instruction"):
the whole prompt, definition then a blank line then the input, is the one field
`instruction`, which the task's own template puts in the prompt format as it is (no
radiology wording). Instruction wordings are held out
for the test split like every other phrasing.
"""

from __future__ import annotations

import random
from typing import Any

from radphi.tasks import GENERAL_TASK
from lab.demo.synthetic.impressions import join_list
from lab.demo.synthetic.phrasing import Phrasebook

ANIMALS = ("horse", "otter", "falcon", "badger", "lizard", "salmon", "rabbit", "heron", "beaver", "camel")
FRUITS = ("apple", "mango", "cherry", "lemon", "plum", "papaya", "grape", "apricot", "melon", "pear")
COLORS = ("crimson", "teal", "amber", "violet", "olive", "indigo", "scarlet", "ivory", "maroon", "cyan")
TOOLS = ("hammer", "wrench", "chisel", "trowel", "pliers", "ladder", "shovel", "scissors", "drill", "saw")
CITIES = ("Lisbon", "Nairobi", "Oslo", "Quito", "Hanoi", "Toronto", "Perth", "Cairo", "Denver", "Madrid")
CATEGORIES = {"animal": ANIMALS, "fruit": FRUITS, "color": COLORS, "tool": TOOLS}
NOUNS = FRUITS + TOOLS
VERBS = (("carried", "carry"), ("found", "find"), ("painted", "paint"), ("dropped", "drop"), ("washed", "wash"))

DEFINITIONS: dict[str, tuple[str, ...]] = {
    "copy": ("Repeat the following text exactly as it is written.", "Copy the text below without changing it.",
             "Write the input text again, word for word.", "Output the same text you are given."),
    "sort_words": ("Sort the following words in alphabetical order. Separate them with commas.",
                   "Put these words in alphabetical order, separated by commas.",
                   "Arrange the words from A to Z, separated by commas.",
                   "List the given words alphabetically, with commas between them."),
    "sort_numbers": ("Sort the numbers from smallest to largest. Separate them with commas.",
                     "Put these numbers in ascending order, separated by commas.",
                     "Arrange the numbers in increasing order, with commas between them.",
                     "List the numbers from lowest to highest, separated by commas."),
    "parity": ("Is the number even or odd? Answer with one word.", "Say whether the number is even or odd.",
               "Classify the number as even or odd.", "Answer even or odd for the given number."),
    "category": ("Classify the word as an animal, a fruit, a color or a tool. Answer with one word.",
                 "Which category does the word belong to: animal, fruit, color or tool?",
                 "Is the word an animal, a fruit, a color or a tool?",
                 "Name the category of the word: animal, fruit, color or tool."),
    "sentence_type": ("Is the following sentence a question or a statement?",
                      "Classify the sentence as a question or a statement.",
                      "Answer question or statement for the sentence below.",
                      "Decide whether the text is a question or a statement."),
    "numbers": ("List every number that appears in the text, in order, separated by commas.",
                "Extract all numbers from the text, separated by commas.",
                "Write down the numbers mentioned in the text, in the order they appear, with commas.",
                "Which numbers occur in the text? List them in order, separated by commas."),
    "cities": ("Extract the names of the cities mentioned in the text, in order, separated by commas.",
               "List the cities named in the text, separated by commas.",
               "Which cities does the text mention? Give them in order, with commas.",
               "Write the city names found in the text, separated by commas."),
    "count": ("How many words are in the sentence? Answer with a number.", "Count the words in the sentence.",
              "Give the number of words in the text.", "What is the word count of the sentence?"),
    "upper": ("Rewrite the text in capital letters.", "Convert the text to upper case.",
              "Write the text again using only capital letters.", "Change every letter of the text to upper case."),
    "reverse": ("Reverse the order of the items in the list. Separate them with commas.",
                "Write the list backwards, separated by commas.",
                "List the items from last to first, with commas between them.",
                "Give the items in reverse order, separated by commas."),
}


def _sentence(rng: random.Random) -> str:
    past, _ = rng.choice(VERBS)
    return f"The {rng.choice(COLORS)} {rng.choice(ANIMALS)} {past} the {rng.choice(NOUNS)} near {rng.choice(CITIES)}."


def _question(rng: random.Random) -> str:
    _, base = rng.choice(VERBS)
    return f"Did the {rng.choice(ANIMALS)} {base} the {rng.choice(NOUNS)} in {rng.choice(CITIES)}?"


def _words(rng: random.Random) -> list[str]:
    return rng.sample(ANIMALS + FRUITS + COLORS + TOOLS, rng.randint(3, 7))


def _numbers_text(rng: random.Random) -> tuple[str, str]:
    numbers = [str(rng.randint(1, 500)) for _ in range(rng.randint(2, 4))]
    words = [f"{n} {rng.choice(FRUITS)}s" for n in numbers]
    return f"The market in {rng.choice(CITIES)} sold {join_list(words)}.", ", ".join(numbers)


def _cities_text(rng: random.Random) -> tuple[str, str]:
    cities = rng.sample(CITIES, rng.randint(1, 3))
    return f"The {rng.choice(ANIMALS)} travelled from {' to '.join(cities)} with a {rng.choice(TOOLS)}.", ", ".join(cities)


def _make(kind: str, rng: random.Random) -> tuple[str, str]:
    """(input, answer) for one instance of `kind`."""
    if kind == "copy":
        text = _sentence(rng)
        return text, text
    if kind == "sort_words":
        words = _words(rng)
        return ", ".join(words), ", ".join(sorted(words))
    if kind == "sort_numbers":
        numbers = rng.sample(range(1, 1000), rng.randint(3, 7))
        return ", ".join(map(str, numbers)), ", ".join(map(str, sorted(numbers)))
    if kind == "parity":
        number = rng.randint(0, 9999)
        return str(number), "even" if number % 2 == 0 else "odd"
    if kind == "category":
        category = rng.choice(list(CATEGORIES))
        return rng.choice(CATEGORIES[category]), category
    if kind == "sentence_type":
        return (_question(rng), "question") if rng.random() < 0.5 else (_sentence(rng), "statement")
    if kind == "numbers":
        return _numbers_text(rng)
    if kind == "cities":
        return _cities_text(rng)
    if kind == "count":
        text = _sentence(rng) if rng.random() < 0.5 else _question(rng)
        return text, str(len(text.split()))
    if kind == "upper":
        text = _sentence(rng)
        return text, text.upper()
    words = _words(rng)
    return ", ".join(words), ", ".join(reversed(words))


def general_record(rng: random.Random, book: Phrasebook, index: int, split: str) -> dict[str, Any]:
    """One general instruction record in the Super-NaturalInstructions loader's shape."""
    kind = rng.choice(list(DEFINITIONS))
    _, definition = book.pick(rng, f"gen:{kind}", DEFINITIONS[kind], split == "test")
    text, answer = _make(kind, rng)
    return {"id": f"synthetic-general-{index}", "task": GENERAL_TASK, "instruction": f"{definition}\n\n{text}",
            "reference": answer, "split": split,
            "meta": {"dataset": "synthetic", "kind": kind, "phrasing": "heldout" if split == "test" else "train"}}
