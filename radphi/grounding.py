"""Grounded decoding: an extractive task's answer may only copy sentences of its input.

Extract findings, extract impression and clean-up are asked to return the report's own
sentences. A model that paraphrases there is worse than useless to a radiologist: it
turns "calcified granuloma" into "calcified nodule" inside text that claims to be the
report. With grounding on (the default), the answer is built a sentence at a time:

- the options at each step are the input's sentences that come after the last one
  written (in the input's order, each used at most once), and ending the answer;
- a sentence may also be cut at one of its commas, ending there with a full stop
  ("..., which is new." gives "...."), or start after one of its commas with its first
  letter capitalised ("Compared to the prior study, moderate atelectasis ..." gives
  "Moderate atelectasis ..."): the cuts clean-up needs to drop change wording. A cut
  keeps whole clauses: what it keeps names a finding, what it drops names none and
  carries no hedge;
- a sentence of the report's clinical part that names a finding, a hedge or a change
  is never skipped: the model chooses among the rest;
- the model scores every option (the mean log-probability of its first tokens, given
  the prompt and the answer so far; for the end, the log-probability of end of text)
  and the best one is taken; with a temperature, one is drawn from their softmax.

So the model chooses which sentences to keep, where to cut and when to stop; it cannot
write a word that is not in the input. Nothing here reads a reference answer.

Hand-written, because no library selects among whole input sentences by a model's
scores: llama.cpp's grammars constrain tokens one at a time (a greedy first token then
commits to whichever sentence it happens to start), and transformers has no grammar
support of its own. The backends supply only the scoring (`score_options`).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from radphi import reports

_CLAUSE = re.compile(r", (?=[a-z])")
# A clause that qualifies what the sentence says ("..., though the tip is not well seen").
_QUALIFIER = re.compile(r"(?:though|although|but|however|except|whereas|while|without|with)\b", re.I)

@dataclass(frozen=True)
class GroundingSettings:
    """How grounded decoding chooses, carried in the generation parameters
    (`radphi.backends.GenParams.grounding`), so a caller or a script changes them for one
    call and nothing else sees it.

    The scoring values were chosen on a development set of reports in phrasings the
    model was not trained on, never on a test split (the grid: lab/demo/LOG.md,
    "Grounded extraction").
    """

    # How many tokens of each option are scored: its first token alone for the first
    # sentence (where the answer starts is what the model's first token says), then
    # three, enough to tell sentences apart while the cost of a step stays bounded.
    first_tokens: int = 1
    score_tokens: int = 3
    # A bonus, in nats of mean log-probability, for the sentence right after the last one
    # copied: a small model rates its own familiar phrasings above the report's, and
    # without it jumps ahead to them (the impression's "No acute cardiopulmonary
    # process."). A sentence is left out only when the model is that much surer. Per
    # task: extract findings reads a whole report, so more steps, each a chance to jump
    # (on 200 dev records, bonus 8 / 10 / 12 / 13 / 14 gave extract findings F1 88.83 /
    # 90.50 / 90.98 / 90.15 / 87.89, and clean-up 93.55 / 92.74 / 90.77 at 8 / 10 / 12).
    next_bonus: float = 8.0
    task_next_bonus: tuple[tuple[str, float], ...] = (("extract_findings", 12.0),)
    # Where a sentence chosen is cut. A whole sentence and its cuts at commas start with the
    # same tokens, so the step that picks a sentence cannot tell them apart (the whole one
    # won every tie, so change wording was never cut off). With decide_cuts the model
    # decides at each comma of the chosen sentence, as free decoding would there: a full
    # stop or the comma, whichever it rates higher as the next token.
    decide_cuts: bool = True
    # Whole clauses: a cut at a comma is allowed only when the piece kept names a finding
    # and reads the same of it as the whole sentence, and the piece dropped names no
    # finding and carries no hedge ("Since the prior examination." alone, or "Opacity."
    # without ", though infection cannot be excluded", are never answers).
    whole_clauses: bool = True
    # No finding lost: a sentence of the input's clinical part (findings, impression, a
    # paste without headers) that names a finding, a hedge or a change is always copied;
    # the model chooses among the others (headers, advice, names, noise) and the cuts.
    keep_findings: bool = True

    def bonus_for(self, task: str | None) -> float:
        """The next-sentence bonus for TASK."""
        return dict(self.task_next_bonus).get(task or "", self.next_bonus)

    def describe(self) -> dict[str, object]:
        """What grounded decoding does with these settings, to stamp predictions made with it."""
        from radphi.tasks import TASKS

        return {"tasks": sorted(t.name for t in TASKS.values() if t.copies_from), "first_tokens": self.first_tokens,
                "score_tokens": self.score_tokens, "next_bonus": self.next_bonus,
                "task_next_bonus": dict(self.task_next_bonus),
                "cuts": "commas, decided by the next token" if self.decide_cuts else "commas",
                "whole_clauses": self.whole_clauses, "keep_findings": self.keep_findings}


DEFAULT = GroundingSettings()


def settings(chosen: GroundingSettings | None = None) -> dict[str, object]:
    """What grounded decoding does (the defaults, or CHOSEN), to stamp predictions made with it."""
    return (chosen or DEFAULT).describe()


def sentences(text: str) -> list[str]:
    """The input's sentences (`radphi.reports.sentences`), white space collapsed to single
    spaces, so an answer is the input's words joined by single spaces."""
    return reports.sentences(text, flat=True)


