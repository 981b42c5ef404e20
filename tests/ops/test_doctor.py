"""cms doctor: exit 0 when healthy, 7 when a backend is down, 1 otherwise."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import Cli, sql
from servers import free_port

NAMES = [
    "config",
    "database",
    "schema",
    "worker",
    "outbox",
    "sweep",
    "queue",
    "smtp",
    "keyring",
    "timezone",
]


def test_healthy(cli: Cli, manager: str) -> None:
    result = cli("doctor", "--json")
    assert result.exit_code == 0, result
    report = result.json()
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == NAMES
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert statuses["keyring"] == "warn"  # the test environment has no keyring
    assert statuses["worker"] == "warn"  # no worker has run yet
    assert statuses["sweep"] == "warn"  # no sweep yet, and nothing to sweep
    assert all(statuses[n] == "ok" for n in NAMES if n not in ("keyring", "worker", "sweep"))
    human = cli.ok("doctor")
    assert "database" in human.stdout


def test_embedded_default_before_first_use(cli: Cli, tmp_path: Path) -> None:
    env = {"CMS_HOME": str(tmp_path / "new"), "CMS_DATABASE_URL": None}
    result = cli("doctor", "--json", env=env)  # type: ignore[arg-type]
    assert result.exit_code == 0, result
    assert not (tmp_path / "new" / "cms.db").exists()  # doctor creates nothing
    assert "worker" not in [c["name"] for c in result.json()["checks"]]


def test_database_down_is_7(cli: Cli) -> None:
    url = f"mysql+pymysql://cms:pw-not-shown@127.0.0.1:{free_port()}/cms"
    result = cli("doctor", "--json", env={"CMS_DATABASE_URL": url})
    assert result.exit_code == 7
    checks = {c["name"]: c for c in result.json()["checks"]}
    assert checks["database"]["status"] == "down"
    assert "pw-not-shown" not in result.stdout + result.stderr
    assert result.stderr.startswith("error: not healthy: database")


def test_redis_and_smtp_down_are_7(cli: Cli) -> None:
    env = {
        "CMS_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "CMS_SMTP_URL": f"smtp://u:smtp-pw@127.0.0.1:{free_port()}",
    }
    result = cli("doctor", "--json", env=env)
    assert result.exit_code == 7
    checks = {c["name"]: c["status"] for c in result.json()["checks"]}
    assert checks["queue"] == "down"
    assert checks["smtp"] == "down"
    assert "smtp-pw" not in result.stdout


def test_schema_behind_and_bad_smtp_url_are_1(cli: Cli, tmp_path: Path) -> None:
    behind = cli("doctor", "--json", env={"CMS_DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}"})
    assert behind.exit_code == 1
    assert {c["name"]: c["status"] for c in behind.json()["checks"]}["schema"] == "fail"
    bad = cli("doctor", "--json", env={"CMS_SMTP_URL": "http://mail"})
    assert bad.exit_code == 1


def test_bad_config_is_reported(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[default]\ntimezone = 'Nowhere/City'\n")
    result = cli("doctor", "--json", env={"CMS_HOME": str(tmp_path)})
    assert result.exit_code == 1
    assert result.json()["checks"][0]["status"] == "fail"


def _checks(result: object) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in result.json()["checks"]}  # type: ignore[attr-defined]


def _beat(db_url: str, seen: str, stopped: str | None = None, name: str = "host:1") -> None:
    """A worker's heartbeat row, as `cms worker` writes it."""
    sql(
        db_url,
        "INSERT INTO worker_heartbeat (name, started_at, seen_at, scheduler, stopped_at)"
        " VALUES (:name, :s, :s, 0, :stopped)",
        {"s": seen, "stopped": stopped, "name": name},
    )


def test_a_stale_heartbeat_fails_within_seconds_with_a_hint(
    cli: Cli, manager: str, db_url: str
) -> None:
    """A worker beats every 5 s: a heartbeat older than 15 s is a dead worker (on
    another host, where only the heartbeat tells), and the probe fires (exit 1)."""
    _beat(db_url, "2026-03-02 09:00:00", name="elsewhere:1")
    fresh = cli("doctor", "--json", env={"CMS_NOW": "2026-03-02T09:00:14+00:00"})
    assert _checks(fresh)["worker"]["status"] == "ok"
    assert _checks(fresh)["worker"]["detail"] == "1 running, last heartbeat 14 s ago"
    stale = cli("doctor", "--json", env={"CMS_NOW": "2026-03-02T09:00:20+00:00"})
    assert stale.exit_code == 1
    assert stale.json()["ok"] is False
    worker = _checks(stale)["worker"]
    assert worker["status"] == "fail"
    assert worker["detail"].startswith("no worker alive: elsewhere:1 (last heartbeat 20 s ago)")
    assert "restart" in worker["hint"]
    human = cli("doctor", env={"CMS_NOW": "2026-03-02T09:00:20+00:00"})
    assert "hint: check it (systemctl status cms-worker" in human.stdout
    assert human.stderr.startswith("error: not healthy: worker")
    # One alive beside a dead one: a warning naming the dead.
    _beat(db_url, "2026-03-02 09:00:19", name="elsewhere:2")
    both = _checks(cli("doctor", "--json", env={"CMS_NOW": "2026-03-02T09:00:20+00:00"}))
    assert both["worker"]["status"] == "warn"
    assert both["worker"]["detail"] == (
        "1 running, last heartbeat 1 s ago; dead: elsewhere:1 (last heartbeat 20 s ago)"
    )


