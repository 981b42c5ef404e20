"""Weekly activity logs of facilitators, and attendance per enrolled student.

Attendance is a child table (one row per student and week) rather than a JSON map:
it keeps a foreign key to the account (a renamed e-mail stays right), is queryable per
student, and behaves the same on SQLite and MySQL.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from cms_cli.core.db import str_enum, utc_column


class Status(StrEnum):
    done = "done"
    pending = "pending"
    not_started = "not-started"


#: The six activities of a week, in their documented order (JSON field names).
ACTIVITIES = (
    "formative_one_grading",
    "formative_two_grading",
    "summative_grading",
    "course_moderation",
    "intranet_sync",
    "grade_book_status",
)


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


class LogPublic(BaseModel):
    """A week's log as shown (`tracker show/list --json`, the CSV columns in order, the
    audit trail's before and after); a week due without a log is shown with
    ``updated_at`` None and every activity not started."""

    offering_id: int
    week: int
    module: str
    facilitator: str | None
    #: e-mail -> present, for every enrolled student; None until attendance is taken.
    attendance: dict[str, bool] | None
    formative_one_grading: Status = Status.not_started
    formative_two_grading: Status = Status.not_started
    summative_grading: Status = Status.not_started
    course_moderation: Status = Status.not_started
    intranet_sync: Status = Status.not_started
    grade_book_status: Status = Status.not_started
    notes: str | None = None
    completion: int = 0
    complete: bool = False
    #: When the week is due; None where no deadline applies (a deleted log's record).
    due_at: datetime | None = None
    submitted_at: datetime | None = None
    updated_at: datetime | None = None


class ReportRow(BaseModel):
    """An offering's row of the compliance matrix: week number -> cell state."""

    id: int
    module: str
    facilitator: str | None
    weeks: dict[str, str]


class Report(BaseModel):
    """The compliance matrix (`tracker report --json`), with its totals over the weeks
    already due."""

    expected: int
    submitted: int
    complete: int
    overdue: int
    states: dict[str, int]
    offerings: list[ReportRow]


class AttendancePublic(BaseModel):
    """A student's attendance in one offering (`tracker attendance`): over the weeks
    whose log recorded attendance while they were enrolled."""

    student: str
    offering_id: int
    module: str
    weeks_recorded: int
    present: int
    #: present / weeks_recorded as a percentage (one decimal); None before any record.
    rate: float | None
    #: Recorded weeks missed in a row, counting back from the latest one.
    absent_run: int
    last_present_week: int | None


class DeadlinePublic(BaseModel):
    """A week to log and when it is due (`tracker deadlines`)."""

    offering_id: int
    module: str
    facilitator: str | None
    week: int
    #: The week's last day; the log is due at the end of it, plus the grace hours.
    last_day: date
    due_at: datetime
    #: Whether the week's log is already complete.
    complete: bool


class ReportTotals(BaseModel):
    """One group of `tracker report --by`: a facilitator, a module or a week number,
    over the weeks already due of the offerings in it."""

    group: str | int | None
    offerings: int
    due: int
    complete: int
    #: Due, with a log that is not complete (the matrix's "overdue").
    late: int
    #: Due, with no log at all.
    missing: int
    #: complete / due as a percentage (one decimal); None when nothing is due yet.
    rate: float | None