@dataclass(frozen=True)
class Option:
    """A piece of the input the answer may copy next: `text` comes from sentence `index`;
    `cut`: it ends at one of the sentence's commas (a full stop added)."""

    text: str
    index: int
    cut: bool = False
    start: int = 0   # where in the sentence the piece starts and ends (its added full stop aside)
    end: int = -1


def options(text: str) -> list[Option]:
    """Every sentence of TEXT, whole and cut at its commas, in input order."""
    out: list[Option] = []
    for i, sent in enumerate(sentences(text)):
        commas = [m.start() for m in _CLAUSE.finditer(sent)]
        starts = [0] + [c + 2 for c in commas]
        ends = [len(sent)] + commas
        for s in starts:
            for e in ends:
                if e <= s:
                    continue
                piece = sent[s:e] if e == len(sent) else sent[s:e] + "."
                if s:
                    piece = piece[0].upper() + piece[1:]
                out.append(Option(piece, i, e != len(sent), s, e))
    return out


# score(answer_so_far, continuations) -> (a score for each continuation, the score of ending)
Scorer = Callable[[str, Sequence[str], int], tuple[Sequence[float], float]]


def extract(text: str, score: Scorer, *, temperature: float = 0.0, seed: int = 0,
            next_bonus: float | None = None, settings: GroundingSettings | None = None) -> Iterator[str]:
    """The grounded answer for input TEXT, as pieces: each is a copied sentence (with the
    space before it). Stops when ending scores best (and no sentence that must be kept
    is left) or no sentence is left; the caller stops reading at its token limit.
    SETTINGS default to DEFAULT; NEXT_BONUS overrides theirs."""
    cfg = settings or DEFAULT
    rng = random.Random(seed)
    bonus = cfg.next_bonus if next_bonus is None else next_bonus
    sents = sentences(text)
    all_options = options(text)
    if cfg.decide_cuts:  # one option per sentence and start; where it ends is decided after
        all_options = [o for o in all_options if not o.cut]
    if cfg.whole_clauses:
        all_options = [o for o in all_options if _whole_clauses(o, sents[o.index])]
    required = _required(sents, text) if cfg.keep_findings else set()
    answer, last = "", -1
    while True:
        left = [o for o in all_options if o.index > last]
        due = min((i for i in required if i > last), default=None)
        if due is not None:  # nothing may be skipped past a sentence that must be kept
            left = [o for o in left if o.index <= due]
        if not left:
            return
        pieces = [(" " if answer else "") + o.text for o in left]
        scores, end = score(answer, pieces, cfg.first_tokens if not answer else cfg.score_tokens)
        if answer:
            scores = [s + (bonus if o.index == last + 1 else 0.0) for s, o in zip(scores, left)]
        choice = _choose(list(scores) + [end if due is None else -math.inf], temperature, rng)
        if choice == len(left):
            return
        piece = pieces[choice]
        if cfg.decide_cuts:
            piece = _decide_cut(answer, piece, score, temperature, rng,
                                sents[left[choice].index] if cfg.whole_clauses else None)
        answer += piece
        last = left[choice].index
        yield piece


