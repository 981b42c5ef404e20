"""A week's log, the report, attendance and deadlines as shown, and the statuses:
plain pydantic, so that a client of `cms serve` reads them without SQLAlchemy (the
tables are in models.py)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import field_validator

from cms_cli.core.base import Model
from cms_cli.offerings.public import Filters


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


class LogPublic(Model):
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


class ReportRow(Model):
    """An offering's row of the compliance matrix: week number -> cell state.

    The fields after ``weeks`` are for the views made for people (which offerings are
    running, which week is now, rows told apart by class and mode); `tracker report
    --json` leaves them out (VIEW_FIELDS): its fields are the contract's."""

    id: int
    module: str
    facilitator: str | None
    weeks: dict[str, str]
    class_code: str = ""
    mode: str = ""
    start_date: date | None = None
    status: str = ""


#: The ReportRow fields that only the people's views use (not in `--json`).
VIEW_FIELDS = frozenset({"class_code", "mode", "start_date", "status"})


class Report(Model):
    """The compliance matrix (`tracker report --json`), with its totals over the weeks
    already due."""

    expected: int
    submitted: int
    complete: int
    overdue: int
    states: dict[str, int]
    offerings: list[ReportRow]


class AttendancePublic(Model):
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


class DeadlinePublic(Model):
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


class ReportTotals(Model):
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


class ListFilters(Model):
    """Which logs `tracker list` wants."""

    offering_id: int | None = None
    week: int | None = None
    facilitator: str | None = None
    module: str | None = None
    status: str | None = None


class AttendanceFilters(Filters):
    """Which rows: the offering filters of `offering list`, one offering, one student,
    and those under a rate (``below``, a percentage)."""

    offering_id: int | None = None
    student: str | None = None
    below: float | None = None

    @property
    def offerings(self) -> Filters:
        """The offering filters alone."""
        return Filters.model_validate(self.model_dump(include=set(Filters.model_fields)))


class LogChanges(Model):
    """What `tracker log` changes in a week (only what is given): the body of the API's
    write too."""

    #: activity -> status as given (text or Status); parsed after the permission check.
    statuses: dict[str, str] = {}
    notes: str | None = None
    all_present: bool = False
    present: list[str] = []
    absent: list[str] = []

    @field_validator("statuses")
    @classmethod
    def _activities(cls, value: dict[str, str]) -> dict[str, str]:
        """Only the six activities: a log has no other status to set."""
        unknown = sorted(set(value) - set(ACTIVITIES))
        if unknown:
            from cms_cli.core.errors import ValidationError

            raise ValidationError(
                f"statuses: {unknown[0]!r} is not an activity",
                hint="the activities: " + ", ".join(ACTIVITIES),
            )
        return value

    def attendance_given(self) -> bool:
        return self.all_present or bool(self.present) or bool(self.absent)

    def check(self) -> None:
        from cms_cli.core.errors import UsageError

        given = sum((self.all_present, bool(self.present), bool(self.absent)))
        if given > 1:
            raise UsageError("use one of --all-present, --present and --absent")


#: The columns of `tracker import`'s file.
IMPORT_REQUIRED = ("offering", "week")
IMPORT_OPTIONAL = (*ACTIVITIES, "notes", "present", "absent")
#: The read-only columns of `tracker list --csv` (attendance is written back with the
#: present and absent columns), and its name of the offering column.
IMPORT_IGNORED = (
    "module",
    "facilitator",
    "attendance",
    "completion",
    "complete",
    "due_at",
    "submitted_at",
    "updated_at",
)
IMPORT_COLUMNS = (IMPORT_REQUIRED, IMPORT_OPTIONAL, IMPORT_IGNORED, {"offering_id": "offering"})


class Draft(Model):
    """What the log form starts from: a week's current values and the enrolled students."""

    offering_id: int
    module: str
    week: int
    statuses: dict[str, Status]
    attendance: dict[str, bool] | None
    notes: str | None
    students: list[tuple[str, str]]  # (e-mail, name), by e-mail


class Choice(Model):
    """An offering the log form offers: its id and how people name it."""

    offering_id: int
    name: str


class WeekChoice(Model):
    """The offering the form logs, its number of weeks and this week (if within)."""

    offering_id: int
    weeks: int
    this_week: int | None
