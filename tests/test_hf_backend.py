"""The transformers backend on CPU, against the tiny random Phi from tests/tinymodels.py.

Reference outputs are computed here with plain transformers (`model.generate`), so
each test compares the backend with an independent computation.

    .venv/bin/python -m pytest tests/test_hf_backend.py -q
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

# Raw decoding is compared with plain transformers: structured tasks decode freely here
# (constrained=False); tests/test_constrained.py covers the constraint.
from radphi.backends import load_backend  # noqa: E402
from radphi.backends.base import Backend, GenParams, Request  # noqa: E402
from radphi.backends.hf import HFBackend  # noqa: E402
from radphi.errors import GenerationError  # noqa: E402
from radphi.errors import InputError, ModelLoadError  # noqa: E402

REPORT = ("FINDINGS: PA and lateral views of the chest. The lungs are clear. There is mild "
          "cardiomegaly. IMPRESSION: No acute cardiopulmonary process.")


def _requests() -> list[Request]:
    """Three prompts of clearly different lengths."""
    return [
        Request.build("radiology_qa", {"question": "Is there a pneumothorax?"}),
        Request.build("impression_prediction", {"findings": "small left pleural effusion"}),
        Request.build("abnormality_labels", {"report": REPORT}),
    ]


@pytest.fixture(scope="module")
def backend(tiny_phi_dir: Path) -> HFBackend:
    return HFBackend(str(tiny_phi_dir))


@pytest.fixture(scope="module")
def raw(tiny_phi_dir: Path):
    tok = transformers.AutoTokenizer.from_pretrained(tiny_phi_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_phi_dir, dtype=torch.float32).eval()
    return tok, model


def _reference(tok, model, request: Request, max_new_tokens: int) -> tuple[str, int]:
    """Greedy continuation by plain transformers, cut where the backend must stop:
    at end-of-text or `<instruct>` (the token format's stops, both special tokens)."""
    enc = tok(request.prompt, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.eos_token_id)
    new = out[0, enc["input_ids"].shape[1]:].tolist()
    ends = {tok.eos_token_id, tok.convert_tokens_to_ids("<instruct>")}
    cut = next((i for i, t in enumerate(new) if t in ends), len(new))
    return tok.decode(new[:cut], skip_special_tokens=True, clean_up_tokenization_spaces=False), cut


def _alnum_stop(text: str) -> str:
    """A stop string found in the middle of `text` (letters only, first seen after index 2)."""
    for m in re.finditer(r"[A-Za-z]{3}", text):
        if m.start() > 2 and text.find(m.group()) == m.start():
            return m.group()
    pytest.fail(f"no usable stop string in {text!r}")


def test_greedy_generate_matches_plain_transformers_and_repeats(backend, raw):
    tok, model = raw
    for request in _requests():
        expected, n_new = _reference(tok, model, request, 24)
        g = backend.generate(request, GenParams(constrained=False, max_new_tokens=24))
        assert g.text == expected
        assert g.completion_tokens == n_new
        assert g.prompt_tokens == len(tok(request.prompt)["input_ids"])
        assert g.seconds > 0 and g.first_token_seconds is not None and 0 < g.first_token_seconds <= g.seconds
        assert backend.generate(request, GenParams(constrained=False, max_new_tokens=24)).text == g.text
    assert backend.generate(_requests()[0], GenParams(constrained=False, max_new_tokens=24)).text  # not vacuous


def test_stream_pieces_join_to_generate_text(backend):
    request = _requests()[2]
    params = GenParams(constrained=False, max_new_tokens=40)
    g = backend.generate(request, params)
    stream = backend.stream(request, params)
    pieces = list(stream)
    assert len(pieces) > 1
    assert "".join(pieces) == g.text
    sg = stream.generation
    assert sg is not None
    assert (sg.completion_tokens, sg.prompt_tokens, sg.finish_reason) == (
        g.completion_tokens, g.prompt_tokens, g.finish_reason)
    assert sg.first_token_seconds is not None and sg.first_token_seconds <= sg.seconds


def test_closing_a_stream_stops_generation_and_releases_the_lock(backend):
    request = _requests()[1]
    params = GenParams(constrained=False, max_new_tokens=300)
    full = backend.generate(request, params)
    assert full.completion_tokens == 300  # this random model never stops by itself
    stream = backend.stream(request, params)
    next(stream)
    stream.close()
    assert stream.generation is not None
    assert stream.generation.finish_reason == "cancelled"
    assert stream.generation.completion_tokens < 100
    assert backend._lock.acquire(timeout=5)  # noqa: SLF001 - the lock is what a closed stream must give back
    backend._lock.release()

    done: list[str] = []
    worker = threading.Thread(target=lambda: done.append(backend.generate(request, GenParams(constrained=False, max_new_tokens=8)).text))
    worker.start()
    worker.join(timeout=20)
    assert done and done[0] == full.text[:len(done[0])]


def test_a_stream_that_is_never_read_holds_nothing(backend):
    stream = backend.stream(_requests()[0], GenParams(constrained=False, max_new_tokens=8))
    stream.close()
    assert stream.generation.completion_tokens == 0
    assert backend.generate(_requests()[0], GenParams(constrained=False, max_new_tokens=4)).completion_tokens == 4


def test_generate_batch_equals_single_greedy(tiny_phi_dir: Path, backend):
    requests = _requests()
    params = GenParams(constrained=False, max_new_tokens=24)
    singles = [backend.generate(r, params) for r in requests]
    # batch_size=2: one padded batch of two, then a batch of one; results in input order.
    batched = HFBackend(str(tiny_phi_dir), batch_size=2).generate_batch(requests, params)
    assert [g.text for g in batched] == [g.text for g in singles]
    assert [g.completion_tokens for g in batched] == [g.completion_tokens for g in singles]
    assert [g.prompt_tokens for g in batched] == [g.prompt_tokens for g in singles]
    assert len({g.prompt_tokens for g in batched}) == 3  # the padding was real


def test_stop_strings_cut_the_text_in_generate_stream_and_batch(backend):
    request = _requests()[2]
    base = backend.generate(request, GenParams(constrained=False, max_new_tokens=40))
    stop = _alnum_stop(base.text)
    params = GenParams(constrained=False, max_new_tokens=40, stop=(stop,))
    cut = base.text[:base.text.index(stop)]
    g = backend.generate(request, params)
    assert g.text == cut
    assert g.finish_reason == "stop"
    assert g.completion_tokens < base.completion_tokens
    assert backend.stream(request, params).text() == cut
    batch = backend.generate_batch([request, _requests()[0]], params)
    assert batch[0].text == cut and batch[0].finish_reason == "stop"


def test_max_new_tokens_gives_finish_reason_length(backend):
    g = backend.generate(_requests()[0], GenParams(constrained=False, max_new_tokens=5))
    assert g.completion_tokens == 5
    assert g.finish_reason == "length"


def test_the_default_format_stops_on_text_stop_strings(backend, raw):
    request = Request.build("radiology_qa", {"question": "What is an effusion?"}, fmt="default")
    g = backend.generate(request, GenParams(constrained=False, max_new_tokens=16))
    assert "Instruct:" not in g.text
    assert g.completion_tokens <= 16


def test_a_model_that_answers_with_the_next_turn_stops_at_once(tiny_phi_dir: Path, tmp_path: Path):
    """A model whose first choice is <instruct> (a special-token stop) gives an empty answer."""
    tok = transformers.AutoTokenizer.from_pretrained(tiny_phi_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_phi_dir)
    with torch.no_grad():
        model.lm_head.bias[tok.convert_tokens_to_ids("<instruct>")] += 1000.0
    model.save_pretrained(tmp_path / "eager")
    tok.save_pretrained(tmp_path / "eager")
    b = HFBackend(str(tmp_path / "eager"))
    g = b.generate(_requests()[0], GenParams(constrained=False, max_new_tokens=20))
    assert (g.text, g.completion_tokens, g.finish_reason) == ("", 0, "stop")
    stream = b.stream(_requests()[0], GenParams(constrained=False, max_new_tokens=20))
    assert list(stream) == [] and stream.generation.finish_reason == "stop"


def test_sampling_is_seeded(backend):
    request = _requests()[1]
    texts = {seed: backend.generate(request, GenParams(constrained=False, max_new_tokens=16, temperature=1.0, seed=seed)).text
             for seed in (1, 2, 3)}
    again = backend.generate(request, GenParams(constrained=False, max_new_tokens=16, temperature=1.0, seed=1)).text
    assert again == texts[1]
    assert len(set(texts.values()) | {backend.generate(request, GenParams(constrained=False, max_new_tokens=16)).text}) > 1


def _save_lora(base_dir: Path, out: Path, *, add_token: str | None = None) -> Path:
    """A tiny LoRA with non-zero B (peft's init_lora_weights=False), optionally with an
    added token (resized embedding and head saved as modules_to_save)."""
    from peft import LoraConfig, get_peft_model

    tok = transformers.AutoTokenizer.from_pretrained(base_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(base_dir)
    modules_to_save = None
    if add_token:
        tok.add_special_tokens({"additional_special_tokens": ["<instruct>", "<output>", add_token]})
        if len(tok) > model.get_input_embeddings().num_embeddings:
            model.resize_token_embeddings(len(tok))
            modules_to_save = ["embed_tokens", "lm_head"]
    torch.manual_seed(1)
    config = LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "v_proj", "fc1"], init_lora_weights=False,
                        modules_to_save=modules_to_save)
    peft_model = get_peft_model(model, config)
    peft_model.save_pretrained(out)
    if add_token:
        tok.save_pretrained(out)
    return out