def answer(text: str, score: Scorer, count_tokens: Callable[[str], int], state: dict, *, max_new_tokens: int,
           temperature: float = 0.0, seed: int = 0, task: str | None = None,
           settings: GroundingSettings | None = None) -> Iterator[str]:
    """`extract`'s pieces as a backend streams them, with TASK's next-sentence bonus: stops
    before a piece would take the answer past MAX_NEW_TOKENS tokens (COUNT_TOKENS counts
    them). Records in STATE the time of the first piece ("first"), the tokens so far
    ("completion_tokens") and, when cut, "finish_reason": "length". SETTINGS: the
    request's `GenParams.grounding`."""
    import time

    cfg = settings or DEFAULT
    state.setdefault("completion_tokens", 0)
    for piece in extract(text, score, temperature=temperature, seed=seed, next_bonus=cfg.bonus_for(task),
                         settings=cfg):
        n = count_tokens(piece)
        if state["completion_tokens"] + n > max_new_tokens:
            state["finish_reason"] = "length"
            return
        state.setdefault("first", time.perf_counter())
        state["completion_tokens"] += n
        yield piece


def cut_keeps_meaning(kept: str, dropped: str, whole: str) -> bool:
    """Whether a sentence WHOLE may be cut to KEPT, leaving out DROPPED: KEPT names a
    finding and reads the same of each finding it names as WHOLE does (present, absent
    or uncertain), and DROPPED names no finding, carries no hedge and is no qualifying
    clause ("though ...", "but ...", "without ..."). Change wording and
    comparison phrases ("since the prior examination") may go; a finding never."""
    from radphi.verify.reading import hedged, read

    kept_mentions = read(kept).mentions
    if not kept_mentions or read(dropped).mentions or hedged(dropped) or _QUALIFIER.match(dropped.strip(" ,")):
        return False
    in_whole = {}
    for m in read(whole).mentions:
        in_whole.setdefault(m.label, m.status)
    return all(in_whole.get(m.label) == m.status for m in kept_mentions)


def _whole_clauses(option: Option, sentence: str) -> bool:
    """An option that leaves out part of its sentence is allowed only under
    `cut_keeps_meaning`; a whole sentence always is."""
    if option.start == 0 and not option.cut:
        return True
    kept = sentence[option.start:option.end]
    return cut_keeps_meaning(kept, f"{sentence[:option.start]} {sentence[option.end:]}", sentence)


def _required(sents: list[str], text: str) -> set[int]:
    """The sentences that name a finding, a hedge or a change, in the input's clinical part."""
    from radphi.reports import clinical_text
    from radphi.verify.reading import change_in, hedged, read

    clinical = " ".join(clinical_text(text).split())
    return {i for i, sent in enumerate(sents)
            if sent in clinical and not sent.rstrip().endswith(":")
            and (read(sent).mentions or hedged(sent) or change_in(sent))}


def _decide_cut(answer: str, piece: str, score: Scorer, temperature: float, rng: random.Random,
                sentence: str | None = None) -> str:
    """PIECE (a sentence, or its end from a comma on), cut at the first of its commas where
    the model rates a full stop above the comma as the next token after the answer so far;
    whole if none. The two one-token options are scored like any others. With SENTENCE
    (whole clauses), only commas where `cut_keeps_meaning` holds are considered."""
    at = 0
    while (m := _CLAUSE.search(piece, at)) is not None:
        stem = piece[:m.start()]
        if sentence is None or cut_keeps_meaning(stem, piece[m.end():], sentence):
            (stop, comma), _ = score(answer + stem, [".", ","], 1)
            if _choose([stop, comma], temperature, rng) == 0:
                return stem + "."
        at = m.end()
    return piece


def _choose(scores: list[float], temperature: float, rng: random.Random) -> int:
    if temperature <= 0:
        return max(range(len(scores)), key=lambda i: (scores[i], -i))
    top = max(scores)
    weights = [math.exp((s - top) / temperature) for s in scores]
    return rng.choices(range(len(scores)), weights=weights)[0]
