"""Shared pytest fixtures: an isolated RADPHI_HOME per test, and tiny real models
(built once per session) with their GGUF exports."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests must never reach the Hugging Face Hub; everything they load is built locally.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


@pytest.fixture(autouse=True)
def radphi_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give every test its own data directory, so no test sees another's state."""
    home = tmp_path / "radphi_home"
    home.mkdir()
    monkeypatch.setenv("RADPHI_HOME", str(home))
    return home


# --- tiny models (session scope: each is built once, a second or two apiece) ---

@pytest.fixture(scope="session")
def tiny_phi_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved tiny PhiForCausalLM + byte-level BPE tokenizer with <instruct>/<output>."""
    from tests.tinymodels import build_tiny_phi

    return build_tiny_phi(tmp_path_factory.mktemp("tiny_phi"))


@pytest.fixture(scope="session")
def tiny_phi_padded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Like tiny_phi_dir, but the embedding has 37 more rows than the tokenizer has
    tokens (as real Phi-2: 51,200 rows for 50,295 tokens)."""
    from tests.tinymodels import build_tiny_phi

    return build_tiny_phi(tmp_path_factory.mktemp("tiny_phi_padded"), vocab_pad=37)


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved tiny LlamaForCausalLM (GQA) + SentencePiece tokenizer (tokenizer.model kept)."""
    from tests.tinymodels import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny_llama"))


@pytest.fixture(scope="session")
def tiny_phi_gguf(tiny_phi_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny_phi_dir exported to an f32 GGUF that llama.cpp loads."""
    from radphi.training.export_gguf import export_gguf

    return export_gguf(tiny_phi_dir, tmp_path_factory.mktemp("gguf") / "tiny-phi-f32.gguf", quant="f32")


# --- the browser tests ---

@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium: skips the test where it is missing, fails it in CI (tests/browser_env.py)."""
    from tests.browser_env import chromium_or_skip

    return chromium_or_skip()


@pytest.fixture(scope="session")
def chat_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama with a Phi-3-style chat template (tests/tinychat.py)."""
    from tests.tinychat import build_tiny_chat_llama

    return build_tiny_chat_llama(tmp_path_factory.mktemp("tiny_chat"))


@pytest.fixture(scope="session")
def chat_gguf(chat_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """chat_dir exported to an f32 GGUF (its chat template in tokenizer.chat_template)."""
    from radphi.training.export_gguf import export_gguf

    return export_gguf(chat_dir, tmp_path_factory.mktemp("chat_gguf") / "tiny-chat.gguf", quant="f32")
