"""File hashes for `model_info`, cached by path, size and mtime.

A Phi-2 GGUF is 1.7 GB and would cost seconds to hash on every run; the cache in
$RADPHI_HOME/cache/hashes.json keeps a hash until the file changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path

from radphi.settings import radphi_home

log = logging.getLogger(__name__)
_lock = threading.Lock()
_seen: dict[str, str] = {}  # this process's answers, before the cache file is read again


def _cache_path() -> Path:
    return radphi_home() / "cache" / "hashes.json"


def file_sha256(path: str | os.PathLike) -> str:
    """`sha256:<hex>` of a file's bytes, computed once per (path, size, mtime)."""
    path = Path(path).resolve()
    st = path.stat()
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    with _lock:
        if key in _seen:  # asked again in this process (every answer's record names its model's hash)
            return _seen[key]
        cache_file = _cache_path()
        try:
            cache = json.loads(cache_file.read_text())
        except (OSError, ValueError):
            cache = {}
        if key in cache:
            _seen[key] = cache[key]
            return cache[key]
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        digest = "sha256:" + h.hexdigest()
        cache[key] = _seen[key] = digest
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(cache))
            tmp.replace(cache_file)
        except OSError as exc:  # a read-only home only costs a re-hash next time
            log.debug("could not write hash cache: %s", exc)
        return digest


# The GGUF metadata key where `radphi export-gguf` records `checkpoint_sha256` of its source.
GGUF_SOURCE_KEY = "radphi.source_checkpoint_sha256"
# The files that carry a checkpoint's weights (save_pretrained and peft's save_pretrained).
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def checkpoint_sha256(model_dir: str | os.PathLike, adapter: str | os.PathLike | None = None) -> str:
    """`sha256:<hex>` of a checkpoint's weights: every weight file of MODEL_DIR (and of the
    peft ADAPTER directory), by relative name and content hash (`file_sha256`, cached).

    `radphi export-gguf` writes it into the GGUF (`radphi.source_checkpoint_sha256`), so
    the app can tell that a model's GPU and GGUF forms come from the same checkpoint. It
    hashes content, not names, sizes and times: a copy of the same checkpoint matches."""
    h = hashlib.sha256()
    for label, folder in (("model", model_dir), ("adapter", adapter)):
        if folder is None:
            continue
        root = Path(folder).expanduser()
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
        if not files:
            raise FileNotFoundError(f"no weight files ({', '.join(WEIGHT_SUFFIXES)}) in {root}")
        for p in files:
            h.update(f"{label}/{p.relative_to(root).as_posix()}\0{file_sha256(p)}\n".encode("utf-8"))
    return "sha256:" + h.hexdigest()
