"""What the app's builders and handlers are handed: `AppContext` (settings, backends, store).

Nothing in radphi.ui keeps module-level state; everything a handler needs comes
through the context, so tests build one around a FakeBackend and two apps can live
in one process.

- `UISettings`: host, port, model SPECs, models file, per-field size limit, auth file.
- `ModelRegistry`: the model picker's entries (models file + `--model` SPECs + the
  default model), backends loaded lazily through `radphi.backends.load_backend`.
- `AppContext.workdir`: a private (0700) temporary directory for uploads and batch
  outputs, removed by `close()` (the server also registers it with atexit). It records
  its owner (owner.pid), so the next app to start removes it if that process was
  killed before it could (`remove_stale_workdirs`).
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import stat
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from radphi import settings as radphi_settings
from radphi import tasks
from radphi.backends import Backend, backend_kind, model_name, native_format
from radphi.errors import InputError, ModelLoadError
from radphi.models_file import ModelEntry, load_entry, load_models_file
from radphi.privacy import is_loopback_url
from radphi.ui.generations import GenerationLog

log = logging.getLogger(__name__)

DEFAULT_MAX_CHARS = 20_000
NO_MODEL_MESSAGE = (
    "No model is configured. Start the app with a model: "
    "python app.py --model path/to/model.gguf (or --models models.toml, or set RADPHI_MODEL)."
)


@dataclass
class UISettings:
    """Everything `radphi serve` / `python app.py` can be told."""

    host: str = "127.0.0.1"
    port: int = 7860
    models: list[str] = field(default_factory=list)  # --model SPEC, repeatable
    models_file: Path | None = None
    max_chars: int = DEFAULT_MAX_CHARS  # per input field
    auth_file: Path | None = None
    n_ctx: int = 0  # llama.cpp context size; 0: the model's own
    threads: int = 0  # llama.cpp threads; 0: one per physical core
    concurrency: int = 4  # requests gradio runs at once; the model's lock serialises generation
    max_upload_mb: int = 50
    reviews_db: Path | None = None  # the review store; default $RADPHI_HOME/reviews.db
    form: str | None = None  # --form: which form two-form models answer with (auto, gpu, cpu)


def _unique(name: str, taken: dict[str, Any]) -> str:
    out, i = name, 2
    while out in taken:
        out, i = f"{name}-{i}", i + 1
    return out


Loader = Callable[[ModelEntry], Backend]


class ModelRegistry:
    """The picker's models by name; each backend is created on first use and kept.

    `loader` turns an entry into a backend (tests hand in FakeBackends); the default
    goes through `load_backend`, which shares one backend per SPEC in the process.
    """

    def __init__(self, entries: dict[str, ModelEntry], default: str | None = None, *,
                 loader: Loader | None = None, n_ctx: int = 0, threads: int = 0, form: str | None = None):
        self.entries = dict(entries)
        self.default = default if default in self.entries else next(iter(self.entries), None)
        self._n_ctx = n_ctx
        self._threads = threads
        self._form = form  # --form: overrides two-form entries' own choice (auto, gpu, cpu)
        self._forms: dict[str, Backend] = {}
        self._forms_lock = threading.Lock()
        self._loader = loader or self._load

    def names(self) -> list[str]:
        return list(self.entries)

    def entry(self, name: str | None) -> ModelEntry:
        if not self.entries:
            raise ModelLoadError(NO_MODEL_MESSAGE)
        if not name:
            # API callers (gradio_client) may leave the model out: use the default one.
            name = self.default
        if not name:
            raise ModelLoadError("Choose a model in the model picker.")
        try:
            return self.entries[name]
        except KeyError:
            raise ModelLoadError(f"Unknown model {name!r}: choose one of {', '.join(self.entries)}.") from None

    def _load(self, entry: ModelEntry) -> Backend:
        if entry.two_forms:
            # One per entry for the session: it remembers a switch from the GPU to the GGUF.
            with self._forms_lock:
                if entry.name not in self._forms:
                    self._forms[entry.name] = load_entry(entry, form=self._form, n_ctx=self._n_ctx,
                                                         n_threads=self._threads)
                return self._forms[entry.name]
        return load_entry(entry, n_ctx=self._n_ctx, n_threads=self._threads)

    def backend(self, name: str | None) -> Backend:
        """The backend for a picker name; ModelLoadError (a message for the page) if it cannot be had."""
        entry = self.entry(name)
        try:
            return self._loader(entry)
        except ModelLoadError:
            raise
        except Exception as exc:  # a backend constructor failing is a load failure to the user
            raise ModelLoadError(f"Could not load model {entry.name!r}: {type(exc).__name__}: {exc}") from exc

    def info(self, name: str | None) -> dict[str, Any]:
        """backend.info() plus where text goes; raises ModelLoadError like `backend`."""
        entry = self.entry(name)
        info = dict(self.backend(name).info())
        info["name"] = entry.name
        info["format"] = self.format_of(name)
        info.update(self.destination(name))
        return info

    def destination(self, name: str | None) -> dict[str, Any]:
        """Whether text sent to this model leaves the machine, and whether that is allowed."""
        entry = self.entry(name)
        if backend_kind(entry.spec) != "openai_api":
            return {"remote": False, "remote_allowed": False, "url": None}
        from radphi.backends.openai_api import normalize_base_url, parse_spec

        _, _, url = parse_spec(entry.spec)
        url = url or os.environ.get("OPENAI_BASE_URL") or ""
        try:
            url = normalize_base_url(url) if url else ""
        except ModelLoadError:
            pass
        remote = not is_loopback_url(url)
        return {"remote": remote, "remote_allowed": remote and entry.allow_remote, "url": url}

    def format_of(self, name: str | None) -> str:
        """The entry's prompt format, else the model's own (`backends.native_format`)."""
        try:
            return self.entry(name).format or native_format(self.backend(name))
        except ModelLoadError:
            return tasks.DEFAULT_FORMAT


def registry_from_settings(settings: UISettings, *, loader: Loader | None = None) -> ModelRegistry:
    """`--model` SPECs first (named by file stem), then the models file; the default is the
    first `--model`, else the models file's `demo` entry or its first, else the embedded
    demo model (or RADPHI_MODEL)."""
    entries: dict[str, ModelEntry] = {}
    for spec in settings.models:
        name = _unique(model_name(spec), entries)
        entries[name] = ModelEntry(name=name, spec=spec)
    file_entries: dict[str, ModelEntry] = {}
    if settings.models_file is not None:
        file_entries = load_models_file(settings.models_file)
        for name, entry in file_entries.items():
            unique = _unique(name, entries)
            entries[unique] = entry if unique == name else ModelEntry(**{**entry.__dict__, "name": unique})
    default: str | None = None
    if settings.models:
        default = next(iter(entries))
    elif file_entries:
        default = "demo" if "demo" in file_entries else next(iter(file_entries))
    else:
        spec = radphi_settings.default_model_spec()
        if spec:
            # The same name `radphi run` gives it, so a set holds one model under one name.
            name = model_name(spec)
            entries[name] = ModelEntry(name=name, spec=spec, description="default model")
            default = name
    return ModelRegistry(entries, default, loader=loader, n_ctx=settings.n_ctx,
                         threads=settings.threads, form=settings.form)


# -- the private workdir: who owns it, and removing those of apps that died -------------------

WORKDIR_PREFIX = "radphi-app-"
OWNER_FILE = "owner.pid"
NO_OWNER_MAX_AGE_S = 3600.0  # a workdir without OWNER_FILE (older radphi, or being made now)


def process_start(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/PID/stat, clock ticks since boot), so a
    reused pid is not taken for the owner; None where there is no /proc or no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        # The command name (field 2) may hold spaces and parentheses: count from the last ")".
        return raw[raw.rindex(")") + 2:].split()[19]
    except (OSError, ValueError, IndexError):
        return None


def write_owner(workdir: Path) -> None:
    """Record this process (pid and start time) as the workdir's owner."""
    from radphi.files import write_private_text

    pid = os.getpid()
    write_private_text(workdir / OWNER_FILE, f"{pid} {process_start(pid) or ''}".strip() + "\n")


