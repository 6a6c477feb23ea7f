"""Grounded decoding: extractive answers copy the input's sentences, chosen by the model."""

from __future__ import annotations

import math

import pytest

from radphi import grounding
from radphi.backends import GenParams, Request

REPORT = ("FINDINGS: Comparison is made to the prior study from ___. The endotracheal tube terminates 3.4 cm "
          "above the carina. Emphysema is noted in both upper lobes, which is new. Compared to the prior study, "
          "moderate atelectasis in the right middle lobe. No pneumothorax. Discussed with Dr. ___ at 10:15. "
          "IMPRESSION: No acute cardiopulmonary process.")


# The model's own choice, without the whole-clause and no-finding-lost rules (tested apart).
FREE = grounding.GroundingSettings(whole_clauses=False, keep_findings=False)


def is_copy(answer: str, text: str) -> bool:
    """Whether ANSWER is a grounded answer for input TEXT: options of TEXT, from ever later
    sentences, joined by single spaces (the empty answer included). The test oracle."""
    opts = grounding.options(text)

    def rest_ok(rest: str, last: int) -> bool:
        if not rest:
            return True
        return any(o.index > last and rest.startswith(o.text)
                   and (len(rest) == len(o.text) or rest[len(o.text)] == " ")
                   and rest_ok(rest[len(o.text) + 1:], o.index) for o in opts)

    return rest_ok(answer, -1)


def allowed_answers_pieces(text: str) -> set[str]:
    return {o.text for o in grounding.options(text)}


def test_sentences_keep_decimals_and_times_whole():
    sents = grounding.sentences(REPORT)
    assert "The endotracheal tube terminates 3.4 cm above the carina." in sents
    assert sents[0] == "FINDINGS:"
    assert sents[-1] == "No acute cardiopulmonary process."
    assert grounding.sentences("  a\n\n b  ") == ["a b"]


def test_options_cut_clauses_at_commas():
    texts = allowed_answers_pieces(REPORT)
    assert "Emphysema is noted in both upper lobes." in texts          # cut before ", which is new"
    assert "Emphysema is noted in both upper lobes, which is new." in texts
    assert "Moderate atelectasis in the right middle lobe." in texts   # started after "Compared ..., "
    assert "Which is new." in texts
    assert not any("carina. No" in t for t in texts)                   # one sentence at a time


def table_scorer(prefs: dict[str, float], end: float):
    """A scorer that rates options by which known phrase they start with; records its calls."""
    calls = []

    def score(answer, options, n_tokens):
        calls.append((answer, list(options), n_tokens))
        out = []
        for o in options:
            hits = [v for k, v in prefs.items() if o.strip().startswith(k)]
            out.append(max(hits) if hits else -20.0)
        return out, end

    return score, calls


def test_extract_copies_whole_sentences_in_order_and_stops_when_ending_scores_best():
    score, calls = table_scorer({"The endotracheal": -1.0, "Moderate atelectasis": -1.1, "No pneumothorax": -1.2},
                                end=-5.0)
    out = "".join(grounding.extract(REPORT, score, next_bonus=0.0, settings=FREE))
    # The clause after "Compared to the prior study, " scores above the sentence that
    # follows it; after "No pneumothorax." every option scores below ending.
    assert out == ("The endotracheal tube terminates 3.4 cm above the carina. Moderate atelectasis in the right "
                   "middle lobe. No pneumothorax.")
    # Every option offered comes after the last sentence written, with a space once the answer has begun.
    answer, options, _ = calls[1]
    assert answer.startswith("The endotracheal") and all(o.startswith(" ") for o in options)
    assert not any("Comparison is made" in o for o in options)
    assert calls[0][2] == FREE.first_tokens == 1 and calls[1][2] == FREE.score_tokens == 3


