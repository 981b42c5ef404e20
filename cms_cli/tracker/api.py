"""The weekly-log operations, each declared once (core.operation): the server's routes,
the client's calls and the local calls are derived from these."""

from __future__ import annotations

from cms_cli.core.base import Model
from cms_cli.core.csvfile import CsvImport, ImportReport
from cms_cli.core.operation import CSV, Operation
from cms_cli.offerings.public import Filters
from cms_cli.tracker.public import (
    AttendanceFilters,
    AttendancePublic,
    Choice,
    DeadlinePublic,
    Draft,
    ListFilters,
    LogChanges,
    LogPublic,
    Report,
    WeekChoice,
)

SERVICE = "cms_cli.tracker.service"


class LogWrite(Model):
    offering_id: int | None = None
    week: int | None = None
    changes: LogChanges = LogChanges()


class Nothing(Model):
    """No input but who asks."""


class OfferingChoice(Model):
    offering_id: int | None = None


class WeekOf(Model):
    offering_id: int | None = None
    week: int | None = None


class WeekRef(Model):
    offering_id: int | None = None
    week: int


class LogQuery(Model):
    filters: ListFilters = ListFilters()


class ReportQuery(Model):
    filters: Filters = Filters()


class AttendanceQuery(Model):
    filters: AttendanceFilters = AttendanceFilters()


class DeadlineQuery(Model):
    offering_id: int | None = None
    facilitator: str | None = None


class LogRef(Model):
    offering_id: int
    week: int


log = Operation(
    name="tracker.log",
    summary="Log a week: create its log or update only the fields given.",
    method="POST",
    path="/logs",
    input=LogWrite,
    output=LogPublic,
    service=f"{SERVICE}:write_log",
    needs=("deadlines", "today"),
)
choices = Operation(
    name="tracker.form-offerings",
    summary="The offerings a facilitator runs today (the log form's choice).",
    method="GET",
    path="/logs/form/offerings",
    input=Nothing,
    output=list[Choice],
    service=f"{SERVICE}:active_choices",
    needs=("today",),
)
week_choice = Operation(
    name="tracker.form-weeks",
    summary="The offering the form logs, its weeks and this week.",
    method="GET",
    path="/logs/form/weeks",
    input=OfferingChoice,
    output=WeekChoice,
    service=f"{SERVICE}:week_choice",
    needs=("today",),
)
draft = Operation(
    name="tracker.form-draft",
    summary="What the log form starts from: a week's values and the students.",
    method="GET",
    path="/logs/form/draft",
    input=WeekOf,
    output=Draft,
    service=f"{SERVICE}:log_draft",
    needs=("today",),
)
show = Operation(
    name="tracker.show",
    summary="One week's log.",
    method="GET",
    path="/logs/week",
    input=WeekRef,
    output=LogPublic,
    service=f"{SERVICE}:show_log",
    needs=("deadlines", "today"),
)
listing = Operation(
    name="tracker.list",
    summary="Weekly logs; missing and overdue weeks that have no log too.",
    method="GET",
    path="/logs",
    input=LogQuery,
    body="filters",
    output=list[LogPublic],
    service=f"{SERVICE}:list_logs",
    needs=("deadlines", "now", "today"),
    paged=True,
)
report = Operation(
    name="tracker.report",
    summary="The compliance matrix, offerings x weeks, with totals (managers).",
    method="GET",
    path="/report",
    input=ReportQuery,
    body="filters",
    output=Report,
    service=f"{SERVICE}:report",
    needs=("deadlines", "now", "today"),
)
attendance = Operation(
    name="tracker.attendance",
    summary="Attendance per student and offering.",
    method="GET",
    path="/attendance",
    input=AttendanceQuery,
    body="filters",
    output=list[AttendancePublic],
    service="cms_cli.tracker.attendance:attendance",
    needs=("today",),
    paged=True,
)
deadlines = Operation(
    name="tracker.deadlines",
    summary="The weeks still to log and when each is due.",
    method="GET",
    path="/deadlines",
    input=DeadlineQuery,
    output=list[DeadlinePublic],
    service="cms_cli.tracker.deadlines:upcoming",
    needs=("deadlines", "now", "today"),
    paged=True,
)
importing = Operation(
    name="tracker.import",
    summary="Log many weeks from a CSV file, all rows or none.",
    method="POST",
    path="/imports/logs",
    input=CsvImport,
    output=ImportReport,
    service="cms_cli.tracker.importer:import_file",
    check="cms_cli.tracker.importer:may_import",
    needs=("progress",),
    upload=CSV,
)
delete = Operation(
    name="tracker.delete",
    summary="Delete a week's log (managers).",
    method="DELETE",
    path="/logs/{offering_id}/{week}",
    input=LogRef,
    output=None,
    service=f"{SERVICE}:delete_log",
    check=f"{SERVICE}:may_delete",
    status_code=204,
)

OPERATIONS = (
    log,
    choices,
    week_choice,
    draft,
    show,
    listing,
    report,
    attendance,
    deadlines,
    importing,
    delete,
)
