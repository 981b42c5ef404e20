"""`cms offering copy`: the next term in one command; `cms offering close`: its end.

A class's offerings (not cancelled) are created again in another class, each through
``service.create`` (so every rule of `offering create` holds, the load rule on locked
rows included), with the dates shifted so that the first one starts on the day asked.
All or nothing: every offering is tried, each problem is reported as ``offering N:
...`` (N the source's id), and any problem leaves the database as it was.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, col, select

from cms_cli.auth.models import Role, User, require
from cms_cli.catalog import service as catalog
from cms_cli.catalog.models import ClassGroup, Cohort
from cms_cli.core.csvfile import Problems
from cms_cli.core.errors import CmsError, NotFound, UsageError, ValidationError
from cms_cli.offerings import service
from cms_cli.offerings.models import Offering, OfferingCreate
from cms_cli.offerings.public import Closed, CloseRequest, Copied, CopyRequest, Deactivated
from cms_cli.offerings.service import Filters

#: Weeks in a year of the default shift: 52 weeks keep every weekday.
YEAR = timedelta(weeks=52)


def copy_class(
    session: Session,
    actor: User,
    request: CopyRequest,
    *,
    max_load: int,
    today: date,
    dry_run: bool = False,
) -> Copied:
    require(actor, Role.manager)
    source = catalog.find(session, catalog.CLASS, request.from_class)
    target = catalog.require_active(
        catalog.CLASS, catalog.find(session, catalog.CLASS, request.to_class)
    )
    if source.id == target.id:
        raise UsageError("--from-class and --to-class name the same class")
    cohort: Cohort | None = None
    if request.cohort is not None:
        cohort = catalog.require_active(
            catalog.COHORT, catalog.find(session, catalog.COHORT, request.cohort)
        )
    rows = service.list_offerings(
        session, actor, Filters(class_code=source.code), today=today
    )  # not cancelled
    if not rows:
        raise ValidationError(
            f"class {source.code} has no offering to copy", hint="cms offering list --class CODE"
        )
    first = min(r.start_date for r in rows)
    shift = (request.start or _default_start(source, target, first)) - first
    stored = {
        o.id: o
        for o in session.exec(
            select(Offering).where(col(Offering.id).in_([r.id for r in rows]))
        ).all()
    }
    problems = Problems(label="offering")
    copies: list[tuple[int, int | None]] = []
    outer = session.begin_nested()  # a dry run undoes everything at the end
    for row in rows:
        try:
            data = OfferingCreate.model_validate(
                {
                    "module": row.module,
                    "class_code": target.code,
                    "cohort": cohort.name if cohort is not None else row.cohort,
                    "mode": row.mode,
                    "start_date": row.start_date + shift,
                    "end_date": row.end_date + shift,
                    "facilitator": row.facilitator if request.keep_facilitators else None,
                    "max_students": stored[row.id].max_students,
                    "manager": row.manager,
                }
            )
            _check_free(session, data, target)
            made = service.create(session, actor, data, max_load=max_load, today=today)
        except CmsError as exc:
            problems.add(row.id, exc.message)
            continue
        copies.append((row.id, None if dry_run else made.id))
    if not outer.is_active:
        pass  # a unique key lost to a concurrent create ended the transaction
    elif problems or dry_run:
        outer.rollback()
    else:
        outer.commit()
    problems.check("nothing was copied")
    return Copied(
        copies=copies,
        first_start=first + shift,
        shift_days=shift.days,
        dry_run=dry_run,
    )


def _default_start(source: ClassGroup, target: ClassGroup, first: date) -> date:
    """Without --start: the same weekday, as many years later as the classes are
    apart, when both are the same trimester (the catalog knows no trimester dates)."""
    if source.trimester != target.trimester:
        raise UsageError(
            f"give --start DATE: {source.code} is trimester {source.trimester} and "
            f"{target.code} trimester {target.trimester}, and cms knows no trimester's dates"
        )
    return first + YEAR * (target.year - source.year)


def _check_free(session: Session, data: OfferingCreate, target: ClassGroup) -> None:
    """The same module, class, cohort and mode must not exist yet (checked before the
    insert, whose unique key would end the whole transaction)."""
    from cms_cli.catalog.models import Module

    taken = session.exec(
        select(Offering.id)
        .join(Module, col(Module.id) == Offering.module_id)
        .join(Cohort, col(Cohort.id) == Offering.cohort_id)
        .where(
            Offering.class_id == target.id,
            Module.code == data.module,
            Cohort.name == data.cohort,
            Offering.mode == data.mode,
        )
    ).first()
    if taken is not None:
        raise ValidationError(
            f"{data.module} for class {target.code}, cohort {data.cohort}, mode "
            f"{data.mode.value} exists already (offering {taken})"
        )


def may_close(session: Session, actor: User, request: CloseRequest) -> None:
    """The pre-check of `offering close` (before it asks): a manager, a scope given and
    valid, something in it. (Today in any time zone: the call itself checks the date
    in the institution's.)"""
    from cms_cli.core import clock

    tomorrow = clock.now().date() + timedelta(days=1)
    close_term(session, actor, request, today=tomorrow, dry_run=True)


def close_term(
    session: Session, actor: User, request: CloseRequest, *, today: date, dry_run: bool = False
) -> Closed:
    """End a term: the offerings of a class (or those that ended before a day) are
    closed — shown completed, never swept again (no reminder, escalation or attendance
    alert), still open to late logs. One audit event per offering closed; a dry run
    changes nothing. Offerings cancelled or closed already are left as they are."""
    from cms_cli.audit import service as audit
    from cms_cli.core import clock

    require(actor, Role.manager)
    if (request.class_code is None) == (request.ended_before is None):
        raise UsageError("give --class CODE or --ended-before DATE (one of them)")
    live = col(Offering.cancelled_at).is_(None)
    if request.class_code is not None:
        group = catalog.find(session, catalog.CLASS, request.class_code)
        which = col(Offering.class_id) == group.id
        scope = f"class {group.code}"
    else:
        assert request.ended_before is not None
        if request.ended_before > today:
            raise ValidationError(
                f"--ended-before {request.ended_before} is after today ({today}): an offering "
                "that has not ended is closed with --class",
            )
        which = col(Offering.end_date) < request.ended_before
        scope = f"offerings ended before {request.ended_before}"
    found = list(
        session.exec(
            select(Offering).where(live, which).order_by(col(Offering.id)).with_for_update()
        ).all()
    )
    if not found:
        raise NotFound(f"no offering to close ({scope})", hint="cms offering list --all")
    to_close = [o for o in found if o.closed_at is None]
    if not dry_run:
        now = clock.now()
        for offering in to_close:
            offering.closed_at = now
            offering.updated_at = now
            audit.record(
                session,
                actor,
                "close",
                "offering",
                offering.id,
                before={"closed_at": None},
                after={"closed_at": now.isoformat()},
            )
        session.flush()
    return Closed(
        closed=[o.id for o in to_close if o.id is not None],
        already=len(found) - len(to_close),
        dry_run=dry_run,
    )


def may_deactivate_class(session: Session, actor: User, class_code: str, role: str) -> None:
    """The pre-check of `user deactivate --class` (before it asks)."""
    from cms_cli.core import clock

    deactivate_class(session, actor, class_code, role, today=clock.now().date(), dry_run=True)


def deactivate_class(
    session: Session,
    actor: User,
    class_code: str,
    role: str,
    *,
    today: date,
    dry_run: bool = False,
) -> Deactivated:
    """Deactivate the students of a class's offerings who have no running enrolment:
    none in an offering (of any class) that is neither cancelled, closed nor ended. Each
    is `user deactivate` (sessions revoked, one audit event); a dry run changes nothing."""
    from cms_cli.auth import service as auth
    from cms_cli.offerings.models import Enrolment

    require(actor, Role.manager)
    if role.strip().lower() != Role.student.value:
        raise ValidationError(
            f"--role {role}: only students are deactivated by class",
            hint="deactivate staff one by one: cms user deactivate EMAIL",
        )
    group = catalog.find(session, catalog.CLASS, class_code)
    of_class = (
        select(Enrolment.student_id)
        .join(Offering, col(Offering.id) == Enrolment.offering_id)
        .where(col(Offering.class_id) == group.id, col(Offering.cancelled_at).is_(None))
    )
    running = (
        select(Enrolment.student_id)
        .join(Offering, col(Offering.id) == Enrolment.offering_id)
        .where(
            col(Offering.cancelled_at).is_(None),
            col(Offering.closed_at).is_(None),
            col(Offering.end_date) >= today,
        )
    )
    students = list(
        session.exec(
            select(User)
            .where(col(User.id).in_(of_class), User.role == Role.student)
            .order_by(col(User.email))
        ).all()
    )
    if not students:
        raise NotFound(
            f"class {group.code} has no enrolled student", hint="cms offering list --class CODE"
        )
    busy = set(
        session.exec(running.where(col(Enrolment.student_id).in_([u.id for u in students]))).all()
    )
    chosen = [u for u in students if u.id not in busy and u.is_active]
    kept = sum(1 for u in students if u.id in busy)
    if not dry_run:
        for user in chosen:
            auth.set_active(session, actor, user.email, False)
    return Deactivated(
        accounts=[u.email for u in chosen],
        kept=kept,
        already=len(students) - kept - len(chosen),
        dry_run=dry_run,
    )
