"""Offerings: create, list, show, update, cancel; enrolments; the facilitator load rule.

Listings are one SQL statement whatever the number of rows. Checks that protect a
limit (capacity, load) run in the transaction that inserts, on a locked row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cache
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from cms_cli.audit import service as audit
from cms_cli.auth.models import Role, User, require
from cms_cli.catalog import service as catalog
from cms_cli.catalog.models import ClassGroup, Cohort, Mode, Module
from cms_cli.core import clock
from cms_cli.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from cms_cli.core.operation import Page, Paged
from cms_cli.core.results import Account, Standing
from cms_cli.core.text import normalize_email
from cms_cli.offerings.models import (
    Enrolment,
    Offering,
    OfferingCreate,
    OfferingPublic,
    OfferingUpdate,
    StudentPublic,
)
from cms_cli.offerings.public import EnrolReport as EnrolReport
from cms_cli.offerings.public import Filters as Filters
from cms_cli.offerings.rules import (
    check_dates,
    parse_mode,
    parse_status,
    status_of,
    weeks_between,
)

# -- reading --------------------------------------------------------------------------


@cache
def _base_query() -> tuple[sa.Select[Any], Any]:
    """The listing's SELECT before filters (built once: statements are immutable, and
    building this one costs a millisecond a request on a server)."""
    return _build_base_query()


def _build_base_query() -> tuple[sa.Select[Any], Any]:
    facilitator = aliased(User, name="facilitator_user")
    manager = aliased(User, name="manager_user")
    enrolled = (
        select(col(Enrolment.offering_id).label("offering_id"), func.count().label("n"))
        .group_by(col(Enrolment.offering_id))
        .subquery("enrolled")
    )
    query: sa.Select[*tuple[Any, ...]] = (
        sa.select(
            col(Offering.id).label("id"),
            col(Module.code).label("module"),
            col(Module.name).label("module_name"),
            col(ClassGroup.code).label("class"),
            col(ClassGroup.year).label("year"),
            col(ClassGroup.trimester).label("trimester"),
            col(ClassGroup.intake).label("intake"),
            col(Cohort.name).label("cohort"),
            col(Offering.mode).label("mode"),
            col(facilitator.email).label("facilitator"),
            col(manager.email).label("manager"),
            col(Offering.start_date).label("start_date"),
            col(Offering.end_date).label("end_date"),
            col(Offering.max_students).label("max_students"),
            func.coalesce(enrolled.c.n, 0).label("enrolled"),
            col(Offering.cancelled_at).label("cancelled_at"),
            col(Offering.closed_at).label("closed_at"),
            col(Offering.created_at).label("created_at"),
        )
        .join(Module, col(Module.id) == Offering.module_id)
        .join(ClassGroup, col(ClassGroup.id) == Offering.class_id)
        .join(Cohort, col(Cohort.id) == Offering.cohort_id)
        .outerjoin(facilitator, col(facilitator.id) == Offering.facilitator_id)
        .join(manager, col(manager.id) == Offering.manager_id)
        .outerjoin(enrolled, enrolled.c.offering_id == Offering.id)
    )
    return query, facilitator


def _visible_to(query: sa.Select[Any], actor: User) -> sa.Select[Any]:
    if actor.role is Role.facilitator:
        return query.where(col(Offering.facilitator_id) == actor.id)
    if actor.role is Role.student:
        mine = select(Enrolment.id).where(
            Enrolment.offering_id == Offering.id, Enrolment.student_id == actor.id
        )
        return query.where(mine.exists())
    return query


def _status_clause(status: str, today: date) -> sa.ColumnElement[bool]:
    live = col(Offering.cancelled_at).is_(None)
    running = sa.and_(live, col(Offering.closed_at).is_(None))
    clauses = {
        "cancelled": col(Offering.cancelled_at).is_not(None),
        "planned": sa.and_(running, col(Offering.start_date) > today),
        "active": sa.and_(
            running, col(Offering.start_date) <= today, col(Offering.end_date) >= today
        ),
        "completed": sa.and_(
            live, sa.or_(col(Offering.closed_at).is_not(None), col(Offering.end_date) < today)
        ),
    }
    return clauses[status]


@cache
def _public_list() -> TypeAdapter[list[OfferingPublic]]:
    return TypeAdapter(list[OfferingPublic])


def public_rows(result: sa.Result[Any], today: date) -> list[OfferingPublic]:
    """Offerings as shown, from the result of ``filtered_query``: weeks and status
    derived (status on ``today``); validated in one call for the whole list."""
    keys = list(result.keys())
    data = []
    for row in result:
        values = dict(zip(keys, row, strict=True))
        start, end = values["start_date"], values["end_date"]
        values["weeks"] = weeks_between(start, end)
        values["status"] = status_of(
            start,
            end,
            values["cancelled_at"] is not None,
            today,
            closed=values["closed_at"] is not None,
        )
        data.append(values)
    return _public_list().validate_python(data)


def filtered_query(actor: User, filters: Filters, *, today: date) -> sa.Select[*tuple[Any, ...]]:
    """The SELECT of the offerings the actor may see, filtered (labels as OfferingPublic's
    fields, less the derived ones, plus cancelled_at). Other capabilities join it as a
    subquery."""
    query, facilitator = _base_query()
    query = _visible_to(query, actor)
    f = filters
    if f.trimester is not None:
        if not 1 <= f.trimester <= 3:
            raise ValidationError(f"trimester must be 1, 2 or 3 (got {f.trimester})")
        query = query.where(col(ClassGroup.trimester) == f.trimester)
    if f.year is not None:
        query = query.where(col(ClassGroup.year) == f.year)
    if f.intake is not None:
        query = query.where(col(ClassGroup.intake) == catalog.parse_intake(f.intake))
    if f.cohort is not None:
        query = query.where(col(Cohort.name_key) == catalog.cohort_key(f.cohort))
    if f.module is not None:
        query = query.where(col(Module.code) == catalog.module_code(f.module))
    if f.class_code is not None:
        query = query.where(col(ClassGroup.code) == catalog.module_code(f.class_code))
    if f.mode is not None:
        query = query.where(col(Offering.mode) == parse_mode(f.mode))
    if f.facilitator is not None:
        query = query.where(col(facilitator.email) == normalize_email(f.facilitator))
    if f.ids is not None:
        query = query.where(col(Offering.id).in_(list(f.ids)))
    if f.status is not None:
        query = query.where(_status_clause(parse_status(f.status), today))
    elif not f.include_cancelled:
        query = query.where(col(Offering.cancelled_at).is_(None))
    return query


def list_offerings(
    session: Session, actor: User, filters: Filters, *, today: date
) -> list[OfferingPublic]:
    """Offerings the actor may see, filtered, in one statement."""
    query = filtered_query(actor, filters, today=today)
    # Core, not the ORM: the rows are columns, and the ORM's loading costs a third of
    # a 12,000-row listing.
    return public_rows(session.connection().execute(query.order_by(col(Offering.id))), today)


def offerings_page(
    session: Session, actor: User, filters: Filters, *, today: date, page: Page | None
) -> Paged[OfferingPublic]:
    """A page of the offerings the actor may see (``page``; None: all of them) and how
    many match: two statements whatever the table's size or the page's place."""
    query = filtered_query(actor, filters, today=today)
    connection = session.connection()
    if page is None or page.limit == 0:
        rows = public_rows(connection.execute(query.order_by(col(Offering.id))), today)
        return Paged.model_construct(rows=rows, total=len(rows))
    counted = sa.select(func.count()).select_from(query.subquery())
    total = int(connection.execute(counted).scalar_one())
    chosen = query.order_by(col(Offering.id)).limit(page.limit).offset(page.offset)
    return Paged.model_construct(rows=public_rows(connection.execute(chosen), today), total=total)


def get_offering_row(session: Session, offering_id: int, *, lock: bool = False) -> Offering:
    query = select(Offering).where(Offering.id == offering_id)
    if lock:
        query = query.with_for_update()
    found = session.exec(query).first()
    if found is None:
        raise _no_offering(offering_id)
    return found


def _no_offering(offering_id: int) -> NotFound:
    return NotFound(f"no offering with id {offering_id}", hint="see cms offering list")


def check_can_see(session: Session, actor: User, offering: Offering) -> None:
    """PermissionDenied unless a manager, its facilitator, or a student enrolled in it."""
    _check_sees(session, actor, offering.id or 0, facilitates=offering.facilitator_id == actor.id)


def _check_sees(session: Session, actor: User, offering_id: int, *, facilitates: bool) -> None:
    if actor.role is Role.manager or facilitates:
        return
    if actor.role is Role.student:
        enrolled = session.exec(
            select(Enrolment.id).where(
                Enrolment.offering_id == offering_id, Enrolment.student_id == actor.id
            )
        ).first()
        if enrolled is not None:
            return
        raise PermissionDenied(f"you are not enrolled in offering {offering_id}")
    raise PermissionDenied(f"offering {offering_id} is not yours")


def show(session: Session, actor: User, offering_id: int, *, today: date) -> OfferingPublic:
    """One offering as shown, read with one statement (the server's busiest read): exit 3
    when there is none, 5 when the actor may not see it."""
    query, _ = _base_query()
    found = public_rows(session.execute(query.where(col(Offering.id) == offering_id)), today)
    if not found:
        raise _no_offering(offering_id)
    shown = found[0]
    # E-mails are unique: the facilitator shown is the actor exactly when it is theirs.
    _check_sees(session, actor, offering_id, facilitates=shown.facilitator == actor.email)
    return shown


def _one(session: Session, offering_id: int, today: date) -> OfferingPublic:
    query, _ = _base_query()
    return public_rows(session.execute(query.where(col(Offering.id) == offering_id)), today)[0]


# -- writing --------------------------------------------------------------------------


def resolve_person(session: Session, email: str, role: Role, what: str) -> User:
    """An active account of ``role`` (exit 3 unknown, exit 1 wrong role or inactive)."""
    address = normalize_email(email)
    user = session.exec(select(User).where(User.email == address)).first()
    if user is None:
        raise NotFound(f"no account with e-mail {address}")
    return check_person(user, role, what)


def check_person(user: User, role: Role, what: str) -> User:
    """The account, if it is an active ``role`` (ValidationError, exit 1, otherwise)."""
    if user.role is not role:
        raise ValidationError(
            f"{user.email} is a {user.role.value}, not a {role.value}: cannot be the {what}"
        )
    if not user.is_active:
        raise ValidationError(f"{user.email} is deactivated: cannot be the {what}")
    return user


def check_load(
    session: Session,
    facilitator: User,
    start: date,
    end: date,
    max_load: int,
    *,
    exclude: int | None = None,
) -> None:
    """Conflict (exit 6) when the facilitator already holds max_load overlapping offerings.

    The facilitator's row is locked first (MySQL), so that two allocations at once
    cannot both see room for one more.
    """
    session.exec(select(User.id).where(User.id == facilitator.id).with_for_update()).first()
    query = (
        select(func.count())
        .select_from(Offering)
        .where(
            Offering.facilitator_id == facilitator.id,
            col(Offering.cancelled_at).is_(None),
            col(Offering.closed_at).is_(None),  # a term closed early frees its people
            col(Offering.start_date) <= end,
            col(Offering.end_date) >= start,
        )
    )
    if exclude is not None:
        query = query.where(Offering.id != exclude)
    load = session.exec(query).one()
    if load >= max_load:
        raise Conflict(
            f"{facilitator.email} already holds {load} offering(s) overlapping "
            f"{start}..{end} (max_load {max_load})",
            hint="choose another facilitator or raise max_load",
        )


def _duplicate(mode: Mode, names: tuple[str, str, str]) -> Conflict:
    """The conflict of a second (module, class, cohort, mode); ``mode`` is the one the
    command tried to write (read before the rollback that restores the old one)."""
    module, group, cohort = names
    return Conflict(
        f"an offering of {module} for class {group}, cohort {cohort}, mode "
        f"{mode.value} already exists"
    )


def create(
    session: Session, actor: User, data: OfferingCreate, *, max_load: int, today: date
) -> OfferingPublic:
    """A new offering (managers); ``data`` has been checked where it was made."""
    require(actor, Role.manager)
    module = catalog.require_active(
        catalog.MODULE, catalog.find(session, catalog.MODULE, data.module)
    )
    group = catalog.require_active(
        catalog.CLASS, catalog.find(session, catalog.CLASS, data.class_code)
    )
    cohort = catalog.require_active(
        catalog.COHORT, catalog.find(session, catalog.COHORT, data.cohort)
    )
    facilitator = (
        resolve_person(session, data.facilitator, Role.facilitator, "facilitator")
        if data.facilitator
        else None
    )
    manager = (
        resolve_person(session, data.manager, Role.manager, "manager") if data.manager else actor
    )
    if facilitator is not None:
        check_load(session, facilitator, data.start_date, data.end_date, max_load)
    now = clock.now()
    offering = Offering(
        module_id=module.id,
        class_id=group.id,
        cohort_id=cohort.id,
        mode=data.mode,
        facilitator_id=facilitator.id if facilitator else None,
        manager_id=manager.id or 0,
        start_date=data.start_date,
        end_date=data.end_date,
        max_students=data.max_students,
        created_at=now,
        updated_at=now,
    )
    try:
        session.add(offering)
        session.flush()
    except sa.exc.IntegrityError as exc:
        session.rollback()
        raise _duplicate(data.mode, (module.code, group.code, cohort.name)) from exc
    # Everything shown is known here: no read of what was just written.
    shown = OfferingPublic(
        id=offering.id or 0,
        module=module.code,
        module_name=module.name,
        class_code=group.code,
        year=group.year,
        trimester=group.trimester,
        intake=group.intake,
        cohort=cohort.name,
        mode=data.mode,
        facilitator=facilitator.email if facilitator else None,
        manager=manager.email,
        start_date=data.start_date,
        end_date=data.end_date,
        weeks=weeks_between(data.start_date, data.end_date),
        max_students=data.max_students,
        enrolled=0,
        status=status_of(data.start_date, data.end_date, False, today),
        created_at=now,
    )
    audit.record(session, actor, "create", "offering", offering.id, after=shown)
    return shown


def update(
    session: Session,
    actor: User,
    offering_id: int,
    changes: OfferingUpdate,
    *,
    max_load: int,
    today: date,
) -> OfferingPublic:
    """Change what ``changes`` gives (managers); the rest stays as it is."""
    require(actor, Role.manager)
    offering = get_offering_row(session, offering_id, lock=True)
    before = _one(session, offering_id, today)
    if changes.status is not None:
        if changes.status == "cancelled":
            offering.cancelled_at = offering.cancelled_at or clock.now()
        else:
            offering.cancelled_at = None
    start = changes.start_date or offering.start_date
    end = changes.end_date or offering.end_date
    if changes.start_date is not None or changes.end_date is not None:
        given = (changes.start_date is not None, changes.end_date is not None)
        check_dates(start, end, given=given)
    if changes.max_students is not None:
        if changes.max_students < before.enrolled:
            raise ValidationError(
                f"{before.enrolled} students are enrolled: max_students cannot be "
                f"{changes.max_students}"
            )
        offering.max_students = changes.max_students
    if changes.mode is not None:
        offering.mode = changes.mode
    if changes.manager is not None:
        offering.manager_id = resolve_person(session, changes.manager, Role.manager, "manager").id  # type: ignore[assignment]
    facilitator_changed = False
    if changes.no_facilitator:
        offering.facilitator_id = None
    elif changes.facilitator is not None:
        person = resolve_person(session, changes.facilitator, Role.facilitator, "facilitator")
        facilitator_changed = person.id != offering.facilitator_id
        offering.facilitator_id = person.id
    dates_changed = (start, end) != (offering.start_date, offering.end_date)
    offering.start_date, offering.end_date = start, end
    if (
        offering.facilitator_id is not None
        and offering.cancelled_at is None
        and (facilitator_changed or dates_changed or changes.status is not None)
    ):
        holder = session.get(User, offering.facilitator_id)
        assert holder is not None
        check_load(session, holder, start, end, max_load, exclude=offering.id)
    if changes.status not in (None, "cancelled"):
        derived = status_of(start, end, False, today, closed=offering.closed_at is not None)
        if derived != changes.status:
            raise ValidationError(
                f"status is derived from the dates: offering {offering_id} would be {derived}",
                hint="use --status cancelled to cancel; other statuses follow the dates",
            )
    offering.updated_at = clock.now()
    wanted_mode = offering.mode
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:
        session.rollback()
        raise _duplicate(wanted_mode, (before.module, before.class_code, before.cohort)) from exc
    after = _one(session, offering_id, today)
    audit.record(session, actor, "update", "offering", offering_id, before=before, after=after)
    return after


def managed(session: Session, actor: User, offering_id: int, *, lock: bool = False) -> Offering:
    """The offering a manager is about to change: PermissionDenied (exit 5) for anyone
    else, NotFound (exit 3) when there is none. Cancel and enrol start with it; their
    commands call it first too, before asking for a confirmation or reading a file."""
    require(actor, Role.manager)
    return get_offering_row(session, offering_id, lock=lock)


def cancel(session: Session, actor: User, offering_id: int, *, today: date) -> Standing:
    """Cancel an offering (kept, hidden from lists, never swept); ``changed`` is False
    when it was cancelled already."""
    offering = managed(session, actor, offering_id, lock=True)
    if offering.cancelled_at is not None:
        return Standing(name=str(offering_id), changed=False)
    before = _one(session, offering_id, today)
    offering.cancelled_at = clock.now()
    offering.updated_at = offering.cancelled_at
    session.flush()
    after = _one(session, offering_id, today)
    audit.record(session, actor, "cancel", "offering", offering_id, before=before, after=after)
    return Standing(name=str(offering_id), changed=True)


# -- enrolments -----------------------------------------------------------------------


def _students(session: Session, emails: Iterable[str]) -> dict[str, User]:
    addresses = sorted({normalize_email(e) for e in emails})
    if not addresses:
        raise ValidationError("no students given", hint="use --student EMAIL or --file FILE.csv")
    found = {
        u.email: u for u in session.exec(select(User).where(col(User.email).in_(addresses))).all()
    }
    unknown = [a for a in addresses if a not in found]
    if unknown:
        raise NotFound(f"no account with e-mail {', '.join(unknown)}")
    wrong = [f"{u.email} ({u.role.value})" for u in found.values() if u.role is not Role.student]
    if wrong:
        raise ValidationError(f"only students can be enrolled: {', '.join(wrong)}")
    inactive = [u.email for u in found.values() if not u.is_active]
    if inactive:
        raise ValidationError(f"deactivated account(s) cannot be enrolled: {', '.join(inactive)}")
    return found


def enrol(session: Session, actor: User, offering_id: int, emails: Iterable[str]) -> EnrolReport:
    """Enrol students, all or none; those already enrolled are left as they are."""
    offering = managed(session, actor, offering_id, lock=True)
    if offering.cancelled_at is not None:
        raise ValidationError(f"offering {offering_id} is cancelled")
    students = _students(session, emails)
    ids = [u.id for u in students.values()]
    present = set(
        session.exec(
            select(Enrolment.student_id).where(
                Enrolment.offering_id == offering_id, col(Enrolment.student_id).in_(ids)
            )
        ).all()
    )
    new = [u for u in students.values() if u.id not in present]
    count = session.exec(
        select(func.count()).select_from(Enrolment).where(Enrolment.offering_id == offering_id)
    ).one()
    if offering.max_students is not None and count + len(new) > offering.max_students:
        left = max(offering.max_students - count, 0)
        raise Conflict(
            f"offering {offering_id} has {left} of {offering.max_students} places left; "
            f"this would enrol {len(new)}: nobody was enrolled"
        )
    now = clock.now()
    session.add_all(
        [Enrolment(offering_id=offering_id, student_id=u.id or 0, created_at=now) for u in new]
    )
    session.flush()
    added = sorted(u.email for u in new)
    if added:
        audit.record(session, actor, "enrol", "enrolment", offering_id, after={"students": added})
    return EnrolReport(
        offering_id=offering_id,
        added=added,
        already=sorted(u.email for u in students.values() if u.id in present),
        enrolled=count + len(new),
        max_students=offering.max_students,
        end_date=offering.end_date,
    )


def unenrol(session: Session, actor: User, offering_id: int, student: str) -> Account:
    require(actor, Role.manager)
    get_offering_row(session, offering_id, lock=True)
    address = normalize_email(student)
    person = session.exec(select(User).where(User.email == address)).first()
    if person is None:
        raise NotFound(f"no account with e-mail {address}")
    enrolment = session.exec(
        select(Enrolment).where(
            Enrolment.offering_id == offering_id, Enrolment.student_id == person.id
        )
    ).first()
    if enrolment is None:
        raise NotFound(f"{address} is not enrolled in offering {offering_id}")
    session.delete(enrolment)
    audit.record(
        session, actor, "unenrol", "enrolment", offering_id, before={"students": [address]}
    )
    return Account(email=address)


def students(session: Session, actor: User, offering_id: int) -> list[StudentPublic]:
    """The offering's students: for managers and the offering's facilitator."""
    offering = get_offering_row(session, offering_id)
    if actor.role is Role.student:
        raise PermissionDenied("students cannot list an offering's students")
    check_can_see(session, actor, offering)
    rows = session.execute(
        select(
            col(User.email).label("email"),
            col(User.name).label("name"),
            col(User.student_id).label("student_id"),
            col(Enrolment.created_at).label("enrolled_at"),
        )
        .join(Enrolment, col(Enrolment.student_id) == User.id)
        .where(Enrolment.offering_id == offering_id)
        .order_by(col(User.email))
    ).all()
    return [StudentPublic.model_validate(r._asdict()) for r in rows]
