"""Users for `--auth FILE`: one `user:scrypt$N$r$p$salt$hash` line each (salted scrypt).

    python -m radphi.ui.auth add alice --file users.txt      # asks for the password twice
    echo "$PW" | python -m radphi.ui.auth add alice --file users.txt --password-stdin

The file is created owner-only (0600); the server refuses a file others can read.
Passwords are compared in constant time.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import hmac
import logging
import secrets
import stat
import sys
from pathlib import Path
from typing import Callable

from radphi.errors import InputError
from radphi.files import write_private_text

log = logging.getLogger(__name__)

# scrypt cost: 2**14 x 8 takes about 50 ms and 16 MB, per the Python docs' guidance for
# interactive logins.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_USER_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None, n: int = SCRYPT_N, r: int = SCRYPT_R,
                  p: int = SCRYPT_P) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def check_username(user: str) -> str:
    if not user or not set(user) <= _USER_OK:
        raise InputError("a user name is letters, digits and . _ @ - only")
    return user


def load_users(path: str | Path) -> dict[str, str]:
    """{user: encoded hash}; InputError for a missing, unreadable, shared or empty file."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"auth file not found: {path}. Create it with: python -m radphi.ui.auth add USER "
                         f"--file {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read auth file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(f"auth file {path} can be read by other users; run: chmod 600 {path}")
    users: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, encoded = line.partition(":")
        if not sep or not encoded.startswith("scrypt$"):
            raise InputError(f"{path}:{lineno}: expected USER:scrypt$..., as written by python -m radphi.ui.auth add")
        users[user] = encoded
    if not users:
        raise InputError(f"auth file {path} has no users; add one with: "
                         f"python -m radphi.ui.auth add USER --file {path}")
    return users


def authenticator(users: dict[str, str]) -> Callable[[str, str], bool]:
    """The callable gradio's `launch(auth=...)` takes."""
    dummy = hash_password("not a password")

    def check(user: str, password: str) -> bool:
        # An unknown user costs the same scrypt as a known one: no user enumeration by timing.
        ok = verify_password(password or "", users.get(user or "", dummy))
        # Logged and audited by radphi.ui.logins.LoginGuard, which wraps this check.
        return ok and (user in users)

    return check


def add_user(path: str | Path, user: str, password: str) -> None:
    """Add or replace a user; the file is written owner-only."""
    check_username(user)
    if len(password) < 8:
        raise InputError("use a password of at least 8 characters")
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    lines = [ln for ln in lines if ln.partition(":")[0].strip() != user]
    lines.append(f"{user}:{hash_password(password)}")
    write_private_text(path, "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m radphi.ui.auth", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("add", help="add or replace a user")
    p.add_argument("user")
    p.add_argument("--file", required=True, type=Path)
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    args = parser.parse_args(argv)
    try:
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass(f"password for {args.user}: ")
            if getpass.getpass("again: ") != password:
                raise InputError("the passwords differ")
        add_user(args.file, args.user, password)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.file}: user {args.user} saved", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
