"""The Huey queue: SqliteHuey in the data dir by default, RedisHuey with CMS_REDIS_URL.

The instance is built on first use (never at import) for the configuration at hand,
with the tasks registered on it: ``cms.deliver`` (one notification) and
``cms.deliver_digest``. The worker adds the scheduler's ``cms.sweep`` (notify.worker).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from cms_cli.core.config import Config, mask_url
from cms_cli.core.errors import Unavailable

log = logging.getLogger("cms.notify")

#: How long a row may wait, handed to nobody (or to a queue that lost it), before a
#: sweep hands it to the queue again.
STALE = timedelta(minutes=10)
_lock = threading.Lock()
_instances: dict[tuple[str, bool], Any] = {}


def _key(config: Config, immediate: bool) -> tuple[str, bool]:
    return (config.settings.redis_url or str(config.queue_file), immediate)


def get_huey(config: Config, *, immediate: bool = False) -> Any:
    """The Huey of this configuration, with cms's tasks registered."""
    with _lock:
        key = _key(config, immediate)
        if key not in _instances:
            _instances[key] = _build(config, immediate)
        return _instances[key]


def _attempt(event: str, what: Any, run: Callable[[], str]) -> str:
    """One delivery task's run: a failure the worker's settings allow to try again
    becomes Huey's RetryTask (with the worker's backoff); anything else unexpected (the
    database away while claiming, say) is one log line, and the rows wait in the
    outbox for a later sweep."""
    from huey.exceptions import RetryTask

    from cms_cli.notify import delivery

    try:
        return run()
    except delivery.TryAgain as again:
        raise RetryTask(delay=again.delay) from again
    except Exception as exc:
        if _transient(exc):
            # The database away or too busy now: the task is kept and tried again after
            # a pause (the worker slows down rather than drain the queue).
            log.warning(
                "%s of %s not made now (%s); tried again in %g s",
                event,
                what,
                type(exc).__name__,
                BUSY_RETRY,
                extra={"event": event, "notification": what, "outcome": "retry"},
            )
            raise RetryTask(delay=BUSY_RETRY) from exc
        first = str(exc).splitlines()[0][:300] if str(exc) else ""
        log.warning(
            "%s of %s not made now (%s: %s); a later sweep hands it over",
            event,
            what,
            type(exc).__name__,
            first,
            extra={"event": event, "notification": what, "outcome": "later"},
        )
        return "later"


#: Seconds before a task the database could not take now is tried again.
BUSY_RETRY = 5.0


def _transient(exc: BaseException) -> bool:
    """A database failure that passes: unreachable for now, or a lock race lost."""
    import sys

    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is None or not isinstance(exc, sa_exc.DBAPIError):
        return False
    from cms_cli.core.db import passes

    # Rights revoked for a while (a migration, an operator's slip) pass too: the task
    # waits rather than being dropped.
    return passes(exc)


def _build(config: Config, immediate: bool) -> Any:
    from huey import RedisHuey, SqliteHuey
    from huey.signals import SIGNAL_INTERRUPTED

    from cms_cli.notify import delivery

    url = config.settings.redis_url
    huey: Any
    # results=False: nobody reads a delivery's return value, and a stored one per task
    # would grow the queue's storage forever (huey.results.cms in Redis).
    if immediate:
        huey = SqliteHuey("cms", immediate=True, filename=":memory:", results=False)
    elif url:
        import redis

        pool = redis.ConnectionPool.from_url(
            url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30
        )
        huey = RedisHuey("cms", connection_pool=pool, results=False)
    else:
        from cms_cli.core.files import private_file

        private_file(config.queue_file)  # 0600 in a 0700 folder when new
        huey = SqliteHuey("cms", filename=str(config.queue_file), timeout=10, results=False)

    # No retry policy is frozen into the message: the process that enqueues (a sweep)
    # may have other settings than the worker. The worker's own configuration decides
    # at delivery time whether to try again, and when (delivery.retry_delay).
    @huey.task(name="cms.deliver")
    def deliver(notification_id: int) -> str:
        return _attempt(
            "delivery", notification_id, lambda: delivery.deliver(notification_id, config)
        )

    @huey.task(name="cms.deliver_digest")
    def deliver_digest(notification_ids: list[int]) -> str:
        from cms_cli.notify import digest

        return _attempt(
            "digest", notification_ids, lambda: digest.deliver_digest(notification_ids, config)
        )

    @huey.signal(SIGNAL_INTERRUPTED)
    def requeue_interrupted(signal: str, task: Any, *args: Any) -> None:
        if task.name == "cms.deliver":
            log.info("delivery of notification %s interrupted: queued again", task.args[0])
            delivery.release(task.args[0], config)
            huey.enqueue(task)
        elif task.name == "cms.deliver_digest":
            from cms_cli.notify import digest

            log.info("digest of %s interrupted: queued again", task.args[0])
            digest.release_many(task.args[0], config)
            huey.enqueue(task)

    huey.cms_deliver = deliver
    huey.cms_deliver_digest = deliver_digest
    return huey


