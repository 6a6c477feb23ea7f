"""A smoke test of the demo-model rebuild (training.demo --quick): a reduced synthetic
corpus, a tiny tokenizer and model, a few training steps, and a GGUF that radphi's
llama.cpp backend loads and generates from. Takes ~10-20 s on 2 CPU cores.

    pytest tests/test_demo_smoke.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("trl")


@pytest.fixture(scope="module")
def quick_build(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from training.demo import DemoRecipe, build

    out = tmp_path_factory.mktemp("demo")
    asset_dir = out / "assets"
    result = build(DemoRecipe.quick(seed=0), out, install=True, asset_dir=asset_dir)
    return result | {"out": out, "asset_dir": asset_dir}


def test_quick_rebuild_writes_every_stage(quick_build: dict) -> None:
    out: Path = quick_build["out"]
    assert (out / "corpus" / "manifest.json").is_file()
    assert (out / "corpus" / "test" / "abnormality_labels.jsonl").is_file()
    assert (out / "base" / "config.json").is_file() and (out / "base" / "tokenizer.json").is_file()
    assert (out / "sft" / "final" / "config.json").is_file()
    assert quick_build["global_step"] == 3
    assert 0 < quick_build["gguf_bytes"] < 25 * 1024 * 1024
    assert (quick_build["asset_dir"] / "radphi-demo.gguf").is_file()
    summary = json.loads((out / "demo_summary.json").read_text())
    assert summary["base"]["parameters"] > 0


def test_tokenizer_keeps_the_format_tokens_whole(quick_build: dict) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(quick_build["out"] / "base")
    for special in ("<|endoftext|>", "<instruct>", "<output>"):
        assert len(tok(special)["input_ids"]) == 1, special
    text = "There is a small left pleural effusion."
    assert tok.decode(tok(text)["input_ids"]) == text


def test_gguf_generates_through_the_llamacpp_backend(quick_build: dict) -> None:
    from radphi.backends import GenParams, Request
    from radphi.backends.llamacpp import LlamaCppBackend

    backend = LlamaCppBackend(str(quick_build["asset_dir"] / "radphi-demo.gguf"))
    req = Request.build("impression_prediction", {"findings": "There is a small left pleural effusion."})
    gen = backend.generate(req, GenParams(max_new_tokens=8))
    assert gen.prompt_tokens > 0
    assert 0 < gen.completion_tokens <= 8 or gen.finish_reason == "stop"
    pieces = list(backend.stream(req, GenParams(max_new_tokens=8)))
    assert "".join(pieces) == gen.text
