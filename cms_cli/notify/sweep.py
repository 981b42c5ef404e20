"""`cms notify sweep`: find every (offering, week) past its deadline whose log is missing
or incomplete, write one notification per (recipient, kind, offering, week) into the
outbox, hand the new ones to the queue, and hand again the rows left behind.

Set-based: a fixed handful of statements whatever the number of offerings. Safe to run
concurrently (the outbox's unique key decides; duplicates are skipped by the INSERT).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from cms_cli.core import clock, limits
from cms_cli.core.config import Config
from cms_cli.core.db import UTCDateTime, rowcount, table_of
from cms_cli.core.session import in_transaction, session_scope
from cms_cli.notify.models import Kind, Notification, NotificationStatus
from cms_cli.notify.queue import STALE
from cms_cli.notify.sql import days_between, insert_ignoring_duplicates
from cms_cli.offerings.models import Offering
from cms_cli.tracker import calendar
from cms_cli.tracker.calendar import Deadlines
from cms_cli.tracker.models import WeeklyLog

log = logging.getLogger("cms.notify")
OFFERING = table_of(Offering)
LOG = table_of(WeeklyLog)
OUTBOX = table_of(Notification)


@dataclass(frozen=True)
class Cutoffs:
    """The latest week-end days that are due for a reminder / for an escalation, and
    the day before which an offering's end puts it out of the sweep's reach."""

    reminder: date
    escalation: date
    #: Offerings that ended before this day are left alone (``remind_days_after_end``):
    #: a sweep after term end, or the first one of an install with last year's data,
    #: never sends a term's worth of reminders at once.
    ended_after: date = calendar.FIRST_DAY

    @classmethod
    def at(cls, now: datetime, deadlines: Deadlines, config: Config | None = None) -> Cutoffs:
        ended_after = calendar.FIRST_DAY
        if config is not None:
            days = config.settings.remind_days_after_end
            ended_after = clock.today(config.tz) - timedelta(days=days)
        return cls(
            reminder=deadlines.last_due_day(now),
            escalation=deadlines.last_escalation_day(now),
            ended_after=ended_after,
        )


@dataclass(frozen=True, kw_only=True)
class SweepResult:
    reminders: int
    escalations: int
    requeued: int
    enqueued: int
    #: Attendance notifications (students at risk) created.
    attendance: int = 0
    dry_run: bool = False
    seconds: float = 0.0  # how long the sweep took (metrics, logs); not in as_json

    def as_json(self) -> dict[str, int]:
        return {
            "reminders": self.reminders,
            "escalations": self.escalations,
            "attendance": self.attendance,
            "requeued": self.requeued,
            "enqueued": self.enqueued,
        }

    @property
    def created(self) -> int:
        return self.reminders + self.escalations + self.attendance


def _tracked(cutoff: date, ended_after: date = calendar.FIRST_DAY) -> Any:
    """The offerings the sweep considers: live (not cancelled, not closed by `offering
    close`), started by ``cutoff`` and not before the supported years
    (calendar.tracked_weeks: rows stored before the limits are left out or capped,
    never a failure), and not ended before ``ended_after``."""
    o = OFFERING
    return sa.and_(
        o.c.cancelled_at.is_(None),
        o.c.closed_at.is_(None),
        o.c.start_date.between(calendar.FIRST_DAY, cutoff),
        o.c.end_date >= ended_after,
    )


def _max_weeks(session: Session, cutoff: date, ended_after: date = calendar.FIRST_DAY) -> int:
    """Weeks that can be due at ``cutoff``: the longest tracked offering's, capped at
    limits.MAX_WEEKS (so one odd row never grows the statement or its work)."""
    longest = session.execute(
        sa.select(sa.func.max(days_between(OFFERING.c.start_date, OFFERING.c.end_date))).where(
            _tracked(cutoff, ended_after)
        )
    ).scalar()
    return 0 if longest is None else min(int(longest) // 7 + 1, limits.MAX_WEEKS)


def _weeks(count: int) -> Any:
    """Week numbers 1..count: a recursive CTE, the same statement whatever ``count``."""
    weeks = sa.select(sa.literal(1, sa.Integer).label("n")).cte("weeks", recursive=True)
    step = sa.select((weeks.c.n + 1).label("n")).where(
        weeks.c.n < sa.bindparam("week_count", count, sa.Integer)
    )
    return weeks.union_all(step)


def _candidates(kind: Kind, cutoffs: Cutoffs, weeks: Any, now: datetime, token: str) -> Any:
    """SELECT the outbox rows due for ``kind`` (columns in OUTBOX_COLUMNS order)."""
    o, w, lg = OFFERING, weeks, LOG
    within = 7 * (w.c.n - 1) <= days_between(o.c.start_date, o.c.end_date)
    if kind is Kind.reminder:
        recipient = o.c.facilitator_id
        due = 7 * w.c.n - 1 <= days_between(o.c.start_date, sa.literal(cutoffs.reminder, sa.Date))
        who: sa.ColumnElement[bool] = o.c.facilitator_id.is_not(None)
    else:
        recipient = o.c.manager_id
        due = 7 * w.c.n - 1 <= sa.case(
            # No facilitator to remind: the manager is told at the deadline itself.
            (
                o.c.facilitator_id.is_(None),
                days_between(o.c.start_date, sa.literal(cutoffs.reminder, sa.Date)),
            ),
            else_=days_between(o.c.start_date, sa.literal(cutoffs.escalation, sa.Date)),
        )
        who = sa.true()
    return (
        sa.select(
            sa.literal(kind.value).label("kind"),
            recipient.label("recipient_id"),
            o.c.id.label("offering_id"),
            w.c.n.label("week"),
            sa.literal(NotificationStatus.pending.value).label("status"),
            sa.literal(0).label("attempts"),
            sa.literal(now, UTCDateTime()).label("created_at"),
            sa.literal(token).label("sweep_token"),
        )
        .select_from(o.join(w, sa.and_(within, due)))
        .outerjoin(lg, sa.and_(lg.c.offering_id == o.c.id, lg.c.week == w.c.n))
        .where(
            _tracked(cutoffs.reminder, cutoffs.ended_after),
            who,
            sa.or_(lg.c.id.is_(None), lg.c.complete.is_(False)),
        )
    )


OUTBOX_COLUMNS = (
    "kind",
    "recipient_id",
    "offering_id",
    "week",
    "status",
    "attempts",
    "created_at",
    "sweep_token",
)


def _not_in_outbox(candidates: Any) -> Any:
    c = candidates.subquery("c")
    exists = (
        sa.select(OUTBOX.c.id)
        .where(
            OUTBOX.c.recipient_id == c.c.recipient_id,
            OUTBOX.c.kind == c.c.kind,
            OUTBOX.c.offering_id == c.c.offering_id,
            OUTBOX.c.week == c.c.week,
        )
        .exists()
    )
    return sa.select(sa.func.count()).select_from(c).where(~exists)


def write_outbox(
    session: Session,
    now: datetime,
    cutoffs: Cutoffs,
    *,
    dry_run: bool,
    config: Config | None = None,
) -> tuple[str, dict[Kind, int]]:
    """Insert (or, dry, count) what is due, and (given the ``config`` that sets their
    thresholds) the attendance notifications of students at risk. Returns this sweep's
    token and counts by kind."""
    token = secrets.token_hex(15)  # 30 characters; + "r" marks the rows handed over again
    created: dict[Kind, int] = dict.fromkeys(Kind, 0)
    dialect = session.get_bind().dialect.name
    if config is not None:
        from cms_cli.notify import atrisk

        alerts = atrisk.candidates(session, config, now, token)
        if dry_run:
            created[Kind.attendance] = len(alerts)
        elif alerts:
            session.execute(insert_ignoring_duplicates(dialect, OUTBOX), alerts)
    count = _max_weeks(session, cutoffs.reminder, cutoffs.ended_after)
    weeks = _weeks(max(count, 1))
    for kind in (Kind.reminder, Kind.escalation) if count else ():
        candidates = _candidates(kind, cutoffs, weeks, now, token)
        if dry_run:
            created[kind] = int(session.execute(_not_in_outbox(candidates)).scalar() or 0)
        else:
            session.execute(
                insert_ignoring_duplicates(dialect, OUTBOX).from_select(
                    list(OUTBOX_COLUMNS), candidates
                )
            )
    if not dry_run:
        rows = session.execute(
            sa.select(OUTBOX.c.kind, sa.func.count())
            .where(OUTBOX.c.sweep_token == token)
            .group_by(OUTBOX.c.kind)
        ).all()
        for kind, n in rows:
            created[Kind(getattr(kind, "value", kind))] = int(n)
    return token, created


def stale_condition(now: datetime, wait: timedelta = STALE) -> Any:
    """Rows handed to nobody, or to a queue or worker that lost them, ``wait`` ago or
    earlier (``--requeue-now``: no wait). A row a worker holds right now is never one."""
    o = OUTBOX
    return sa.and_(
        o.c.status.in_([NotificationStatus.pending.value, NotificationStatus.queued.value]),
        sa.func.coalesce(o.c.queued_at, o.c.created_at) <= now - wait,
        sa.or_(o.c.claimed_at.is_(None), o.c.claimed_at < now - STALE),
    )


def mark_requeue(session: Session, now: datetime, token: str, wait: timedelta = STALE) -> int:
    result = session.execute(
        sa.update(OUTBOX)
        .where(
            stale_condition(now, wait),
            sa.or_(OUTBOX.c.sweep_token.is_(None), OUTBOX.c.sweep_token != token),
        )
        .values(sweep_token=token + "r", queued_at=now, claim_token=None, claimed_at=None)
    )
    return rowcount(result)


def _write(
    session: Session,
    now: datetime,
    cutoffs: Cutoffs,
    *,
    dry_run: bool,
    wait: timedelta,
    config: Config | None = None,
) -> tuple[str, dict[Kind, int], int]:
    """The sweep's first transaction: new rows, stale rows marked, one audit event."""
    token, created = write_outbox(session, now, cutoffs, dry_run=dry_run, config=config)
    requeued = 0 if dry_run else mark_requeue(session, now, token, wait)
    if not dry_run and (any(created.values()) or requeued):
        from cms_cli.audit import service as audit

        audit.record(
            session,
            None,
            "sweep",
            "notification",
            None,
            after={
                "reminders": created[Kind.reminder],
                "escalations": created[Kind.escalation],
                "attendance": created[Kind.attendance],
                "requeued": requeued,
            },
        )
    return token, created, requeued


