"""The notification outbox, the in-app inbox and the workers' heartbeats."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from cms_cli.core.db import str_enum, utc_column
from cms_cli.notify.public import InboxItemPublic as InboxItemPublic
from cms_cli.notify.public import Kind as Kind
from cms_cli.notify.public import NotificationPublic as NotificationPublic
from cms_cli.notify.public import NotificationStatus as NotificationStatus
from cms_cli.notify.public import Reason as Reason


class Notification(SQLModel, table=True):
    """One message to one person about one week of one offering (a reminder, an
    escalation), or about one student of one offering and one reason (attendance);
    never two."""

    __tablename__ = "notification"
    __table_args__ = (
        sa.UniqueConstraint(
            "recipient_id",
            "kind",
            "offering_id",
            "week",
            "student_id",
            "reason",
            name="uq_notification_once",
        ),
        sa.Index(None, "status", "queued_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: Kind = Field(sa_type=str_enum(Kind))
    recipient_id: int = Field(foreign_key="app_user.id", index=True)
    offering_id: int = Field(foreign_key="offering.id", ondelete="CASCADE", index=True)
    #: The week a reminder or escalation is about; 0 for an attendance notification.
    week: int
    #: The student an attendance notification is about (0 otherwise: part of the key,
    #: so never NULL, which a unique key would not compare).
    student_id: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    #: An attendance notification's Reason ("" otherwise).
    reason: str = Field(default="", max_length=8, sa_column_kwargs={"server_default": ""})
    status: NotificationStatus = Field(sa_type=str_enum(NotificationStatus))
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(sa_column=utc_column())
    queued_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    #: The sweep that created or last re-enqueued the row (to find "its" rows set-based).
    sweep_token: str | None = Field(default=None, max_length=32, index=True)
    #: The delivery that holds the row right now, so that two workers never both send it.
    claim_token: str | None = Field(default=None, max_length=32)
    claimed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class InboxItem(SQLModel, table=True):
    """A notification in its recipient's in-app inbox (one per notification)."""

    __tablename__ = "inbox_item"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    notification_id: int = Field(foreign_key="notification.id", ondelete="CASCADE", unique=True)
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_column=utc_column())
    read_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class WorkerHeartbeat(SQLModel, table=True):
    """`cms worker` processes say they are alive; `cms doctor` reads it."""

    __tablename__ = "worker_heartbeat"

    name: str = Field(primary_key=True, max_length=200)
    started_at: datetime = Field(sa_column=utc_column())
    seen_at: datetime = Field(sa_column=utc_column())
    scheduler: bool = Field(default=False)
    #: Set when the worker stopped cleanly (SIGTERM/SIGINT); a worker killed leaves it
    #: unset and its heartbeat simply ages.
    stopped_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class SweepMark(SQLModel, table=True):
    """When each origin's last sweep ended: `cms notify sweep` run by cron on a host, or
    a worker's scheduler. `cms doctor` fails when the newest is older than
    ``sweep_max_age_minutes``: reminders stop in silence when cron stops."""

    __tablename__ = "sweep_mark"

    origin: str = Field(primary_key=True, max_length=200)
    finished_at: datetime = Field(sa_column=utc_column())
    #: Notifications that sweep created.
    created: int = Field(default=0)
