"""Weekly logs: write (create or update the fields given), show, list, delete, report.

Reads are a constant number of statements whatever the number of offerings: the
offerings come from ``offerings.service.filtered_query`` and the logs and attendance
of all of them in one query each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from cms_cli.audit import service as audit
from cms_cli.auth.models import Role, User, require
from cms_cli.catalog.models import Module
from cms_cli.core import clock, limits, text
from cms_cli.core.db import table_of, upsert
from cms_cli.core.errors import Conflict, NotFound, PermissionDenied, UsageError, ValidationError
from cms_cli.core.text import normalize_email
from cms_cli.offerings import service as offerings
from cms_cli.offerings.models import Enrolment, Offering, OfferingPublic
from cms_cli.offerings.rules import status_of
from cms_cli.tracker import calendar
from cms_cli.tracker.calendar import Deadlines
from cms_cli.tracker.models import (
    ACTIVITIES,
    Attendance,
    LogPublic,
    Report,
    Status,
    WeeklyLog,
)
from cms_cli.tracker.public import Choice, WeekChoice
from cms_cli.tracker.public import Draft as Draft
from cms_cli.tracker.public import ListFilters as ListFilters
from cms_cli.tracker.public import LogChanges as LogChanges

LIST_STATES = ("complete", "incomplete", "missing", "overdue")
CELL_STATES = ("complete", "incomplete", "overdue", "missing", "upcoming")


def parse_status(text: str) -> Status:
    """done, pending or not-started; case-insensitive, "Not Started" accepted."""
    value = "-".join(text.strip().lower().replace("_", " ").replace("-", " ").split())
    try:
        return Status(value)
    except ValueError:
        raise ValidationError(
            f"status must be done, pending or not-started (got {text!r})"
        ) from None


def completion_of(statuses: Iterable[Status], attendance_taken: bool) -> int:
    done = sum(1 for s in statuses if s == Status.done) + (1 if attendance_taken else 0)
    return round(100 * done / 7)


# -- choosing the offering and the week ------------------------------------------------


def _may_log(actor: User, offering: Offering) -> None:
    if actor.role is Role.manager or offering.facilitator_id == actor.id:
        return
    raise PermissionDenied(f"offering {offering.id} is not yours to log")


def choose_offering(
    session: Session, actor: User, offering_id: int | None, today: date
) -> Offering:
    """The offering named, or the facilitator's only active one."""
    require(actor, Role.manager, Role.facilitator)
    if offering_id is not None:
        offering = offerings.get_offering_row(session, offering_id)
        _may_log(actor, offering)
        return offering
    if actor.role is not Role.facilitator:
        raise UsageError("--offering ID is required", hint="cms offering list shows the ids")
    active = active_offerings(session, actor, today)
    if not active:
        raise ValidationError(
            "you have no active offering today", hint="give --offering ID (cms offering list)"
        )
    if len(active) > 1:
        ids = ", ".join(str(o.id) for o in active)
        raise UsageError(
            f"you have several active offerings ({ids}): choose one with --offering ID"
        )
    return active[0]


def active_offerings(session: Session, actor: User, today: date) -> list[Offering]:
    """The facilitator's offerings running today (not cancelled, not closed), by id."""
    return list(
        session.exec(
            select(Offering)
            .where(
                Offering.facilitator_id == actor.id,
                col(Offering.cancelled_at).is_(None),
                col(Offering.closed_at).is_(None),
                col(Offering.start_date) <= today,
                col(Offering.end_date) >= today,
            )
            .order_by(col(Offering.id))
        ).all()
    )


def choose_week(offering: Offering, week: int | None, today: date) -> int:
    weeks = calendar.tracked_weeks(offering.start_date, offering.end_date)
    chosen = week if week is not None else calendar.current_week(offering.start_date, today)
    if not 1 <= chosen <= weeks:
        if week is None:
            raise ValidationError(
                f"today is not within offering {offering.id} (weeks 1..{weeks})",
                hint="give --week N",
            )
        raise ValidationError(f"week must be 1..{weeks} for offering {offering.id} (got {week})")
    return chosen


