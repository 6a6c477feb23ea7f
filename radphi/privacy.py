"""Where report text may go: the one rule for sending it off this machine.

Toward a loopback server (localhost, 127.0.0.0/8, ::1) a request goes as it is.
Toward any other host (private ranges and plain hostnames included: we cannot
tell who runs them) report text is sent only when the user opted in, with
`--allow-remote` or `RADPHI_ALLOW_REMOTE=1`, and then only after every input
field went through the de-identification scrubber (`radphi.deid`, the code behind
`radphi scrub`). Without the opt-in, `RemoteNotAllowed` is raised before anything
leaves the process; if the scrubber cannot run (a library missing), nothing is sent.

    >>> is_loopback_url("http://127.0.0.1:8080/v1"), is_loopback_url("https://api.openai.com/v1")
    (True, False)
"""

from __future__ import annotations

import ipaddress
import logging
import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from radphi.errors import RemoteNotAllowed

if TYPE_CHECKING:
    from radphi.backends.base import Request

log = logging.getLogger(__name__)

ALLOW_REMOTE_ENV = "RADPHI_ALLOW_REMOTE"
_TRUE = {"1", "true", "yes", "on"}


def is_loopback_host(host: str) -> bool:
    """True when HOST (a host name or address, a bind address too) is this machine only:
    localhost, 127.0.0.0/8 or ::1 (brackets, an IPv6 zone and an IPv4-mapped form allowed).

    Anything else is remote, private ranges and other host names included.
    """
    host = (host or "").strip().strip("[]").rstrip(".").lower()
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        addr = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


def is_loopback_url(url: str) -> bool:
    """True when URL's host is this machine (`is_loopback_host`). A URL without a scheme
    ("127.0.0.1:8080/v1") is read as if it had one."""
    if not url:
        return False
    try:
        host = urlsplit(url if "://" in url else "//" + url).hostname
    except ValueError:
        return False
    return is_loopback_host(host or "")


def remote_allowed_from_env() -> bool:
    """Whether `RADPHI_ALLOW_REMOTE` opts in (1, true, yes, on)."""
    return os.environ.get(ALLOW_REMOTE_ENV, "").strip().lower() in _TRUE


def resolve_allow_remote(allow_remote: bool | None) -> bool:
    """An explicit choice (the CLI flag) wins; None falls back to the environment."""
    return remote_allowed_from_env() if allow_remote is None else bool(allow_remote)


def not_allowed_message(url: str) -> str:
    return (
        f"refusing to send report text to {url}: it is not a server on this machine. "
        f"To send it anyway, PHI-scrubbed (names, dates, times, ages over 89, phone numbers, e-mail, "
        f"URLs, IPs, record, accession and device numbers and addresses replaced by typed placeholders "
        f"such as [NAME]; check what is left with `radphi scrub`), pass --allow-remote or set "
        f"{ALLOW_REMOTE_ENV}=1. "
        f"Never do so with MIMIC-CXR reports: its data-use agreement forbids sending its "
        f"text to third parties, such as a hosted API."
    )


def prepare_for_remote(request: "Request", url: str, allow_remote: bool | None) -> "Request":
    """The request as it may leave the process toward URL.

    Loopback: unchanged. Remote without opt-in: RemoteNotAllowed. Remote with
    opt-in: every input field PHI-scrubbed and the prompt re-rendered from them.
    `allow_remote=None` reads the opt-in from the environment.
    """
    if is_loopback_url(url):
        return request
    if not resolve_allow_remote(allow_remote):
        raise RemoteNotAllowed(not_allowed_message(url))
    from collections import Counter

    from radphi.deid import scrub

    scrubbed: dict[str, str] = {}
    counts: Counter = Counter()
    for name, value in request.fields.items():
        result = scrub(value)
        scrubbed[name] = result.text
        counts.update(result.counts)
    # Kinds and counts only: the identifiers themselves never reach a log.
    log.warning(
        "sending %s input to remote server %s: %d PHI span(s) scrubbed%s",
        request.task, url, sum(counts.values()),
        " (" + ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())) + ")" if counts else "",
    )
    return request.with_fields(scrubbed)