#: Tasks handed to the queue in one round trip (a Redis pipeline, one SQLite transaction).
BATCH = 1_000


def _put_many(huey: Any, tasks: list[Any]) -> None:
    """Enqueue ``tasks`` in one round trip where the storage allows it.

    Huey's API enqueues one task per call: 6,000 Redis round trips for a first sweep
    of 12,000 offerings. The messages are Huey's own (``serialize_task``); only their
    transport is batched: one LPUSH of many values through a pipeline (RedisStorage
    pushes with LPUSH and pops from the other end, so the order is kept), or one
    executemany in one transaction (SqliteStorage). Other storages, and immediate mode,
    go through ``huey.enqueue`` one by one.
    """
    from huey.storage import RedisStorage, SqliteStorage

    storage = huey.storage
    if huey.immediate or any(t.priority for t in tasks):
        for task in tasks:
            huey.enqueue(task)
        return
    messages = [huey.serialize_task(task) for task in tasks]
    if type(storage) is RedisStorage:
        pipe = storage.conn.pipeline(transaction=False)
        pipe.lpush(storage.queue_key, *messages)
        pipe.execute()
    elif type(storage) is SqliteStorage:
        rows = [(storage.name, storage.to_blob(m), 0) for m in messages]
        with storage.db(commit=True) as cursor:
            cursor.executemany("insert into task (queue, data, priority) values (?, ?, ?)", rows)
    else:
        for message in messages:
            storage.enqueue(message)


def _by_recipient(config: Config, ids: Sequence[int]) -> list[list[int]]:
    """``ids`` grouped by recipient (one digest each), in one statement per 1,000."""
    import sqlalchemy as sa

    from cms_cli.core.db import table_of
    from cms_cli.core.session import session_scope
    from cms_cli.notify.models import Notification

    table = table_of(Notification)
    groups: dict[int, list[int]] = {}
    with session_scope(config) as session:
        for start in range(0, len(ids), BATCH):
            part = list(ids[start : start + BATCH])
            for notification_id, recipient in session.execute(
                sa.select(table.c.id, table.c.recipient_id)
                .where(table.c.id.in_(part))
                .order_by(table.c.id)
            ):
                groups.setdefault(recipient, []).append(notification_id)
    return list(groups.values())


def enqueue_deliveries(config: Config, ids: Sequence[int]) -> int:
    """Hand notifications to the queue, in batches; Unavailable (exit 7) when it cannot
    be reached (what was not handed over stays in the outbox for a later sweep)."""
    if not ids:
        return 0
    huey = get_huey(config)
    done = 0
    try:
        if config.settings.digest:
            groups = _by_recipient(config, ids)
            for start in range(0, len(groups), BATCH):
                chunk = groups[start : start + BATCH]
                _put_many(huey, [huey.cms_deliver_digest.s(group) for group in chunk])
                done += sum(len(group) for group in chunk)
            return done
        for start in range(0, len(ids), BATCH):
            part = ids[start : start + BATCH]
            _put_many(huey, [huey.cms_deliver.s(i) for i in part])
            done += len(part)
    except Exception as exc:
        where = (
            mask_url(config.settings.redis_url)
            if config.settings.redis_url
            else str(config.queue_file)
        )
        from cms_cli.core import clock

        after = (clock.now() + STALE).astimezone(config.tz).strftime("%H:%M %Z")
        # A refused pipeline's error names its commands and their arguments (pickled
        # tasks): only Redis's own words are shown ("OOM command not allowed ...").
        said = str(exc).rpartition("caused error: ")[2].splitlines()
        reason = (said[0] if said else type(exc).__name__)[:200]
        verb = "refused the write" if "caused error: " in str(exc) else "unavailable"
        raise Unavailable(
            f"queue {verb} ({where}): {reason}; "
            f"{len(ids) - done} notification(s) stay in the outbox",
            hint=f"the first cms notify sweep after {after} hands them over again; once "
            "the queue is back, cms notify sweep --requeue-now does it at once",
        ) from exc
    return done
