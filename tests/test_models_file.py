"""The models file (TOML) that names SPECs for the app's picker."""

from __future__ import annotations

import re

import pytest

from radphi.errors import InputError
from radphi.models_file import load_models_file


def test_models_file_resolves_relative_paths_and_options(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "demo.gguf").write_bytes(b"GGUF")
    f = tmp_path / "models.toml"
    f.write_text(
        '[models.demo]\nspec = "models/demo.gguf"\ndescription = "Demo"\n\n'
        '[models.gpt4]\nspec = "openai-chat:gpt-4@https://api.example.com/v1"\nallow_remote = true\n\n'
        '[models.local]\nspec = "openai:rad-phi2@http://127.0.0.1:8000/v1"\nformat = "default"\n'
    )
    models = load_models_file(f)
    assert list(models) == ["demo", "gpt4", "local"]
    assert models["demo"].spec == str(tmp_path / "models" / "demo.gguf")
    assert models["demo"].format is None and models["demo"].description == "Demo"  # None: the model's own
    assert models["gpt4"].backend_options() == {"allow_remote": True}
    assert models["local"].backend_options() == {} and models["local"].format == "default"


@pytest.mark.parametrize("text, message", [
    ("not toml [", "not valid TOML"),
    ("[other]\nx = 1\n", "no [models.NAME] tables"),
    ("[models.a]\ndescription = 'no spec'\n", "needs a `spec`"),
    ("[models.a]\nspec = 'x.gguf'\nformat = 'chatml'\n", "format must be one of token, default"),
])
def test_bad_models_files_are_explained(tmp_path, text, message):
    f = tmp_path / "m.toml"
    f.write_text(text)
    with pytest.raises(InputError, match=re.escape(message)):
        load_models_file(f)


def test_missing_models_file(tmp_path):
    with pytest.raises(InputError, match="models file not found"):
        load_models_file(tmp_path / "nope.toml")