def test_a_killed_worker_on_this_host_is_dead_at_once(cli: Cli, manager: str, db_url: str) -> None:
    """Its heartbeat is a second old, but its process is gone (SIGKILL): dead now."""
    import socket
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    now = "2026-03-02T09:00:01+00:00"
    _beat(db_url, "2026-03-02 09:00:00", name=f"{socket.gethostname()}:{gone.pid}")
    worker = _checks(cli("doctor", "--json", env={"CMS_NOW": now}))["worker"]
    assert worker["status"] == "fail"
    assert worker["detail"].startswith(
        f"no worker alive: {socket.gethostname()}:{gone.pid} (its process is gone)"
    )
    _beat(db_url, "2026-03-02 09:00:00", name=f"{socket.gethostname()}:{os.getpid()}")
    assert _checks(cli("doctor", "--json", env={"CMS_NOW": now}))["worker"]["status"] == "warn"


def test_a_stopped_worker_with_a_backlog_fails(
    cli: Cli, logged: dict[str, int], db_url: str
) -> None:
    cli.ok("notify", "sweep")  # six rows wait (no worker ran)
    never = cli("doctor", "--json")
    assert never.exit_code == 1
    assert _checks(never)["worker"]["status"] == "fail"
    _beat(db_url, "2026-02-01 11:59:00", stopped="2026-02-01 11:59:00")
    stopped = cli("doctor", "--json")
    assert stopped.exit_code == 1
    worker = _checks(stopped)["worker"]
    assert worker["status"] == "fail"
    assert worker["detail"].startswith("every worker stopped")
    assert "6 notification(s) wait" in worker["detail"]
    assert worker["hint"].startswith("start one: cms worker")


def test_an_old_backlog_fails(cli: Cli, logged: dict[str, int], db_url: str) -> None:
    from cms_cli.ops.doctor import backlog_limit_minutes

    cli.ok("notify", "sweep")
    _beat(db_url, "2026-02-01 13:00:00")  # a live worker, seen at each "now" below
    limit = backlog_limit_minutes(15)
    assert limit == 40
    ok = cli("doctor", "--json", env={"CMS_NOW": "2026-02-01T12:39:00+00:00"})
    assert _checks(ok)["outbox"]["status"] == "ok"
    old = cli("doctor", "--json", env={"CMS_NOW": "2026-02-01T12:41:00+00:00"})
    assert old.exit_code == 1
    outbox = _checks(old)["outbox"]
    assert outbox["status"] == "fail"
    assert "--requeue-now" in outbox["hint"]