def test_adapter_changes_output_and_equals_the_merged_model(tiny_phi_dir: Path, backend, tmp_path: Path):
    from peft import PeftModel

    lora = _save_lora(tiny_phi_dir, tmp_path / "lora")
    request = _requests()[2]
    params = GenParams(constrained=False, max_new_tokens=24)
    tuned = HFBackend(str(tiny_phi_dir), adapter=str(lora))
    g = tuned.generate(request, params)
    assert g.text != backend.generate(request, params).text

    tok = transformers.AutoTokenizer.from_pretrained(tiny_phi_dir)
    merged = PeftModel.from_pretrained(transformers.AutoModelForCausalLM.from_pretrained(tiny_phi_dir), str(lora))
    merged = merged.merge_and_unload().eval()
    assert (g.text, g.completion_tokens) == _reference(tok, merged, request, 24)
    assert tuned.info()["adapter"] == str(lora)
    assert tuned.info()["model_hash"] != backend.info()["model_hash"]


def test_adapter_tokenizer_grows_the_embedding_only_when_needed(tiny_phi_dir: Path, tiny_phi_padded_dir: Path,
                                                                tmp_path: Path):
    request = _requests()[0]
    # No spare rows: the embedding grows to the adapter's vocabulary.
    lora = _save_lora(tiny_phi_dir, tmp_path / "grow", add_token="<report>")
    b = HFBackend(str(tiny_phi_dir), adapter=str(lora))
    assert b.count_tokens("<report>") == 1
    assert b.generate(request, GenParams(constrained=False, max_new_tokens=4)).completion_tokens == 4
    assert b._model.get_input_embeddings().num_embeddings == len(b._tokenizer)  # noqa: SLF001

    # 37 spare rows (as Phi-2's 51,200 for 50,295): the new token fits, nothing shrinks.
    lora = _save_lora(tiny_phi_padded_dir, tmp_path / "spare", add_token="<report>")
    b = HFBackend(str(tiny_phi_padded_dir), adapter=str(lora))
    assert b.generate(request, GenParams(constrained=False, max_new_tokens=4)).completion_tokens == 4
    assert b._model.get_input_embeddings().num_embeddings == len(b._tokenizer) - 1 + 37  # noqa: SLF001