def run(
    config: Config,
    *,
    dry_run: bool = False,
    enqueue: Any = None,
    requeue_now: bool = False,
    origin: str = "cms notify sweep",
) -> SweepResult:
    """One sweep. Raises Unavailable (exit 7) when the queue cannot take the rows; they
    stay in the outbox and a later sweep hands them over (after STALE, or at once with
    ``requeue_now``: once the queue is back after an outage).

    Concurrent sweeps (cron on several hosts) race on the outbox's unique key; on MySQL
    the loser of such a race is rolled back as a deadlock victim, and its transaction is
    simply run again (it then finds the rows written and adds nothing).

    A sweep that ends well leaves its mark (``origin`` on this host, SweepMark) in its
    last transaction: `cms doctor` reads the newest mark's age.
    """
    import time

    from cms_cli.notify import events, queue

    started = time.monotonic()
    now = clock.now()
    cutoffs = Cutoffs.at(now, Deadlines.of(config), config)
    wait = timedelta(0) if requeue_now else STALE
    token, created, requeued = in_transaction(
        config,
        lambda session: _write(session, now, cutoffs, dry_run=dry_run, wait=wait, config=config),
    )
    if dry_run:
        stale = _count_stale(config, now, wait)
        return SweepResult(
            reminders=created[Kind.reminder],
            escalations=created[Kind.escalation],
            attendance=created[Kind.attendance],
            requeued=stale,
            enqueued=0,
            dry_run=True,
        )
    mine = OUTBOX.c.sweep_token.in_([token, token + "r"])
    with session_scope(config) as session:
        ids = [
            row[0]
            for row in session.execute(
                sa.select(OUTBOX.c.id).where(mine).order_by(OUTBOX.c.id)
            ).all()
        ]
    handed = (enqueue or queue.enqueue_deliveries)(config, ids)
    in_transaction(
        config,
        lambda session: session.execute(
            sa.update(OUTBOX)
            .where(mine, OUTBOX.c.status == NotificationStatus.pending.value)
            .values(status=NotificationStatus.queued.value, queued_at=now)
        ),
    )
    from cms_cli.auth.service import prune_throttles
    from cms_cli.notify import prune

    kept_from = prune.retention_cutoff(config, clock.today(config.tz))

    def finish(session: Session) -> None:
        prune_throttles(session)  # housekeeping: forgotten login failures
        if kept_from is not None:  # outbox_retention_days
            prune.prune(session, config, kept_from)
        mark_swept(session, origin, clock.now(), sum(created.values()))

    in_transaction(config, finish)
    seconds = time.monotonic() - started
    result = SweepResult(
        reminders=created[Kind.reminder],
        escalations=created[Kind.escalation],
        attendance=created[Kind.attendance],
        requeued=requeued,
        # `enqueued`: this sweep's new rows handed over; those handed over again are
        # `requeued` (docs/operations.md, "Cron").
        enqueued=min(handed, sum(created.values())),
        seconds=seconds,
    )
    log.info(
        "sweep: %s reminder(s), %s escalation(s), %s attendance created; "
        "%s enqueued, %s requeued (%.2f s)",
        result.reminders,
        result.escalations,
        result.attendance,
        result.enqueued,
        result.requeued,
        seconds,
        extra={"event": "sweep", **result.as_json(), "duration": round(seconds, 3)},
    )
    events.swept(result, seconds)
    return result


