"""What ops watch: Prometheus metrics scraped over loopback, a sweep's textfile, logs
one line per delivery (plain or JSON), and a Redis that does not grow. Real worker
processes, a real redis-server and an aiosmtpd sink, on SQLite and MariaDB."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli
from prometheus_client.parser import text_string_to_metric_families
from servers import free_port
from test_worker import queue_env, rows, start_worker, wait_until_sent, workers  # noqa: F401


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_for_port(port: int, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()  # type: ignore[union-attr]
        try:
            scrape(port)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing serves metrics on {port}")


def test_worker_metrics_and_json_logs(
    cli: Cli,
    logged: dict[str, int],
    queue_env: dict[str, str],  # noqa: F811
    smtp: Any,
    workers: list[subprocess.Popen[str]],  # noqa: F811
) -> None:
    cli.ok("notify", "sweep")
    port = free_port()
    worker = start_worker(cli, workers, "--metrics-port", str(port), "--log-format", "json")
    wait_for_port(port, worker)
    wait_until_sent(cli, 6)
    time.sleep(0.3)  # the last delivery's metrics are counted after its row is written
    samples = scrape(port)
    for kind in ("reminder", "escalation"):
        sent = value(samples, "cms_deliveries_total", kind=kind, channel="e-mail", outcome="sent")
        assert sent == 3
        assert (
            value(samples, "cms_deliveries_total", kind=kind, channel="inbox", outcome="sent") == 3
        )
    assert value(samples, "cms_delivery_duration_seconds_count") == 6
    assert value(samples, "cms_outbox_rows", status="sent") == 6
    assert value(samples, "cms_outbox_rows", status="queued") == 0
    assert value(samples, "cms_outbox_oldest_waiting_seconds") == 0
    assert value(samples, "cms_worker_last_heartbeat_timestamp_seconds") > time.time() - 60
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    lines = worker.stderr.read().splitlines()  # type: ignore[union-attr]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    deliveries = [r for r in records if r.get("event") == "delivery"]
    assert len(deliveries) == 6
    for record in deliveries:
        assert record["outcome"] == "sent"
        assert record["channels"] == ["e-mail", "inbox"]
        assert record["recipient"].endswith("@uni.edu")
        assert record["attempt"] == 1
        assert isinstance(record["notification"], int)
        assert record["duration"] >= 0
        assert {"time", "level", "message"} <= set(record)
    assert [r["event"] for r in records if r.get("event") in ("start", "stop")] == ["start", "stop"]


def test_plain_logs_say_one_line_per_delivery_and_one_per_failure(
    cli: Cli,
    logged: dict[str, int],
    queue_env: dict[str, str],  # noqa: F811
    smtp: Any,
    workers: list[subprocess.Popen[str]],  # noqa: F811
) -> None:
    smtp.fail = True
    cli.ok("notify", "sweep")
    worker = start_worker(cli, workers, env_extra={"CMS_DELIVERY_ATTEMPTS": "2"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and {r["status"] for r in rows(cli)} != {"failed"}:
        time.sleep(0.2)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    log = worker.stderr.read()  # type: ignore[union-attr]
    assert "Traceback" not in log
    attempts = [line for line in log.splitlines() if " failed (" in line]
    assert len(attempts) == 12  # six notifications, two attempts each, one line each
    assert sum("next attempt in 0.2 s" in line for line in attempts) == 6
    assert sum("no attempt left" in line for line in attempts) == 6
    assert all("451" in line for line in attempts)
    assert "huey" not in log  # Huey's own per-task lines are not repeated


def test_sweep_writes_its_metrics_textfile_atomically(
    cli: Cli, logged: dict[str, int], tmp_path: Path
) -> None:
    target = tmp_path / "textfile" / "cms_sweep.prom"
    target.parent.mkdir()
    cli.ok("notify", "sweep", "--metrics-file", str(target))
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(target.read_text())
        for s in f.samples
    }
    assert value(samples, "cms_sweep_created", kind="reminder") == 3
    assert value(samples, "cms_sweep_created", kind="escalation") == 3
    assert value(samples, "cms_sweep_enqueued") == 6
    assert value(samples, "cms_sweep_duration_seconds") > 0
    assert value(samples, "cms_sweep_last_success_timestamp_seconds") > time.time() - 60
    assert sorted(p.name for p in target.parent.iterdir()) == ["cms_sweep.prom"]
    again = cli.ok("notify", "sweep", "--metrics-file", str(target), "--log-format", "json")
    record = json.loads(again.stderr.splitlines()[-1])
    assert record["event"] == "sweep"
    assert record["reminders"] == 0
    bad = cli("notify", "sweep", "--metrics-file", str(tmp_path / "missing" / "x.prom"))
    assert bad.exit_code == 1
    assert "metrics could not be written" in bad.stderr


@pytest.mark.slow
def test_redis_does_not_grow_with_deliveries(
    cli: Cli,
    logged: dict[str, int],
    queue_env: dict[str, str],  # noqa: F811
    smtp: Any,
    workers: list[subprocess.Popen[str]],  # noqa: F811
    fresh_redis: str,
) -> None:
    """504 deliveries through a real Redis (the six rows, handed over 84 times: all but
    six are skips, which stored a result each before): the key count stays flat."""
    import redis

    from cms_cli.notify import queue

    cli.ok("notify", "sweep")
    ids = [r["id"] for r in rows(cli)]
    client = redis.Redis.from_url(fresh_redis)
    before = client.dbsize()
    queue.enqueue_deliveries(cli.config(), ids * 83)
    start_worker(cli, workers, "--workers", "4")
    wait_until_sent(cli, 6)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and client.llen("huey.redis.cms"):
        time.sleep(0.2)
    time.sleep(0.5)
    assert client.llen("huey.redis.cms") == 0
    assert client.dbsize() <= before
    assert not [k for k in client.keys("*") if b"result" in k]
    client.close()


def test_the_sweep_textfile_matches_what_the_worker_serves() -> None:
    """The cron sweep writes its file without prometheus-client (start-up); the library's
    parser reads it, and the names, types and help are the worker's own."""
    from prometheus_client import CollectorRegistry, generate_latest

    from cms_cli.notify.metrics import SweepMetrics
    from cms_cli.notify.sweep import SweepResult
    from cms_cli.notify.textfile import render_sweep

    result = SweepResult(reminders=4, escalations=2, requeued=1, enqueued=6)
    ours = render_sweep(result, 0.25, now=1_700_000_000.0)
    registry = CollectorRegistry()
    SweepMetrics(registry).swept(result, 0.25)
    theirs = generate_latest(registry).decode()

    def families(text: str) -> dict[str, tuple[str, str]]:
        return {f.name: (f.type, f.documentation) for f in text_string_to_metric_families(text)}

    served = families(theirs)
    written = families(ours)
    assert written.items() <= served.items()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(ours)
        for s in f.samples
    }
    assert samples[("cms_sweep_created", (("kind", "reminder"),))] == 4
    assert samples[("cms_sweep_last_success_timestamp_seconds", ())] == 1_700_000_000.0


def test_a_cron_sweep_does_not_import_prometheus_client(cli: Cli, tmp_path: Path) -> None:
    import subprocess as sp
    import sys

    code = (
        "import sys\n"
        "from cms_cli.main import app\n"
        "try:\n"
        f"    app(['notify', 'sweep', '--quiet', '--metrics-file', {str(tmp_path / 'm.prom')!r}],"
        " prog_name='cms')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('PROM=' + str('prometheus_client' in sys.modules))\n"
    )
    env = {**__import__("os").environ, **{k: v for k, v in cli.env.items() if v}}
    out = sp.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip().endswith("PROM=False"), out
    assert (tmp_path / "m.prom").exists()