def test_next_bonus_keeps_the_answer_on_the_following_sentence():
    # The model prefers the familiar impression sentence; the bonus keeps it on the report's order.
    score, _ = table_scorer({"The endotracheal": -0.2, "Emphysema is noted in both upper lobes": -3.0,
                             "No acute": -0.5}, end=-30.0)
    free = "".join(grounding.extract(REPORT, score, next_bonus=0.0, settings=FREE))
    kept = "".join(grounding.extract(REPORT, score, next_bonus=3.0, settings=FREE))
    assert free == "The endotracheal tube terminates 3.4 cm above the carina. No acute cardiopulmonary process."
    assert kept.startswith("The endotracheal tube terminates 3.4 cm above the carina. Emphysema is noted in both "
                           "upper lobes.")


def test_the_next_sentence_bonus_is_per_task():
    cfg = grounding.GroundingSettings(next_bonus=0.0, task_next_bonus=(("extract_findings", 3.0),),
                                      whole_clauses=False, keep_findings=False)
    assert cfg.bonus_for("extract_findings") == 3.0 and cfg.bonus_for("cleanup_report_text") == 0.0
    assert grounding.DEFAULT.bonus_for("extract_findings") == 12.0 and grounding.DEFAULT.bonus_for("x") == 8.0
    score, _ = table_scorer({"The endotracheal": -0.2, "Emphysema is noted in both upper lobes": -3.0,
                             "No acute": -0.5}, end=-30.0)

    def run(task):
        return "".join(grounding.answer(REPORT, score, lambda piece: len(piece.split()), {}, max_new_tokens=500,
                                        task=task, settings=cfg))

    assert "Emphysema" in run("extract_findings") and "Emphysema" not in run("cleanup_report_text")


@pytest.mark.parametrize("after_lobes, want", [(".", "Emphysema is noted in both upper lobes."),
                                               (",", "Emphysema is noted in both upper lobes, which is new.")])
def test_the_model_decides_at_each_comma_where_a_chosen_sentence_ends(after_lobes, want):
    calls = []

    def score(answer, options, n_tokens):
        calls.append((answer, list(options), n_tokens))
        if options == [".", ","]:  # the cut: the next token after the sentence so far
            return [-0.1 if o == after_lobes else -4.0 for o in options], -9.0
        return [-1.0 if o.strip().startswith("Emphysema") else -20.0 for o in options], (-5.0 if answer else -30.0)

    out = "".join(grounding.extract(REPORT, score, next_bonus=0.0, settings=FREE))
    assert out == want and is_copy(out, REPORT)
    # The sentence step offers each sentence once (no cut copies tying with it); the cut
    # is asked after the words before the comma, one token.
    step = calls[0][1]
    assert "Emphysema is noted in both upper lobes, which is new." in step
    assert "Emphysema is noted in both upper lobes." not in step
    assert ("Emphysema is noted in both upper lobes", [".", ","], 1) in calls


def test_without_decided_cuts_a_cut_is_an_option_of_the_sentence_step():
    cfg = grounding.GroundingSettings(decide_cuts=False, whole_clauses=False, keep_findings=False)
    score, calls = table_scorer({"Emphysema is noted in both upper lobes.": -1.0}, end=-5.0)
    assert "".join(grounding.extract(REPORT, score, next_bonus=0.0, settings=cfg)) == \
        "Emphysema is noted in both upper lobes."
    assert not any(options == [".", ","] for _, options, _ in calls)


def test_ending_first_gives_an_empty_answer_and_sampling_is_seeded():
    score, _ = table_scorer({}, end=0.0)
    assert "".join(grounding.extract(REPORT, score, settings=FREE)) == ""
    flat, _ = table_scorer({"": -1.0}, end=-1.0)
    a = "".join(grounding.extract(REPORT, flat, temperature=1.0, seed=3))
    b = "".join(grounding.extract(REPORT, flat, temperature=1.0, seed=3))
    assert a == b


