"""``cms offering import``: every row checked before anything is written, then one bulk
insert in one transaction. The catalog and the facilitators are looked up once per file."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from cms_cli.audit import service as audit
from cms_cli.auth.models import Role, User
from cms_cli.auth.service import normalize_email, require
from cms_cli.catalog import service as catalog
from cms_cli.core import clock
from cms_cli.core.csvfile import ImportReport, Rows
from cms_cli.core.db import insert_many
from cms_cli.core.errors import FileProblems, ValidationError
from cms_cli.offerings.models import Offering
from cms_cli.offerings.service import check_person, parse_mode

REQUIRED = ("module", "class", "cohort", "mode", "start_date", "end_date")
OPTIONAL = ("facilitator", "max_students")
CHUNK = 500


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


def _date(text: str, column: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"{column} {text.strip()!r} is not a date (YYYY-MM-DD)") from None


def _max_students(text: str) -> int | None:
    value = text.strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        raise ValidationError(f"max_students {value!r} is not a whole number") from None
    if number < 1:
        raise ValidationError(f"max_students must be at least 1 (got {number})")
    return number


class _Context:
    """Everything the rows refer to, loaded in a fixed number of queries."""

    def __init__(self, session: Session, rows: Rows) -> None:
        self.modules = catalog.lookup(
            session, catalog.MODULE, {r.get("module", "") for _, r in rows}
        )
        self.classes = catalog.lookup(session, catalog.CLASS, {r.get("class", "") for _, r in rows})
        self.cohorts = catalog.lookup(
            session, catalog.COHORT, {r.get("cohort", "") for _, r in rows}
        )
        emails: set[str] = set()
        for _, r in rows:
            try:
                if (r.get("facilitator") or "").strip():
                    emails.add(normalize_email(r["facilitator"]))
            except ValidationError:
                pass  # reported on its line
        self.people: dict[str, User] = {}
        for chunk in _chunks(sorted(emails)):
            for user in session.exec(select(User).where(col(User.email).in_(chunk))).all():
                self.people[user.email] = user
        self.existing: set[tuple[int, int, int, str]] = set()
        module_ids = sorted(m.id for m in self.modules.values())
        for chunk in _chunks(module_ids):
            query = select(
                Offering.module_id, Offering.class_id, Offering.cohort_id, Offering.mode
            ).where(col(Offering.module_id).in_(chunk))
            for m, c, h, mode in session.exec(query).all():
                self.existing.add((m, c, h, str(getattr(mode, "value", mode))))
        self.intervals: dict[int, list[tuple[date, date]]] = defaultdict(list)
        facilitator_ids = sorted(u.id for u in self.people.values() if u.id is not None)
        for chunk in _chunks(facilitator_ids):
            held = sa.select(
                col(Offering.facilitator_id), col(Offering.start_date), col(Offering.end_date)
            ).where(col(Offering.facilitator_id).in_(chunk), col(Offering.cancelled_at).is_(None))
            for fid, start, end in session.execute(held).all():
                self.intervals[fid].append((start, end))
        # Each distinct cell is checked once: a term's file names the same few codes and
        # people thousands of times.
        self._found = {
            catalog.MODULE.entity: self.modules,
            catalog.CLASS.entity: self.classes,
            catalog.COHORT.entity: self.cohorts,
        }
        self._checked: dict[tuple[str, str], tuple[Any, int]] = {}

    def known(self, kind: catalog.Kind, text: str) -> tuple[Any, int]:
        """The active catalog item a cell names, and its id."""
        hit = self._checked.get((kind.entity, text))
        if hit is None:
            item = _known(self._found[kind.entity], kind, text)
            hit = self._checked[(kind.entity, text)] = (item, item.id)
        return hit


def _known(found: dict[str, Any], kind: catalog.Kind, text: str) -> Any:
    value = text.strip()
    if not value:
        raise ValidationError(f"{kind.entity} is empty")
    item = found.get(kind.normalize(value))
    if item is None:
        raise ValidationError(f"unknown {kind.entity} {value!r}")
    return catalog.require_active(kind, item)


def import_offerings(
    session: Session,
    actor: User,
    rows: Rows,
    *,
    max_load: int,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """All rows or none; problems are ``line N: ...`` in file order (FileProblems, exit 1)."""
    require(actor, Role.manager)
    if not rows:
        raise ValidationError("the file has a header but no rows")
    ctx = _Context(session, rows)
    problems: list[str] = []
    seen: dict[tuple[int, int, int, str], int] = {}
    accepted: list[dict[str, Any]] = []
    now = clock.now()
    for number, (line, row) in enumerate(rows, start=1):
        if progress is not None and number % 200 == 0:
            progress(200)
        try:
            module, module_id = ctx.known(catalog.MODULE, row.get("module", ""))
            group, class_id = ctx.known(catalog.CLASS, row.get("class", ""))
            cohort, cohort_id = ctx.known(catalog.COHORT, row.get("cohort", ""))
            mode = parse_mode(row.get("mode", ""))
            start = _date(row.get("start_date", ""), "start_date")
            end = _date(row.get("end_date", ""), "end_date")
            if end < start:
                raise ValidationError(f"end_date {end} is before start_date {start}")
            capacity = _max_students(row.get("max_students", ""))
            facilitator = _facilitator(ctx, row.get("facilitator", ""))
        except ValidationError as exc:
            problems.append(f"line {line}: {exc.message}")
            continue
        key = (module_id, class_id, cohort_id, mode.value)
        label = f"{module.code} / {group.code} / {cohort.name} / {mode.value}"
        if key in seen:
            problems.append(f"line {line}: {label} is also on line {seen[key]}")
            continue
        seen[key] = line
        if key in ctx.existing:
            problems.append(f"line {line}: an offering {label} already exists")
            continue
        if facilitator is not None:
            held = ctx.intervals[facilitator.id]  # type: ignore[index]
            load = sum(1 for s, e in held if s <= end and e >= start)
            if load >= max_load:
                problems.append(
                    f"line {line}: {facilitator.email} would hold {load + 1} offerings overlapping "
                    f"{start}..{end} (max_load {max_load})"
                )
                continue
            held.append((start, end))
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
                "max_students": capacity,
                "created_at": now,
                "updated_at": now,
            }
        )
    if progress is not None:
        progress(len(rows) % 200)
    if problems:
        raise FileProblems(f"{len(problems)} problem(s) found; nothing was imported", problems)
    if not dry_run:
        insert_many(session, Offering.__table__, accepted)  # type: ignore[attr-defined]
        audit.record(session, actor, "import", "offering", None, after={"created": len(accepted)})
    return ImportReport(created=0 if dry_run else len(accepted), checked=len(rows), dry_run=dry_run)


def _facilitator(ctx: _Context, text: str) -> User | None:
    if not text.strip():
        return None
    email = normalize_email(text)
    user = ctx.people.get(email)
    if user is None:
        raise ValidationError(f"unknown facilitator {email}")
    return check_person(user, Role.facilitator, "facilitator")