# -- writing ----------------------------------------------------------------------------


def _loggable(
    session: Session, actor: User, offering_id: int | None, week: int | None, today: date
) -> tuple[Offering, int]:
    """The offering and week ``actor`` is about to log: theirs (or a manager's), not
    cancelled, the week within the offering (write_log and the form's draft alike)."""
    offering = choose_offering(session, actor, offering_id, today)
    if offering.cancelled_at is not None:
        raise ValidationError(f"offering {offering.id} is cancelled")
    return offering, choose_week(offering, week, today)


def _enrolled(session: Session, offering: Offering) -> list[tuple[str, int, str]]:
    """(e-mail, account id, name) of the offering's students, by e-mail."""
    rows = session.execute(
        sa.select(col(User.email), col(User.id), col(User.name))
        .join(Enrolment, col(Enrolment.student_id) == User.id)
        .where(col(Enrolment.offering_id) == offering.id)
        .order_by(col(User.email))
    ).all()
    return [(email, student_id, name) for email, student_id, name in rows]


def active_choices(session: Session, actor: User, today: date) -> list[Choice]:
    """(id, name) of the offerings a facilitator runs today, by id (the form offers a
    choice when there are several); nobody else has any."""
    if actor.role is not Role.facilitator:
        return []
    active = active_offerings(session, actor, today)
    if not active:
        return []
    rows = offerings.list_offerings(
        session, actor, offerings.Filters(ids=[o.id or 0 for o in active]), today=today
    )
    return [
        Choice(offering_id=r.id, name=f"{r.module} {r.class_code} {r.cohort} ({r.mode.value})")
        for r in rows
    ]


def week_choice(session: Session, actor: User, offering_id: int | None, today: date) -> WeekChoice:
    """The offering about to be logged (the named one, or the facilitator's only active
    one) and its weeks, with this week when it is one of them."""
    chosen = choose_offering(session, actor, offering_id, today)
    weeks = calendar.tracked_weeks(chosen.start_date, chosen.end_date)
    this_week = calendar.current_week(chosen.start_date, today)
    return WeekChoice(
        offering_id=chosen.id or 0,
        weeks=weeks,
        this_week=this_week if 1 <= this_week <= weeks else None,
    )


def log_draft(
    session: Session, actor: User, offering_id: int | None, week: int | None, today: date
) -> Draft:
    """The week as it stands, for someone about to log it (write_log's checks first)."""
    offering, number = _loggable(session, actor, offering_id, week, today)
    log = session.exec(
        select(WeeklyLog).where(WeeklyLog.offering_id == offering.id, WeeklyLog.week == number)
    ).first()
    shown = _shape_one(session, log, None) if log is not None else None
    students = [(email, name) for email, _, name in _enrolled(session, offering)]
    module = session.get(Module, offering.module_id)
    return Draft(
        offering_id=offering.id or 0,
        module=module.code if module is not None else "",
        week=number,
        statuses={
            name: getattr(shown, name) if shown else Status.not_started for name in ACTIVITIES
        },
        attendance=shown.attendance if shown else None,
        notes=shown.notes if shown else None,
        students=students,
    )


def _target(
    session: Session, actor: User, offering_id: int | None, week: int | None, today: date
) -> tuple[Offering, int, str, str | None]:
    """What write_log writes to: the offering (as _loggable), the week, and what a log
    of it shows besides its own fields (the module's code, the facilitator's e-mail),
    read with it in one statement when the offering is named."""
    if offering_id is None:
        offering, number = _loggable(session, actor, None, week, today)
        module = session.execute(
            sa.select(col(Module.code)).where(col(Module.id) == offering.module_id)
        ).scalar_one()
        return offering, number, module, actor.email
    require(actor, Role.manager, Role.facilitator)
    found = session.execute(
        sa.select(Offering, col(Module.code), col(User.email))
        .join(Module, col(Module.id) == Offering.module_id)
        .outerjoin(User, col(User.id) == Offering.facilitator_id)
        .where(col(Offering.id) == offering_id)
    ).first()
    if found is None:
        raise NotFound(f"no offering with id {offering_id}")
    offering, module, facilitator = found
    _may_log(actor, offering)
    if offering.cancelled_at is not None:
        raise ValidationError(f"offering {offering.id} is cancelled")
    return offering, choose_week(offering, week, today), module, facilitator


