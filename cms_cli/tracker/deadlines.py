"""`cms tracker deadlines`: the weeks still to be logged and when each is due, for the
terminal, scripts and calendars (an iCalendar file, RFC 5545).

Two statements whatever the number of offerings: the offerings, then their logs.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from cms_cli.auth.models import Role, User
from cms_cli.core.errors import PermissionDenied
from cms_cli.core.text import normalize_email
from cms_cli.offerings import service as offerings
from cms_cli.offerings.models import Offering
from cms_cli.tracker import calendar
from cms_cli.tracker.calendar import Deadlines
from cms_cli.tracker.models import DeadlinePublic, WeeklyLog


def upcoming(
    session: Session,
    actor: User,
    *,
    offering_id: int | None,
    facilitator: str | None,
    deadlines: Deadlines,
    now: datetime,
    today: date,
) -> list[DeadlinePublic]:
    """Weeks not yet due at ``now``, by due time: a facilitator's own offerings; a
    manager's choice (``facilitator``, ``offering_id``, or every offering)."""
    if actor.role is Role.student:
        raise PermissionDenied("students have no weekly logs to hand in")
    if actor.role is Role.facilitator:
        if facilitator is not None and normalize_email(facilitator) != actor.email:
            raise PermissionDenied("facilitators see their own deadlines only")
        facilitator = None  # their own offerings: the visibility rule already says so
    chosen = offerings.Filters(facilitator=facilitator)
    if offering_id is not None:
        # exit 3 for none, 5 for someone else's
        offerings.check_can_see(session, actor, offerings.get_offering_row(session, offering_id))
        chosen = chosen.model_copy(update={"ids": [offering_id]})
    query = offerings.filtered_query(actor, chosen, today=today)
    rows = session.connection().execute(query.order_by(col(Offering.id))).all()
    visible = query.subquery("visible")
    complete = {
        (o, w): bool(c)
        for o, w, c in session.execute(
            sa.select(
                col(WeeklyLog.offering_id), col(WeeklyLog.week), col(WeeklyLog.complete)
            ).where(col(WeeklyLog.offering_id).in_(sa.select(visible.c.id)))
        )
    }
    found = []
    for row in rows:
        for week in range(1, calendar.tracked_weeks(row.start_date, row.end_date) + 1):
            due = deadlines.due(row.start_date, week)
            if due <= now:
                continue
            found.append(
                DeadlinePublic(
                    offering_id=row.id,
                    module=row.module,
                    facilitator=row.facilitator,
                    week=week,
                    last_day=calendar.week_end(row.start_date, week),
                    due_at=due,
                    complete=complete.get((row.id, week), False),
                )
            )
    found.sort(key=lambda d: (d.due_at, d.offering_id))
    return found
