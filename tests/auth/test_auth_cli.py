"""cms auth through the CLI, on SQLite and MariaDB."""

from __future__ import annotations

import hashlib
import stat
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from conftest import PASSWORD, Cli, RunResult

from cms_cli.core import db as core_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(delta: timedelta = timedelta()) -> dict[str, str]:
    return {"CMS_NOW": (T0 + delta).isoformat()}


def bootstrap(
    cli: Cli,
    email: str = "dean@uni.edu",
    password: str = PASSWORD,
    env: dict[str, str] | None = None,
) -> RunResult:
    return cli.bootstrap(email, password, env=env)


def login(
    cli: Cli, email: str, password: str = PASSWORD, env: dict[str, str] | None = None
) -> RunResult:
    return cli(
        "auth", "login", "--email", email, "--password-stdin", input=password + "\n", env=env
    )


# -- bootstrap ------------------------------------------------------------------------


def test_bootstrap_creates_the_first_manager_only(cli: Cli) -> None:
    first = bootstrap(cli)
    assert first.exit_code == 0, first
    assert "dean@uni.edu" in first.stdout
    second = bootstrap(cli, "other@uni.edu")
    assert second.exit_code == 6
    assert second.stderr.startswith("error: accounts exist already")
    assert "hint: " in second.stderr
    login(cli, "dean@uni.edu")
    status = cli.ok("auth", "status", "--json").json()
    assert status["role"] == "manager"


def test_bootstrap_rejects_bad_input_and_leaves_nothing(cli: Cli) -> None:
    assert bootstrap(cli, "not-an-email").exit_code == 1
    short = bootstrap(cli, password="short")
    assert short.exit_code == 1
    assert "at least 8 characters" in short.stderr
    same = bootstrap(cli, "longname@uni.edu", password="longname@uni.edu")
    assert same.exit_code == 1
    assert "e-mail" in same.stderr
    # Nothing was created by the failures: a good bootstrap still works.
    assert bootstrap(cli).exit_code == 0


def test_bootstrap_without_password_off_a_tty_is_a_usage_error(cli: Cli) -> None:
    result = cli("auth", "bootstrap", "--email", "dean@uni.edu", "--name", "Ada")
    assert result.exit_code == 2
    assert "--password-stdin" in result.stderr


def test_missing_option_is_a_usage_error(cli: Cli) -> None:
    result = cli("auth", "login")
    assert result.exit_code == 2
    assert "--email" in result.stderr


# -- login, status, logout ------------------------------------------------------------


def test_login_status_logout(cli: Cli, db_url: str) -> None:
    bootstrap(cli)
    result = login(cli, "DEAN@uni.edu")
    assert result.exit_code == 0, result
    assert "Logged in as Ada Dean <dean@uni.edu> (manager)" in result.stdout
    status = cli.ok("auth", "status", "--json").json()
    assert set(status) == {"email", "name", "role", "expires_at", "token_store"}
    assert status["token_store"] == "file"
    assert datetime.fromisoformat(status["expires_at"]).tzinfo is not None
    human = cli.ok("auth", "status")
    assert "dean@uni.edu" in human.stdout

    token = cli.ok("auth", "token").stdout.strip()
    cli.ok("auth", "logout")
    assert not (cli.home / "token-default").exists()
    after = cli("auth", "status")
    assert after.exit_code == 4
    assert "not logged in" in after.stderr
    # The token was revoked server-side, not just forgotten here.
    reused = cli("auth", "status", env={"CMS_TOKEN": token})
    assert reused.exit_code == 4
    assert "revoked" in reused.stderr


def test_token_file_is_private_and_database_keeps_only_a_hash(cli: Cli, db_url: str) -> None:
    bootstrap(cli)
    login(cli, "dean@uni.edu")
    file = cli.home / "token-default"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    token = file.read_text().strip()
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    with core_db.engine_for(db_url).connect() as conn:
        rows = conn.execute(sa.text("SELECT token_hash FROM auth_session")).scalars().all()
        dump = " ".join(
            str(v) for row in conn.execute(sa.text("SELECT * FROM auth_session")) for v in row
        )
    assert rows == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in dump


def test_file_fallback_is_announced_once(cli: Cli) -> None:
    bootstrap(cli)
    first = login(cli, "dean@uni.edu")
    assert "no usable OS keyring" in first.stderr
    second = login(cli, "dean@uni.edu")
    assert "keyring" not in second.stderr


def test_wrong_password_and_unknown_email_get_the_same_message(cli: Cli) -> None:
    bootstrap(cli)
    wrong = login(cli, "dean@uni.edu", "wrong-password")
    unknown = login(cli, "nobody@uni.edu", "wrong-password")
    assert wrong.exit_code == unknown.exit_code == 4
    assert wrong.stderr == unknown.stderr
    assert "wrong e-mail or password" in wrong.stderr


def test_cms_token_overrides_the_stored_token(cli: Cli) -> None:
    bootstrap(cli)
    login(cli, "dean@uni.edu")
    token = cli.ok("auth", "token").stdout.strip()
    (cli.home / "token-default").unlink()
    status = cli("auth", "status", "--json", env={"CMS_TOKEN": token})
    assert status.exit_code == 0, status
    assert status.json()["token_store"] == "env"
    bad = cli("auth", "status", env={"CMS_TOKEN": "forged"})
    assert bad.exit_code == 4


