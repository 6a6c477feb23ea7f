"""One model in two forms (radphi.backends.forms): a tiny HF model and its GGUF, made here,
in one models-file entry. Without CUDA (this machine, CI) auto picks the GGUF and says why;
a CUDA failure injected at the HF backend's boundary is answered by the GGUF, for the rest
of the session, and the record says `form: cpu`; a GGUF of another checkpoint is named in a
warning; `radphi export-gguf --fallback-for` fills in the entry's cpu form."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from radphi import hashing, records
from radphi.backends import GenParams, Request
from radphi.backends import forms, machine
from radphi.backends.forms import TwoFormBackend, is_device_error
from radphi.backends.machine import Machine, choose_form
from radphi.backends.hf import HFBackend
from radphi.cli import main
from radphi.errors import InputError, ModelLoadError
from radphi.models_file import load_entry, load_models_file

QUESTION = {"question": "What is a pneumothorax?"}
PARAMS = GenParams(max_new_tokens=6)
NO_CUDA = Machine(cpu_threads=16, llama_cpp=True)
H200 = Machine(cuda=True, gpu_name="NVIDIA H200", gpu_free_bytes=139_200_000_000, cpu_threads=16, llama_cpp=True)


@pytest.fixture(scope="module")
def pair(tiny_phi_dir, tmp_path_factory) -> tuple[Path, Path]:
    """The tiny HF model and its GGUF, exported by radphi (so it records its checkpoint)."""
    from radphi.training.export_gguf import export_gguf

    return tiny_phi_dir, export_gguf(tiny_phi_dir, tmp_path_factory.mktemp("forms") / "tiny-f32.gguf", quant="f32")


def models_file(tmp_path: Path, gpu: Path | None, cpu: Path | None, name: str = "tiny") -> Path:
    lines = ["# our models", f"[models.{name}]", "# the fine-tune"]
    if gpu is not None:
        lines.append(f'gpu = "{gpu}"')
    if cpu is not None:
        lines.append(f'cpu = "{cpu}"')
    path = tmp_path / "models.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- choosing a form

def test_auto_picks_the_gpu_when_it_has_room_and_says_why():
    c = choose_form(gpu="/m", cpu="/m.gguf", machine=H200, needed=7_000_000_000, quantization="Q4_K_M")
    assert (c.form, c.reason) == ("gpu", "GPU: NVIDIA H200, 139.2 GB free -> bf16")
    small = Machine(cuda=True, gpu_name="T4", gpu_free_bytes=3_000_000_000, cpu_threads=8, llama_cpp=True)
    c = choose_form(gpu="/m", cpu="/m.gguf", machine=small, needed=7_000_000_000, quantization="Q4_K_M")
    assert (c.form, c.reason) == ("cpu", "GPU: T4, 3.0 GB free, 7.0 GB needed -> Q4_K_M GGUF on 8 CPU threads")


def test_auto_without_cuda_picks_the_gguf_and_forced_forms_are_obeyed():
    c = choose_form(gpu="/m", cpu="/m.gguf", machine=NO_CUDA, quantization="Q4_K_M")
    assert (c.form, c.reason) == ("cpu", "no CUDA -> Q4_K_M GGUF on 16 CPU threads")
    forced = choose_form(gpu="/m", cpu="/m.gguf", machine=NO_CUDA, requested="gpu")
    assert forced.form == "gpu" and "fp32" in forced.reason
    assert choose_form(gpu="/m", cpu=None, machine=NO_CUDA).reason.endswith("in fp32 (slow)")
    with pytest.raises(ModelLoadError, match="no CPU \\(GGUF\\) form"):
        choose_form(gpu="/m", cpu=None, machine=H200, requested="cpu")
    with pytest.raises(ModelLoadError, match="must be one of"):
        choose_form(gpu="/m", cpu=None, machine=H200, requested="tpu")


def test_device_errors_are_told_from_other_failures():
    import torch

    assert is_device_error(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_device_error(RuntimeError("CUDA error: device-side assert triggered"))
    try:
        try:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        except Exception as exc:
            raise ModelLoadError("could not load model") from exc
    except ModelLoadError as wrapped:
        assert is_device_error(wrapped)
    assert not is_device_error(InputError("The findings box is empty"))
    assert not is_device_error(ValueError("index out of range"))


def test_bf16_bytes_counts_the_checkpoints_parameters(tiny_phi_dir):
    from safetensors.numpy import load_file

    n = sum(t.size for f in tiny_phi_dir.glob("*.safetensors") for t in load_file(f).values())
    assert machine.bf16_bytes(tiny_phi_dir) == 2 * n
    assert machine.gpu_bytes_needed(tiny_phi_dir) == int(2 * n * machine.OVERHEAD_FACTOR) + machine.OVERHEAD_BYTES


# ---------------------------------------------------------------- the entry on this machine

def test_the_models_file_takes_a_two_form_entry(tmp_path, pair):
    gpu, cpu = pair
    entry = load_models_file(models_file(tmp_path, gpu, cpu))["tiny"]
    assert (entry.gpu, entry.cpu, entry.form, entry.spec, entry.two_forms) == (str(gpu), str(cpu), "auto", str(gpu),
                                                                               True)
    bad = tmp_path / "bad.toml"
    bad.write_text('[models.x]\ngpu = "/m"\ncpu = "/m.bin"\n')
    with pytest.raises(InputError, match="cpu must be a .gguf"):
        load_models_file(bad)
    bad.write_text('[models.x]\nspec = "/a.gguf"\ncpu = "/m.gguf"\n')
    with pytest.raises(InputError, match="both `spec` and"):
        load_models_file(bad)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the machine without CUDA")
def test_without_cuda_auto_answers_with_the_gguf_and_the_record_says_so(tmp_path, pair):
    gpu, cpu = pair
    backend = load_entry(load_models_file(models_file(tmp_path, gpu, cpu))["tiny"])
    assert backend.form == "cpu" and backend.choice.reason == "no CUDA -> F32 GGUF on " \
        f"{backend.machine.cpu_threads} CPU thread{'s' if backend.machine.cpu_threads != 1 else ''}"
    info = backend.info()
    assert info["form"] == "cpu" and info["backend"] == "llamacpp" and info["same_checkpoint"] is True
    gen = backend.generate(Request.build("radiology_qa", QUESTION), PARAMS)
    assert gen.extra["model_info"]["form"] == "cpu" and gen.extra["model_info"]["quantization"] == "F32"
    assert "fallback" not in gen.extra


def oom_after(n_pieces: int):
    """Replace HFBackend.stream/generate with ones that fail like a GPU out of memory, after
    N_PIECES pieces of the real answer (0: at once)."""
    import torch

    real_stream = HFBackend.stream

    def stream(self, request, params):
        inner = real_stream(self, request, params)

        def pieces():
            try:
                for i, piece in enumerate(inner):
                    if i >= n_pieces:
                        break
                    yield piece
            finally:
                inner.close()
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB")

        from radphi.backends.base import Stream
        return Stream(pieces(), lambda text: inner.generation)

    def generate(self, request, params):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB")

    return stream, generate


def test_a_gpu_failure_is_answered_by_the_gguf_for_the_rest_of_the_session(tmp_path, pair, monkeypatch):
    gpu, cpu = pair
    stream, generate = oom_after(0)
    monkeypatch.setattr(HFBackend, "generate", generate)
    backend = TwoFormBackend("tiny", gpu=str(gpu), cpu=str(cpu), requested="gpu", machine=NO_CUDA)
    assert backend.form == "gpu"
    gguf_alone = load_entry(load_models_file(models_file(tmp_path, None, cpu))["tiny"], form="cpu")
    request = Request.build("radiology_qa", QUESTION)
    gen = backend.generate(request, PARAMS)
    assert gen.text == gguf_alone.generate(request, PARAMS).text  # the GGUF's own greedy answer
    assert gen.extra["model_info"]["form"] == "cpu" and "out of memory" in gen.extra["fallback"]
    assert backend.form == "cpu" and "the GPU failed (out of memory)" in backend.choice.reason
    again = backend.generate(request, PARAMS)  # no second try on the GPU
    assert again.extra["model_info"]["form"] == "cpu" and "fallback" not in again.extra
    assert "for the rest of this session" in backend.info()["fallback"]


def test_a_stream_that_fails_midway_restarts_on_the_gguf(pair, monkeypatch):
    gpu, cpu = pair
    stream, _ = oom_after(2)
    monkeypatch.setattr(HFBackend, "stream", stream)
    backend = TwoFormBackend("tiny", gpu=str(gpu), cpu=str(cpu), requested="gpu", machine=NO_CUDA)
    request = Request.build("radiology_qa", QUESTION)
    s = backend.stream(request, GenParams(max_new_tokens=8))
    seen = []
    for piece in s:
        seen.append((s.restarts, piece))
    gguf = backend.backend_for("cpu").generate(request, GenParams(max_new_tokens=8))
    assert s.restarts == 1 and [p for r, p in seen if r == 0]  # the GPU's first pieces came, then the restart
    assert "".join(p for r, p in seen if r == 1) == gguf.text == s.generation.text
    assert s.generation.extra["model_info"]["form"] == "cpu" and s.generation.extra["fallback"]


def test_a_failure_that_is_not_the_gpus_is_not_hidden(pair, monkeypatch):
    gpu, cpu = pair

    def broken(self, request, params):
        raise ValueError("a bug")

    monkeypatch.setattr(HFBackend, "generate", broken)
    backend = TwoFormBackend("tiny", gpu=str(gpu), cpu=str(cpu), requested="gpu", machine=NO_CUDA)
    with pytest.raises(ValueError, match="a bug"):
        backend.generate(Request.build("radiology_qa", QUESTION), PARAMS)
    assert backend.form == "gpu"


def test_a_gguf_of_another_checkpoint_is_named_in_a_warning(tmp_path, pair, tiny_phi_padded_dir):
    from radphi.training.export_gguf import export_gguf

    gpu, cpu = pair
    other = export_gguf(tiny_phi_padded_dir, tmp_path / "other.gguf", quant="f32")
    assert forms.pair_check(str(gpu), None, str(cpu)) == (True, "")
    match, message = forms.pair_check(str(gpu), None, str(other))
    assert match is False and "made from another checkpoint" in message and "other.gguf" in message
    backend = TwoFormBackend("mixed", gpu=str(gpu), cpu=str(other), machine=NO_CUDA)
    info = backend.info()
    assert info["same_checkpoint"] is False and "another checkpoint" in info["warning"]
    # The GGUF records the checkpoint's content hash: a copy of the checkpoint still matches.
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in gpu.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    assert hashing.checkpoint_sha256(copy) == hashing.checkpoint_sha256(gpu)
    assert forms.pair_check(str(copy), None, str(cpu))[0] is True


# ---------------------------------------------------------------- the commands

def test_export_gguf_fallback_for_fills_in_the_cpu_form(tmp_path, pair, capsys):
    gpu, _ = pair
    path = models_file(tmp_path, gpu, None)
    assert main(["export-gguf", "--fallback-for", "tiny", "--models", str(path), "--quant", "f16"]) == 0
    entry = load_models_file(path)["tiny"]
    assert entry.cpu == str(tmp_path / "tiny-f16.gguf") and Path(entry.cpu).is_file()
    text = path.read_text()
    assert "# the fine-tune" in text and 'cpu = "tiny-f16.gguf"' in text  # comments kept, path relative
    assert forms.pair_check(entry.gpu, None, entry.cpu)[0] is True
    assert main(["export-gguf", "--fallback-for", "nope", "--models", str(path)]) == 2
    assert "no model 'nope'" in capsys.readouterr().err


def test_radphi_run_takes_the_entrys_name_and_a_form(tmp_path, pair):
    gpu, cpu = pair
    path = models_file(tmp_path, gpu, cpu)
    inp = tmp_path / "in.jsonl"
    records.write_jsonl(inp, [{"id": "1", **QUESTION}])
    out = tmp_path / "out.jsonl"
    assert main(["run", "radiology_qa", "--models", str(path), "--model", "tiny", "--form", "cpu", "--input",
                 str(inp), "--output", str(out), "--max-new-tokens", "4", "--no-progress"]) == 0
    (rec,) = records.read_jsonl(out)
    assert rec["model"] == "tiny" and rec["model_info"]["form"] == "cpu"
    assert rec["model_info"]["model_hash"] == hashing.file_sha256(cpu)
    assert main(["run", "radiology_qa", "--model", str(cpu), "--form", "gpu", "--input", str(inp), "--output",
                 str(tmp_path / "o2.jsonl"), "--no-progress"]) == 2  # --form needs a two-form entry


def test_the_page_shows_the_form_and_the_switch(tmp_path, pair, monkeypatch):
    from radphi.ui import common
    from radphi.ui.context import UISettings, create_context
    from radphi.ui.streaming import stream_task

    gpu, cpu = pair
    monkeypatch.setenv("GRADIO_TEMP_DIR", "")
    monkeypatch.setattr(forms, "probe_machine", lambda **_: NO_CUDA)
    ctx = create_context(UISettings(models_file=models_file(tmp_path, gpu, cpu), form="gpu"), store=object())
    try:
        html = common.model_info(ctx, "tiny")
        assert 'data-form="gpu"' in html and "asked for the GPU form" in html
        stream, _ = oom_after(1)
        monkeypatch.setattr(HFBackend, "stream", stream)
        steps = list(stream_task(ctx, "tiny", "radiology_qa", QUESTION, 6, 0.0, None))
        last = steps[-1]
        assert last.generation is not None and "this model now answers from its F32 GGUF" in last.status
        expected = ctx.backends.backend("tiny").backend_for("cpu").generate(
            Request.build("radiology_qa", QUESTION, steps[-1].generation and ctx.backends.format_of("tiny")),
            GenParams(max_new_tokens=6)).text
        assert last.text == expected  # the GPU's partial text was dropped on the restart
        assert 'data-form="cpu"' in common.model_info(ctx, "tiny")
    finally:
        ctx.close()


def test_a_review_import_keeps_the_form_that_answered(tmp_path, pair):
    from radphi.review import ReviewStore

    gpu, cpu = pair
    inp = tmp_path / "in.jsonl"
    records.write_jsonl(inp, [{"id": "c1", "task": "radiology_qa", **QUESTION, "reference": "Air in the pleura."}])
    path = models_file(tmp_path, gpu, cpu)
    outs = []
    for form in ("gpu", "cpu"):
        out = tmp_path / f"{form}.jsonl"
        assert main(["run", "radiology_qa", "--models", str(path), "--model", "tiny", "--form", form, "--name",
                     f"tiny-{form}", "--input", str(inp), "--output", str(out), "--max-new-tokens", "4",
                     "--no-progress"]) == 0
        outs.append(out)
    store = ReviewStore(tmp_path / "r.db")
    store.import_records("quant", [(str(p), r) for p in outs for r in records.read_jsonl(p)], actor="cli:admin")
    forms_seen = {i.model: i.record["model_info"]["form"] for i in store.items("quant")}
    assert forms_seen == {"tiny-gpu": "gpu", "tiny-cpu": "cpu"}