def _roster(
    session: Session, offering_id: int, log_id: int | None
) -> tuple[dict[str, int], dict[str, bool]]:
    """In one statement: the offering's students (e-mail -> account id) and what the log
    recorded of each student so far (e-mail -> present; students no longer enrolled
    included)."""
    enrolled: Any = (
        sa.select(
            col(User.email).label("email"),
            col(User.id).label("student_id"),
            sa.literal(True).label("enrolled"),
            col(Attendance.present).label("present"),
        )
        .join(Enrolment, col(Enrolment.student_id) == User.id)
        .outerjoin(
            Attendance,
            sa.and_(
                col(Attendance.student_id) == User.id,
                col(Attendance.log_id) == (log_id if log_id is not None else -1),
            ),
        )
        .where(col(Enrolment.offering_id) == offering_id)
    )
    if log_id is not None:
        former = (
            sa.select(
                col(User.email),
                col(User.id),
                sa.literal(False),
                col(Attendance.present),
            )
            .join(Attendance, col(Attendance.student_id) == User.id)
            .where(
                col(Attendance.log_id) == log_id,
                ~sa.exists().where(
                    col(Enrolment.offering_id) == offering_id,
                    col(Enrolment.student_id) == User.id,
                ),
            )
        )
        query: Any = sa.union_all(enrolled, former)
    else:
        query = enrolled
    students: dict[str, int] = {}
    marks: dict[str, bool] = {}
    for email, student_id, is_enrolled, present in session.execute(query).all():
        if is_enrolled:
            students[email] = student_id
        if present is not None:
            marks[email] = bool(present)
    return students, dict(sorted(marks.items()))


def _marks(offering_id: int, students: dict[str, int], changes: LogChanges) -> dict[str, bool]:
    """E-mail -> present, for every enrolled student, from the change's attendance."""
    named = [normalize_email(e) for e in (*changes.present, *changes.absent)]
    strangers = sorted(set(named) - set(students))
    if strangers:
        raise ValidationError(
            f"not enrolled in offering {offering_id}: {', '.join(strangers)}",
            hint=f"cms offering students {offering_id} lists them",
        )
    if changes.present:
        listed = {normalize_email(e) for e in changes.present}
        return {email: email in listed for email in sorted(students)}
    absent = {normalize_email(e) for e in changes.absent}
    return {email: email not in absent for email in sorted(students)}


