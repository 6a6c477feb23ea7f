"""A rule-based baseline (`--model keyword`): what a model must beat to be worth running.

- label tasks: vocabulary and synonym matching (`radphi.labels.canonical` over word
  windows) in the report's findings and impression, skipping negated sentences
- impression: the findings' first two sentences
- extract findings / impression: the report's own sections (`radphi.reports`)
- clean-up: the sentences without doctor names, dates, times, advice or change words
- temporal findings: the label sets' differences; progression: "no change" for each
  label found in both reports
- QA about a report: "Yes"/"No" for "is there ..." questions by label matching, else
  the findings' first sentence; radiology QA: no answer

It answers instantly and deterministically; token counts are words.
"""

from __future__ import annotations

import re
import time
from typing import Iterator

from radphi import answers, labels, reports, tasks
from radphi.backends.base import Generation, GenParams, Request, Stream, StreamingBackend, timed_generation

_NEGATION = re.compile(r"\b(no|not|without|negative for|free of|resolved|removed|clear of|absent|"
                       r"rather than|evaluate for|assess for|r/o|rule out)\b", re.I)
_NOISE = re.compile(r"\b(dr\.?|discussed|recommend\w*|follow[- ]?up|advised|called|notified|"
                    r"increas\w*|decreas\w*|unchanged|improv\w*|worse\w*|interval|compared|prior|previous\w*)\b|"
                    r"\d{1,2}:\d{2}|\d{1,2}/\d{1,2}", re.I)
_WORD = re.compile(r"[a-z0-9/'-]+")
MAX_WINDOW = 6  # the longest label, "mass/nodule (not otherwise specified)", is 4-5 words


def labels_in(text: str, vocabulary: str) -> list[str]:
    """Labels mentioned, not negated, in the report's findings and impression."""
    sections = reports.split_sections(text)
    body = " ".join(sections.get(k, "") for k in ("findings", "impression")).strip() or reports.find_findings(text)
    found: list[str] = []
    for sentence in reports.sentences(body):
        if _NEGATION.search(sentence):
            continue
        words = _WORD.findall(sentence.lower())
        for i in range(len(words)):
            for j in range(min(len(words), i + MAX_WINDOW), i, -1):
                canon = labels.canonical(" ".join(words[i:j]), vocabulary)
                if canon:
                    found.append(canon)
                    break
    return list(dict.fromkeys(found))


def keyword_answer(request: Request) -> str:
    f = request.fields
    task = request.task
    if task in tasks.LABEL_TASKS:
        vocab = "abnormality" if task == "abnormality_labels" else "tubes_lines_devices"
        return answers.format_labels({"labels": labels_in(f["report"], vocab), "unknown": []})
    if task == "impression_prediction":
        return " ".join(reports.sentences(f["findings"])[:2])
    if task == "extract_findings":
        return reports.find_findings(f["report"])
    if task == "extract_impression":
        return reports.find_impression(f["report"])
    if task == "cleanup_report_text":
        return " ".join(s for s in reports.sentences(f["text"]) if not _NOISE.search(s))
    if task in ("qa_temporal_findings", "qa_temporal_progression"):
        now, before = labels_in(f["report"], "abnormality"), labels_in(f["prior_report"], "abnormality")
        if task == "qa_temporal_findings":
            return answers.temporal_difference(now, before)
        return answers.format_progression([{"finding": x, "region": "", "change": "no change"}
                                           for x in now if x in before])
    if task == "qa_comprehension":
        question = f["question"].lower()
        if question.startswith(("is there", "are there", "does the", "is the", "has the")):
            asked = labels_in(f"FINDINGS: {f['question']}", "abnormality") + \
                labels_in(f"FINDINGS: {f['question']}", "tubes_lines_devices")
            present = set(labels_in(f["report"], "abnormality") + labels_in(f["report"], "tubes_lines_devices"))
            if asked:
                return "Yes." if any(a in present for a in asked) else "No."
        first = reports.sentences(reports.find_findings(f["report"]))
        return first[0] if first else ""
    return ""  # radiology_qa: no knowledge to draw on


class KeywordBackend(StreamingBackend):
    def __init__(self, spec: str = "keyword", *, context_length: int = 1_000_000):
        self.spec = spec
        self._context_length = context_length

    @property
    def context_length(self) -> int:
        return self._context_length

    def info(self) -> dict:
        return {"spec": self.spec, "backend": "keyword", "device": "cpu", "quantization": "none",
                "context_length": self._context_length, "model_hash": None}

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, request: Request, params: GenParams) -> Stream:
        tasks.get_task(request.task)
        start = time.perf_counter()
        text = keyword_answer(request)
        first = time.perf_counter()

        def pieces() -> Iterator[str]:
            if text:
                yield text

        def finish(out: str) -> Generation:
            return timed_generation(out, start=start, first=first, prompt_tokens=self.count_tokens(request.prompt),
                                    completion_tokens=self.count_tokens(out), finish_reason="stop", request=request)

        return Stream(pieces(), finish)
