"""Weekly activity logs of facilitators, and attendance per enrolled student.

Attendance is a child table (one row per student and week) rather than a JSON map:
it keeps a foreign key to the account (a renamed e-mail stays right), is queryable per
student, and behaves the same on SQLite and MySQL.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from cms_cli.core.db import str_enum, utc_column
from cms_cli.tracker.public import ACTIVITIES as ACTIVITIES
from cms_cli.tracker.public import AttendancePublic as AttendancePublic
from cms_cli.tracker.public import DeadlinePublic as DeadlinePublic
from cms_cli.tracker.public import LogPublic as LogPublic
from cms_cli.tracker.public import Report as Report
from cms_cli.tracker.public import ReportRow as ReportRow
from cms_cli.tracker.public import ReportTotals as ReportTotals
from cms_cli.tracker.public import Status as Status


def _status_column() -> sa.Column[Status]:
    return sa.Column(str_enum(Status), nullable=False, default=Status.not_started)


class WeeklyLog(SQLModel, table=True):
    __tablename__ = "weekly_log"
    __table_args__ = (sa.UniqueConstraint("offering_id", "week"),)

    id: int | None = Field(default=None, primary_key=True)
    offering_id: int = Field(foreign_key="offering.id", ondelete="CASCADE")
    week: int
    formative_one_grading: Status = Field(default=Status.not_started, sa_column=_status_column())
    formative_two_grading: Status = Field(default=Status.not_started, sa_column=_status_column())
    summative_grading: Status = Field(default=Status.not_started, sa_column=_status_column())
    course_moderation: Status = Field(default=Status.not_started, sa_column=_status_column())
    intranet_sync: Status = Field(default=Status.not_started, sa_column=_status_column())
    grade_book_status: Status = Field(default=Status.not_started, sa_column=_status_column())
    notes: str | None = Field(default=None, sa_type=sa.Text)
    attendance_taken: bool = Field(default=False)
    # Derived from the fields above on every write, kept for set-based queries (the sweep).
    completion: int = Field(default=0)
    complete: bool = Field(default=False)
    submitted_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())


class Attendance(SQLModel, table=True):
    __tablename__ = "attendance"
    __table_args__ = (sa.UniqueConstraint("log_id", "student_id"),)

    id: int | None = Field(default=None, primary_key=True)
    log_id: int = Field(foreign_key="weekly_log.id", ondelete="CASCADE")
    student_id: int = Field(foreign_key="app_user.id", index=True)
    present: bool