def write_log(
    session: Session,
    actor: User,
    offering_id: int | None,
    week: int | None,
    changes: LogChanges,
    *,
    deadlines: Deadlines,
    today: date,
) -> LogPublic:
    """Create the week's log or update only the fields given.

    In as few round trips as it can (the API's budget: 8 with attendance): the offering
    with what its log shows, the log locked, the roster with the marks so far (only when
    attendance is given or the log exists), the log written with its completion, the
    attendance in one upsert, the audit event. Nothing written is read back."""
    changes.check()
    offering, number, module, facilitator = _target(session, actor, offering_id, week, today)
    statuses = {name: parse_status(value) for name, value in changes.statuses.items()}
    notes = text.multi_line(changes.notes, "notes", max_length=limits.NOTES)
    log = session.exec(
        select(WeeklyLog)
        .where(WeeklyLog.offering_id == offering.id, WeeklyLog.week == number)
        .with_for_update()
    ).first()
    given = changes.attendance_given()
    students: dict[str, int] = {}
    prior: dict[str, bool] = {}
    if given or log is not None:
        students, prior = _roster(session, offering.id or 0, log.id if log else None)
    marks = _marks(offering.id or 0, students, changes) if given else None
    shown = (offering.start_date, module, facilitator)
    before = _shape(log, *shown, prior, deadlines) if log is not None else None
    now = clock.now()
    created = log is None
    if log is None:
        log = WeeklyLog(offering_id=offering.id or 0, week=number, created_at=now, updated_at=now)
        session.add(log)
    for name, value in statuses.items():
        setattr(log, name, value)
    if changes.notes is not None:
        log.notes = notes
    if marks is not None:
        log.attendance_taken = True
    log.completion = completion_of((getattr(log, a) for a in ACTIVITIES), log.attendance_taken)
    log.complete = log.completion == 100
    if log.complete and log.submitted_at is None:
        log.submitted_at = now
    log.updated_at = now
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:
        session.rollback()
        raise Conflict(
            f"week {number} of offering {offering.id} was logged by someone else just now",
            hint="run the command again",
        ) from exc
    if marks is not None:
        gone = set(prior) - set(marks)  # marks of students no longer enrolled
        if gone:
            session.execute(
                sa.delete(Attendance).where(
                    col(Attendance.log_id) == log.id,
                    col(Attendance.student_id).notin_(list(students.values()) or [-1]),
                )
            )
        upsert(
            session,
            table_of(Attendance),
            [
                {"log_id": log.id, "student_id": students[email], "present": present}
                for email, present in marks.items()
            ],
            ("log_id", "student_id"),
        )
    after = _shape(log, *shown, marks if marks is not None else prior, deadlines)
    audit.record(
        session,
        actor,
        "create" if created else "update",
        "log",
        f"{offering.id}/{number}",
        before=before,
        after=after,
    )
    return after


def may_delete(session: Session, actor: User, offering_id: int, week: int) -> WeeklyLog:
    """The log a manager is about to delete: PermissionDenied (exit 5) for anyone else,
    NotFound (exit 3) without the offering or the week's log. Checked before the
    confirmation, so that nobody is asked about a log there is not."""
    require(actor, Role.manager)
    offerings.get_offering_row(session, offering_id)
    log = session.exec(
        select(WeeklyLog).where(WeeklyLog.offering_id == offering_id, WeeklyLog.week == week)
    ).first()
    if log is None:
        raise NotFound(f"no log for week {week} of offering {offering_id}")
    return log


def delete_log(session: Session, actor: User, offering_id: int, week: int) -> None:
    log = may_delete(session, actor, offering_id, week)
    before = _shape_one(session, log, None)
    session.delete(log)
    audit.record(session, actor, "delete", "log", f"{offering_id}/{week}", before=before)


# -- reading ----------------------------------------------------------------------------


def _log_rows(session: Session, where: Any) -> list[tuple[WeeklyLog, date, str, str | None]]:
    """Logs with their offering's start, module code and facilitator e-mail (one query)."""
    from cms_cli.catalog.models import Module

    rows = session.execute(
        sa.select(WeeklyLog, col(Offering.start_date), col(Module.code), col(User.email))
        .join(Offering, col(Offering.id) == WeeklyLog.offering_id)
        .join(Module, col(Module.id) == Offering.module_id)
        .outerjoin(User, col(User.id) == Offering.facilitator_id)
        .where(where)
        .order_by(col(WeeklyLog.offering_id), col(WeeklyLog.week))
    ).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def _attendance_maps(
    session: Session, log_ids: list[int], where: Any
) -> dict[int, dict[str, bool]]:
    """log id -> {e-mail: present} for the logs selected by ``where`` (one query)."""
    maps: dict[int, dict[str, bool]] = defaultdict(dict)
    if not log_ids:
        return maps
    rows = session.execute(
        sa.select(col(Attendance.log_id), col(User.email), col(Attendance.present))
        .join(User, col(User.id) == Attendance.student_id)
        .join(WeeklyLog, col(WeeklyLog.id) == Attendance.log_id)
        .join(Offering, col(Offering.id) == WeeklyLog.offering_id)
        .where(where)
        .order_by(col(User.email))
    ).all()
    for log_id, email, present in rows:
        maps[log_id][email] = present
    return maps