def test_only_extractive_tasks_are_grounded_and_it_can_be_turned_off():
    req = Request.build("extract_findings", {"report": REPORT})
    assert req.grounding_source(GenParams()) == REPORT
    assert req.grounding_source(GenParams(grounded=False)) is None
    assert Request.build("cleanup_report_text", {"text": "a."}).grounding_source(GenParams()) == "a."
    assert Request.build("impression_prediction", {"findings": "a."}).grounding_source(GenParams()) is None
    assert Request.build("extract_impression", {"report": REPORT}).grounding_source(GenParams()) is None


def assert_is_a_copy(text: str, source: str):
    assert is_copy(text, source), f"{text!r} is not a copy of the input's sentences"


def test_is_copy_accepts_sentences_in_order_and_nothing_else():
    ok = "The endotracheal tube terminates 3.4 cm above the carina. Emphysema is noted in both upper lobes. IMPRESSION:"
    assert is_copy(ok, REPORT) and is_copy("", REPORT)
    assert not is_copy("No pneumothorax. The endotracheal tube terminates 3.4 cm above the carina.", REPORT)
    assert not is_copy("No pneumothorax. No pneumothorax.", REPORT)  # each sentence once
    assert not is_copy("No pneumothorax seen.", REPORT)
    assert not is_copy("No pneumothorax.  IMPRESSION:", REPORT)


@pytest.fixture(scope="module")
def backends(tiny_phi_dir, tiny_phi_gguf):
    from radphi.backends.hf import HFBackend
    from radphi.backends.llamacpp import LlamaCppBackend

    return HFBackend(str(tiny_phi_dir)), LlamaCppBackend(str(tiny_phi_gguf))


def test_both_local_backends_answer_with_a_copy(backends):
    for backend in backends:
        for task, field in (("extract_findings", "report"), ("cleanup_report_text", "text")):
            req = Request.build(task, {field: REPORT})
            gen = backend.generate(req, GenParams(max_new_tokens=96))
            assert gen.text and gen.completion_tokens > 0
            assert_is_a_copy(gen.text, REPORT)
            streamed = backend.stream(req, GenParams(max_new_tokens=96))
            assert streamed.text() == gen.text
            assert streamed.generation.completion_tokens == gen.completion_tokens
            free = backend.generate(req, GenParams(max_new_tokens=24, grounded=False))
            assert free.completion_tokens > 0  # the ungrounded path still decodes token by token


def test_llamacpp_option_scores_equal_transformers_scores(backends):
    """The llama.cpp scorer decodes batches through llama-cpp-python's context itself; its
    log-probabilities must equal a plain transformers forward pass on the same weights."""
    from radphi.backends.hf_scoring import option_scores
    from radphi.backends.llamacpp_scoring import option_scorer

    hf, cpp = backends
    hf._ensure_loaded()
    llm = cpp._ensure_loaded()
    prompt = cpp.tokenize(Request.build("extract_findings", {"report": REPORT}).prompt)
    options = [" No pneumothorax.", " The endotracheal tube", " IMPRESSION:"]
    end_ids = {llm.token_eos()}
    with cpp._lock:
        got, got_end = option_scorer(llm, prompt, end_ids)("Heart.", options, 3)
    base = prompt + llm.tokenize(b"Heart.", add_bos=False, special=False)
    opts = [llm.tokenize(o.encode(), add_bos=False, special=False)[:3] for o in options]
    want, want_end = option_scores(hf._model, base, opts, sorted(end_ids), "cpu")
    assert got == pytest.approx(want, abs=2e-3)
    assert got_end == pytest.approx(want_end, abs=2e-3) and math.isfinite(got_end)


def test_a_grounded_stream_closed_early_releases_the_model(backends):
    for backend in backends:
        stream = backend.stream(Request.build("extract_findings", {"report": REPORT}), GenParams(max_new_tokens=96))
        next(iter(stream), None)
        stream.close()
        assert backend._lock.acquire(timeout=5)
        backend._lock.release()


