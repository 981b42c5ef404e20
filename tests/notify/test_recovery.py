"""Delivery that recovers in seconds, on MariaDB with a real Redis: a claim that cannot
be made now (a lock held past lock_wait_seconds, the account's rights revoked for a
while) keeps its task, which is tried again after a pause and delivered within seconds
of the fault's end, with no sweep in between and nothing lost."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import Cli, sql
from test_worker import rows, start_worker, wait_until_sent, workers  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.mysql]
MYSQL = [pytest.param("mysql", marks=pytest.mark.mysql)]


@pytest.fixture
def recovery_env(cli: Cli, fresh_redis: str, smtp: Any) -> dict[str, str]:
    env = {
        "CMS_REDIS_URL": fresh_redis,
        "CMS_SMTP_URL": smtp.url,
        "CMS_RETRY_SECONDS": "0.2",
        "CMS_LOCK_WAIT_SECONDS": "1",
    }
    cli.env.update(env)
    return env


@pytest.mark.parametrize("db_url", MYSQL, indirect=True)
def test_claims_behind_a_lock_are_delivered_after_its_release_without_a_sweep(
    cli: Cli,
    logged: dict[str, int],
    recovery_env: dict[str, str],
    smtp: Any,
    workers: list[subprocess.Popen[str]],  # noqa: F811
    db_url: str,
) -> None:
    """Another transaction holds every outbox row (SELECT ... FOR UPDATE) for longer than
    the workers wait for a lock, even when each claim runs again a few times on a lock
    wait that ran out (lock_wait_seconds 1): the task is tried again after a pause,
    never dropped, and once the lock goes each digest goes out and every item is in
    the inbox exactly once, with no sweep."""
    cli.ok("notify", "sweep")
    total = len(rows(cli))
    assert total == 6
    holder = sa.create_engine(db_url).connect()
    holder.exec_driver_sql("SELECT id FROM notification FOR UPDATE").all()
    try:
        heard = [Heard(start_worker(cli, workers, "--workers", "2")) for _ in range(2)]
        # Held until a claim has given up (five lock waits) and its task waits: an
        # event, not a duration.
        assert any(h.wait_for("tried again in", timeout=90) for h in heard)
        assert smtp.messages == []
        assert {r["status"] for r in rows(cli)} == {"queued"}
    finally:
        holder.rollback()
        holder.close()
    wait_until_sent(cli, total, timeout=45)
    inbox = "SELECT COUNT(*) FROM inbox_item"
    assert sql(db_url, inbox) == total
    delivered = {(m["To"].addresses[0].addr_spec, m["Subject"]) for m in smtp.messages}
    assert len(delivered) == 3  # a digest to each of the three recipients
    for proc in workers:
        proc.terminate()
    for h in heard:
        h.done(timeout=30)
    logs = "".join(line for h in heard for line in h.lines)
    assert "a later sweep hands it over" not in logs  # no task was dropped


class Heard:
    """A worker's stderr, read as it comes (a thread), to wait for what it says."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        import threading

        self.proc = proc
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()

    def wait_for(self, words: str, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: any(words in s for s in self.lines), timeout)

    def done(self, timeout: float) -> None:
        self.proc.wait(timeout=timeout)
        self.reader.join(timeout=timeout)


APP = "cms_rt"
APP_PASSWORD = "rt-secret-9"


@pytest.fixture
def runtime_url(cli: Cli, db_url: str) -> Iterator[str]:
    """The least-privilege account of `cms db grants` on this test's database."""
    root = sa.create_engine(db_url)
    with root.begin() as conn:
        for host in ("%", "localhost"):
            conn.execute(sa.text(f"DROP USER IF EXISTS '{APP}'@'{host}'"))
            conn.execute(sa.text(f"CREATE USER '{APP}'@'{host}' IDENTIFIED BY '{APP_PASSWORD}'"))
            for statement in cli.ok("db", "grants", "--user", APP, "--host", host).stdout.split(
                "\n"
            ):
                if statement:
                    conn.execute(sa.text(statement))
    url = sa.make_url(db_url).set(username=APP, password=APP_PASSWORD)
    yield url.render_as_string(hide_password=False)
    with root.begin() as conn:
        for host in ("%", "localhost"):
            conn.execute(sa.text(f"DROP USER IF EXISTS '{APP}'@'{host}'"))
    root.dispose()


def _rights(db_url: str, verb: str) -> None:
    """GRANT or REVOKE the runtime account's rights on the outbox (both its hosts)."""
    database = sa.make_url(db_url).database
    preposition = "TO" if verb == "GRANT" else "FROM"
    root = sa.create_engine(db_url)
    with root.begin() as conn:
        for host in ("%", "localhost"):
            conn.execute(
                sa.text(
                    f"{verb} SELECT, INSERT, UPDATE, DELETE ON `{database}`.`notification` "
                    f"{preposition} '{APP}'@'{host}'"
                )
            )
    root.dispose()


@pytest.mark.parametrize("db_url", MYSQL, indirect=True)
def test_rights_revoked_for_a_few_seconds_lose_no_task(
    cli: Cli,
    logged: dict[str, int],
    recovery_env: dict[str, str],
    smtp: Any,
    workers: list[subprocess.Popen[str]],  # noqa: F811
    db_url: str,
    runtime_url: str,
) -> None:
    """The workers run as the runtime account; its rights on the outbox are revoked
    while they pop the queue: every task they pop meanwhile is kept (tried again after
    a pause, never consumed), and all is delivered once the rights are back — without a
    sweep, and the queue is not drained in those seconds."""
    cli.env["CMS_DIGEST"] = "false"
    cli.ok("notify", "sweep")
    total = len(rows(cli))
    _rights(db_url, "REVOKE")
    try:
        heard = [
            Heard(
                start_worker(
                    cli, workers, "--workers", "2", env_extra={"CMS_DATABASE_URL": runtime_url}
                )
            )
            for _ in range(2)
        ]
        # Revoked until a refused claim has kept its task (an event, not a duration).
        assert any(h.wait_for("tried again in", timeout=90) for h in heard)
        assert smtp.messages == []
    finally:
        _rights(db_url, "GRANT")
    wait_until_sent(cli, total, timeout=45)
    assert sql(db_url, "SELECT COUNT(*) FROM inbox_item") == total
    assert len({m["Subject"] + m["To"].addresses[0].addr_spec for m in smtp.messages}) == total
    for proc in workers:
        proc.terminate()
    for h in heard:
        h.done(timeout=30)
    logs = "".join(line for h in heard for line in h.lines)
    assert "a later sweep hands it over" not in logs
