"""Health checks for ``cms doctor``: each returns a Check; nothing raises past here."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from cms_cli.core import clock
from cms_cli.core.config import Config, mask_url
from cms_cli.core.errors import CmsError

Status = Literal["ok", "warn", "fail", "down"]
TIMEOUT = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    hint: str | None = None  # what to do, for a check that is not ok


def backlog_limit_minutes(sweep_minutes: int) -> int:
    """How long a notification may wait (pending or queued) before the outbox check
    fails: a sweep hands rows over again after 10 minutes and runs every sweep_minutes,
    so twice that plus 10, and never less than 30 minutes (docs/operations.md)."""
    return max(30, 2 * sweep_minutes + 10)


@dataclass(frozen=True)
class Report:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.status in ("ok", "warn") for c in self.checks)

    @property
    def exit_code(self) -> int:
        """7 when a backend is down, 1 when something else is wrong, 0 otherwise."""
        if any(c.status == "down" for c in self.checks):
            return 7
        return 0 if self.ok else 1


def _database(config: Config) -> list[Check]:
    import sqlalchemy as sa

    from cms_cli.core.db import engine_for, schema_revision
    from cms_cli.core.migrate import SCHEMA_HEAD

    url = config.database_url
    where = mask_url(url)
    if config.embedded:
        file = Path(sa.make_url(url).database or "")
        if not file.exists():
            return [
                Check(
                    "database",
                    "warn",
                    f"none configured, and no embedded SQLite at {file}: commands refuse "
                    "(exit 7) until one exists",
                    "set CMS_DATABASE_URL or choose --profile; to start one here: cms demo, "
                    "cms auth bootstrap or cms db upgrade --create",
                ),
                Check("schema", "ok", f"created at {SCHEMA_HEAD} with the database"),
            ]
    try:
        engine = engine_for(url)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            version = ""
            if engine.dialect.name == "mysql":
                version = " " + str(conn.execute(sa.text("SELECT VERSION()")).scalar())
            revision = schema_revision(conn)
    except sa.exc.DBAPIError as exc:
        from cms_cli.core.db import database_error

        error = database_error(url, exc)
        hint = error.hint or "check CMS_DATABASE_URL and that the database server is up"
        return [Check("database", "down" if error.exit_code == 7 else "fail", error.message, hint)]
    checks = [Check("database", "ok", f"{engine.dialect.name}{version} at {where}")]
    if revision == SCHEMA_HEAD:
        checks.append(Check("schema", "ok", f"at {revision}"))
    elif config.embedded:
        checks.append(
            Check("schema", "ok", f"at {revision}; upgraded to {SCHEMA_HEAD} on next use")
        )
    else:
        checks.append(
            Check(
                "schema",
                "fail",
                f"at {revision or 'empty'}, needs {SCHEMA_HEAD}",
                "run cms db upgrade (as the account that may migrate; docs/operations.md)",
            )
        )
    return checks


def _queue(config: Config) -> Check:
    url = config.settings.redis_url
    if url:
        import redis

        try:
            client = redis.Redis.from_url(
                url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
            )
            client.ping()
            version = client.info("server").get("redis_version", "?")
            policy = str(client.info("memory").get("maxmemory_policy", "noeviction"))
            persistence = client.info("persistence")
            saves = _redis_saves(client)
            client.close()
        except (redis.RedisError, OSError, ValueError) as exc:
            return Check(
                "queue",
                "down",
                f"Redis at {mask_url(url)}: {exc}",
                "is Redis up and CMS_REDIS_URL right? (redis-cli -u URL ping)",
            )
        where = f"Redis {version} at {mask_url(url)}"
        if policy != "noeviction":
            return Check(
                "queue",
                "fail",
                f"{where} evicts keys under memory pressure (maxmemory-policy {policy}): "
                "the queue itself can vanish",
                "set maxmemory-policy noeviction in redis.conf (docs/operations.md)",
            )
        if not int(persistence.get("aof_enabled", 0) or 0) and saves == "":
            return Check(
                "queue",
                "warn",
                f"{where} keeps nothing on disk (no AOF, no RDB save points): a restart "
                "empties the queue until a sweep hands the rows over again",
                "set appendonly yes (or save points) in redis.conf",
            )
        return Check("queue", "ok", where)
    folder = config.queue_file.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".cms-doctor-probe"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return Check(
            "queue",
            "fail",
            f"SQLite queue folder {folder} is not writable: {exc.strerror}",
            "give this account that folder (CMS_HOME), or set CMS_REDIS_URL",
        )
    return Check("queue", "ok", f"embedded SQLite queue {config.queue_file}")


def _redis_saves(client: Any) -> str | None:
    """Redis's RDB save points ("" for none); None when CONFIG is not allowed (a managed
    Redis), where nothing can be said."""
    import redis

    try:
        return str(client.config_get("save").get("save", ""))
    except redis.ResponseError:
        return None


def _smtp(config: Config) -> Check:
    from cms_cli.notify import smtp

    url = config.settings.smtp_url
    if not url:
        return Check("smtp", "ok", "off: no CMS_SMTP_URL, in-app inbox only")
    try:
        client = smtp.connect(url, timeout=TIMEOUT)
        client.noop()
        client.quit()
    except ValueError as exc:
        return Check("smtp", "fail", str(exc), "CMS_SMTP_URL: smtp://user:pw@host:port")
    except (OSError, smtplib.SMTPException) as exc:
        return Check("smtp", "down", f"{mask_url(url)}: {exc}", _smtp_hint(exc))
    return Check("smtp", "ok", f"{mask_url(url)} accepts connections")


def _smtp_hint(exc: BaseException) -> str:
    """What to look at when the mail server did not answer as it should."""
    import ssl

    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            "the mail server's certificate is not trusted here ("
            f"{exc.verify_message}): install its CA, or fix the name in CMS_SMTP_URL"
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "the mail server refused the user and password in CMS_SMTP_URL"
    return "is the mail server up, and are host and port in CMS_SMTP_URL right?"


DEBUG = "run cms --debug doctor and report the traceback"


def _keyring(config: Config) -> Check:
    from cms_cli.auth.credentials import keyring_backend, keyring_name, token_file

    if keyring_backend() is None:
        return Check(
            "keyring",
            "warn",
            f"no usable OS keyring; tokens go to {token_file(config)} (0600)",
            "fine on a server; on a desktop, unlock or install the keyring",
        )
    return Check("keyring", "ok", keyring_name())


def _timezone(config: Config) -> Check:
    local = clock.now().astimezone(config.tz)
    return Check(
        "timezone", "ok", f"{config.settings.timezone}, now {local.isoformat(timespec='minutes')}"
    )


def _worker_and_backlog(config: Config) -> list[Check]:
    """When did a worker last beat, and what waits in the outbox."""
    import sqlalchemy as sa
    from sqlmodel import col

    from cms_cli.core.db import engine_of
    from cms_cli.notify.models import (
        Notification,
        NotificationStatus,
        SweepMark,
        WorkerHeartbeat,
    )
    from cms_cli.offerings.models import Offering

    now = clock.now()
    engine = engine_of(config)
    with engine.connect() as conn:
        workers = list(
            conn.execute(
                sa.select(
                    col(WorkerHeartbeat.name),
                    col(WorkerHeartbeat.seen_at),
                    col(WorkerHeartbeat.stopped_at),
                )
            ).all()
        )
        waiting = conn.execute(
            sa.select(sa.func.count(), sa.func.min(col(Notification.created_at))).where(
                col(Notification.status).in_(
                    [NotificationStatus.pending, NotificationStatus.queued]
                )
            )
        ).one()
        failed = conn.execute(
            sa.select(sa.func.count()).where(col(Notification.status) == NotificationStatus.failed)
        ).scalar()
        marks = list(
            conn.execute(
                sa.select(col(SweepMark.origin), col(SweepMark.finished_at)).order_by(
                    col(SweepMark.finished_at).desc()
                )
            ).all()
        )
        offerings = 0
        if not marks:
            offerings = int(
                conn.execute(sa.select(sa.func.count()).select_from(Offering)).scalar() or 0
            )
    return [
        _worker_check(workers, now, waiting[0]),
        _outbox_check(waiting, failed or 0, now, config.settings.sweep_minutes),
        _sweep_check(marks, offerings, now, config.settings.sweep_max_age_minutes),
    ]


SWEEP_FROM = (
    "reminders come from cms notify sweep in cron (or a systemd timer) or from a worker "
    "started without --no-scheduler (docs/operations.md, Cron)"
)


def _sweep_check(marks: list[Any], offerings: int, now: datetime, limit: int) -> Check:
    """Fails when the newest sweep ended more than ``limit`` minutes ago, or when none
    ever ran while there are offerings to sweep: cron that stopped is otherwise silent."""
    if not marks:
        detail = "no sweep has run against this database"
        if offerings:
            return Check("sweep", "fail", f"{detail}: no reminder is ever created", SWEEP_FROM)
        return Check("sweep", "warn", f"{detail} (no offerings yet)", SWEEP_FROM)
    origin, finished = marks[0]
    age = (now - clock.aware(finished)).total_seconds()
    others = f" (and {len(marks) - 1} other origin{'s' if len(marks) > 2 else ''})"
    where = origin + (others if len(marks) > 1 else "")
    detail = f"last sweep ended {_ago(age)}: {where}"
    if age > limit * 60:
        return Check(
            "sweep",
            "fail",
            f"{detail}; over the {limit} min allowed (sweep_max_age_minutes)",
            "is cron running the sweep, and does it succeed? see its log; " + SWEEP_FROM,
        )
    return Check("sweep", "ok", detail)


START_WORKER = "start one: cms worker (systemctl start cms-worker; docs/operations.md)"


def _worker_check(workers: list[Any], now: datetime, waiting: int) -> Check:
    """Fails when no worker is alive: each beats every HEARTBEAT_SECONDS, so one whose
    heartbeat is older than STALE_HEARTBEAT, or whose process (on this host) is gone, is
    dead — at once, not after a sweep or two; or when every worker recorded a clean
    stop while notifications wait. Warns when some are dead and others alive."""
    from cms_cli.notify.worker import HEARTBEAT_SECONDS, STALE_HEARTBEAT, alive_here

    if not workers:
        if waiting:
            return Check(
                "worker", "fail", f"no cms worker has run; {waiting} notification(s) wait",
                START_WORKER,
            )  # fmt: skip
        return Check("worker", "warn", "no cms worker has run against this database", START_WORKER)
    live = [w for w in workers if w.stopped_at is None]
    if not live:
        stopped = max(clock.aware(w.stopped_at) for w in workers)
        detail = f"every worker stopped (the last at {stopped.isoformat(timespec='seconds')})"
        if waiting:
            return Check(
                "worker", "fail", f"{detail}; {waiting} notification(s) wait", START_WORKER
            )
        return Check("worker", "warn", detail, START_WORKER)
    running, dead = [], []
    for worker in live:
        age = (now - clock.aware(worker.seen_at)).total_seconds()
        gone = alive_here(worker.name) is False
        if gone:
            dead.append(f"{worker.name} (its process is gone)")
        elif age > STALE_HEARTBEAT:
            dead.append(f"{worker.name} (last heartbeat {_ago(age)})")
        else:
            running.append(age)
    restart = "check it (systemctl status cms-worker; journalctl -u cms-worker) and restart it"
    if not running:
        return Check(
            "worker",
            "fail",
            f"no worker alive: {', '.join(dead)}; a worker beats every "
            f"{HEARTBEAT_SECONDS:g} s: dead, or cannot reach the database",
            restart,
        )
    detail = f"{len(running)} running, last heartbeat {_ago(min(running))}"
    if dead:
        return Check("worker", "warn", f"{detail}; dead: {', '.join(dead)}", restart)
    return Check("worker", "ok", detail)


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{max(0, seconds):.0f} s ago"
    return f"{seconds / 60:.0f} min ago"


def _outbox_check(waiting: Any, failed: int, now: datetime, sweep_minutes: int) -> Check:
    count, oldest = waiting
    limit = backlog_limit_minutes(sweep_minutes)
    retry = "cms notify list --status failed; cms notify retry --all-failed"
    if count:
        age = (now - clock.aware(oldest)).total_seconds() / 60
        detail = f"{count} waiting, the oldest for {age:.0f} min; {failed} failed"
        if age > limit:
            return Check(
                "outbox",
                "fail",
                f"{detail} (more than {limit} min: deliveries are stuck)",
                "check the worker and the queue (cms doctor's queue line); "
                "cms notify sweep --requeue-now hands the rows over again",
            )
        if failed:
            return Check("outbox", "warn", detail, retry)
        return Check("outbox", "ok", detail)
    if failed:
        return Check("outbox", "warn", f"nothing waiting; {failed} failed", retry)
    return Check("outbox", "ok", "nothing waiting; 0 failed")


#: How far a client's clock may be from the server's before the doctor warns.
SKEW_WARN = timedelta(minutes=2)


def _server(url: str, insecure: bool) -> list[Check]:
    """A client's view of its server: reachable and healthy, its version, TLS, and how
    far apart the two clocks are (sessions and deadlines follow the server's)."""
    import email.utils
    import json

    from cms_cli import __version__
    from cms_cli.api.remote import Request, check_url, deliver, unreachable

    try:
        base = check_url(url, insecure=insecure)
    except CmsError as exc:
        return [Check("server", "fail", exc.message, exc.hint)]
    try:
        answer = deliver(Request("GET", base + "/health", {"Accept": "application/json"}))
    except OSError as exc:
        why = unreachable(base, exc)  # a certificate not trusted here is named as such
        return [Check("server", "down", why.message, why.hint)]
    try:
        health = json.loads(answer.body)
    except ValueError:
        health = {}
    if answer.status != 200:
        detail = f"{base}: {answer.status} {health.get('database', '')}".strip()
        return [Check("server", "down", detail, "see the server's log")]
    version = health.get("version", "?")
    checks = [Check("server", "ok", f"cms {version} at {base}, database ok")]
    if version != __version__:
        checks.append(
            Check(
                "version",
                "warn",
                f"this cms is {__version__}, the server {version}",
                "install the server's version here (pip install cms-cli==VERSION)",
            )
        )
    checks.append(
        Check("tls", "ok", "https")
        if base.startswith("https://")
        else Check("tls", "warn", "plain http (loopback or --insecure)", "put TLS in front")
    )
    stamp = answer.header("date")
    if stamp:
        # The machine's real clock against the server's (CMS_NOW moves decisions only).
        skew = abs(
            email.utils.parsedate_to_datetime(stamp) - datetime.fromtimestamp(clock.wall(), UTC)
        )
        checks.append(
            Check("clock", "ok", f"{skew.total_seconds():.0f} s from the server's")
            if skew <= SKEW_WARN
            else Check(
                "clock",
                "warn",
                f"{skew.total_seconds():.0f} s from the server's",
                "sessions and deadlines follow the server's clock; set this one's (NTP)",
            )
        )
    return checks


def run(load: Callable[[], Config]) -> Report:
    """Every check, in order. A broken configuration stops the rest."""
    try:
        config = load()
    except CmsError as exc:
        return Report([Check("config", "fail", exc.message, exc.hint or "cms config path")])
    where = config.paths.config_file
    source = f"{where}" if config.file_found else f"no file at {where}, defaults and environment"
    checks = [Check("config", "ok", f"profile {config.profile}; {source}")]
    from cms_cli.core.context import current

    url = current().server_url
    if url:  # a client: the server holds the database; check it, and the keyring
        checks += _server(url, current().insecure)
        for probe in (_keyring, _timezone):
            checks.append(probe(config))
        return Report(checks)
    checks += _database(config)
    if [c.status for c in checks[1:3]] == ["ok", "ok"] and "created on first use" not in checks[
        1
    ].detail:
        try:
            checks += _worker_and_backlog(config)
        except Exception as exc:
            checks.append(Check("outbox", "fail", f"{type(exc).__name__}: {exc}", DEBUG))
    for probe in (_queue, _smtp, _keyring, _timezone):
        try:
            checks.append(probe(config))
        except Exception as exc:  # a check must report, never crash the doctor
            name = probe.__name__.strip("_")
            checks.append(Check(name, "fail", f"{type(exc).__name__}: {exc}", DEBUG))
    return Report(checks)
