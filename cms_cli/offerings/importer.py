"""``cms offering import``: every row checked, all rows written or none, in one
transaction; the file streamed in chunks (bulk inserts), each distinct code and
facilitator looked up once."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from cms_cli.audit import service as audit
from cms_cli.auth.models import Role, User, require
from cms_cli.catalog import service as catalog
from cms_cli.catalog.models import Mode
from cms_cli.core import clock, limits
from cms_cli.core.csvfile import ImportReport, Problems, Row, Rows, import_csv, run_import
from cms_cli.core.db import insert_many
from cms_cli.core.errors import ValidationError
from cms_cli.core.text import normalize_email, shorten
from cms_cli.offerings.models import Offering, OfferingCreate
from cms_cli.offerings.service import check_person

#: The ladder's rules name an import's columns, not the options of offering create.
COLUMNS = {"names": ("start_date", "end_date")}
#: Rows checked (and, when not a dry run, inserted) together: the lookups of a chunk are
#: one query per kind, for the values the file has not named before.
CHUNK = 2_000
MODES = tuple(Mode)


def _chunks(values: list[Any], size: int = 500) -> list[list[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _date(text: str, column: str) -> date:
    value = text.strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{column} '{shorten(value)}' is not a date (YYYY-MM-DD)") from None


def _whole(text: str) -> int | None:
    """The max_students cell as a number (its range is the ladder's rule)."""
    value = text.strip()
    if not value:
        return None
    if not (value.isascii() and value.lstrip("-").isdigit()) or len(value) > 12:
        raise ValidationError(
            f"max_students '{shorten(value)}' is not a whole number up to {limits.MAX_STUDENTS}"
        )
    return int(value)


def _key(module_id: int, class_id: int, cohort_id: int, mode: Mode) -> int:
    """(module, class, cohort, mode) as one int: a million of them fit in little memory."""
    return ((module_id << 32 | class_id) << 32 | cohort_id) << 2 | MODES.index(mode)


class _Context:
    """What the rows refer to, looked up chunk by chunk: each distinct code or e-mail
    once, in one query per kind for a chunk's new ones; facilitators' rows locked
    (FOR UPDATE, as offering create does) before their load is counted."""

    def __init__(self, session: Session, *, lock: bool) -> None:
        self.session = session
        self.lock = lock
        self.found: dict[str, dict[str, Any]] = {k.entity: {} for k in KINDS}
        self.asked: dict[str, set[str]] = {k.entity: set() for k in KINDS}
        self.people: dict[str, User] = {}
        self.asked_people: set[str] = set()
        self.existing: set[int] = set()
        self.intervals: dict[int, list[tuple[date, date]]] = defaultdict(list)
        self._checked: dict[tuple[str, str], tuple[Any, int]] = {}

    def load(self, rows: Rows) -> None:
        """Look up what these rows name that earlier chunks did not."""
        new_modules: list[Any] = []
        for kind in KINDS:
            keys = {
                kind.normalize(v)
                for _, r in rows
                if (v := r.get(kind.entity, "")).strip() and len(v) <= LONGEST_NAME
            }
            fresh = keys - self.asked[kind.entity]
            if fresh:
                self.asked[kind.entity] |= fresh
                hits = catalog.lookup(self.session, kind, fresh)
                self.found[kind.entity].update(hits)
                if kind is catalog.MODULE:
                    new_modules = list(hits.values())
        emails: set[str] = set()
        for _, r in rows:
            value = (r.get("facilitator") or "").strip()
            if value:
                with contextlib.suppress(ValidationError):  # reported on its line
                    emails.add(normalize_email(value))
        fresh_people = sorted(emails - self.asked_people)
        self.asked_people |= set(fresh_people)
        new_people: list[User] = []
        for chunk in _chunks(fresh_people):
            people = select(User).where(col(User.email).in_(chunk))
            if self.lock:
                people = people.with_for_update()
            for user in self.session.exec(people).all():
                self.people[user.email] = user
                new_people.append(user)
        for chunk in _chunks(sorted(m.id for m in new_modules)):
            taken = select(
                Offering.module_id, Offering.class_id, Offering.cohort_id, Offering.mode
            ).where(col(Offering.module_id).in_(chunk))
            for m, c, h, mode in self.session.exec(taken).all():
                self.existing.add(_key(m, c, h, Mode(getattr(mode, "value", mode))))
        for chunk in _chunks(sorted(u.id for u in new_people if u.id is not None)):
            held = sa.select(
                col(Offering.facilitator_id), col(Offering.start_date), col(Offering.end_date)
            ).where(col(Offering.facilitator_id).in_(chunk), col(Offering.cancelled_at).is_(None))
            for fid, start, end in self.session.execute(held).all():
                self.intervals[fid].append((start, end))

    def known(self, kind: catalog.Kind, text: str) -> tuple[Any, int]:
        """The active catalog item a cell names, and its id (each distinct cell once)."""
        hit = self._checked.get((kind.entity, text))
        if hit is None:
            item = _known(self.found[kind.entity], kind, text)
            hit = self._checked[(kind.entity, text)] = (item, item.id)
        return hit


KINDS = (catalog.MODULE, catalog.CLASS, catalog.COHORT)
#: No code or cohort name is longer: a longer cell names nothing, without a lookup.
LONGEST_NAME = max(limits.CODE_MAX, limits.COHORT_MAX) + 10


def _known(found: dict[str, Any], kind: catalog.Kind, text: str) -> Any:
    value = text.strip()
    if not value:
        raise ValidationError(f"{kind.entity} is empty")
    item = found.get(kind.normalize(value))
    if item is None:
        raise ValidationError(f"unknown {kind.entity} '{shorten(value)}'")
    return catalog.require_active(kind, item)


def import_offerings(
    session: Session,
    actor: User,
    rows: Iterable[Row],
    *,
    max_load: int,
    dry_run: bool = False,
    progress: Callable[[], None] | None = None,
) -> ImportReport:
    """All rows or none; problems are ``line N: ...`` in file order (FileProblems, exit 1).

    Rows are streamed in chunks: each chunk is checked and, while no problem has been
    found and this is not a dry run, inserted; any problem rolls the whole transaction
    back, so nothing of the file is kept.
    """
    require(actor, Role.manager)
    ctx = _Context(session, lock=not dry_run)
    seen: dict[int, int] = {}
    now = clock.now()

    def check(chunk: Rows, problems: Problems) -> list[dict[str, Any]]:
        ctx.load(chunk)
        return _check(ctx, chunk, problems, seen, actor, max_load=max_load, now=now)

    def write(accepted: list[dict[str, Any]]) -> int:
        insert_many(session, Offering.__table__, accepted)  # type: ignore[attr-defined]
        return len(accepted)

    checked, created = run_import(
        rows, size=CHUNK, check=check, write=write, dry_run=dry_run, progress=progress
    )
    if not dry_run:
        audit.record(session, actor, "import", "offering", None, after={"created": created})
    return ImportReport(created=created, checked=checked, dry_run=dry_run)


def _check(
    ctx: _Context,
    rows: Rows,
    problems: Problems,
    seen: dict[int, int],
    actor: User,
    *,
    max_load: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """The insertable rows of a chunk; each bad one adds a problem instead."""
    accepted: list[dict[str, Any]] = []
    for line, row in rows:
        try:
            module, module_id = ctx.known(catalog.MODULE, row.get("module", ""))
            group, class_id = ctx.known(catalog.CLASS, row.get("class", ""))
            cohort, cohort_id = ctx.known(catalog.COHORT, row.get("cohort", ""))
            data = OfferingCreate.model_validate(
                {
                    "module": module.code,
                    "class_code": group.code,
                    "cohort": cohort.name,
                    "mode": shorten(row.get("mode", "")),
                    "start_date": _date(row.get("start_date", ""), "start_date"),
                    "end_date": _date(row.get("end_date", ""), "end_date"),
                    "max_students": _whole(row.get("max_students", "")),
                },
                context=COLUMNS,
            )
            facilitator = _facilitator(ctx, row.get("facilitator", ""))
        except ValidationError as exc:
            problems.add(line, exc.message)
            continue
        mode, start, end = data.mode, data.start_date, data.end_date
        key = _key(module_id, class_id, cohort_id, mode)
        label = f"{module.code} / {group.code} / {cohort.name} / {mode.value}"
        first = seen.setdefault(key, line)
        if first != line:
            problems.add(line, f"{label} is also on line {first}")
            continue
        if key in ctx.existing:
            problems.add(line, f"an offering {label} already exists")
            continue
        if facilitator is not None:
            held = ctx.intervals[facilitator.id or 0]
            load = sum(1 for s, e in held if s <= end and e >= start)
            if load >= max_load:
                problems.add(
                    line,
                    f"{facilitator.email} would hold {load + 1} offerings overlapping "
                    f"{start}..{end} (max_load {max_load})",
                )
                continue
            held.append((start, end))
        if problems:
            continue  # nothing will be written: no need to keep the row
        accepted.append(
            {
                "module_id": module_id,
                "class_id": class_id,
                "cohort_id": cohort_id,
                "mode": mode,
                "facilitator_id": facilitator.id if facilitator else None,
                "manager_id": actor.id,
                "start_date": start,
                "end_date": end,
                "max_students": data.max_students,
                "created_at": now,
                "updated_at": now,
            }
        )
    return accepted


def _facilitator(ctx: _Context, text: str) -> User | None:
    if not text.strip():
        return None
    email = normalize_email(text)
    user = ctx.people.get(email)
    if user is None:
        raise ValidationError(f"unknown facilitator {email}")
    return check_person(user, Role.facilitator, "facilitator")


def may_import(session: Session, actor: User) -> None:
    """Who may import offerings (managers): checked before the file is read."""
    require(actor, Role.manager)


def import_file(
    session: Session,
    actor: User,
    file: Path,
    name: str | None = None,
    dry_run: bool = False,
    *,
    max_load: int,
    progress: Callable[[float], None] | None = None,
) -> ImportReport:
    """`offering import` of a CSV file (``name``: how messages name it): the role
    first, then every row (import_offerings)."""
    from cms_cli.offerings.public import IMPORT_COLUMNS

    may_import(session, actor)
    return import_csv(
        file,
        name,
        IMPORT_COLUMNS,
        lambda rows, tick: import_offerings(
            session, actor, rows, max_load=max_load, dry_run=dry_run, progress=tick
        ),
        progress,
    )
