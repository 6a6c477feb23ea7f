"""Sign-in limits (radphi.ui.logins): growing delays and a lockout per user and per client
address, every attempt in the audit log, and the same through the real app's /login."""

from __future__ import annotations

import httpx
import pytest

from tests.localhost import free_port
from radphi.review import ReviewStore
from radphi.ui import auth
from radphi.ui.logins import UNKNOWN_USER, LoginGuard, Policy, client_address

PASSWORD = "correct horse"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def users() -> dict[str, str]:
    # A cheap scrypt keeps 40 checks fast; the real cost is tested in test_ui_handlers.
    return {name: auth.hash_password(PASSWORD, n=2**4) for name in ("alice", "bob")}


def guard(users, store=None, **policy) -> tuple[LoginGuard, Clock]:
    clock = Clock()
    return LoginGuard(auth.authenticator(users), store=store, known=set(users), policy=Policy(**policy),
                      clock=clock), clock


def test_forty_quick_wrong_passwords_then_the_right_one_is_refused(users):
    """The attack that was reproduced: 40 wrong passwords in 4 s, then the right one."""
    g, clock = guard(users)
    for _ in range(40):
        assert not g("alice", "wrong password")
        clock.t += 0.1
    assert not g("alice", PASSWORD)


def test_the_41st_attempt_is_refused_even_when_every_attempt_waited_its_delay(users):
    g, clock = guard(users)
    checked = 0
    for _ in range(40):
        clock.t += 61  # longer than any delay: only the lockout can refuse
        g("alice", "wrong password")
        checked += 1
    clock.t += 61
    assert not g("alice", PASSWORD)  # locked out after 10 failures, for 15 minutes
    clock.t += 900
    assert g("alice", PASSWORD)  # the lock ends; a success clears the count
    assert g("alice", PASSWORD)


def test_delays_grow_after_the_free_failures(users):
    g, clock = guard(users, free_failures=2, base_delay_s=1.0)
    assert not g("alice", "x") and not g("alice", "y")  # two free failures, no wait
    assert g.policy.delay(2) == 1.0 and g.policy.delay(3) == 2.0 and g.policy.delay(4) == 4.0
    assert not g("alice", PASSWORD)  # too soon after the 2nd failure: refused unchecked
    clock.t += 1.01
    assert not g("alice", "z")  # checked (3rd failure); now 2 s
    clock.t += 1.5
    assert not g("alice", PASSWORD)
    clock.t += 0.6
    assert g("alice", PASSWORD)
    assert Policy(max_delay_s=60).delay(50) == 60


def test_one_address_trying_many_users_is_locked_without_locking_the_users_elsewhere(users):
    g, clock = guard(users, lockout_after=100, lockout_after_address=30)
    token = client_address.set("10.0.0.9")
    try:
        for i in range(30):
            clock.t += 61
            g("alice" if i % 2 else "bob", "wrong")
        clock.t += 61
        assert not g("bob", PASSWORD)  # the address is locked
    finally:
        client_address.reset(token)
    token = client_address.set("10.0.0.7")
    try:
        clock.t += 61
        assert g("bob", PASSWORD)  # from another machine the user still gets in
    finally:
        client_address.reset(token)


def test_unknown_names_share_one_key_so_the_table_cannot_grow(users):
    g, clock = guard(users)
    for i in range(500):
        clock.t += 61
        assert not g(f"name{i}", PASSWORD)
    assert {k for k in g._records} <= {("user", UNKNOWN_USER), ("address", "(no address)")}
    clock.t += 61
    assert not g("alice", PASSWORD)  # the address tried 500 times: locked for everyone on it


def test_every_attempt_is_audited_with_its_outcome(users):
    store = ReviewStore()
    g, clock = guard(users, store=store, free_failures=1, lockout_after=3)
    g("alice", "wrong")                 # login_refused
    g("alice", PASSWORD)                # login_throttled (too soon)
    clock.t += 5
    g("alice", "wrong")                 # login_refused
    clock.t += 5
    g("alice", "wrong")                 # login_refused + login_lockout
    clock.t += 5
    g("alice", PASSWORD)                # login_locked
    g("mallory", "anything")            # login_refused as (unknown)
    actions = [(e["action"], e["actor"]) for e in reversed(store.audit_log())]
    assert actions == [("login_refused", "alice"), ("login_throttled", "alice"), ("login_refused", "alice"),
                       ("login_refused", "alice"), ("login_lockout", "alice"), ("login_locked", "alice"),
                       ("login_refused", UNKNOWN_USER)]  # the address's 4 s wait after 3 failures is over
    assert all(PASSWORD not in str(e["detail"]) for e in store.audit_log())


def test_a_failing_audit_log_does_not_lock_everyone_out(users):
    class Broken:
        def log_event(self, *a, **k):
            raise OSError("disk full")

    g, _ = guard(users, store=Broken())
    assert g("alice", PASSWORD)


def test_the_real_login_route_is_limited_and_sees_the_client_address(tmp_path, monkeypatch):
    from tests.test_app_server import start_app
    from radphi.ui.context import UISettings

    monkeypatch.setenv("RADPHI_HOME", str(tmp_path / "home"))
    users = tmp_path / "users.txt"
    auth.add_user(users, "alice", PASSWORD)
    settings = UISettings(port=free_port(), models=["fake:ok"], auth_file=users)
    demo, ctx, url = start_app(settings, monkeypatch)
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            def login(password: str) -> int:
                return http.post("login", data={"username": "alice", "password": password}).status_code

            assert login(PASSWORD) == 200
            codes = [login("wrong password") for _ in range(40)]
            assert all(c != 200 for c in codes)
            assert login(PASSWORD) != 200  # the 41st, with the right password
        events = ctx.store.audit_log()
        assert {e["detail"].get("address") for e in events if e["action"].startswith("login")} == {"127.0.0.1"}
        assert sum(e["action"] == "login_refused" for e in events) >= 3
        assert any(e["action"] in ("login_locked", "login_throttled") for e in events)
    finally:
        demo.close()
        ctx.close()
