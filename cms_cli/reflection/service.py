"""`cms reflection submit` and `list`: the file the reflection page downloads, stored."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from cms_cli.audit import service as audit
from cms_cli.auth.models import Role, User, require
from cms_cli.core import clock
from cms_cli.core.errors import PermissionDenied
from cms_cli.offerings import service as offerings
from cms_cli.offerings.models import Enrolment
from cms_cli.reflection.files import QUESTIONS, parse
from cms_cli.reflection.models import Reflection, ReflectionPublic


def _shape(reflection: Reflection, email: str) -> ReflectionPublic:
    return ReflectionPublic(
        student=email,
        offering_id=reflection.offering_id,
        language=reflection.language,
        answers={q: getattr(reflection, q) for q in QUESTIONS},
        submitted_at=reflection.submitted_at,
    )


def submit(session: Session, actor: User, raw: bytes, name: str) -> tuple[ReflectionPublic, bool]:
    """Store a student's reflection from the page's file (``raw``, named ``name`` in
    messages); a new one replaces the old. Returns (row, replaced)."""
    require(actor, Role.student)
    data = parse(raw, name)
    offering = offerings.get_offering_row(session, data.offering_id)
    enrolled = session.exec(
        select(Enrolment.id).where(
            Enrolment.offering_id == offering.id, Enrolment.student_id == actor.id
        )
    ).first()
    if enrolled is None:
        raise PermissionDenied(f"you are not enrolled in offering {offering.id}")
    existing = session.exec(
        select(Reflection)
        .where(Reflection.offering_id == offering.id, Reflection.student_id == actor.id)
        .with_for_update()
    ).first()
    before = _shape(existing, actor.email) if existing else None
    row = existing or Reflection(
        offering_id=offering.id or 0,
        student_id=actor.id or 0,
        language=data.language,
        question1="",
        question2="",
        question3="",
        submitted_at=data.submitted_at,
        received_at=clock.now(),
    )
    row.language = data.language
    for question in QUESTIONS:
        setattr(row, question, data.answers[question])
    row.submitted_at = data.submitted_at
    row.received_at = clock.now()
    session.add(row)
    try:
        session.flush()
    except sa.exc.IntegrityError as exc:  # two submissions at the same instant
        session.rollback()
        from cms_cli.core.errors import Conflict

        raise Conflict("another submission of yours arrived at the same time; try again") from exc
    after = _shape(row, actor.email)
    audit.record(
        session,
        actor,
        "replace" if before else "submit",
        "reflection",
        f"{offering.id}/{actor.email}",
        before=before,
        after=after,
    )
    return after, before is not None


def list_reflections(session: Session, actor: User, offering_id: int) -> list[ReflectionPublic]:
    """The offering's reflections, for its facilitator and managers."""
    if actor.role is Role.student:
        raise PermissionDenied("students cannot read other students' reflections")
    offering = offerings.get_offering_row(session, offering_id)
    offerings.check_can_see(session, actor, offering)
    rows = session.execute(
        sa.select(Reflection, col(User.email))
        .join(User, col(User.id) == Reflection.student_id)
        .where(col(Reflection.offering_id) == offering_id)
        .order_by(col(User.email))
    ).all()
    return [_shape(r, email) for r, email in rows]
