"""Sign-in attempts: growing delays and a lockout, per user and per client address, with an
audit entry for each attempt.

    guard = LoginGuard(auth.authenticator(users), store=ctx.store, known=set(users))
    demo.launch(auth=guard, app_kwargs=guard.app_kwargs())

gradio hands its `auth` callable only the user name and password, so the client address
reaches it through a small ASGI middleware (`ClientAddressMiddleware`) that gradio's app
is built with; it is the TCP peer's address (a proxy's X-Forwarded-For is not trusted,
since any client can write it). Behind a TLS proxy every client shares the proxy's
address, so the per-user limits are the ones that bind.

The policy, per key (a known user name; every unknown name shares one key, so typing
random names cannot grow the table; and the client address):
- the first `free_failures` failures cost nothing;
- after that, each attempt must wait `base_delay_s` doubled per further failure (at most
  `max_delay_s`) after the last failure; an attempt made sooner is refused unchecked,
  even with the right password;
- `lockout_after` failures of a user (`lockout_after_address` of an address) lock the key
  for `lockout_s`: every attempt is refused, the right password too;
- a success clears the user's and the address's failures; failures older than
  `forget_after_s` are forgotten.

State is in memory, so a restart clears it; the audit log in the review store keeps every
attempt ("login", "login_refused", "login_throttled", "login_locked", "login_lockout").
Hand-written because no maintained library limits gradio's callable-based sign-in (the
web-framework limiters work on routes, and gradio's login route is its own).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger(__name__)

UNKNOWN_USER = "(unknown)"
NO_ADDRESS = "(no address)"

# The current request's client address, set by ClientAddressMiddleware. Starlette runs a sync
# route in a worker thread with a copy of this context, so gradio's login handler sees it.
client_address: contextvars.ContextVar[str] = contextvars.ContextVar("radphi_client_address", default=NO_ADDRESS)


class ClientAddressMiddleware:
    """Pure ASGI middleware: puts each HTTP request's peer address in `client_address`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") in ("http", "websocket"):
            peer = scope.get("client")
            token = client_address.set(str(peer[0]) if peer else NO_ADDRESS)
            try:
                await self.app(scope, receive, send)
            finally:
                client_address.reset(token)
        else:
            await self.app(scope, receive, send)


@dataclass(frozen=True)
class Policy:
    free_failures: int = 3
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    lockout_after: int = 10
    lockout_after_address: int = 30
    lockout_s: float = 900.0
    forget_after_s: float = 3600.0

    def delay(self, failures: int) -> float:
        """Seconds an attempt must wait after the last of `failures` failures."""
        if failures < self.free_failures:
            return 0.0
        return min(self.max_delay_s, self.base_delay_s * 2 ** (failures - self.free_failures))


@dataclass
class _Record:
    failures: int = 0
    last_failure: float = 0.0
    locked_until: float = 0.0


@dataclass
class LoginGuard:
    """gradio's `auth` callable: `check(user, password) -> bool` behind the limits above."""

    check: Callable[[str, str], bool]
    store: Any = None  # radphi.review.store.ReviewStore: where each attempt is audited
    known: set[str] = field(default_factory=set)
    policy: Policy = field(default_factory=Policy)
    clock: Callable[[], float] = time.monotonic
    _records: dict[tuple[str, str], _Record] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def app_kwargs(self) -> dict[str, Any]:
        """What `demo.launch(app_kwargs=...)` needs so the guard sees client addresses."""
        from starlette.middleware import Middleware

        return {"middleware": [Middleware(ClientAddressMiddleware)]}

    def __call__(self, user: str, password: str) -> bool:
        user = (user or "").strip()
        who = user if user in self.known else UNKNOWN_USER
        address = client_address.get()
        keys = [("user", who), ("address", address)]
        now = self.clock()
        with self._lock:
            self._forget(now)
            refusal = self._refusal(keys, now)
        if refusal is not None:
            action, key, wait = refusal
            log.warning("login %s for user %s from %s (%s %s, %.0f s left)", "locked out" if action == "login_locked"
                        else "refused as too soon", who, address, key[0], key[1], wait)
            self._audit(action, who, False, {"address": address, "limit": key[0], "seconds_left": round(wait, 1)})
            return False
        ok = bool(self.check(user, password)) and user in self.known
        with self._lock:
            now = self.clock()
            locked = [] if ok else self._fail(keys, now)
            if ok:
                for key in keys:
                    self._records.pop(key, None)
        log.info("login %s for user %s from %s", "accepted" if ok else "refused", who, address)
        self._audit("login" if ok else "login_refused", who, ok, {"address": address})
        for key in locked:
            log.warning("%s %s locked out for %.0f s after repeated failed logins", key[0], key[1], self.policy.lockout_s)
            self._audit("login_lockout", who, False, {"address": address, "limit": key[0],
                                                       "seconds": self.policy.lockout_s})
        return ok

    def _refusal(self, keys: list[tuple[str, str]], now: float) -> tuple[str, tuple[str, str], float] | None:
        for key in keys:
            rec = self._records.get(key)
            if rec is None:
                continue
            if rec.locked_until > now:
                return "login_locked", key, rec.locked_until - now
            ready = rec.last_failure + self.policy.delay(rec.failures)
            if ready > now:
                return "login_throttled", key, ready - now
        return None

    def _fail(self, keys: list[tuple[str, str]], now: float) -> list[tuple[str, str]]:
        """Count a failure on each key; the keys this failure locks."""
        locked = []
        for key in keys:
            rec = self._records.setdefault(key, _Record())
            rec.failures += 1
            rec.last_failure = now
            limit = self.policy.lockout_after if key[0] == "user" else self.policy.lockout_after_address
            if rec.failures >= limit and rec.locked_until <= now:
                rec.locked_until = now + self.policy.lockout_s
                locked.append(key)
        return locked

    def _forget(self, now: float) -> None:
        stale = [k for k, r in self._records.items()
                 if r.locked_until <= now and now - r.last_failure > self.policy.forget_after_s]
        for k in stale:
            del self._records[k]

    def _audit(self, action: str, who: str, ok: bool, detail: dict[str, Any]) -> None:
        if self.store is None:
            return
        try:
            self.store.log_event(action, who, ok, detail=detail)
        except Exception as exc:  # the audit log failing must not lock everyone out
            log.warning("could not record the login in the audit log: %s", type(exc).__name__)
