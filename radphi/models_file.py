"""The models file (TOML): named model SPECs for the app's picker and the CLI.

    [models.demo]
    spec = "radphi/assets/radphi-demo.gguf"
    description = "Demo model trained on synthetic reports"

    [models.rad-phi2]
    spec = "/models/rad-phi2"          # an HF directory or hub id
    adapter = "/models/rad-phi2-lora"  # optional peft adapter
    format = "token"                   # or "default" or "chat"; left out: the model's own

    [models.gpt4]
    spec = "openai-chat:gpt-4@https://api.openai.com/v1"
    allow_remote = true                # report text is PHI-scrubbed before it is sent

    [models.rad-phi2-2f]               # one model in two forms (radphi.backends.forms)
    gpu = "/models/rad-phi2"           # the fine-tune, on the GPU when there is room
    adapter = "/models/rad-phi2-lora"
    cpu = "/models/rad-phi2-q4_k_m.gguf"   # its GGUF, on the CPU otherwise or after a GPU failure
    form = "auto"                      # or "gpu" / "cpu" to pin one

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
    spec: str  # a two-form entry's GPU form, else its GGUF
    adapter: str | None = None
    format: str | None = None  # None: the model's own (radphi.backends.native_format)
    description: str = ""
    allow_remote: bool = False
    gpu: str | None = None  # a two-form entry: the HF directory (or hub id) for the GPU
    cpu: str | None = None  # ... and its GGUF for the CPU
    form: str = "auto"      # which form a two-form entry answers with: auto, gpu or cpu

    @property
    def two_forms(self) -> bool:
        return self.gpu is not None or self.cpu is not None

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
        if not isinstance(table, dict) or not (table.get("spec") or table.get("gpu") or table.get("cpu")):
            raise InputError(f"models file {path}: [models.{name}] needs a `spec`, or a `gpu` and/or `cpu` form")
        if table.get("spec") and (table.get("gpu") or table.get("cpu")):
            raise InputError(f"models file {path}: [models.{name}] has both `spec` and `gpu`/`cpu`; a two-form "
                             f"entry names its forms only")
        fmt = table.get("format")
        if fmt is not None and fmt not in tasks.FORMATS:
            raise InputError(f"models file {path}: [models.{name}] format must be one of {', '.join(tasks.FORMATS)}")
        gpu = _resolve(str(table["gpu"]), path.parent) if table.get("gpu") else None
        cpu = _resolve(str(table["cpu"]), path.parent) if table.get("cpu") else None
        if cpu is not None and not cpu.lower().endswith(".gguf"):
            raise InputError(f"models file {path}: [models.{name}] cpu must be a .gguf file, not {cpu}")
        if gpu is not None and backend_kind(gpu) != "hf":
            raise InputError(f"models file {path}: [models.{name}] gpu must be an HF model directory or hub id")
        form = str(table.get("form", "auto"))
        if form not in ("auto", "gpu", "cpu"):
            raise InputError(f"models file {path}: [models.{name}] form must be auto, gpu or cpu")
        spec = str(table.get("spec") or gpu or cpu)
        if not spec.startswith(("openai:", "openai-chat:", "fake")):
            spec = _resolve(spec, path.parent)
        adapter = table.get("adapter")
        out[name] = ModelEntry(
            name=name, spec=spec, adapter=_resolve(adapter, path.parent) if adapter else None, format=fmt,
            description=str(table.get("description", "")), allow_remote=bool(table.get("allow_remote", False)),
            gpu=gpu, cpu=cpu, form=form,
        )
    return out


def load_entry(entry: ModelEntry, *, form: str | None = None, **llama_options: Any) -> Any:
    """The backend for an entry: a `TwoFormBackend` for a two-form entry (FORM overrides the
    entry's own; a new one per call, so callers keep it: it remembers a switch to the CPU),
    else the shared backend of its SPEC. LLAMA_OPTIONS (n_ctx, n_threads) go to llama.cpp."""
    from radphi.backends import load_backend

    llama_options = {k: v for k, v in llama_options.items() if v}
    if entry.two_forms:
        from radphi.backends.forms import TwoFormBackend

        return TwoFormBackend(entry.name, gpu=entry.gpu, cpu=entry.cpu, adapter=entry.adapter,
                              requested=form or entry.form, options=llama_options)
    options: dict[str, Any] = {}
    kind = backend_kind(entry.spec)
    if kind == "openai_api":
        # Explicit, so RADPHI_ALLOW_REMOTE in the environment cannot opt a model in: only
        # its entry in the models file can.
        options["allow_remote"] = bool(entry.backend_options().get("allow_remote", False))
    if kind == "llamacpp":
        options.update(llama_options)
    return load_backend(entry.spec, adapter=entry.adapter, **options)


def set_cpu_form(path: str | Path, name: str, gguf: str | Path) -> None:
    """Write `cpu = "GGUF"` into [models.NAME] of the models file at PATH, keeping its
    comments and layout (tomlkit), atomically and owner-only like every file we write."""
    import tomlkit

    from radphi.files import write_private_text

    path = Path(path)
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    try:
        table = doc["models"][name]
    except KeyError:
        raise InputError(f"models file {path} has no [models.{name}]") from None
    gguf = Path(gguf).resolve()
    try:
        value = str(gguf.relative_to(path.parent.resolve()))
    except ValueError:
        value = str(gguf)
    table["cpu"] = value
    write_private_text(path, tomlkit.dumps(doc))
