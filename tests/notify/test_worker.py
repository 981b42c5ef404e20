"""`cms worker` as a real process: Huey consumer threads, Redis (or the SQLite queue), an
SMTP sink. Nothing lost, nothing twice, graceful stops."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli

LATER = "2026-02-01T12:11:00+00:00"


@pytest.fixture
def queue_env(cli: Cli, fresh_redis: str, smtp: Any) -> dict[str, str]:
    # one e-mail per notification here (test_digest.py covers digests)
    env = {
        "CMS_REDIS_URL": fresh_redis,
        "CMS_SMTP_URL": smtp.url,
        "CMS_RETRY_SECONDS": "0.2",
        "CMS_DIGEST": "false",
    }
    cli.env.update(env)
    return env


@pytest.fixture
def workers(cli: Cli) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def start_worker(
    cli: Cli,
    workers: list[subprocess.Popen[str]],
    *args: str,
    env_extra: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    proc = cli.spawn("worker", "--no-scheduler", *args, env=env_extra)
    workers.append(proc)
    return proc


def mid_delivery(
    cli: Cli, workers: list[subprocess.Popen[str]], smtp: Any, threads: int
) -> subprocess.Popen[str]:
    """Sweep, start a worker on a slow SMTP server, return once a message is in flight."""
    smtp.delay = 2.0
    cli.ok("notify", "sweep")
    worker = start_worker(cli, workers, "--workers", str(threads))
    assert smtp.receiving.wait(timeout=30)
    return worker


def rows(cli: Cli) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = cli.ok("notify", "list", "--json").json()
    return out


def wait_until_sent(cli: Cli, expected: int, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = rows(cli)
        if len(current) == expected and all(r["status"] == "sent" for r in current):
            return current
        time.sleep(0.2)
    raise AssertionError(f"not all sent: {Counter(r['status'] for r in rows(cli))}")


def more_offerings(cli: Cli, tmp_path: Path, count: int) -> None:
    """Offerings without a facilitator (weeks 1-3 due: three escalations each)."""
    lines = ["module,class,cohort,mode,start_date,end_date"]
    for i in range(count):
        cohort = f"Extra {i}"
        cli.ok("cohort", "add", cohort)
        lines.append(f"CS101,2026K,{cohort},online,2026-01-05,2026-03-01")
    file = tmp_path / "extra.csv"
    file.write_text("\n".join(lines) + "\n")
    cli.ok("offering", "import", str(file))


def test_worker_delivers_and_stops_on_sigterm(
    cli: Cli,
    logged: dict[str, int],
    queue_env: dict[str, str],
    smtp: Any,
    workers: list[subprocess.Popen[str]],
) -> None:
    assert json.loads(cli.ok("notify", "sweep", "--json").stdout)["enqueued"] == 6
    worker = start_worker(cli, workers)
    wait_until_sent(cli, 6)
    assert len(smtp.messages) == 6
    # The heartbeat and the empty backlog show in the doctor.
    checks = {c["name"]: c for c in cli.ok("doctor", "--json").json()["checks"]}
    assert checks["worker"]["status"] == "ok"
    assert checks["outbox"]["detail"].startswith("nothing waiting")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    log = worker.stderr.read()  # type: ignore[union-attr]
    assert log.count("delivered ") == 6
    assert "Traceback" not in log
    # It recorded its stop: nobody delivers now (a warning while nothing waits).
    checks = {c["name"]: c for c in cli.ok("doctor", "--json").json()["checks"]}
    assert checks["worker"]["status"] == "warn"
    assert checks["worker"]["detail"].startswith("every worker stopped")


def test_the_default_sqlite_queue(
    cli: Cli, logged: dict[str, int], smtp: Any, workers: list[subprocess.Popen[str]]
) -> None:
    cli.env.update({"CMS_SMTP_URL": smtp.url, "CMS_DIGEST": "false"})
    cli.ok("notify", "sweep")
    worker = start_worker(cli, workers, "--workers", "2")
    wait_until_sent(cli, 6)
    worker.send_signal(signal.SIGINT)
    assert worker.wait(timeout=30) == 0
    assert (cli.home / "queue.db").exists()


def test_two_workers_on_one_redis_deliver_each_exactly_once(
    cli: Cli,
    logged: dict[str, int],
    queue_env: dict[str, str],
    smtp: Any,
    workers: list[subprocess.Popen[str]],
    tmp_path: Path,
) -> None:
    more_offerings(cli, tmp_path, 10)
    created = json.loads(cli.ok("notify", "sweep", "--json").stdout)
    total = created["reminders"] + created["escalations"]
    assert total == 36
    for _ in range(2):
        start_worker(cli, workers, "--workers", "4")
    wait_until_sent(cli, total)
    time.sleep(1)  # anything sent twice would have arrived by now
    keys = Counter((m["To"].addresses[0].addr_spec, m["Subject"]) for m in smtp.messages)
    assert len(keys) == total
    assert max(keys.values()) == 1


def test_sigterm_finishes_the_delivery_in_hand(
    cli: Cli,
    logged: dict[str, int],
    queue_env: dict[str, str],
    smtp: Any,
    workers: list[subprocess.Popen[str]],
) -> None:
    worker = mid_delivery(cli, workers, smtp, threads=1)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert len(smtp.messages) == 1  # the one in hand was finished, no more were started
    statuses = Counter(r["status"] for r in rows(cli))
    assert statuses["sent"] == 1
    # The rest wait in the queue for the next worker.
    smtp.delay = 0
    start_worker(cli, workers)
    wait_until_sent(cli, 6)


def test_a_killed_worker_loses_nothing(
    cli: Cli,
    logged: dict[str, int],
    queue_env: dict[str, str],
    smtp: Any,
    workers: list[subprocess.Popen[str]],
) -> None:
    worker = mid_delivery(cli, workers, smtp, threads=2)
    worker.kill()  # SIGKILL: no chance to clean up
    worker.wait()
    smtp.delay = 0
    # The Redis messages taken by the dead worker are gone; the outbox still knows.
    assert any(r["status"] != "sent" for r in rows(cli))
    later = {"CMS_NOW": LATER}
    swept = json.loads(cli.ok("notify", "sweep", "--json", env=later).stdout)
    assert swept["reminders"] == swept["escalations"] == 0
    assert swept["requeued"] >= 1
    cli.env.update(later)
    start_worker(cli, workers)
    wait_until_sent(cli, 6)
    delivered = {(m["To"].addresses[0].addr_spec, m["Subject"]) for m in smtp.messages}
    assert len(delivered) == 6  # every notification reached the sink


def test_redis_down_at_sweep_time(
    cli: Cli, logged: dict[str, int], smtp: Any, workers: list[subprocess.Popen[str]]
) -> None:
    from servers import redis_again, redis_server

    with redis_server() as (url, proc):
        cli.env.update({"CMS_REDIS_URL": url, "CMS_SMTP_URL": smtp.url, "CMS_DIGEST": "false"})
        proc.terminate()
        proc.wait()
        down = cli("notify", "sweep", "--json")
        assert down.exit_code == 7
        assert down.stderr.startswith("error: queue unavailable")
        assert "Traceback" not in down.stderr
        # when the rows go out again, and how to hurry it (TERM_NOW 12:00 + 10 min)
        assert "hint: the first cms notify sweep after 12:10 UTC hands them over" in down.stderr
        assert "--requeue-now" in down.stderr
        assert {r["status"] for r in rows(cli)} == {"pending"}
        assert len(rows(cli)) == 6  # kept in the outbox
        with redis_again(url):
            soon = json.loads(cli.ok("notify", "sweep", "--json").stdout)
            assert soon["requeued"] == 0  # not yet: they wait 10 minutes
            now = json.loads(cli.ok("notify", "sweep", "--requeue-now", "--json").stdout)
            assert now["requeued"] == 6
            later = {"CMS_NOW": LATER}
            swept = json.loads(cli.ok("notify", "sweep", "--json", env=later).stdout)
            assert swept["requeued"] == 6  # handed at 12:00, not taken: again at 12:11
            cli.env.update(later)
            start_worker(cli, workers)
            wait_until_sent(cli, 6)
            assert len(smtp.messages) == 6


def test_the_workers_settings_decide_retries_and_no_results_pile_up(
    cli: Cli,
    logged: dict[str, int],
    queue_env: dict[str, str],
    smtp: Any,
    workers: list[subprocess.Popen[str]],
    fresh_redis: str,
) -> None:
    """The sweep enqueues under 5 attempts and a 60 s backoff; the worker is started
    with 2 attempts and 0.2 s: the worker's settings are the ones that hold. And Huey
    keeps no result per delivery in Redis."""
    import redis

    smtp.fail = True
    cli.ok("notify", "sweep", env={"CMS_DELIVERY_ATTEMPTS": "5", "CMS_RETRY_SECONDS": "60"})
    start_worker(cli, workers, "--workers", "2")
    workers[-1].kill()  # restart it with other settings (as an operator would)
    workers[-1].wait()
    proc = cli.spawn(
        "worker", "--no-scheduler", env={"CMS_DELIVERY_ATTEMPTS": "2", "CMS_RETRY_SECONDS": "0.2"}
    )
    workers.append(proc)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = rows(cli)
        if all(r["status"] == "failed" for r in current):
            break
        time.sleep(0.3)
    assert {(r["status"], r["attempts"]) for r in rows(cli)} == {("failed", 2)}
    client = redis.Redis.from_url(fresh_redis)
    assert not [k for k in client.keys("*") if b"result" in k]
    client.close()


def test_doctor_fails_after_sigterm_when_rows_wait(
    cli: Cli,
    logged: dict[str, int],
    queue_env: dict[str, str],
    smtp: Any,
    workers: list[subprocess.Popen[str]],
) -> None:
    """The only worker stopped cleanly, then the sweep wrote rows: nobody will deliver
    them, and the probe fires (exit 1) with the hint to start one."""
    worker = start_worker(cli, workers)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        checks = {c["name"]: c for c in cli("doctor", "--json").json()["checks"]}
        if checks["worker"]["status"] == "ok":
            break
        time.sleep(0.2)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    cli.ok("notify", "sweep")
    doctor = cli("doctor", "--json")
    assert doctor.exit_code == 1
    assert doctor.json()["ok"] is False
    worker_check = {c["name"]: c for c in doctor.json()["checks"]}["worker"]
    assert worker_check["status"] == "fail"
    assert "6 notification(s) wait" in worker_check["detail"]
    assert worker_check["hint"].startswith("start one: cms worker")


def test_a_worker_hands_back_what_an_emptied_queue_lost(
    cli: Cli,
    logged: dict[str, int],
    queue_env: dict[str, str],
    smtp: Any,
    workers: list[subprocess.Popen[str]],
) -> None:
    """Redis comes back empty (restarted without persistence, or evicting) while six
    rows wait `queued`: a worker sees the empty queue at its next heartbeat and hands
    them back, so they are delivered within seconds, with no sweep in between."""
    import redis
    from conftest import TERM_NOW

    cli.ok("notify", "sweep")
    assert {r["status"] for r in rows(cli)} == {"queued"}
    redis.Redis.from_url(queue_env["CMS_REDIS_URL"]).flushdb()  # the queue is gone
    a_minute_on = (datetime.fromisoformat(TERM_NOW) + timedelta(seconds=61)).isoformat()
    worker = start_worker(cli, workers, env_extra={"CMS_NOW": a_minute_on})
    sent = wait_until_sent(cli, 6)
    assert len(sent) == 6
    assert len(smtp.messages) == 6
    worker.terminate()
    _, err = worker.communicate(timeout=30)
    assert "the queue was empty while 6 notification(s) waited in the outbox" in err


def test_a_full_redis_is_a_backend_error_in_its_own_words(
    cli: Cli, logged: dict[str, int], queue_env: dict[str, str]
) -> None:
    """Redis full under noeviction refuses the sweep's enqueue: exit 7 with Redis's
    message, never the pickled task the refused command carried; the rows stay in the
    outbox for a later sweep."""
    import redis

    client = redis.Redis.from_url(queue_env["CMS_REDIS_URL"])
    client.config_set("maxmemory", "1")  # anything more is over: OOM
    try:
        run = cli("notify", "sweep")
    finally:
        client.config_set("maxmemory", "0")
        client.close()
    assert run.exit_code == 7, run
    assert run.stderr.startswith("error: queue refused the write (redis://127.0.0.1:")
    assert "): command not allowed when used memory > 'maxmemory'" in run.stderr
    assert "notification(s) stay in the outbox" in run.stderr
    assert "LPUSH" not in run.stderr
    assert "\\x" not in run.stderr
    assert len(run.stderr.splitlines()) == 2  # error and hint
    assert {r["status"] for r in rows(cli)} == {"pending"}
