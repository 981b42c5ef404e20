"""`cms tracker attendance`: each student's attendance per offering, from the weekly
logs' per-student records.

Set-based: one statement whatever the number of offerings, students and weeks (the
database counts; Python only shapes the rows). A student counts over the weeks whose
log recorded attendance with them in it (enrolled later: the earlier weeks are not
theirs); a week whose log took no attendance counts for nobody.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from cms_cli.auth.models import Role, User
from cms_cli.auth.service import normalize_email
from cms_cli.core.errors import PermissionDenied, ValidationError
from cms_cli.offerings import service as offerings
from cms_cli.offerings.models import Enrolment
from cms_cli.tracker.models import Attendance, AttendancePublic, WeeklyLog


@dataclass(frozen=True, kw_only=True)
class AttendanceFilters:
    """Which rows: the offering filters of `offering list`, one offering, one student,
    and those under a rate (``below``, a percentage)."""

    offerings: offerings.Filters
    offering_id: int | None = None
    student: str | None = None
    below: float | None = None


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
        chosen = replace(chosen, ids=[filters.offering_id], include_cancelled=True)
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
    present = sa.case((marks.c.present.is_(True), 1), else_=0)
    per_student = (
        sa.select(
            marks.c.offering_id,
            marks.c.student_id,
            sa.func.count().label("recorded"),
            sa.func.sum(present).label("present"),
            sa.func.max(sa.case((marks.c.present.is_(True), marks.c.week))).label("last"),
        )
        .group_by(marks.c.offering_id, marks.c.student_id)
        .subquery("per_student")
    )
    # The run of absences: the recorded weeks after the last one attended.
    again = marks.alias("again")
    runs = (
        sa.select(
            per_student.c.offering_id,
            per_student.c.student_id,
            sa.func.sum(
                sa.case((again.c.week > sa.func.coalesce(per_student.c.last, 0), 1), else_=0)
            ).label("run"),
        )
        .join(
            again,
            sa.and_(
                again.c.offering_id == per_student.c.offering_id,
                again.c.student_id == per_student.c.student_id,
            ),
        )
        .group_by(per_student.c.offering_id, per_student.c.student_id)
        .subquery("runs")
    )
    query = (
        sa.select(
            col(User.email).label("student"),
            col(Enrolment.offering_id).label("offering_id"),
            visible.c.module.label("module"),
            sa.func.coalesce(per_student.c.recorded, 0).label("weeks_recorded"),
            sa.func.coalesce(per_student.c.present, 0).label("present"),
            sa.func.coalesce(runs.c.run, 0).label("absent_run"),
            per_student.c.last.label("last_present_week"),
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
        .outerjoin(
            runs,
            sa.and_(
                runs.c.offering_id == Enrolment.offering_id,
                runs.c.student_id == Enrolment.student_id,
            ),
        )
        .order_by(col(Enrolment.offering_id), col(User.email))
    )
    if student_id is not None:
        query = query.where(col(Enrolment.student_id) == student_id)
    elif filters.student is not None:
        query = query.where(col(User.email) == normalize_email(filters.student))
    rows = []
    for row in session.connection().execute(query):
        values = row._asdict()
        recorded = int(values["weeks_recorded"])
        values["present"] = int(values["present"])
        values["absent_run"] = int(values["absent_run"])
        values["rate"] = round(100 * values["present"] / recorded, 1) if recorded else None
        if below is not None and (values["rate"] is None or values["rate"] >= below):
            continue
        rows.append(AttendancePublic.model_validate(values))
    return rows
