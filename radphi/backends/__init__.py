"""Model backends, resolved from a model SPEC through a name-to-module map.

    path/to/model.gguf                    -> llamacpp   (CPU, llama-cpp-python; no torch)
    openai:MODEL@http://host:port/v1      -> openai_api (completions endpoint, raw prompts)
    openai-chat:MODEL@https://host/v1     -> openai_api (chat endpoint, e.g. GPT-4 baselines)
    fake[:TEXT]                           -> fake       (echoes; for tests and UI work)
    keyword                               -> keyword    (a rule-based baseline to beat)
    an HF model directory or hub id       -> hf         (transformers [+ peft adapter])

Backend modules are imported only when a SPEC needs them, so the GGUF path never
imports torch or transformers. A loaded backend is shared by every caller in the
process (`load_backend` caches it), and each backend guards its model with a lock.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import Any

from radphi import tasks
from radphi.backends.base import Backend, Generation, GenParams, Request, Stream, fit_request
from radphi.errors import InputError, ModelLoadError

__all__ = [
    "Backend", "Generation", "GenParams", "Request", "Stream", "fit_request",
    "backend_kind", "format_warning", "load_backend", "model_name", "native_format", "rendered_prompt",
    "resolve_format", "BACKENDS",
]

# kind -> "module:Class"; imported lazily.
BACKENDS: dict[str, str] = {
    "llamacpp": "radphi.backends.llamacpp:LlamaCppBackend",
    "hf": "radphi.backends.hf:HFBackend",
    "openai_api": "radphi.backends.openai_api:OpenAIBackend",
    "fake": "radphi.backends.fake:FakeBackend",
    "keyword": "radphi.backends.keyword:KeywordBackend",
}

_cache: dict[tuple, Backend] = {}
_cache_lock = threading.Lock()


def model_name(spec: str) -> str:
    """The one name a model goes by in records, review sets and the app's picker, from its
    SPEC: the file or directory stem ("radphi/assets/radphi-demo.gguf" -> "radphi-demo"), the
    served model's name for an API ("openai:phi2@http://..." -> "openai:phi2")."""
    spec = spec.strip()
    if backend_kind(spec) == "fake":
        return "fake"
    if backend_kind(spec) == "openai_api":
        return spec.split("@", 1)[0]
    return Path(spec.rstrip("/")).stem or spec


def backend_kind(spec: str) -> str:
    """Which backend a SPEC resolves to (no loading, no imports)."""
    spec = spec.strip()
    if not spec:
        raise ModelLoadError("empty model SPEC: pass a .gguf path, an HF model directory or hub id, or openai:MODEL@URL")
    if spec.startswith(("openai:", "openai-chat:")):
        return "openai_api"
    if spec == "fake" or spec.startswith("fake:"):
        return "fake"
    if spec == "keyword":
        return "keyword"
    if spec.lower().endswith(".gguf"):
        return "llamacpp"
    return "hf"


def load_backend(spec: str, *, adapter: str | None = None, **options: Any) -> Backend:
    """The backend for SPEC, created once per process for the same SPEC and options.

    Creating it does not load the model; the first generation does (lazily), and a
    failure then raises ModelLoadError with a message for the user. A path that does
    not exist fails here already, since nothing could ever come of it.
    """
    kind = backend_kind(spec)
    if kind == "llamacpp" and not Path(spec).expanduser().is_file():
        raise ModelLoadError(f"model file not found: {spec}")
    if kind != "hf" and adapter:
        raise ModelLoadError("--adapter applies to transformers models only (an HF directory or hub id)")
    key = (kind, spec, adapter, tuple(sorted(options.items())))
    with _cache_lock:
        if key not in _cache:
            module_name, cls_name = BACKENDS[kind].split(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise ModelLoadError(
                    f"the {kind} backend needs a package that is not installed ({exc.name}); "
                    f"install the project's requirements (pip install -r requirements.txt)"
                ) from exc
            cls = getattr(module, cls_name)
            _cache[key] = cls(spec, adapter=adapter, **options) if kind == "hf" else cls(spec, **options)
        return _cache[key]


def native_format(backend: Any) -> str:
    """The model's own prompt format (`tasks.choose_format`); backends that do not say
    (fake, keyword) take the default."""
    own = getattr(backend, "native_format", None)
    return own() if callable(own) else tasks.DEFAULT_FORMAT


def resolve_format(backend: Any, requested: str | None) -> str:
    """The prompt format to use: the one asked for, else the model's own."""
    if requested:
        if requested not in tasks.FORMATS:
            raise InputError(f"unknown prompt format {requested!r}; choose one of: {', '.join(tasks.FORMATS)}")
        return requested
    return native_format(backend)


def format_warning(backend: Any, fmt: str) -> str | None:
    """A one-line warning when FMT is not the model's own format (answers are then poor)."""
    own = native_format(backend)
    if fmt == own:
        return None
    return (f"The prompt format is {fmt}, but this model's own format is {own}: "
            f"its answers may be poor. Choose {own} unless you are comparing formats.")


def rendered_prompt(backend: Any, request: Request) -> str:
    """The exact text the model receives for REQUEST (`radphi prompt --model`): the chat
    template applied in the chat format."""
    render = getattr(backend, "render", None)
    return render(request) if callable(render) else request.prompt


def clear_cache() -> None:
    """Forget loaded backends (tests; a model file replaced on disk)."""
    with _cache_lock:
        _cache.clear()