def test_session_expires_and_refresh_extends_it(cli: Cli) -> None:
    bootstrap(cli, env=at())
    login(cli, "dean@uni.edu", env=at())
    assert cli("auth", "status", env=at(timedelta(hours=23))).exit_code == 0
    expired = cli("auth", "status", env=at(timedelta(hours=24, seconds=1)))
    assert expired.exit_code == 4
    assert "expired" in expired.stderr
    refreshed = cli("auth", "refresh", env=at(timedelta(hours=20)))
    assert refreshed.exit_code == 0, refreshed
    assert cli("auth", "status", env=at(timedelta(hours=43))).exit_code == 0
    assert cli("auth", "status", env=at(timedelta(hours=44, seconds=1))).exit_code == 4


def test_session_hours_setting_is_used(cli: Cli) -> None:
    bootstrap(cli, env=at())
    login(cli, "dean@uni.edu", env={**at(), "CMS_SESSION_HOURS": "2"})
    assert cli("auth", "status", env=at(timedelta(hours=1))).exit_code == 0
    assert cli("auth", "status", env=at(timedelta(hours=2, seconds=1))).exit_code == 4


def test_lockout_after_five_failures_and_its_end(cli: Cli) -> None:
    bootstrap(cli, env=at())
    for minute in range(5):
        failed = login(cli, "dean@uni.edu", "wrong-password", env=at(timedelta(minutes=minute)))
        assert failed.exit_code == 4
    locked = login(cli, "dean@uni.edu", env=at(timedelta(minutes=5)))
    assert locked.exit_code == 4
    assert "locked" in locked.stderr
    assert "2026-03-02T09:19:00" in locked.stderr  # until: fifth failure + 15 minutes
    still = login(cli, "dean@uni.edu", env=at(timedelta(minutes=18)))
    assert still.exit_code == 4
    free = login(cli, "dean@uni.edu", env=at(timedelta(minutes=20)))
    assert free.exit_code == 0, free


def test_failures_outside_the_window_do_not_lock(cli: Cli) -> None:
    bootstrap(cli, env=at())
    for minute in (0, 5, 10, 16, 20):  # never five within 15 minutes
        assert (
            login(
                cli, "dean@uni.edu", "wrong-password", env=at(timedelta(minutes=minute))
            ).exit_code
            == 4
        )
    assert login(cli, "dean@uni.edu", env=at(timedelta(minutes=21))).exit_code == 0


def test_a_success_resets_the_failure_count(cli: Cli) -> None:
    bootstrap(cli, env=at())
    for minute in range(4):
        login(cli, "dean@uni.edu", "wrong-password", env=at(timedelta(minutes=minute)))
    assert login(cli, "dean@uni.edu", env=at(timedelta(minutes=4))).exit_code == 0
    for minute in range(5, 9):
        login(cli, "dean@uni.edu", "wrong-password", env=at(timedelta(minutes=minute)))
    assert login(cli, "dean@uni.edu", env=at(timedelta(minutes=9))).exit_code == 0


def test_passwd_changes_the_password_and_ends_other_sessions(cli: Cli) -> None:
    bootstrap(cli)
    login(cli, "dean@uni.edu")
    other = cli.ok("auth", "token").stdout.strip()
    login(cli, "dean@uni.edu")
    changed = cli("auth", "passwd", "--password-stdin", input=f"{PASSWORD}\nnew-password-1\n")
    assert changed.exit_code == 0, changed
    assert cli("auth", "status").exit_code == 0  # this session goes on
    assert cli("auth", "status", env={"CMS_TOKEN": other}).exit_code == 4
    assert login(cli, "dean@uni.edu").exit_code == 4
    assert login(cli, "dean@uni.edu", "new-password-1").exit_code == 0


def test_passwd_rules_and_tty(cli: Cli) -> None:
    bootstrap(cli)
    login(cli, "dean@uni.edu")
    short = cli("auth", "passwd", "--password-stdin", input=f"{PASSWORD}\nshort\n")
    assert short.exit_code == 1
    same = cli("auth", "passwd", "--password-stdin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert same.exit_code == 1
    assert cli("auth", "passwd").exit_code == 2  # would prompt, stdin is not a TTY
    # The session alone never changes the password: the current one is always asked.
    alone = cli("auth", "passwd", "--password-stdin", input="brand-new-pass-9\n")
    assert alone.exit_code == 1
    assert alone.stderr.startswith("error: no new password on stdin\n")
    wrong = cli("auth", "passwd", "--password-stdin", input="not-it-at-all\nbrand-new-pass-9\n")
    assert (wrong.exit_code, wrong.stderr) == (4, "error: the current password is wrong\n")
    assert login(cli, "dean@uni.edu").exit_code == 0  # unchanged


def test_a_session_has_an_absolute_lifetime(cli: Cli) -> None:
    """`auth refresh` extends a session by session_hours, never past session_max_days
    after the login: a stolen token does not last for good."""
    bootstrap(cli)
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    days = {"CMS_SESSION_MAX_DAYS": "2", "CMS_SESSION_HOURS": "30"}
    login(cli, "dean@uni.edu", env={"CMS_NOW": start.isoformat(), **days})
    later = {"CMS_NOW": (start + timedelta(hours=25)).isoformat(), **days}
    refreshed = cli.ok("auth", "refresh", env=later)
    assert "until 2026-03-04 09:00" in refreshed.stdout  # 48 h after the login, not 55
    beyond = {"CMS_NOW": (start + timedelta(hours=48, minutes=1)).isoformat(), **days}
    assert cli("auth", "status", env=beyond).exit_code == 4
    assert cli("auth", "refresh", env=beyond).exit_code == 4


def test_commands_need_a_login(cli: Cli) -> None:
    bootstrap(cli)
    for args in (
        ("auth", "status"),
        ("auth", "logout"),
        ("auth", "refresh"),
        ("auth", "token"),
        ("user", "list"),
    ):
        result = cli(*args)
        assert result.exit_code == 4, result
        assert "hint: run cms auth login" in result.stderr
