"""Notifications and inbox items as shown, and their vocabularies: plain pydantic, so
that a client of `cms serve` reads them without SQLAlchemy (the tables are in
models.py)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from cms_cli.core.base import Model


class Kind(StrEnum):
    reminder = "reminder"
    escalation = "escalation"
    #: A student at risk: attendance under the threshold, or absences in a row.
    attendance = "attendance"


class Reason(StrEnum):
    """Why a student is at risk (an attendance notification's ``reason``)."""

    rate = "rate"  # attendance under attendance_alert_pct over 3 recorded weeks or more
    run = "run"  # attendance_alert_run recorded weeks missed in a row


class NotificationStatus(StrEnum):
    pending = "pending"  # written to the outbox, not yet handed to the queue
    queued = "queued"  # handed to the queue (or being delivered)
    sent = "sent"
    failed = "failed"  # every attempt failed; `cms notify retry` tries again


class NotificationPublic(Model):
    """A notification as `notify list` shows it (fields in the contract's order)."""

    id: int
    kind: Kind
    recipient: str
    offering_id: int
    week: int
    status: NotificationStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class InboxItemPublic(Model):
    """An in-app notification as `cms inbox` shows it to its reader."""

    id: int
    subject: str
    body: str
    created_at: datetime
    read_at: datetime | None
