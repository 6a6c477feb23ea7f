"""The llama.cpp backend on a tiny real GGUF: greedy parity with raw llama-cpp-python,
streaming, stop handling, prefix reuse, locking, bad files and over-long input."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from radphi.backends import GenParams, Request, load_backend
from radphi.backends.llamacpp import LlamaCppBackend, physical_cores
from radphi.errors import InputError, ModelLoadError

REPORT = ("FINDINGS: There is a small left pleural effusion. No pneumothorax. The endotracheal tube "
          "terminates 3.4 cm above the carina. Heart size is normal. IMPRESSION: Small left effusion.")


@pytest.fixture(scope="module")
def backend(tiny_phi_gguf):
    return LlamaCppBackend(str(tiny_phi_gguf))


def raw_greedy(path, prompt: str, n: int) -> tuple[str, int, int]:
    """Raw llama-cpp-python: greedy token ids from `Llama.generate`, up to EOS or n tokens.

    (Not `create_completion`: on a random model that emits partial UTF-8 byte tokens it
    runs past `max_tokens`, e.g. 109 tokens for max_tokens=24 in 0.3.36.)
    """
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), n_ctx=0, verbose=False, n_threads=physical_cores())
    prompt_ids = llm.tokenize(prompt.encode(), add_bos=True, special=True)
    out: list[int] = []
    for tok in llm.generate(prompt_ids, temp=0.0, repeat_penalty=1.0):
        if tok == llm.token_eos() or len(out) == n:
            break
        out.append(tok)
    return llm.detokenize(out).decode("utf-8", errors="ignore"), len(prompt_ids), len(out)


def test_greedy_matches_raw_llama_cpp(backend, tiny_phi_gguf):
    req = Request.build("impression_prediction", {"findings": "There is a small left pleural effusion."})
    gen = backend.generate(req, GenParams(max_new_tokens=24))
    raw_text, prompt_tokens, completion_tokens = raw_greedy(tiny_phi_gguf, req.prompt, 24)
    assert gen.text == raw_text
    assert gen.prompt_tokens == prompt_tokens
    assert gen.completion_tokens == completion_tokens
    assert gen.finish_reason == ("length" if completion_tokens == 24 else "stop")
    assert backend.generate(req, GenParams(max_new_tokens=24)).text == gen.text  # deterministic


def test_stream_equals_generate_and_reports_timings(backend):
    req = Request.build("abnormality_labels", {"report": REPORT})
    params = GenParams(max_new_tokens=16)
    stream = backend.stream(req, params)
    pieces = list(stream)
    assert "".join(pieces) == backend.generate(req, params).text
    g = stream.generation
    assert g.completion_tokens <= 16 and g.prompt_tokens > 20
    if g.completion_tokens == 16:
        assert g.finish_reason == "length"
    assert g.seconds > 0


def test_max_new_tokens_is_respected(backend):
    req = Request.build("radiology_qa", {"question": "What is atelectasis?"})
    g = backend.generate(req, GenParams(max_new_tokens=3))
    assert g.completion_tokens <= 3


def test_second_question_reuses_the_report_prefix(backend):
    llm = backend._ensure_loaded()
    evaluated: list[int] = []
    original = llm.eval

    def counting_eval(tokens):
        evaluated.append(len(tokens))
        return original(tokens)

    llm.reset()  # forget what earlier tests evaluated
    llm.eval = counting_eval
    try:
        params = GenParams(max_new_tokens=1)
        first = Request.build("qa_comprehension", {"report": REPORT, "question": "Is there an effusion?"})
        backend.generate(first, params)
        first_prompt_eval = evaluated[0]
        evaluated.clear()
        second = Request.build("qa_comprehension", {"report": REPORT, "question": "Where is the tube?"})
        backend.generate(second, params)
        question_tokens = backend.count_tokens(second.prompt) - backend.count_tokens(
            second.prompt.split(" Question:")[0])
    finally:
        del llm.eval
    assert first_prompt_eval == backend.count_tokens(first.prompt)
    # Only the question's tokens (and the format's tail) are evaluated the second time.
    assert evaluated[0] <= question_tokens + 2
    assert evaluated[0] < first_prompt_eval / 3


def test_concurrent_callers_do_not_interleave(backend):
    reqs = [Request.build("radiology_qa", {"question": q}) for q in ("What is a pneumothorax?", "Define atelectasis.")]
    params = GenParams(max_new_tokens=12)
    expected = [backend.generate(r, params).text for r in reqs]
    results: dict[int, str] = {}

    def work(i):
        for _ in range(3):
            results.setdefault(i, backend.generate(reqs[i], params).text)
            assert backend.generate(reqs[i], params).text == expected[i]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert results == {0: expected[0], 1: expected[1]}


def test_closing_a_stream_releases_the_model(backend):
    req = Request.build("radiology_qa", {"question": "What is a pneumothorax?"})
    stream = backend.stream(req, GenParams(max_new_tokens=30))
    next(iter(stream), None)
    stream.close()
    done = []
    t = threading.Thread(target=lambda: done.append(backend.generate(req, GenParams(max_new_tokens=2))))
    t.start()
    t.join(timeout=60)
    assert done, "a generation after a closed stream hung: the lock was not released"


def test_overlong_report_is_cut_in_the_middle(backend):
    ctx = backend.context_length
    long_report = "FINDINGS: " + "There is a small left pleural effusion. " * (ctx // 4) + "IMPRESSION: END."
    req = Request.build("qa_comprehension", {"report": long_report, "question": "Is there an effusion?"})
    g = backend.generate(req, GenParams(max_new_tokens=8))
    assert g.truncated_input
    assert g.prompt_tokens <= ctx - 8


def test_overlong_question_is_refused_with_the_limit(backend):
    ctx = backend.context_length
    req = Request.build("radiology_qa", {"question": "why " * (ctx * 2)})
    with pytest.raises(InputError, match=f"context holds {ctx} tokens"):
        backend.generate(req, GenParams(max_new_tokens=8))


def test_corrupt_and_truncated_gguf(tmp_path, tiny_phi_gguf):
    bad = tmp_path / "corrupt.gguf"
    bad.write_bytes(b"GGUF" + b"\x00garbage" * 100)
    with pytest.raises(ModelLoadError, match="could not load GGUF model"):
        LlamaCppBackend(str(bad)).generate(Request.build("radiology_qa", {"question": "q"}), GenParams())
    cut = tmp_path / "truncated.gguf"
    cut.write_bytes(tiny_phi_gguf.read_bytes()[: tiny_phi_gguf.stat().st_size // 2])
    b = LlamaCppBackend(str(cut))
    # The header cannot be read: file_metadata says so, and info() still answers (unloaded).
    assert list(b.file_metadata()) == ["error"]
    info = b.info()
    assert info["spec"] == str(cut) and info["quantization"] == "unknown" and info["architecture"] is None
    with pytest.raises(ModelLoadError, match="truncated or not a GGUF"):
        b.generate(Request.build("radiology_qa", {"question": "q"}), GenParams())


def test_info_reads_the_header(backend):
    info = backend.info()
    assert info["backend"] == "llamacpp" and info["device"] == "cpu"
    assert info["quantization"] == "F32"
    assert info["model_hash"].startswith("sha256:") and len(info["model_hash"]) == 7 + 64
    assert info["threads"] == physical_cores()


def test_load_backend_resolves_gguf(tiny_phi_gguf):
    assert isinstance(load_backend(str(tiny_phi_gguf)), LlamaCppBackend)


def test_cpu_path_imports_neither_torch_nor_transformers(tiny_phi_gguf):
    code = (
        "import sys\n"
        "from radphi.backends import load_backend, Request, GenParams\n"
        "import radphi.cli, radphi.runner\n"
        f"b = load_backend({str(tiny_phi_gguf)!r})\n"
        "b.generate(Request.build('radiology_qa', {'question': 'q'}), GenParams(max_new_tokens=2))\n"
        "bad = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_hf_and_llamacpp_backends_agree_on_the_same_model(tiny_phi_dir, tiny_phi_gguf, backend):
    """One prompt format everywhere: the transformers path and the exported GGUF give the
    same greedy answer, token counts included."""
    from radphi.backends.hf import HFBackend

    hf = HFBackend(str(tiny_phi_dir))
    for fields in ({"findings": "Small left pleural effusion."}, {"findings": "No pneumothorax. Heart size normal."}):
        req = Request.build("impression_prediction", fields)
        a = hf.generate(req, GenParams(max_new_tokens=16))
        b = backend.generate(req, GenParams(max_new_tokens=16))
        # A random model emits partial UTF-8 byte tokens: transformers shows them as U+FFFD,
        # llama.cpp's path drops them. The tokens behind them are the same.
        assert a.text.replace("\ufffd", "") == b.text
        assert (a.prompt_tokens, a.completion_tokens) == (b.prompt_tokens, b.completion_tokens)


def test_quantized_gguf_generates_without_crashing(tiny_phi_dir, tmp_path, radphi_home, monkeypatch):
    """On VMs that report AMX, llama.cpp's repacked quantized path can die with SIGILL;
    the backend probes in a child process first and loads without repacking there."""
    from radphi.backends import llamacpp_load
    from radphi.backends.llamacpp_load import _cpu_key
    from radphi.training.export_gguf import export_gguf

    monkeypatch.setattr(llamacpp_load, "_verdicts", {})  # probe here, not from an earlier test's memory

    q8 = export_gguf(tiny_phi_dir, tmp_path / "tiny-q8_0.gguf", quant="q8_0")
    b = LlamaCppBackend(str(q8), repack=True)  # asked for: behind the crash probe
    assert b.info()["quantization"] == "Q8_0"
    req = Request.build("impression_prediction", {"findings": "Small left pleural effusion."})
    g = b.generate(req, GenParams(max_new_tokens=8))
    assert g.prompt_tokens > 5 and 0 < g.completion_tokens <= 8
    if _cpu_key()[1]:  # a CPU that reports AMX: the verdict was probed and cached
        assert (radphi_home / "cache" / "llama_cpu_probe.json").is_file()


def test_a_stream_advanced_and_closed_on_different_threads(backend):
    """Gradio runs each step of a streaming handler on whichever worker is free and
    closes it (Stop) from yet another thread; the model must be free afterwards."""
    from concurrent.futures import ThreadPoolExecutor

    req = Request.build("radiology_qa", {"question": "What is a pneumothorax?"})
    stream = backend.stream(req, GenParams(max_new_tokens=30))
    with ThreadPoolExecutor(1) as a, ThreadPoolExecutor(1) as b:
        a.submit(next, stream, None).result(timeout=60)
        b.submit(stream.close).result(timeout=60)
    assert stream.generation.finish_reason == "cancelled"
    done = []
    t = threading.Thread(target=lambda: done.append(backend.generate(req, GenParams(max_new_tokens=2))))
    t.start()
    t.join(timeout=60)
    assert done, "the model stayed locked after a cross-thread close"
