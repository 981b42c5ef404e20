"""`cms notify prune`: the outbox keeps its history, and lets go of what can never
matter again.

A notification row is what makes the sweep's "never twice" hold: the sweep writes one
per (recipient, kind, offering, week, ...) and skips those that exist. So only rows the
sweep can never want again are deleted: rows already `sent` or `failed` (never one
waiting), of offerings the sweep leaves alone for good (closed by `cms offering close`;
not cancelled ones, which may be reinstated). Their inbox items go with them.
Deliveries never slow down as the history grows (every statement after the claim
goes by id; bench/notify.py (d)): the point of pruning is the size of the database
and of its backups.
"""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlmodel import Session

from cms_cli.core.config import Config
from cms_cli.core.db import rowcount, table_of
from cms_cli.notify.models import InboxItem, Notification, NotificationStatus
from cms_cli.offerings.models import Offering

OUTBOX = table_of(Notification)
INBOX = table_of(InboxItem)
OFFERING = table_of(Offering)


def _prunable(before: datetime) -> sa.ColumnElement[bool]:
    # Closed only: a closed offering is never swept again (nothing reopens it), where a
    # cancelled one may be reinstated (`offering update --status active`) and swept.
    ended = sa.select(OFFERING.c.id).where(OFFERING.c.closed_at.is_not(None))
    return sa.and_(
        OUTBOX.c.created_at < before,
        OUTBOX.c.status.in_([NotificationStatus.sent.value, NotificationStatus.failed.value]),
        OUTBOX.c.offering_id.in_(ended),
    )


def start_of(day: date, config: Config) -> datetime:
    """The first instant of ``day`` in the institution's time zone."""
    return datetime.combine(day, time(0), tzinfo=config.tz)


def prune(session: Session, config: Config, before: date, *, dry_run: bool = False) -> int:
    """Delete (or, on a dry run, count) the prunable rows created before ``before`` and
    their inbox items; one audit event when anything was deleted."""
    from cms_cli.audit import service as audit

    where = _prunable(start_of(before, config))
    if dry_run:
        return int(
            session.execute(sa.select(sa.func.count()).select_from(OUTBOX).where(where)).scalar()
            or 0
        )
    session.execute(
        INBOX.delete().where(INBOX.c.notification_id.in_(sa.select(OUTBOX.c.id).where(where)))
    )
    deleted = rowcount(session.execute(OUTBOX.delete().where(where)))
    if deleted:
        audit.record(
            session,
            None,
            "prune",
            "notification",
            None,
            after={"before": before.isoformat(), "deleted": deleted},
        )
    return deleted


def retention_cutoff(config: Config, today: date) -> date | None:
    """The day before which the sweep prunes (``outbox_retention_days``), or None."""
    from datetime import timedelta

    days = config.settings.outbox_retention_days
    return today - timedelta(days=days) if days else None
