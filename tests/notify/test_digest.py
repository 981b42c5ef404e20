"""Digests: one e-mail per recipient per sweep, one outbox and inbox row per item.

The term of test_sweep_cli: reminders to Ana (weeks 2 and 3 of A) and Ben (week 2 of
B), escalations to Dean (A2, A3, B2): six notifications, three recipients.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, sql
from test_worker import LATER, more_offerings, rows, start_worker, wait_until_sent, workers  # noqa: F401

from cms_cli.notify import digest


@pytest.fixture
def digest_env(cli: Cli, fresh_redis: str, smtp: Any) -> dict[str, str]:
    env = {"CMS_REDIS_URL": fresh_redis, "CMS_SMTP_URL": smtp.url, "CMS_RETRY_SECONDS": "0.2"}
    cli.env.update(env)
    return env


def items_of(message: Any) -> list[str]:
    text = message.get_body(("plain",)).get_content()
    return [line.strip() for line in text.splitlines() if line.startswith("  - ")]


def inbox_count(db_url: str) -> int:
    return int(sql(db_url, "SELECT COUNT(*) FROM inbox_item") or 0)


def test_one_digest_per_recipient_grouped_by_offering(
    cli: Cli, logged: dict[str, int], smtp: Any, db_url: str
) -> None:
    cli.ok("notify", "sweep")
    dean = [r["id"] for r in rows(cli) if r["recipient"] == "dean@uni.edu"]
    config = cli.config(CMS_SMTP_URL=smtp.url)
    assert digest.deliver_digest(dean, config) == "sent"
    assert digest.deliver_digest(dean, config) == "skipped"  # never twice
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert smtp.recipients == [["dean@uni.edu"]]
    assert message["Subject"] == "CS101, MA201: 3 escalations for 2 offerings"
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(("plain",)).get_content()
    a, b = logged["A"], logged["B"]
    assert text.index(f"(offering {a})") < text.index(f"(offering {b})")
    assert len(items_of(message)) == 3
    assert sum("is incomplete (14%" in item for item in items_of(message)) == 1  # A2
    assert f"cms tracker list --offering {a} --status overdue" in text
    assert "3 escalations need your attention:" in text
    # The manager's digest names who is behind on each item, as the inbox does.
    assert sum("Facilitator: Ana Lopez <ana@uni.edu>." in i for i in items_of(message)) == 2
    assert sum("Facilitator: Ben Ode <ben@uni.edu>." in i for i in items_of(message)) == 1
    assert message.get_body(("html",)) is not None
    statuses = {r["id"]: r["status"] for r in rows(cli)}
    assert all(statuses[i] == "sent" for i in dean)
    assert inbox_count(db_url) == 3  # one inbox item per notification


def test_a_digest_of_one_speaks_of_one(cli: Cli, logged: dict[str, int], smtp: Any) -> None:
    cli.ok("notify", "sweep")
    ben = [r["id"] for r in rows(cli) if r["recipient"] == "ben@uni.edu"]
    assert len(ben) == 1
    assert digest.deliver_digest(ben, cli.config(CMS_SMTP_URL=smtp.url)) == "sent"
    message = smtp.messages[0]
    assert message["Subject"] == "MA201: 1 reminder for 1 offering"
    assert "1 reminder needs your attention:" in message.get_body(("plain",)).get_content()


def test_a_failing_digest_counts_an_attempt_on_each_item(
    cli: Cli, logged: dict[str, int], smtp: Any
) -> None:
    from cms_cli.notify.delivery import TryAgain

    cli.ok("notify", "sweep")
    ana = [r["id"] for r in rows(cli) if r["recipient"] == "ana@uni.edu"]
    smtp.fail = True
    config = cli.config(CMS_SMTP_URL=smtp.url, CMS_DELIVERY_ATTEMPTS="2", CMS_RETRY_SECONDS="5")
    with pytest.raises(TryAgain) as again:
        digest.deliver_digest(ana, config)
    assert again.value.delay == 5
    assert {(r["status"], r["attempts"]) for r in rows(cli) if r["id"] in ana} == {("queued", 1)}
    assert digest.deliver_digest(ana, config) == "failed"
    assert {(r["status"], r["attempts"]) for r in rows(cli) if r["id"] in ana} == {("failed", 2)}
    assert smtp.messages == []


def test_the_worker_sends_digests(
    cli: Cli,
    logged: dict[str, int],
    digest_env: dict[str, str],
    smtp: Any,
    workers: list[subprocess.Popen[str]],  # noqa: F811
    db_url: str,
) -> None:
    cli.ok("notify", "sweep")
    start_worker(cli, workers, "--workers", "4")
    wait_until_sent(cli, 6)
    time.sleep(0.5)
    assert sorted(r[0] for r in smtp.recipients) == ["ana@uni.edu", "ben@uni.edu", "dean@uni.edu"]
    assert sum(len(items_of(m)) for m in smtp.messages) == 6
    assert inbox_count(db_url) == 6


@pytest.mark.slow
def test_two_workers_put_each_item_in_exactly_one_digest(
    cli: Cli,
    logged: dict[str, int],
    digest_env: dict[str, str],
    smtp: Any,
    workers: list[subprocess.Popen[str]],  # noqa: F811
    tmp_path: Path,
    db_url: str,
) -> None:
    more_offerings(cli, tmp_path, 10)  # no facilitator: escalations to Dean
    cli.ok("notify", "sweep")
    total = len(rows(cli))
    for _ in range(2):
        start_worker(cli, workers, "--workers", "4")
    wait_until_sent(cli, total)
    time.sleep(1)
    items = Counter(item for m in smtp.messages for item in items_of(m))
    assert sum(items.values()) == total
    assert inbox_count(db_url) == total


@pytest.mark.slow
def test_sigkill_mid_digest_loses_nothing_and_repeats_nothing_in_one_digest(
    cli: Cli,
    logged: dict[str, int],
    digest_env: dict[str, str],
    smtp: Any,
    workers: list[subprocess.Popen[str]],  # noqa: F811
    db_url: str,
) -> None:
    smtp.delay = 3.0
    cli.ok("notify", "sweep")
    worker = start_worker(cli, workers, "--workers", "1")
    assert smtp.receiving.wait(timeout=30)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    assert {r["status"] for r in rows(cli)} <= {"queued", "sent"}
    smtp.delay = 0.0
    cli.env["CMS_NOW"] = LATER  # 11 minutes on: the dead worker's claims are stale
    swept = cli.ok("notify", "sweep", "--json").json()
    assert swept["requeued"] >= 1
    start_worker(cli, workers, "--workers", "2")
    wait_until_sent(cli, 6)
    time.sleep(0.5)
    for message in smtp.messages:  # no item twice within one digest
        assert len(items_of(message)) == len(set(items_of(message)))
    delivered = {(m["To"].addresses[0].addr_spec, i) for m in smtp.messages for i in items_of(m)}
    assert len(delivered) == 6  # every item reached its recipient (at least once)
    assert inbox_count(db_url) == 6  # and the inbox has each exactly once


def test_a_refused_digest_fails_at_once_and_its_items_are_in_the_inbox(
    cli: Cli, logged: dict[str, int], smtp: Any, db_url: str
) -> None:
    """Dean's mailbox refuses for good (550): his digest's rows fail at the first
    attempt, and each item is in his inbox all the same (written with the claim)."""
    cli.ok("notify", "sweep")
    dean = [r["id"] for r in rows(cli) if r["recipient"] == "dean@uni.edu"]
    smtp.refuse["dean@uni.edu"] = "550 5.1.1 no such mailbox"
    config = cli.config(CMS_SMTP_URL=smtp.url, CMS_DELIVERY_ATTEMPTS="5")
    assert digest.deliver_digest(dean, config) == "failed"
    listed = {r["id"]: r for r in rows(cli)}
    assert {(listed[i]["status"], listed[i]["attempts"]) for i in dean} == {("failed", 1)}
    assert smtp.messages == []
    assert inbox_count(db_url) == len(dean)
    claims = "SELECT COUNT(*) FROM notification WHERE claim_token IS NOT NULL"
    assert sql(db_url, claims) == 0


def test_a_killed_workers_rows_are_delivered_by_the_next_worker_within_seconds(
    cli: Cli,
    logged: dict[str, int],
    digest_env: dict[str, str],
    smtp: Any,
    workers: list[subprocess.Popen[str]],  # noqa: F811
    db_url: str,
) -> None:
    """SIGKILL mid-digest, then another worker starts: it sees the dead worker (its
    process is gone), lets go of the rows it held and hands them over again — every item
    delivered without a sweep and without waiting for the claims to go stale."""
    smtp.delay = 3.0
    cli.ok("notify", "sweep")
    worker = start_worker(cli, workers, "--workers", "1")
    assert smtp.receiving.wait(timeout=30)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    smtp.delay = 0.0
    claims = "SELECT COUNT(*) FROM notification WHERE claim_token IS NOT NULL"
    assert sql(db_url, claims) >= 1  # the dead worker's claim, still there
    start_worker(cli, workers, "--workers", "2")  # the same CMS_NOW: no claim is stale
    wait_until_sent(cli, 6, timeout=30)
    delivered = {(m["To"].addresses[0].addr_spec, i) for m in smtp.messages for i in items_of(m)}
    assert len(delivered) == 6
    assert inbox_count(db_url) == 6
    stopped = "SELECT COUNT(*) FROM worker_heartbeat WHERE stopped_at IS NOT NULL"
    assert sql(db_url, stopped) == 1  # the dead one, its work handed back