def origin_here(origin: str) -> str:
    """``origin`` on this host: where a sweep came from, as doctor says it."""
    import socket

    return f"{origin} on {socket.gethostname()}"[:200]


def mark_swept(session: Session, origin: str, at: datetime, created: int) -> None:
    """Record that ``origin`` (on this host) finished a sweep ``at``: one UPDATE, and an
    INSERT the first time (a concurrent first sweep of the same origin is skipped)."""
    from cms_cli.notify.models import SweepMark

    table = table_of(SweepMark)
    where = origin_here(origin)
    changed = session.execute(
        sa.update(table).where(table.c.origin == where).values(finished_at=at, created=created)
    )
    if rowcount(changed):
        return
    dialect = session.get_bind().dialect.name
    session.execute(
        insert_ignoring_duplicates(dialect, table).values(
            origin=where, finished_at=at, created=created
        )
    )


def hand_back_lost(config: Config, wait: timedelta) -> int:
    """Rows ``queued`` at least ``wait`` ago that nobody holds, handed to the queue again
    now: a worker calls this when it finds the queue empty (a Redis restarted without
    persistence, an eviction) rather than leave them to a sweep 10 minutes on. A row
    handed twice is delivered once (claims); its ``queued_at`` is renewed, so other
    workers leave it alone for ``wait``."""
    import secrets

    from cms_cli.notify import queue

    now = clock.now()
    token = secrets.token_hex(8)
    lost = in_transaction(config, lambda session: mark_requeue(session, now, token, wait))
    if not lost:
        return 0
    with session_scope(config) as session:
        ids = [
            row[0]
            for row in session.execute(
                sa.select(OUTBOX.c.id)
                .where(OUTBOX.c.sweep_token == token + "r")
                .order_by(OUTBOX.c.id)
            ).all()
        ]
    handed = queue.enqueue_deliveries(config, ids)
    log.warning(
        "the queue was empty while %s notification(s) waited in the outbox: handed over again",
        handed,
        extra={"event": "requeue", "requeued": handed},
    )
    return handed


def _count_stale(config: Config, now: datetime, wait: timedelta) -> int:
    with session_scope(config) as session:
        return int(
            session.execute(
                sa.select(sa.func.count()).select_from(OUTBOX).where(stale_condition(now, wait))
            ).scalar()
            or 0
        )
