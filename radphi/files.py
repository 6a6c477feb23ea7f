"""Owner-only files and directories, for everything that holds report text.

Why: the usual umask (022) makes a new file 0644 and a new directory 0755, so every
user on the machine can read them. radphi's outputs (predictions, checker flags,
scores, eval reports, exports, training data, the review audit log) carry report
text, which is patient data. Whatever writes such a file goes through here, so one
place gets the mode right.

- `write_private_text`: a whole file, atomically (a 0600
  temporary file in the same directory, then os.replace), so a reader never sees half
  a file and an existing file with a wider mode is replaced, not reused.
- `atomic_private_file`: the same as a context manager, for writers that stream
  (JSONL, pandas' to_csv).
- `open_private`: a file object for appending or writing in place ("w", "a", "x",
  with "b" or "+"): created 0600, and set to 0600 when it already existed.
- `private_dir`: a directory created 0700 (tightened when it exists and is ours).

Model weights and GGUF files hold no report text and are written the ordinary way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
_OTHERS = stat.S_IRWXG | stat.S_IRWXO
_warned: set[Path] = set()  # another user's directories, warned about once per process


def _flags(mode: str) -> int:
    kind = mode.replace("b", "").replace("t", "").replace("+", "")
    base = {"w": os.O_CREAT, "a": os.O_CREAT | os.O_APPEND, "x": os.O_CREAT | os.O_EXCL}.get(kind)
    if base is None:
        raise ValueError(f"open_private writes files; mode {mode!r} is not w, a or x")
    return base | (os.O_RDWR if "+" in mode else os.O_WRONLY) | getattr(os, "O_CLOEXEC", 0)


def open_private(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """`open(path, mode, **kwargs)` for writing, the file owner-only (0600).

    The mode is set before "w" truncates, so a file we cannot make private (one of
    another user's) raises PermissionError with its contents untouched."""
    fd = os.open(path, _flags(mode), FILE_MODE)
    try:
        # An existing file keeps its mode through os.open: tighten it.
        if stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
        if mode.startswith("w"):
            os.ftruncate(fd, 0)
        return open(fd, mode.replace("x", "w"), **kwargs)
    except BaseException:
        os.close(fd)
        raise


def _target(path: str | os.PathLike) -> Path:
    # Writing through a symlink the user made (out.jsonl -> elsewhere) replaces its
    # target, not the link.
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


@contextlib.contextmanager
def atomic_private_file(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """A file object whose contents become PATH (0600) when the block ends without error.

    It writes a temporary file beside PATH and renames it over PATH; on an error the
    temporary file is removed and PATH is left as it was."""
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"atomic_private_file writes whole files; mode {mode!r} is not w or wb")
    target = _target(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")  # mkstemp: 0600
    try:
        with open(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_private_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write TEXT to PATH atomically, owner-only (0600); returns PATH."""
    with atomic_private_file(path, "w", encoding=encoding) as fh:
        fh.write(text)
    return Path(path)


def private_dir(path: str | os.PathLike, *, parents: bool = True) -> Path:
    """PATH as an owner-only (0700) directory: created so, or tightened (with a warning)
    when it exists, is ours and others can get in. Parents are created as usual."""
    path = Path(path)
    if parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=DIR_MODE)
    except FileExistsError:
        tighten_dir(path)
        return path
    os.chmod(path, DIR_MODE)  # umask only removes bits, but a setgid parent or ACL can add them
    return path


def tighten_dir(path: str | os.PathLike) -> bool:
    """Set an existing directory of ours that group or others can reach to 0700 (with a
    warning); True if it was changed. Another user's directory is only warned about."""
    path = Path(path)
    st = path.stat()
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(f"{path} is not a directory")
    if not st.st_mode & _OTHERS:
        return False
    if st.st_uid != os.geteuid():
        if path in _warned:
            return False
        _warned.add(path)
        log.warning("%s can be read by other users and is not ours to tighten (mode %o)", path,
                    stat.S_IMODE(st.st_mode))
        return False
    log.warning("%s could be read by other users (mode %o); set it to 700", path, stat.S_IMODE(st.st_mode))
    os.chmod(path, DIR_MODE)
    return True
