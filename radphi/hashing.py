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


def _cache_path() -> Path:
    return radphi_home() / "cache" / "hashes.json"


def file_sha256(path: str | os.PathLike) -> str:
    """`sha256:<hex>` of a file's bytes, computed once per (path, size, mtime)."""
    path = Path(path).resolve()
    st = path.stat()
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    with _lock:
        cache_file = _cache_path()
        try:
            cache = json.loads(cache_file.read_text())
        except (OSError, ValueError):
            cache = {}
        if key in cache:
            return cache[key]
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        digest = "sha256:" + h.hexdigest()
        cache[key] = digest
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(cache))
            tmp.replace(cache_file)
        except OSError as exc:  # a read-only home only costs a re-hash next time
            log.debug("could not write hash cache: %s", exc)
        return digest
