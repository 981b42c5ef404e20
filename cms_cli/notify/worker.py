"""`cms worker`: the Huey consumer (threads), a heartbeat, and a graceful stop on
SIGTERM as well as SIGINT (Huey interrupts the running task on SIGTERM by default)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from cms_cli.core import clock
from cms_cli.core.config import Config
from cms_cli.core.db import rowcount
from cms_cli.core.session import in_transaction, session_scope
from cms_cli.notify.models import WorkerHeartbeat

#: A worker says it is alive this often (one UPDATE); `cms doctor` counts it dead when
#: its heartbeat is older than STALE_HEARTBEAT (or, on the same host, its process is gone).
HEARTBEAT_SECONDS = 5.0
STALE_HEARTBEAT = 3 * HEARTBEAT_SECONDS
log = logging.getLogger("cms.worker")


def beat(config: Config, name: str, started: Any, scheduler: bool) -> None:
    now = clock.now()
    with session_scope(config) as session:
        updated = session.execute(
            sa.update(WorkerHeartbeat)
            .where(col(WorkerHeartbeat.name) == name)
            .values(seen_at=now, scheduler=scheduler, stopped_at=None)
        )
        if not rowcount(updated):
            session.add(
                WorkerHeartbeat(name=name, started_at=started, seen_at=now, scheduler=scheduler)
            )


def record_stop(config: Config, name: str) -> None:
    """Say this worker stopped on purpose: `cms doctor` then knows nobody delivers."""
    now = clock.now()
    with session_scope(config) as session:
        session.execute(
            sa.update(WorkerHeartbeat)
            .where(col(WorkerHeartbeat.name) == name)
            .values(seen_at=now, stopped_at=now)
        )


#: Rows queued this long ago, held by nobody, while the queue is empty were lost with it
#: (a Redis restarted without persistence, or evicting): handed over again at once.
LOST_AFTER = timedelta(seconds=60)


def _heartbeat(
    config: Config, name: str, scheduler: bool, stop: threading.Event, huey: Any = None
) -> None:
    from cms_cli.notify import events

    started = clock.now()
    while not stop.is_set():
        try:
            beat(config, name, started, scheduler)
            events.heartbeat(clock.wall())
        except Exception as exc:  # the database may be away for a while; keep beating
            log.warning("heartbeat failed: %s", exc, extra={"event": "heartbeat"})
        try:
            release_dead(config, name)
            if huey is not None:
                lost_queue(config, huey)
        except Exception as exc:  # Redis or the database away: the next beat tries
            log.warning(
                "could not check the queue: %s", type(exc).__name__, extra={"event": "requeue"}
            )
        stop.wait(HEARTBEAT_SECONDS)


def alive_here(name: str) -> bool | None:
    """Whether the worker named ``host:pid`` runs, when it is on this host (None when it
    is on another, where only its heartbeat tells)."""
    host, _, pid = name.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def release_dead(config: Config, me: str) -> int:
    """The rows claimed by workers that died (SIGKILL, power loss: no heartbeat for
    STALE_HEARTBEAT, or, on this host, their process gone) let go and handed to the queue
    again at once, instead of after STALE_CLAIM and a sweep; each such worker is then
    recorded stopped (its work handed back). Returns the rows handed back."""
    from sqlmodel import select

    from cms_cli.notify.delivery import LIVE, tag_of
    from cms_cli.notify.models import Notification
    from cms_cli.notify.queue import enqueue_deliveries

    now = clock.now()
    with session_scope(config) as session:
        beats = session.exec(
            select(WorkerHeartbeat).where(col(WorkerHeartbeat.stopped_at).is_(None))
        ).all()
        dead = [
            b.name
            for b in beats
            if b.name != me
            and (
                alive_here(b.name) is False
                or (now - clock.aware(b.seen_at)).total_seconds() > STALE_HEARTBEAT
            )
        ]
    if not dead:
        return 0

    def letting_go(session: Any) -> list[int]:
        held = sa.or_(*(col(Notification.claim_token).startswith(tag_of(n)) for n in dead))
        ids = [
            int(i)
            for i in session.exec(
                select(Notification.id).where(col(Notification.status).in_(LIVE), held)
            ).all()
        ]
        if ids:
            session.execute(
                sa.update(Notification)
                .where(col(Notification.id).in_(ids), col(Notification.status).in_(LIVE), held)
                .values(claim_token=None, claimed_at=None, queued_at=now)
            )
        session.execute(
            sa.update(WorkerHeartbeat)
            .where(col(WorkerHeartbeat.name).in_(dead), col(WorkerHeartbeat.stopped_at).is_(None))
            .values(stopped_at=now)
        )
        return ids

    ids = in_transaction(config, letting_go)
    handed = enqueue_deliveries(config, ids) if ids else 0
    log.warning(
        "worker(s) %s died: %s notification(s) they held handed over again",
        ", ".join(dead),
        handed,
        extra={"event": "requeue", "requeued": handed, "worker": ", ".join(dead)},
    )
    return handed


def lost_queue(config: Config, huey: Any) -> int:
    """When Redis's queue and schedule are both empty, hand back the rows that wait in
    the outbox since LOST_AFTER (notify.sweep.hand_back_lost); the rows handed."""
    if huey.pending_count() or huey.scheduled_count():
        return 0
    from cms_cli.notify.sweep import hand_back_lost

    return hand_back_lost(config, LOST_AFTER)


def run(
    config: Config,
    *,
    workers: int,
    scheduler: bool,
    log_format: str = "plain",
    debug: bool = False,
    metrics: tuple[str, int] | None = None,
) -> None:
    """Run until SIGTERM or SIGINT; the deliveries in hand finish first. ``metrics`` is
    (host, port) to serve Prometheus metrics on."""
    from huey.consumer import Consumer

    from cms_cli.core import logs
    from cms_cli.notify import events
    from cms_cli.notify.queue import get_huey

    logs.setup(log_format, debug=debug)
    served = None
    if metrics is not None:
        from cms_cli.notify.metrics import serve

        host, port = metrics
        try:
            listener, served = serve(config, port, host)
        except OSError as exc:
            from cms_cli.core.errors import CmsError

            raise CmsError(
                f"cannot serve metrics on {host}:{port}: {exc.strerror}",
                hint="choose another --metrics-port",
            ) from exc
        events.listen(listener)
        log.info("metrics on http://%s:%s/metrics", host, port, extra={"event": "metrics"})
    huey = get_huey(config)
    if scheduler:
        _schedule_sweeps(huey, config)
    consumer = Consumer(
        huey,
        workers=workers,
        worker_type="thread",
        periodic=scheduler,
        graceful_signal="TERM",
        initial_delay=0.05,
        max_delay=1.0,
    )
    # Both signals stop gracefully: finish the delivery in hand, then exit 0.
    consumer._signal_actions[signal.SIGINT] = (False, True)
    from cms_cli.notify.delivery import worker_name

    name = worker_name()
    stop = threading.Event()
    watched = huey if config.settings.redis_url else None  # a SQLite queue cannot vanish
    beater = threading.Thread(
        target=_heartbeat, args=(config, name, scheduler, stop, watched), daemon=True
    )
    beater.start()
    log.info(
        "cms worker %s: %s thread(s), scheduler %s",
        name,
        workers,
        "on" if scheduler else "off",
        extra={"event": "start", "worker": name},
    )
    try:
        consumer.run()
    finally:
        from cms_cli.notify.delivery import close_connections

        close_connections()  # QUIT the SMTP connections the threads kept open
        stop.set()
        beater.join(timeout=5)
        try:
            record_stop(config, name)
        except Exception as exc:  # the database may be away: the heartbeat will age
            log.warning("could not record the stop: %s", exc)
        if served is not None:
            served.shutdown()
        log.info("cms worker %s stopped", name, extra={"event": "stop", "worker": name})


def _schedule_sweeps(huey: Any, config: Config) -> None:
    """Register ``cms.sweep``, a sweep every ``sweep_minutes``, on the worker's Huey."""
    from huey import crontab

    from cms_cli.notify import sweep

    if "cms.sweep" in huey._registry._registry:
        return
    minutes = config.settings.sweep_minutes
    schedule = (
        crontab(minute=f"*/{minutes}")
        if minutes < 60
        else crontab(minute="0", hour=f"*/{minutes // 60}")
    )

    @huey.periodic_task(schedule, name="cms.sweep")
    def periodic_sweep() -> None:
        try:
            sweep.run(config, origin="cms worker scheduler")
        except Exception:  # a failed sweep is logged; the next one tries again
            log.exception("periodic sweep failed")
