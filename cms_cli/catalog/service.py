"""Modules, cohorts and classes: add, list, deactivate. Managers write, everyone reads.

The three kinds share one implementation, described by a ``Kind``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, SQLModel, col, select

from cms_cli.audit import service as audit
from cms_cli.auth.models import Role, User, require
from cms_cli.catalog.models import (
    ClassGroup,
    ClassGroupPublic,
    Cohort,
    CohortPublic,
    Intake,
    Module,
    ModulePublic,
)
from cms_cli.core import clock, limits, text
from cms_cli.core.db import table_of
from cms_cli.core.errors import Conflict, NotFound, ValidationError
from cms_cli.core.results import Standing

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]*$")


def module_code(text: str) -> str:
    return text.strip().upper()


def cohort_key(text: str) -> str:
    return " ".join(text.split()).lower()


T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Kind:
    entity: str  # audit entity and the word users see
    model: type[SQLModel]
    key: str  # the unique column looked up
    shown: str  # the column users name it by
    public: type[BaseModel]  # what is shown: its fields, in order
    normalize: Callable[[str], str]

    @property
    def fields(self) -> tuple[str, ...]:
        from cms_cli.core.output import columns

        return columns(self.public)


MODULE = Kind(
    entity="module",
    model=Module,
    key="code",
    shown="code",
    public=ModulePublic,
    normalize=module_code,
)
COHORT = Kind(
    entity="cohort",
    model=Cohort,
    key="name_key",
    shown="name",
    public=CohortPublic,
    normalize=cohort_key,
)
CLASS = Kind(
    entity="class",
    model=ClassGroup,
    key="code",
    shown="code",
    public=ClassGroupPublic,
    normalize=module_code,
)


#: Each kind by its entity name (module, cohort, class).
KINDS = {kind.entity: kind for kind in (MODULE, COHORT, CLASS)}


def public(kind: Kind, item: Any) -> BaseModel:
    """A catalog entry as it is shown (its kind's Public model)."""
    return kind.public.model_validate(item, from_attributes=True)


def row(kind: Kind, item: Any) -> dict[str, Any]:
    """A catalog entry's shown fields, for the audit trail's before and after."""
    return public(kind, item).model_dump()


def find(session: Session, kind: Kind, value: str) -> Any:
    """The catalog entry named ``value`` (NotFound, exit 3, when there is none)."""
    key = kind.normalize(value)
    found = session.exec(select(kind.model).where(getattr(kind.model, kind.key) == key)).first()
    if found is None:
        raise NotFound(
            f"unknown {kind.entity} '{text.shorten(value.strip())}'",
            hint=f"see cms {kind.entity} list",
        )
    return found


def require_active(kind: Kind, item: Any) -> Any:
    """The entry, unless it is deactivated (ValidationError: it takes no new offerings)."""
    if not item.is_active:
        raise ValidationError(f"{kind.entity} {getattr(item, kind.shown)} is deactivated")
    return item


def lookup(session: Session, kind: Kind, values: set[str]) -> dict[str, Any]:
    """Several entries by their normalised key, in one query (for imports)."""
    keys = sorted({kind.normalize(v) for v in values if v.strip()})
    column = getattr(kind.model, kind.key)
    found: dict[str, Any] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for item in session.exec(select(kind.model).where(col(column).in_(chunk))).all():
            found[getattr(item, kind.key)] = item
    return found


def listing(session: Session, actor: User, entity: str, active: bool | None) -> list[BaseModel]:
    """The ``entity``'s entries (module, cohort or class), active or inactive ones only."""
    kind = KINDS[entity]
    query = select(kind.model)
    if active is not None:
        query = query.where(table_of(kind.model).c.is_active == active)
    order = getattr(kind.model, kind.key)
    return [public(kind, item) for item in session.exec(query.order_by(order)).all()]


def _insert(session: Session, actor: User, kind: Kind, item: T) -> T:
    try:
        session.add(item)
        session.flush()
    except sa.exc.IntegrityError as exc:
        session.rollback()
        raise Conflict(f"{kind.entity} {getattr(item, kind.shown)} already exists") from exc
    audit.record(
        session, actor, "create", kind.entity, getattr(item, kind.shown), after=row(kind, item)
    )
    return item


def set_active(session: Session, actor: User, entity: str, value: str, active: bool) -> Standing:
    """Activate or deactivate an entry; ``changed`` is False when it was so already."""
    require(actor, Role.manager)
    kind = KINDS[entity]
    item = find(session, kind, value)
    shown = str(getattr(item, kind.shown))
    if item.is_active == active:
        return Standing(name=shown, changed=False)
    before = row(kind, item)
    item.is_active = active
    audit.record(
        session,
        actor,
        "activate" if active else "deactivate",
        kind.entity,
        getattr(item, kind.shown),
        before=before,
        after=row(kind, item),
    )
    return Standing(name=shown, changed=True)


def _text(value: str | None, field: str, low: int, high: int) -> str:
    """One line, control characters refused, inner runs of spaces made one."""
    text.refuse_controls(value or "", field)
    collapsed = " ".join((value or "").split())
    text.check_length(collapsed, field, max_length=high, min_length=low)
    return collapsed


def _code(value: str, field: str) -> str:
    code = _text(value, field, limits.CODE_MIN, limits.CODE_MAX).upper()
    if not CODE_RE.match(code):
        raise ValidationError(
            f"{field} {text.shorten(value)!r} may hold only letters, digits, '-', '_' and '.'"
        )
    return code


def add_module(
    session: Session, actor: User, code: str, name: str, credits: int, description: str | None
) -> Module:
    require(actor, Role.manager)
    if not 1 <= credits <= 10:
        raise ValidationError(f"credits must be 1 to 10 (got {credits})")
    module = Module(
        code=_code(code, "module code"),
        name=_text(name, "module name", 1, limits.MODULE_NAME),
        credits=credits,
        description=text.multi_line(description, "description", max_length=limits.DESCRIPTION),
        created_at=clock.now(),
    )
    return _insert(session, actor, MODULE, module)


def add_cohort(
    session: Session, actor: User, name: str, start: date | None, end: date | None
) -> Cohort:
    require(actor, Role.manager)
    shown = _text(name, "cohort name", limits.COHORT_MIN, limits.COHORT_MAX)
    for day, field in ((start, "--start"), (end, "--end")):
        if day is not None:
            limits.check_year(day, field)
    if start and end and end < start:
        raise ValidationError(f"--end {end} is before --start {start}")
    cohort = Cohort(
        name=shown,
        name_key=cohort_key(shown),
        start_date=start,
        end_date=end,
        created_at=clock.now(),
    )
    return _insert(session, actor, COHORT, cohort)


def parse_intake(text: str) -> Intake:
    try:
        return Intake(text.strip().upper())
    except ValueError:
        raise ValidationError(f"intake must be HT1, HT2 or FT (got {text!r})") from None


def add_class(
    session: Session, actor: User, code: str, year: int, trimester: int, intake: str
) -> ClassGroup:
    require(actor, Role.manager)
    if not limits.FIRST_YEAR <= year <= limits.LAST_YEAR:
        raise ValidationError(
            f"year must be between {limits.FIRST_YEAR} and {limits.LAST_YEAR} (got {year})"
        )
    if not 1 <= trimester <= 3:
        raise ValidationError(f"trimester must be 1, 2 or 3 (got {trimester})")
    group = ClassGroup(
        code=_code(code, "class code"),
        year=year,
        trimester=trimester,
        intake=parse_intake(intake),
        created_at=clock.now(),
    )
    return _insert(session, actor, CLASS, group)
