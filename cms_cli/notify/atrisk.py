"""The sweep's attendance notifications: students at risk, told to their facilitator
and, after ``escalation_hours``, to the offering's manager.

A student is at risk in an offering they are enrolled in (not cancelled, started, and
ended at most a week ago) when their attendance is under ``attendance_alert_pct`` over
at least ``MIN_WEEKS`` recorded weeks (reason ``rate``), or when they missed
``attendance_alert_run`` recorded weeks in a row (reason ``run``). Each (recipient,
offering, student, reason) is told once: the outbox's unique key decides, as for the
other kinds, so concurrent sweeps add nothing twice. Students are never written to
about themselves. Two statements whatever the size: the counts, and the facilitators'
earlier notifications (for the escalations).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from cms_cli.core.config import Config
from cms_cli.core.db import table_of
from cms_cli.notify.models import Kind, Notification, NotificationStatus, Reason
from cms_cli.offerings.models import Enrolment, Offering
from cms_cli.tracker.attendance import counted, week_bits, week_mask
from cms_cli.tracker.models import Attendance, WeeklyLog

#: A rate says little before this many recorded weeks.
MIN_WEEKS = 3
#: Offerings still watched after their last day (the last weeks' logs come late).
AFTER_END = timedelta(days=7)

OUTBOX = table_of(Notification)


def at_risk(
    session: Session, config: Config, now: datetime
) -> list[tuple[int, int, int, int | None, Reason]]:
    """(offering, student, manager, facilitator, reason) of every student at risk now."""
    settings = config.settings
    today = now.astimezone(config.tz).date()
    log, mark, offering, enrolment = (
        table_of(WeeklyLog),
        table_of(Attendance),
        table_of(Offering),
        table_of(Enrolment),
    )
    query = (
        sa.select(
            offering.c.id,
            mark.c.student_id,
            offering.c.manager_id,
            offering.c.facilitator_id,
            *week_bits(log.c.week, None, "recorded"),
            *week_bits(log.c.week, mark.c.present, "present"),
        )
        .select_from(mark)
        .join(log, log.c.id == mark.c.log_id)
        .join(offering, offering.c.id == log.c.offering_id)
        .join(
            enrolment,
            sa.and_(
                enrolment.c.offering_id == offering.c.id,
                enrolment.c.student_id == mark.c.student_id,
            ),
        )
        .where(
            offering.c.cancelled_at.is_(None),
            offering.c.closed_at.is_(None),
            offering.c.start_date <= today,
            offering.c.end_date >= today - AFTER_END,
        )
        .group_by(
            offering.c.id, mark.c.student_id, offering.c.manager_id, offering.c.facilitator_id
        )
    )
    found = []
    for oid, sid, manager, facilitator, *bits in session.execute(query):
        shown = counted(week_mask(bits[0], bits[1]), week_mask(bits[2], bits[3]))
        rate = shown["rate"]
        enough = shown["weeks_recorded"] >= MIN_WEEKS and rate is not None
        if enough and rate < settings.attendance_alert_pct:
            found.append((oid, sid, manager, facilitator, Reason.rate))
        if shown["absent_run"] >= settings.attendance_alert_run:
            found.append((oid, sid, manager, facilitator, Reason.run))
    return found


def candidates(session: Session, config: Config, now: datetime, token: str) -> list[dict[str, Any]]:
    """The outbox rows the students at risk call for: the facilitator's at once; the
    manager's when there is no facilitator, or once the facilitator's is
    ``escalation_hours`` old and the student is still at risk."""
    risky = at_risk(session, config, now)
    if not risky:
        return []
    escalate_before = now - timedelta(hours=config.settings.escalation_hours)
    told = {
        (oid, sid, reason, recipient): created
        for oid, sid, reason, recipient, created in session.execute(
            sa.select(
                OUTBOX.c.offering_id,
                OUTBOX.c.student_id,
                OUTBOX.c.reason,
                OUTBOX.c.recipient_id,
                OUTBOX.c.created_at,
            ).where(OUTBOX.c.kind == Kind.attendance.value)
        )
    }
    rows: list[dict[str, Any]] = []
    for oid, sid, manager, facilitator, reason in risky:
        recipients = []
        if facilitator is not None:
            recipients.append(facilitator)
            first = told.get((oid, sid, reason.value, facilitator))
            if first is not None and first <= escalate_before:
                recipients.append(manager)
        else:
            recipients.append(manager)
        rows.extend(
            {
                "kind": Kind.attendance.value,
                "recipient_id": recipient,
                "offering_id": oid,
                "week": 0,
                "student_id": sid,
                "reason": reason.value,
                "status": NotificationStatus.pending.value,
                "attempts": 0,
                "created_at": now,
                "sweep_token": token,
            }
            for recipient in recipients
            if (oid, sid, reason.value, recipient) not in told
        )
    return rows