def test_load_errors_are_model_load_errors(tiny_phi_dir: Path, tmp_path: Path):
    request = _requests()[0]
    missing = HFBackend(str(tmp_path / "no-such-model"))
    with pytest.raises(ModelLoadError, match="no such directory"):
        missing.generate(request, GenParams(constrained=False, max_new_tokens=4))
    with pytest.raises(ModelLoadError, match="no such directory"):
        missing.count_tokens("x")

    with pytest.raises(ModelLoadError, match=r"not a cached hub model \(offline\)"):
        HFBackend("radphi-test-org/no-such-model").generate(request, GenParams(constrained=False, max_new_tokens=4))

    bad_config = tmp_path / "bad-config"
    shutil.copytree(tiny_phi_dir, bad_config)
    (bad_config / "config.json").write_text("{ this is not json")
    with pytest.raises(ModelLoadError, match="bad-config"):
        HFBackend(str(bad_config)).generate(request, GenParams(constrained=False, max_new_tokens=4))

    bad_weights = tmp_path / "bad-weights"
    shutil.copytree(tiny_phi_dir, bad_weights)
    for f in bad_weights.glob("*.safetensors"):
        f.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ModelLoadError, match="bad-weights"):
        HFBackend(str(bad_weights)).stream(request, GenParams(constrained=False, max_new_tokens=4))

    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="no config.json"):
        HFBackend(str(tmp_path / "empty")).count_tokens("x")

    with pytest.raises(ModelLoadError, match="adapter"):
        HFBackend(str(tiny_phi_dir), adapter=str(tmp_path / "no-adapter")).count_tokens("x")
    with pytest.raises(ModelLoadError, match="adapter_config.json"):
        HFBackend(str(tiny_phi_dir), adapter=str(tiny_phi_dir)).generate(request, GenParams(constrained=False, max_new_tokens=4))


