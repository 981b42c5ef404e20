"""``cms tracker import``: weekly logs in bulk, with `tracker log`'s rules row by row.

Each row creates its week's log or updates the fields it gives (an empty cell keeps
what is there); every row is checked, and all rows are written or none, in one
transaction. The file is streamed in chunks: what a chunk names (offerings, their
students, the logs it touches) is read in one query per kind, and its writes are bulk
statements, so the cost per row is a few microseconds of Python, not a process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from cms_cli.audit import service as audit
from cms_cli.auth.models import Role, User, require
from cms_cli.catalog.models import Module
from cms_cli.core import clock, limits, text
from cms_cli.core.csvfile import ImportReport, Problems, Row, Rows, import_csv, run_import
from cms_cli.core.db import insert_many, table_of
from cms_cli.core.errors import ValidationError
from cms_cli.core.text import normalize_email, shorten
from cms_cli.offerings.models import Enrolment, Offering
from cms_cli.tracker import calendar
from cms_cli.tracker.models import ACTIVITIES, Attendance, Status, WeeklyLog
from cms_cli.tracker.service import completion_of, parse_status

CHUNK = 2_000
#: A `present` cell that says everyone was there.
ALL = "all"

LOG = table_of(WeeklyLog)
ATTENDANCE = table_of(Attendance)


@dataclass(frozen=True, kw_only=True)
class _Offering:
    id: int
    module: str
    facilitator_id: int | None
    cancelled: bool
    start: date
    weeks: int
    students: dict[str, int] = field(default_factory=dict)  # e-mail -> account id


@dataclass(kw_only=True)
class _Planned:
    """A row's outcome: the log's values after the row, and its attendance if given."""

    key: tuple[int, int]
    log_id: int | None
    values: dict[str, Any]
    marks: dict[int, bool] | None


class _Context:
    """What a chunk's rows name, read once per kind; offerings and their students are
    kept for the next chunks (a term's file names few offerings many times)."""

    def __init__(self, session: Session, actor: User, *, lock: bool) -> None:
        self.session = session
        self.actor = actor
        self.lock = lock
        self.offerings: dict[int, _Offering | None] = {}
        self.logs: dict[tuple[int, int], dict[str, Any]] = {}

    def load(self, rows: Rows) -> None:
        ids = {n for _, r in rows if (n := _number(r.get("offering", ""))) is not None}
        fresh = sorted(ids - set(self.offerings))
        for chunk in _chunks(fresh):
            found = self.session.execute(
                sa.select(
                    col(Offering.id),
                    col(Module.code),
                    col(Offering.facilitator_id),
                    col(Offering.cancelled_at),
                    col(Offering.start_date),
                    col(Offering.end_date),
                )
                .join(Module, col(Module.id) == Offering.module_id)
                .where(col(Offering.id).in_(chunk))
            ).all()
            for oid, module, facilitator_id, cancelled_at, start, end in found:
                self.offerings[oid] = _Offering(
                    id=oid,
                    module=module,
                    facilitator_id=facilitator_id,
                    cancelled=cancelled_at is not None,
                    start=start,
                    weeks=calendar.tracked_weeks(start, end),
                )
            students = self.session.execute(
                sa.select(col(Enrolment.offering_id), col(User.email), col(User.id))
                .join(User, col(User.id) == Enrolment.student_id)
                .where(col(Enrolment.offering_id).in_(chunk))
            ).all()
            for oid, email, sid in students:
                offering = self.offerings.get(oid)
                if offering is not None:
                    offering.students[email] = sid
            for oid in chunk:
                self.offerings.setdefault(oid, None)
        pairs = sorted(
            {
                (o, w)
                for _, r in rows
                if (o := _number(r.get("offering", ""))) is not None
                and (w := _number(r.get("week", ""))) is not None
                and self.offerings.get(o) is not None
            }
            - set(self.logs)
        )
        wanted = set(pairs)
        # By offering (the unique key's first column: an index range each), then the
        # weeks the rows name: a term's file names an offering's weeks together.
        for chunk in _chunks(sorted({o for o, _ in pairs})):
            query = sa.select(LOG).where(LOG.c.offering_id.in_(chunk))
            if self.lock:
                query = query.with_for_update()
            for log in self.session.execute(query).mappings():
                key = (log["offering_id"], log["week"])
                if key in wanted:
                    self.logs[key] = dict(log)


def _chunks(values: list[Any], size: int = 500) -> list[list[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _number(cell: str) -> int | None:
    value = cell.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def import_logs(
    session: Session,
    actor: User,
    rows: Iterable[Row],
    *,
    dry_run: bool = False,
    progress: Callable[[], None] | None = None,
) -> ImportReport:
    """All rows or none; problems are ``line N: ...`` in file order (exit 1).

    A facilitator imports their own offerings' weeks, a manager anyone's (recorded as
    theirs in the audit trail), as with `tracker log`."""
    require(actor, Role.manager, Role.facilitator)
    ctx = _Context(session, actor, lock=not dry_run)
    seen: dict[tuple[int, int], int] = {}
    now = clock.now()
    counts = {"created": 0, "updated": 0}

    def check(chunk: Rows, problems: Problems) -> list[_Planned]:
        ctx.load(chunk)
        accepted = []
        for line, row in chunk:
            try:
                planned = _plan(ctx, row, now)
            except ValidationError as exc:
                problems.add(line, exc.message)
                continue
            first = seen.setdefault(planned.key, line)
            if first != line:
                offering, week = planned.key
                problems.add(line, f"week {week} of offering {offering} is also on line {first}")
                continue
            if not problems:
                accepted.append(planned)
                counts["created" if planned.log_id is None else "updated"] += 1
        return accepted

    def write(accepted: list[_Planned]) -> int:
        _write(session, accepted)
        return len(accepted)

    checked, _ = run_import(
        rows, size=CHUNK, check=check, write=write, dry_run=dry_run, progress=progress
    )
    if not dry_run:
        audit.record(session, actor, "import", "log", None, after=dict(counts))
    return ImportReport(
        created=counts["created"], updated=counts["updated"], checked=checked, dry_run=dry_run
    )


def _plan(ctx: _Context, row: dict[str, str], now: datetime) -> _Planned:
    """The row checked as `tracker log` checks its options, and its outcome."""
    cell = row.get("offering", "").strip()
    number = _number(cell)
    if number is None:
        raise ValidationError(f"offering '{shorten(cell)}' is not an offering id")
    offering = ctx.offerings.get(number)
    if offering is None:
        raise ValidationError(f"no offering with id {number}")
    if ctx.actor.role is not Role.manager and offering.facilitator_id != ctx.actor.id:
        raise ValidationError(f"offering {number} is not yours to log")
    if offering.cancelled:
        raise ValidationError(f"offering {number} is cancelled")
    cell = row.get("week", "").strip()
    week = _number(cell)
    if week is None or not 1 <= week <= offering.weeks:
        raise ValidationError(
            f"week must be 1..{offering.weeks} for offering {number} (got {shorten(cell)!r})"
        )
    existing = ctx.logs.get((number, week))
    values: dict[str, Any] = (
        {name: existing[name] for name in (*ACTIVITIES, "notes", "attendance_taken")}
        if existing
        else {**dict.fromkeys(ACTIVITIES, Status.not_started), "notes": None}
        | {"attendance_taken": False}
    )
    for name in ACTIVITIES:
        given = row.get(name, "").strip()
        if given:
            try:
                values[name] = _status(given)
            except ValidationError as exc:
                raise ValidationError(f"{name}: {exc.message}") from None
    notes = row.get("notes", "")
    if notes.strip():
        values["notes"] = text.multi_line(notes, "notes", max_length=limits.NOTES)
    marks = _marks(offering, row.get("present", ""), row.get("absent", ""))
    if marks is not None:
        values["attendance_taken"] = True
    statuses = [values[name] for name in ACTIVITIES]  # Status, or its stored text
    values["completion"] = completion_of(statuses, values["attendance_taken"])
    values["complete"] = values["completion"] == 100
    submitted = existing["submitted_at"] if existing else None
    values["submitted_at"] = submitted or (now if values["complete"] else None)
    values["updated_at"] = now
    return _Planned(
        key=(number, week),
        log_id=existing["id"] if existing else None,
        values=values,
        marks=marks,
    )


#: A file repeats a handful of status words: each is read once.
_status = cache(parse_status)


def _emails(cell: str, column: str) -> list[str]:
    found = []
    for part in cell.split(";"):
        if part.strip():
            try:
                found.append(normalize_email(part))
            except ValidationError as exc:
                raise ValidationError(f"{column}: {exc.message}") from None
    return found


def _marks(offering: _Offering, present_cell: str, absent_cell: str) -> dict[int, bool] | None:
    """Account id -> present for every enrolled student, or None when the row gives no
    attendance: `present` lists who came (the others were absent; ``all``: everyone),
    `absent` who did not (the others came)."""
    everyone = present_cell.strip().lower() == ALL
    present = [] if everyone else _emails(present_cell, "present")
    absent = _emails(absent_cell, "absent")
    if (everyone or present) and absent:
        raise ValidationError("give present or absent, not both")
    if not (everyone or present or absent):
        return None
    strangers = sorted(set(present + absent) - set(offering.students))
    if strangers:
        raise ValidationError(f"not enrolled in offering {offering.id}: {', '.join(strangers)}")
    if present:
        came = set(present)
        return {sid: email in came for email, sid in offering.students.items()}
    missed = set(absent)
    return {sid: email not in missed for email, sid in offering.students.items()}


def _write(session: Session, accepted: list[_Planned]) -> None:
    """Bulk writes of a checked chunk: new logs, updated logs, then their attendance."""
    new = [p for p in accepted if p.log_id is None]
    old = [p for p in accepted if p.log_id is not None]
    now = accepted[0].values["updated_at"] if accepted else None
    insert_many(
        session,
        LOG,
        [{"offering_id": p.key[0], "week": p.key[1], "created_at": now, **p.values} for p in new],
    )
    if new:
        by_key: dict[tuple[int, int], int] = {}
        for chunk in _chunks(sorted({p.key[0] for p in new})):
            found = session.execute(
                sa.select(LOG.c.offering_id, LOG.c.week, LOG.c.id).where(
                    LOG.c.offering_id.in_(chunk)
                )
            ).all()
            by_key.update({(o, w): i for o, w, i in found})
        for p in new:
            p.log_id = by_key[p.key]
    if old:
        session.execute(
            sa.update(LOG)
            .where(LOG.c.id == sa.bindparam("log_id"))
            .values({name: sa.bindparam(f"new_{name}") for name in old[0].values}),
            [{"log_id": p.log_id, **{f"new_{k}": v for k, v in p.values.items()}} for p in old],
        )
    marked = [p for p in accepted if p.marks is not None]
    for chunk in _chunks([p.log_id for p in marked]):
        session.execute(sa.delete(ATTENDANCE).where(ATTENDANCE.c.log_id.in_(chunk)))
    insert_many(
        session,
        ATTENDANCE,
        [
            {"log_id": p.log_id, "student_id": sid, "present": present}
            for p in marked
            for sid, present in (p.marks or {}).items()
        ],
    )


def may_import(session: Session, actor: User) -> None:
    """Who may import weeks (managers, facilitators): checked before the file is read."""
    require(actor, Role.manager, Role.facilitator)


def import_file(
    session: Session,
    actor: User,
    file: Path,
    name: str | None = None,
    dry_run: bool = False,
    *,
    progress: Callable[[float], None] | None = None,
) -> ImportReport:
    """`tracker import` of a CSV file: the role first, then every row (import_logs)."""
    from cms_cli.tracker.public import IMPORT_COLUMNS

    may_import(session, actor)
    return import_csv(
        file,
        name,
        IMPORT_COLUMNS,
        lambda rows, tick: import_logs(session, actor, rows, dry_run=dry_run, progress=tick),
        progress,
    )