def test_grounded_answers_stop_within_the_context_and_max_new_tokens(backends):
    """A prompt that fills the context but for a few tokens: scoring never runs past it,
    and the answer keeps to max_new_tokens."""
    for backend in backends:
        req = Request.build("cleanup_report_text", {"text": REPORT})
        gen = backend.generate(req, GenParams(max_new_tokens=12))
        assert gen.completion_tokens <= 12 and is_copy(gen.text, REPORT)
        long_report = " ".join([REPORT] * 12)
        gen = backend.generate(Request.build("extract_findings", {"report": long_report}), GenParams(max_new_tokens=6))
        assert gen.completion_tokens <= 6 and gen.truncated_input


# --- whole clauses, no finding lost, settings per call (issue 23) ----------------------

EDEMA = ("FINDINGS: Since the prior examination, the pulmonary edema has worsened. "
         "Right lower lobe opacity, though infection cannot be excluded. Discussed with Dr. ___ at 10:15. "
         "Recommend follow-up radiograph.")


def test_a_cut_never_keeps_a_fragment_without_a_finding_nor_drops_a_finding_or_hedge():
    assert not grounding.cut_keeps_meaning("Since the prior examination", "the pulmonary edema has worsened",
                                           "Since the prior examination, the pulmonary edema has worsened.")
    assert grounding.cut_keeps_meaning("the pulmonary edema has worsened", "Since the prior examination",
                                       "Since the prior examination, the pulmonary edema has worsened.")
    assert not grounding.cut_keeps_meaning("Right lower lobe opacity", "though infection cannot be excluded",
                                           "Right lower lobe opacity, though infection cannot be excluded.")
    assert grounding.cut_keeps_meaning("Emphysema is noted in both upper lobes", "which is new",
                                       "Emphysema is noted in both upper lobes, which is new.")
    # A model that wants every cut gets only the allowed ones.
    texts = [o.text for o in grounding.options(EDEMA)
             if grounding._whole_clauses(o, grounding.sentences(EDEMA)[o.index])]
    assert "Since the prior examination." not in texts and "Right lower lobe opacity." not in texts
    assert "The pulmonary edema has worsened." in texts


def test_a_model_that_would_stop_at_once_still_copies_every_finding():
    # Ending scores best from the start, and every cut is preferred: the default settings
    # keep each finding sentence whole, and leave the choice of the rest to the model.
    def score(answer, options, n_tokens):
        if options == [".", ","]:
            return [0.0, -9.0], -9.0
        return [-1.0 if "Recommend" in o else -20.0 if o.endswith(":") else -9.0 for o in options], 0.0

    out = "".join(grounding.extract(EDEMA, score))
    assert out == ("Since the prior examination, the pulmonary edema has worsened. "
                   "Right lower lobe opacity, though infection cannot be excluded.")
    assert is_copy(out, EDEMA)


def test_indication_findings_are_not_forced_into_the_answer():
    report = "INDICATION: Evaluate for pneumonia.\n\nFINDINGS: No pneumothorax."
    # The model would rather stop; "No pneumothorax." is kept, the indication is its choice.
    out = "".join(grounding.extract(report, lambda a, o, n: ([-5.0 if "No pn" in x else -9.0 for x in o], 0.0)))
    assert out == "No pneumothorax."


def test_grounding_settings_travel_in_the_generation_parameters():
    assert not any(hasattr(grounding, name) for name in ("FIRST_TOKENS", "SCORE_TOKENS", "NEXT_BONUS",
                                                         "TASK_NEXT_BONUS", "DECIDE_CUTS"))
    params = GenParams(grounding=grounding.GroundingSettings(next_bonus=4.0, keep_findings=False))
    assert params.grounding.bonus_for("cleanup_report_text") == 4.0
    assert GenParams().grounding == grounding.DEFAULT
    d = params.to_dict()["grounding"]
    assert d["next_bonus"] == 4.0 and d["keep_findings"] is False
    assert grounding.settings(params.grounding)["keep_findings"] is False
