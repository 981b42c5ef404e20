"""Lockout that holds under concurrency, and answers that reveal nothing, on SQLite and
MariaDB: attempts on one address are taken one at a time, the fifth failure locks, an
unknown address locks like a known one, and every answer costs one bcrypt check."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from conftest import PASSWORD, Cli, sql
from sqlmodel import Session

from cms_cli.auth import service
from cms_cli.core import db as core_db
from cms_cli.core.errors import CmsError

WRONG = "wrong-password-1"


def _attempt(db_url: str, email: str, password: str, barrier: threading.Barrier) -> str:
    """One login in its own transaction, as a separate process would make it."""
    config_url = db_url
    barrier.wait()
    try:
        with Session(core_db.engine_for(config_url), expire_on_commit=False) as session:
            try:
                service.login(session, email, password, hours=1, rounds=6)
                session.commit()
                return "ok"
            except CmsError as exc:
                if exc.keep_changes:
                    session.commit()
                else:
                    session.rollback()
                return exc.message
    except Exception as exc:  # a lock error, a deadlock: what the issue saw
        return f"crash: {type(exc).__name__}: {exc}"


def _storm(db_url: str, email: str, password: str, count: int = 20) -> Counter[str]:
    barrier = threading.Barrier(count)
    results: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        outcome = _attempt(db_url, email, password, barrier)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return Counter("locked" if "locked until" in r else r for r in results)


@pytest.mark.parametrize("email", ["dean@uni.edu", "nobody@uni.edu"], ids=["known", "unknown"])
def test_twenty_simultaneous_wrong_logins_evaluate_exactly_five(
    cli: Cli, db_url: str, email: str
) -> None:
    cli.bootstrap(strict=True)
    outcomes = _storm(db_url, email, WRONG)
    assert outcomes == Counter({service.BAD_CREDENTIALS: 5, "locked": 15}), outcomes
    # the right password does not get in while the address is locked
    late = cli("auth", "login", "--email", email, "--password-stdin", input=PASSWORD + "\n")
    assert late.exit_code == 4
    assert "locked until" in late.stderr


def test_the_right_password_among_a_storm_never_follows_five_failures(
    cli: Cli, db_url: str
) -> None:
    cli.bootstrap(strict=True)
    for _ in range(4):
        assert cli("auth", "login", "--email", "dean@uni.edu", "--password-stdin",
                   input=WRONG + "\n").exit_code == 4  # fmt: skip
    outcomes = _storm(db_url, "dean@uni.edu", WRONG, count=6)
    assert outcomes == Counter({service.BAD_CREDENTIALS: 1, "locked": 5}), outcomes


def test_unknown_and_known_addresses_get_the_same_answers(cli: Cli) -> None:
    cli.bootstrap(strict=True)
    cli.login("dean@uni.edu")
    cli.add_user("gone@uni.edu", "facilitator")
    cli.ok("user", "deactivate", "gone@uni.edu", "--yes")
    answers = {}
    for email in ("dean@uni.edu", "nobody@uni.edu", "gone@uni.edu"):
        runs = [
            cli("auth", "login", "--email", email, "--password-stdin", input=WRONG + "\n")
            for _ in range(6)
        ]
        assert {r.exit_code for r in runs} == {4}
        answers[email] = [r.stderr.split(" until ")[0] for r in runs]
    assert answers["dean@uni.edu"] == answers["nobody@uni.edu"] == answers["gone@uni.edu"]
    assert answers["dean@uni.edu"][0] == f"error: {service.BAD_CREDENTIALS}\n"
    assert "locked" in answers["dean@uni.edu"][5]


def test_a_deactivated_account_is_named_only_to_its_right_password(cli: Cli) -> None:
    cli.bootstrap(strict=True)
    cli.login("dean@uni.edu")
    cli.add_user("gone@uni.edu", "facilitator")
    cli.ok("user", "deactivate", "gone@uni.edu", "--yes")
    wrong = cli("auth", "login", "--email", "gone@uni.edu", "--password-stdin", input=WRONG + "\n")
    assert service.BAD_CREDENTIALS in wrong.stderr
    right = cli("auth", "login", "--email", "gone@uni.edu", "--password-stdin",
                input=PASSWORD + "\n")  # fmt: skip
    assert right.exit_code == 4
    assert "deactivated" in right.stderr


@pytest.mark.parametrize("rounds", [4, 6])
def test_the_dummy_hash_costs_what_real_hashes_cost(rounds: int) -> None:
    """An unknown e-mail is checked against a hash of the configured cost."""
    import bcrypt

    assert not service.verify_password("x", None, rounds=rounds)
    dummy = service._dummy_hash(rounds)
    assert dummy.startswith(f"$2b${rounds:02d}$".encode())
    # well-formed: bcrypt hashes with its salt at that cost
    assert bcrypt.hashpw(b"x", dummy[:29]).startswith(dummy[:29])


def test_a_session_minted_under_a_moved_clock_is_useless_under_the_real_one(cli: Cli) -> None:
    cli.bootstrap(strict=True)
    future = (datetime.now(UTC) + timedelta(days=365 * 70)).isoformat()
    cli.login("dean@uni.edu", env={"CMS_NOW": future})
    assert cli("auth", "status", env={"CMS_NOW": future}).exit_code == 0
    now = cli("auth", "status")
    assert now.exit_code == 4
    assert "issued in the future" in now.stderr
    assert "hint: run cms auth login" in now.stderr


@pytest.mark.local_only("the server also counts failures by network address: one more throttle row")
def test_sweeps_forget_old_failures_of_unknown_addresses(cli: Cli, db_url: str) -> None:
    cli.bootstrap(strict=True)
    cli("auth", "login", "--email", "nobody@uni.edu", "--password-stdin", input=WRONG + "\n")
    count = "SELECT COUNT(*) FROM login_throttle"
    assert sql(db_url, count) == 1
    later = (datetime.now(UTC) + timedelta(minutes=16)).isoformat()
    cli.ok("notify", "sweep", env={"CMS_NOW": later})
    assert sql(db_url, count) == 0


def test_a_password_over_72_bytes_is_a_wrong_password_like_any_other(
    cli: Cli, people: dict[str, str]
) -> None:
    """bcrypt reads 72 bytes: a longer password (never a stored one) answers as a wrong
    one for a known and an unknown e-mail alike, and counts toward the lock."""
    long = "é" * 40  # 80 bytes
    for email in ("ana@uni.edu", "nobody@uni.edu"):
        for _ in range(5):
            run = cli("auth", "login", "--email", email, "--password-stdin", input=long + "\n")
            assert (run.exit_code, run.stderr) == (4, "error: wrong e-mail or password\n")
        locked = cli("auth", "login", "--email", email, "--password-stdin", input=PASSWORD + "\n")
        assert locked.exit_code == 4
        assert "locked until" in locked.stderr


def test_a_login_rehashes_at_the_configured_cost(cli: Cli, people: dict[str, str]) -> None:
    """Raising the cost makes every account follow at its next login (otherwise old
    accounts would answer at another speed than new ones)."""
    url = cli.env["CMS_DATABASE_URL"]
    cost = "SELECT password_hash FROM app_user WHERE email = 'ana@uni.edu'"
    assert sql(url, cost).startswith("$2b$04$")
    cli.login("ana@uni.edu", env={"CMS_BCRYPT_ROUNDS": "5"})
    core_db.dispose_all()
    assert sql(url, cost).startswith("$2b$05$")
    cli.login("ana@uni.edu")  # and back: the same password still opens it


def test_a_deadlock_on_a_throttle_row_is_run_again_never_answered(
    cli: Cli, people: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """MySQL picks a failed login's throttle update as a deadlock victim: the bookkeeping
    is run again and the caller gets the answer of any wrong password, counted once
    (`auth login` and `auth passwd` alike)."""
    import sqlalchemy as sa

    real = service._throttle
    calls: list[str] = []

    class Deadlock(Exception):
        args = (1213, "Deadlock found when trying to get lock")

    def victim_first(session: Session, address: str, now: datetime) -> object:
        calls.append(address)
        if len(calls) == 1:
            raise sa.exc.OperationalError("INSERT ...", {}, Deadlock())
        return real(session, address, now)

    monkeypatch.setattr(service, "_throttle", victim_first)
    url = cli.env["CMS_DATABASE_URL"]
    counted = "SELECT COUNT(*) FROM login_throttle WHERE failures = 1"
    others = "SELECT COUNT(*) FROM login_throttle WHERE failures <> 1"
    run = cli("auth", "login", "--email", "ben@uni.edu", "--password-stdin", input=WRONG + "\n")
    assert (run.exit_code, run.stderr) == (4, "error: wrong e-mail or password\n")
    assert calls[0] == calls[1]  # the account's row, again
    assert sql(url, counted) == len(calls) - 1  # the account (and through a server, its source)
    assert sql(url, others) == 0

    calls.clear()
    sql(url, "DELETE FROM login_throttle")
    both = f"{WRONG}\nnew-password-42\n"
    run = cli("auth", "passwd", "--password-stdin", input=both)
    assert (run.exit_code, run.stderr) == (4, "error: the current password is wrong\n")
    assert calls == [calls[0], calls[0]]
    assert (sql(url, counted), sql(url, others)) == (1, 0)