def test_a_failing_model_raises_a_user_error_and_frees_the_lock(tiny_phi_dir: Path):
    b = HFBackend(str(tiny_phi_dir))
    b._ensure_loaded()  # noqa: SLF001

    def boom(*args, **kwargs):
        raise RuntimeError("device-side assert triggered")

    b._model.generate = boom  # noqa: SLF001
    with pytest.raises(GenerationError, match="device-side assert"):
        b.generate(_requests()[0], GenParams(constrained=False, max_new_tokens=4))
    stream = b.stream(_requests()[0], GenParams(constrained=False, max_new_tokens=4))
    with pytest.raises(GenerationError, match="device-side assert"):
        list(stream)  # raises rather than waiting forever for text
    with pytest.raises(GenerationError):
        b.generate_batch(_requests(), GenParams(constrained=False, max_new_tokens=4))
    assert b._lock.acquire(timeout=5)  # noqa: SLF001
    b._lock.release()  # noqa: SLF001


def test_input_errors_and_an_over_long_report(backend):
    with pytest.raises(InputError):
        Request.build("impression_prediction", {"findings": "   "})
    long_report = " ".join([REPORT] * 60)  # several times the tiny model's 512-token context
    assert backend.count_tokens(long_report) > backend.context_length
    g = backend.generate(Request.build("abnormality_labels", {"report": long_report}), GenParams(constrained=False, max_new_tokens=8))
    assert g.truncated_input is True
    assert g.prompt_tokens <= backend.context_length - 8
    with pytest.raises(InputError, match="context"):  # a question is never cut
        backend.generate(Request.build("radiology_qa", {"question": long_report}), GenParams(constrained=False, max_new_tokens=8))


def test_count_tokens_info_and_warmup(tiny_phi_dir: Path, backend):
    assert backend.count_tokens("<instruct>") == 1
    assert backend.count_tokens("") == 0
    assert backend.warmup(max_new_tokens=2) > 0
    info = backend.info()
    assert info["backend"] == "hf" and info["spec"] == str(tiny_phi_dir)
    assert (info["device"], info["quantization"], info["context_length"]) == ("cpu", "fp32", 512)
    assert info["model_hash"].startswith("meta-sha256:") and info["model_hash"] == backend.info()["model_hash"]
    hub = HFBackend("radphi-test-org/no-such-model").info()
    assert hub["model_hash"] is None and "offline" in hub["error"]
    assert HFBackend(str(tiny_phi_dir), context_length=128).context_length == 128


def test_static_cache_path_gives_the_same_greedy_text(tiny_phi_dir: Path, backend):
    """The GPU path's generate arguments (static cache sized to the context, CompileConfig)
    are accepted by this transformers; on CPU it runs uncompiled and must agree."""
    static = HFBackend(str(tiny_phi_dir))
    static._ensure_loaded()  # noqa: SLF001
    static._static = True  # noqa: SLF001 - what compile=True selects on CUDA
    for request in _requests()[:2]:
        params = GenParams(constrained=False, max_new_tokens=16)
        assert static.generate(request, params).text == backend.generate(request, params).text
        assert static.stream(request, params).text() == backend.generate(request, params).text


def test_load_backend_resolves_a_directory_to_hf(tiny_phi_dir: Path):
    b = load_backend(str(tiny_phi_dir), batch_size=4)
    assert isinstance(b, HFBackend) and isinstance(b, Backend) and b.batch_size == 4
    assert b._model is None  # noqa: SLF001 - nothing is loaded before first use


def test_module_imports_without_torch():
    code = "import radphi.backends.hf, sys; assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parent.parent, timeout=60)