def _shape(
    log: WeeklyLog,
    start: date,
    module: str,
    facilitator: str | None,
    marks: dict[str, bool] | None,
    deadlines: Deadlines | None,
) -> LogPublic:
    return LogPublic(
        offering_id=log.offering_id,
        week=log.week,
        module=module,
        facilitator=facilitator,
        attendance=(marks or {}) if log.attendance_taken else None,
        **{name: getattr(log, name) for name in ACTIVITIES},
        notes=log.notes,
        completion=log.completion,
        complete=log.complete,
        due_at=deadlines.due(start, log.week) if deadlines else None,
        submitted_at=log.submitted_at,
        updated_at=log.updated_at,
    )


def _shape_one(session: Session, log: WeeklyLog, deadlines: Deadlines | None) -> LogPublic:
    session.flush()
    where = col(WeeklyLog.id) == log.id
    rows = _log_rows(session, where)
    marks = _attendance_maps(session, [log.id or 0], where)
    found, start, module, facilitator = rows[0]
    return _shape(found, start, module, facilitator, marks.get(found.id or 0), deadlines)


def _may_read(session: Session, actor: User, offering: Offering) -> None:
    if actor.role is Role.student:
        raise PermissionDenied("students cannot read activity logs")
    offerings.check_can_see(session, actor, offering)


def show_log(
    session: Session,
    actor: User,
    offering_id: int | None,
    week: int,
    *,
    deadlines: Deadlines,
    today: date,
) -> LogPublic:
    if actor.role is Role.student:
        raise PermissionDenied("students cannot read activity logs")
    offering = choose_offering(session, actor, offering_id, today)
    _may_read(session, actor, offering)
    choose_week(offering, week, today)
    log = session.exec(
        select(WeeklyLog).where(WeeklyLog.offering_id == offering.id, WeeklyLog.week == week)
    ).first()
    if log is None:
        raise NotFound(
            f"no log for week {week} of offering {offering.id}",
            hint=f"cms tracker log --offering {offering.id} --week {week}",
        )
    return _shape_one(session, log, deadlines)


def _placeholder(offering: OfferingPublic, week: int, due: datetime) -> LogPublic:
    """A row for a week that has no log yet."""
    return LogPublic(
        offering_id=offering.id,
        week=week,
        module=offering.module,
        facilitator=offering.facilitator,
        attendance=None,
        due_at=due,
    )


def list_logs(
    session: Session,
    actor: User,
    filters: ListFilters,
    *,
    deadlines: Deadlines,
    now: datetime,
    today: date,
) -> list[LogPublic]:
    """Logs (and, for missing/overdue, weeks without one) the actor may read."""
    if actor.role is Role.student:
        raise PermissionDenied("students cannot read activity logs")
    require(actor, Role.manager, Role.facilitator)
    status = filters.status.strip().lower() if filters.status else None
    if status is not None and status not in LIST_STATES:
        raise ValidationError(
            f"--status must be one of {', '.join(LIST_STATES)} (got {filters.status!r})"
        )
    if filters.offering_id is not None:
        offering = offerings.get_offering_row(session, filters.offering_id)
        _may_read(session, actor, offering)
    if filters.week is not None and filters.week < 1:
        raise ValidationError(f"week must be 1 or more (got {filters.week})")
    chosen = offerings.Filters(
        facilitator=filters.facilitator,
        module=filters.module,
        ids=[filters.offering_id] if filters.offering_id is not None else None,
    )
    visible = offerings.filtered_query(actor, chosen, today=today).subquery("visible")
    chosen_logs: Any = col(WeeklyLog.offering_id).in_(sa.select(visible.c.id))
    if filters.week is not None:
        chosen_logs = sa.and_(chosen_logs, col(WeeklyLog.week) == filters.week)
    # Only the logs the status asks for are loaded (with their attendance).
    where = chosen_logs
    if status == "complete":
        where = sa.and_(where, col(WeeklyLog.complete).is_(True))
    elif status in ("incomplete", "overdue"):
        where = sa.and_(where, col(WeeklyLog.complete).is_(False))
    rows = [] if status == "missing" else _log_rows(session, where)
    marks = _attendance_maps(session, [r[0].id or 0 for r in rows], where)
    logs = [
        _shape(log, start, module, fac, marks.get(log.id or 0), deadlines)
        for log, start, module, fac in rows
    ]
    if status == "overdue":
        logs = [r for r in logs if r.due_at is not None and r.due_at <= now]
    if status in ("missing", "overdue"):
        # Weeks due without any log: every log counts here, complete or not.
        keys = sa.select(col(WeeklyLog.offering_id), col(WeeklyLog.week)).where(chosen_logs)
        have = {(offering_id, week) for offering_id, week in session.execute(keys)}
        for item in offerings.list_offerings(session, actor, chosen, today=today):
            for week in range(1, calendar.tracked_weeks(item.start_date, item.end_date) + 1):
                if filters.week is not None and week != filters.week:
                    continue
                due = deadlines.due(item.start_date, week)
                if due <= now and (item.id, week) not in have:
                    logs.append(_placeholder(item, week, due))
        logs.sort(key=lambda r: (r.offering_id, r.week))
    return logs


