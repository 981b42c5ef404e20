"""`cms offering copy`: the next term in one command.

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
from cms_cli.core.errors import CmsError, UsageError, ValidationError
from cms_cli.offerings import service
from cms_cli.offerings.models import Offering, OfferingCreate
from cms_cli.offerings.public import Copied, CopyRequest
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