def _read_owner(workdir: Path) -> tuple[int, str | None] | None:
    try:
        fd = os.open(workdir / OWNER_FILE, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with open(fd, encoding="ascii", errors="replace") as fh:
            parts = fh.read(200).split()
        return int(parts[0]), (parts[1] if len(parts) > 1 else None)
    except (OSError, ValueError, IndexError):
        return None


def _is_running(pid: int, start: str | None) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, as another user: the start time tells whether it is ours
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        if state[state.rindex(")") + 2:].split()[0] in ("Z", "X"):
            return False  # killed and not yet reaped: it will never clean up
    except (OSError, ValueError, IndexError):
        pass
    now = process_start(pid)
    # Without a start time on either side, a live pid is taken for the owner.
    return start is None or now is None or now == start


def _newest_mtime(path: Path, st: os.stat_result) -> float:
    newest = st.st_mtime
    with os.scandir(path) as entries:
        for entry in entries:
            try:
                newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
            except OSError:
                continue
    return newest


def remove_stale_workdirs(tmp: Path | None = None, *, now: float | None = None) -> list[Path]:
    """Remove the workdirs in TMP (default: the system's temp directory) of radphi apps
    that ended without cleaning up (kill -9, a crash); returns the removed paths.

    Only real directories named radphi-app-* that this user owns are looked at (never
    through a symlink). One is stale when its recorded owner is gone (no such pid, or the
    pid now belongs to a process started at another time); one without an owner record
    when nothing in it changed for NO_OWNER_MAX_AGE_S."""
    tmp = Path(tmp) if tmp is not None else Path(tempfile.gettempdir())
    now = time.time() if now is None else now
    uid = os.geteuid()
    removed: list[Path] = []
    with os.scandir(tmp) as entries:
        candidates = [e for e in entries if e.name.startswith(WORKDIR_PREFIX)]
    for entry in candidates:
        path = Path(entry.path)
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid:
                continue
            owner = _read_owner(path)
            if owner is not None:
                stale = not _is_running(*owner)
            else:
                stale = now - _newest_mtime(path, st) > NO_OWNER_MAX_AGE_S
        except OSError:
            continue
        if stale:
            shutil.rmtree(path, ignore_errors=True)  # rmtree does not follow symlinks inside
            if not os.path.lexists(path):
                removed.append(path)
    if removed:
        log.info("removed %d stale work director%s of ended radphi apps: %s", len(removed),
                 "y" if len(removed) == 1 else "ies", ", ".join(str(p) for p in removed))
    return removed


@dataclass
class AppContext:
    """Passed explicitly to every `build(ctx)` and handler."""

    settings: UISettings
    backends: ModelRegistry
    workdir: Path
    store: Any = None  # radphi.review.store.ReviewStore: the Reviewer and Dashboard tabs' storage
    generations: GenerationLog = field(default_factory=GenerationLog)  # answers "Send to review" may send

    def private_dir(self, prefix: str) -> Path:
        """A fresh owner-only directory inside the workdir (one per upload or batch run)."""
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.workdir))

    def close(self) -> None:
        """Remove the private directory and everything uploaded or written into it."""
        shutil.rmtree(self.workdir, ignore_errors=True)