def test_a_redis_that_may_lose_the_queue_is_named(cli: Cli, manager: str, redis_url: str) -> None:
    """An evicting Redis fails (the queue key itself can go under memory pressure); one
    that keeps nothing on disk warns (a restart empties the queue)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    env = {"CMS_REDIS_URL": redis_url}
    try:
        client.config_set("maxmemory-policy", "allkeys-lru")
        queue = _checks(cli("doctor", "--json", env=env))["queue"]
        assert queue["status"] == "fail"
        assert "maxmemory-policy allkeys-lru" in queue["detail"]
        assert queue["hint"].startswith("set maxmemory-policy noeviction")
        client.config_set("maxmemory-policy", "noeviction")
        queue = _checks(cli("doctor", "--json", env=env))["queue"]
        assert queue["status"] == "warn"
        assert "keeps nothing on disk" in queue["detail"]
        client.config_set("appendonly", "yes")
        assert _checks(cli("doctor", "--json", env=env))["queue"]["status"] == "ok"
    finally:
        client.config_set("appendonly", "no")
        client.config_set("maxmemory-policy", "noeviction")
        client.close()


def test_no_command_but_three_creates_the_embedded_database(cli: Cli, tmp_path: Path) -> None:
    """Cron's `cms notify sweep --quiet` with cron's environment (no CMS_DATABASE_URL,
    no config file): exit 7 naming the database it looked for, and nothing created; the
    same for a worker, a server and a user command. `cms db upgrade --create` creates
    it (as do `cms demo` and `cms auth bootstrap`)."""
    home = tmp_path / "cron"
    env = {"CMS_HOME": str(home), "CMS_DATABASE_URL": None}
    for args in (
        ("notify", "sweep", "--quiet"),
        ("worker", "--no-scheduler"),
        ("serve", "--port", "9"),
        ("offering", "list"),
        ("db", "upgrade"),
    ):
        run = cli(*args, env=env)  # type: ignore[arg-type]
        assert run.exit_code == 7, (args, run)
        assert run.stderr.startswith("error: no database: none is configured"), run.stderr
        assert f"the embedded one ({home / 'cms.db'}) does not exist" in run.stderr
        assert "cms db upgrade --create" in run.stderr
        assert not (home / "cms.db").exists()
    doctor = _checks(cli("doctor", "--json", env=env))  # type: ignore[arg-type]
    assert doctor["database"]["status"] == "warn"
    cli.ok("db", "upgrade", "--create", env=env)  # type: ignore[arg-type]
    assert (home / "cms.db").exists()
    assert cli("notify", "sweep", "--quiet", env=env).exit_code == 0  # type: ignore[arg-type]


def test_the_age_of_the_last_sweep(cli: Cli, logged: dict[str, int], db_url: str) -> None:
    """Offerings and no sweep ever: fail (no reminder is ever created, and nothing else
    would say so); a sweep leaves its mark, naming where it came from; past
    sweep_max_age_minutes with no other sweep: fail again, with where sweeps come from."""
    import socket

    never = cli("doctor", "--json")
    assert never.exit_code == 1
    sweep = _checks(never)["sweep"]
    assert (sweep["status"], sweep["detail"]) == (
        "fail",
        "no sweep has run against this database: no reminder is ever created",
    )
    assert "cron" in sweep["hint"]
    assert "--no-scheduler" in sweep["hint"]
    assert cli.subprocess("notify", "sweep", "--quiet").exit_code == 0  # as cron runs it
    swept = _checks(cli("doctor", "--json"))["sweep"]
    assert swept["status"] == "ok"
    assert (
        swept["detail"] == f"last sweep ended 0 s ago: cms notify sweep on {socket.gethostname()}"
    )
    later = {"CMS_NOW": "2026-02-01T12:29:00+00:00"}  # logged's now is 11:59
    assert _checks(cli("doctor", "--json", env=later))["sweep"]["status"] == "ok"
    stale = cli("doctor", "--json", env={"CMS_NOW": "2026-02-01T12:31:00+00:00"})
    sweep = _checks(stale)["sweep"]
    assert sweep["status"] == "fail"
    assert sweep["detail"].endswith("over the 30 min allowed (sweep_max_age_minutes)")
    assert "is cron running the sweep" in sweep["hint"]
    wider = {"CMS_NOW": "2026-02-01T12:31:00+00:00", "CMS_SWEEP_MAX_AGE_MINUTES": "60"}
    assert _checks(cli("doctor", "--json", env=wider))["sweep"]["status"] == "ok"
    # A dry run is not a sweep; a worker's scheduler is one, named as such.
    cli.ok("notify", "sweep", "--dry-run", env={"CMS_NOW": "2026-02-01T12:31:00+00:00"})
    assert _checks(cli("doctor", "--json", env=later))["sweep"]["detail"].endswith(
        socket.gethostname()
    )
    from cms_cli.notify import sweep as sweeping

    config = cli.config()
    saved = os.environ.get("CMS_NOW")
    os.environ["CMS_NOW"] = "2026-02-01T12:40:00+00:00"
    try:
        sweeping.run(config, enqueue=lambda _c, ids: len(ids), origin="cms worker scheduler")
    finally:
        if saved is None:
            os.environ.pop("CMS_NOW")
        else:
            os.environ["CMS_NOW"] = saved
    now = {"CMS_NOW": "2026-02-01T12:41:00+00:00"}
    both = _checks(cli("doctor", "--json", env=now))["sweep"]
    assert both["status"] == "ok"
    assert both["detail"] == (
        f"last sweep ended 60 s ago: cms worker scheduler on {socket.gethostname()} "
        "(and 1 other origin)"
    )


def test_every_check_that_is_not_ok_carries_a_hint() -> None:
    """The whole class: no Check of cms doctor that can warn, fail or be down lacks
    a hint (read from the source, so a new check cannot forget it)."""
    import ast
    import inspect

    from cms_cli.ops import doctor

    bare = []
    for node in ast.walk(ast.parse(inspect.getsource(doctor))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Check":
            status = node.args[1] if len(node.args) > 1 else None
            ok = isinstance(status, ast.Constant) and status.value == "ok"
            hinted = len(node.args) >= 4 or any(k.arg == "hint" for k in node.keywords)
            if not (ok or hinted):
                bare.append(f"line {node.lineno}: {ast.unparse(node)[:80]}")
    assert bare == []