# -- the compliance report ----------------------------------------------------------------


#: A matrix cell's states, in the order the legend and the footer show them.
def cell_state(due: bool, log_complete: bool | None) -> str:
    """complete, overdue, missing (due), incomplete, upcoming (not yet due)."""
    if log_complete:
        return "complete"
    if due:
        return "overdue" if log_complete is False else "missing"
    return "incomplete" if log_complete is False else "upcoming"


def report(
    session: Session,
    actor: User,
    filters: offerings.Filters,
    *,
    deadlines: Deadlines,
    now: datetime,
    today: date,
) -> Report:
    """The compliance matrix, offerings x weeks, with totals over the weeks already due."""
    require(actor, Role.manager)
    query = offerings.filtered_query(actor, filters, today=today)
    # The matrix needs five of an offering's columns: read them through Core, as they
    # are (a whole OfferingPublic per row would cost a tenth of a 12,000-row report).
    offering_rows = session.connection().execute(query.order_by(col(Offering.id))).all()
    visible = query.subquery("visible")
    logs = session.execute(
        sa.select(col(WeeklyLog.offering_id), col(WeeklyLog.week), col(WeeklyLog.complete)).where(
            col(WeeklyLog.offering_id).in_(sa.select(visible.c.id))
        )
    ).all()
    state: dict[tuple[int, int], bool] = {(o, w): bool(c) for o, w, c in logs}
    last_due = calendar.last_due_day(now, deadlines.tz, deadlines.grace_hours)
    expected = submitted = complete = 0
    states = dict.fromkeys(CELL_STATES, 0)
    matrix = []
    for offering in offering_rows:
        weeks: dict[str, str] = {}
        tracked = calendar.tracked_weeks(offering.start_date, offering.end_date)
        for week in range(1, tracked + 1):
            due = calendar.week_end(offering.start_date, week) <= last_due
            logged = state.get((offering.id, week))
            weeks[str(week)] = shown = cell_state(due, logged)
            states[shown] += 1
            if due:
                expected += 1
                submitted += logged is not None
                complete += bool(logged)
        matrix.append(
            {
                "id": offering.id,
                "module": offering.module,
                "facilitator": offering.facilitator,
                "weeks": weeks,
                "class_code": offering._mapping["class"],
                "mode": str(getattr(offering.mode, "value", offering.mode)),
                "start_date": offering.start_date,
                "status": status_of(
                    offering.start_date,
                    offering.end_date,
                    offering.cancelled_at is not None,
                    today,
                    closed=offering.closed_at is not None,
                ),
            }
        )
    return Report.model_validate(
        {
            "expected": expected,
            "submitted": submitted,
            "complete": complete,
            "overdue": expected - complete,
            "states": states,
            "offerings": matrix,
        }
    )
