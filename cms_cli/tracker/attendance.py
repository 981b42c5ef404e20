"""`cms tracker attendance`: each student's attendance per offering, from the weekly
logs' per-student records.

Set-based: one statement whatever the number of offerings, students and weeks (the
database counts; Python only shapes the rows). A student counts over the weeks whose
log recorded attendance with them in it (enrolled later: the earlier weeks are not
theirs); a week whose log took no attendance counts for nobody.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlmodel import Session, col

from cms_cli.auth.models import Role, User
from cms_cli.core.errors import PermissionDenied, ValidationError
from cms_cli.core.text import normalize_email
from cms_cli.offerings import service as offerings
from cms_cli.offerings.models import Enrolment
from cms_cli.tracker.models import Attendance, AttendancePublic, WeeklyLog
from cms_cli.tracker.public import AttendanceFilters as AttendanceFilters


def check_below(value: float | None) -> float | None:
    if value is not None and not 0 < value <= 100:
        raise ValidationError(f"--below must be a percentage above 0, up to 100 (got {value:g})")
    return value


def attendance(
    session: Session, actor: User, filters: AttendanceFilters, *, today: date
) -> list[AttendancePublic]:
    """Per (student, offering) the actor may see: managers every one, facilitators
    their offerings', students their own. Ordered by offering, then student."""
    below = check_below(filters.below)
    chosen = filters.offerings
    if filters.offering_id is not None:
        # An offering named by id: exit 3 when there is none, 5 when it is not theirs.
        offering = offerings.get_offering_row(session, filters.offering_id)
        offerings.check_can_see(session, actor, offering)
        chosen = chosen.model_copy(update={"ids": [filters.offering_id], "include_cancelled": True})
    visible = offerings.filtered_query(actor, chosen, today=today).subquery("visible")
    student_id: int | None = None
    if actor.role is Role.student:
        if filters.student is not None and normalize_email(filters.student) != actor.email:
            raise PermissionDenied("students see only their own attendance")
        student_id = actor.id

    logged: sa.Select[*tuple[Any, ...]] = (
        sa.select(
            col(WeeklyLog.offering_id).label("offering_id"),
            col(Attendance.student_id).label("student_id"),
            col(WeeklyLog.week).label("week"),
            col(Attendance.present).label("present"),
        )
        .join(Attendance, col(Attendance.log_id) == WeeklyLog.id)
        .where(col(WeeklyLog.offering_id).in_(sa.select(visible.c.id)))
    )
    if student_id is not None:
        logged = logged.where(col(Attendance.student_id) == student_id)
    marks = logged.subquery("marks")
    per_student = (
        sa.select(
            marks.c.offering_id,
            marks.c.student_id,
            *week_bits(marks.c.week, None, "recorded"),
            *week_bits(marks.c.week, marks.c.present, "present"),
        )
        .group_by(marks.c.offering_id, marks.c.student_id)
        .subquery("per_student")
    )
    query = (
        sa.select(
            col(User.email).label("student"),
            col(Enrolment.offering_id).label("offering_id"),
            visible.c.module.label("module"),
            per_student.c.recorded_low,
            per_student.c.recorded_high,
            per_student.c.present_low,
            per_student.c.present_high,
        )
        .join(User, col(User.id) == Enrolment.student_id)
        .join(visible, visible.c.id == Enrolment.offering_id)
        .outerjoin(
            per_student,
            sa.and_(
                per_student.c.offering_id == Enrolment.offering_id,
                per_student.c.student_id == Enrolment.student_id,
            ),
        )
        .order_by(col(Enrolment.offering_id), col(User.email))
    )
    if student_id is not None:
        query = query.where(col(Enrolment.student_id) == student_id)
    elif filters.student is not None:
        query = query.where(col(User.email) == normalize_email(filters.student))
    rows = []
    for student, offering_id, module, *bits in session.connection().execute(query):
        shown = counted(week_mask(bits[0], bits[1]), week_mask(bits[2], bits[3]))
        if below is not None and (shown["rate"] is None or shown["rate"] >= below):
            continue
        rows.append({"student": student, "offering_id": offering_id, "module": module, **shown})
    return _public_list().validate_python(rows)


#: Weeks are counted as bits of two sums (weeks 1..60, then 61..120), so that one
#: GROUP BY gives, per student and offering, the set of recorded weeks and the set of
#: weeks attended: the rate, the last week attended and the run of absences after it
#: follow from the two sets (a run needs the order of the weeks, which a plain count
#: loses). Each sum stays within a signed 64-bit integer on every database.
SPLIT = 60


def week_bits(week: Any, present: Any, name: str) -> list[sa.Label[Any]]:
    one = sa.literal(1, sa.BigInteger)
    low = sa.and_(week <= SPLIT, present.is_(True)) if present is not None else week <= SPLIT
    high = sa.and_(week > SPLIT, present.is_(True)) if present is not None else week > SPLIT
    return [
        sa.func.sum(sa.case((low, one.op("<<")(week)), else_=0)).label(f"{name}_low"),
        sa.func.sum(sa.case((high, one.op("<<")(week - SPLIT)), else_=0)).label(f"{name}_high"),
    ]


def week_mask(low: Any, high: Any) -> int:
    """The set of weeks (bit N: week N) from the two sums (None: no record at all)."""
    return int(low or 0) | int(high or 0) << SPLIT


def counted(recorded: int, present: int) -> dict[str, Any]:
    weeks = recorded.bit_count()
    attended = present.bit_count()
    last = present.bit_length() - 1 if present else None
    return {
        "weeks_recorded": weeks,
        "present": attended,
        "rate": round(100 * attended / weeks, 1) if weeks else None,
        "absent_run": (recorded >> (last + 1)).bit_count() if last is not None else weeks,
        "last_present_week": last,
    }


@cache
def _public_list() -> TypeAdapter[list[AttendancePublic]]:
    return TypeAdapter(list[AttendancePublic])