def create_context(settings: UISettings, *, loader: Loader | None = None, store: Any = None) -> AppContext:
    """Build the registry and a private workdir; point gradio's upload cache into it.

    Raises InputError for a bad models file. Gradio reads GRADIO_TEMP_DIR when its
    components are created, so this must run before the app is built.
    """
    if settings.max_chars < 1:
        raise InputError(f"--max-chars must be at least 1, got {settings.max_chars}")
    registry = registry_from_settings(settings, loader=loader)
    if store is None:
        from radphi.review.store import ReviewStore

        try:
            store = ReviewStore(settings.reviews_db)
        except (OSError, sqlite3.Error) as exc:
            raise InputError(f"cannot open the review database {settings.reviews_db or 'in RADPHI_HOME'}: {exc}") \
                from None
    try:
        remove_stale_workdirs()
    except OSError as exc:  # tidying up after others must not stop this app from starting
        log.warning("could not look for stale work directories: %s", exc)
    workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))  # mkdtemp: mode 0700
    os.chmod(workdir, 0o700)
    write_owner(workdir)
    uploads = workdir / "gradio"
    uploads.mkdir(mode=0o700)
    os.environ["GRADIO_TEMP_DIR"] = str(uploads)
    log.info("private work directory %s (removed at exit)", workdir)
    return AppContext(settings=settings, backends=registry, workdir=workdir, store=store)
