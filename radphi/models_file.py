"""The models file (TOML): named model SPECs for the app's picker and the CLI.

    [models.demo]
    spec = "assets/radphi-demo.gguf"
    description = "Demo model trained on synthetic reports"

    [models.rad-phi2]
    spec = "/models/rad-phi2"          # an HF directory or hub id
    adapter = "/models/rad-phi2-lora"  # optional peft adapter
    format = "token"                   # or "default" or "chat"; left out: the model's own

    [models.gpt4]
    spec = "openai-chat:gpt-4@https://api.openai.com/v1"
    allow_remote = true                # report text is PHI-scrubbed before it is sent

Relative paths are taken from the file's own folder.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radphi import tasks
from radphi.backends import backend_kind
from radphi.errors import InputError


@dataclass(frozen=True)
class ModelEntry:
    name: str
    spec: str
    adapter: str | None = None
    format: str | None = None  # None: the model's own (radphi.backends.native_format)
    description: str = ""
    allow_remote: bool = False

    def backend_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {}
        if backend_kind(self.spec) == "openai_api" and self.allow_remote:
            opts["allow_remote"] = True
        return opts


def _resolve(path_like: str, base: Path) -> str:
    p = Path(path_like).expanduser()
    if not p.is_absolute() and (base / p).exists():
        return str(base / p)
    return path_like


def load_models_file(path: str | Path) -> dict[str, ModelEntry]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"models file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"models file {path} is not valid TOML: {exc}") from None
    models = data.get("models")
    if not isinstance(models, dict) or not models:
        raise InputError(f"models file {path} has no [models.NAME] tables")
    out: dict[str, ModelEntry] = {}
    for name, table in models.items():
        if not isinstance(table, dict) or not table.get("spec"):
            raise InputError(f"models file {path}: [models.{name}] needs a `spec`")
        fmt = table.get("format")
        if fmt is not None and fmt not in tasks.FORMATS:
            raise InputError(f"models file {path}: [models.{name}] format must be one of {', '.join(tasks.FORMATS)}")
        spec = str(table["spec"])
        if not spec.startswith(("openai:", "openai-chat:", "fake")):
            spec = _resolve(spec, path.parent)
        adapter = table.get("adapter")
        out[name] = ModelEntry(
            name=name, spec=spec, adapter=_resolve(adapter, path.parent) if adapter else None, format=fmt,
            description=str(table.get("description", "")), allow_remote=bool(table.get("allow_remote", False)),
        )
    return out
