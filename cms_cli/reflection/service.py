"""`cms reflection submit` and `list`: the file the reflection page downloads, stored."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

from cms_cli.audit import service as audit
from cms_cli.auth.models import Role, User, require
from cms_cli.core import clock, limits, text
from cms_cli.core.errors import PermissionDenied, ValidationError
from cms_cli.offerings import service as offerings
from cms_cli.offerings.models import Enrolment
from cms_cli.reflection.models import Reflection, ReflectionCreate, ReflectionPublic

QUESTIONS = ("question1", "question2", "question3")
LANGUAGES = ("en", "fr")
MAX_ANSWER = limits.ANSWER
MAX_FILE = 1_000_000


def read_file(path: Path) -> ReflectionCreate:
    """Parse and check the page's JSON file (ValidationError, exit 1, with the reason)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ValidationError(f"{path}: no such file") from None
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read it ({exc.strerror})") from exc
    if len(raw) > MAX_FILE:
        raise ValidationError(f"{path}: too large for a reflection ({len(raw)} bytes)")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except ValueError as exc:  # undecodable, not JSON, or a number past int's limit
        raise ValidationError(f"{path}: not a JSON file ({exc})") from exc
    if not isinstance(data, dict):
        raise ValidationError(f"{path}: expected a JSON object")
    offering = data.get("offering")
    if isinstance(offering, bool) or not (
        isinstance(offering, int)
        or (isinstance(offering, str) and offering.strip().isascii() and offering.strip().isdigit())
    ):
        raise ValidationError(
            f"{path}: 'offering' must be an offering id (got {text.shorten(repr(offering))})"
        )
    number = offering if isinstance(offering, int) else int(offering.strip()[:12] or "0")
    if not 1 <= number <= limits.MAX_INT or len(str(offering).strip()) > 12:
        raise ValidationError(f"{path}: 'offering' {text.shorten(str(offering))} is not an id")
    language = data.get("language")
    if language not in LANGUAGES:
        raise ValidationError(
            f"{path}: 'language' must be en or fr (got {text.shorten(repr(language))})"
        )
    answers = data.get("answers")
    if not isinstance(answers, dict):
        raise ValidationError(f"{path}: 'answers' must be an object with question1..question3")
    clean: dict[str, str] = {}
    for question in QUESTIONS:
        value = answers.get(question)
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(f"{path}: the answer to {question} is missing or blank")
        try:
            answer = text.multi_line(value, f"the answer to {question}", max_length=MAX_ANSWER)
        except ValidationError as exc:
            raise ValidationError(f"{path}: {exc.message}", hint=exc.hint) from None
        assert answer is not None
        clean[question] = answer
    stamp = data.get("submitted_at")
    if not isinstance(stamp, str):
        raise ValidationError(f"{path}: 'submitted_at' must be an ISO 8601 date-time")
    try:
        submitted = clock.parse_instant(stamp.replace("Z", "+00:00"))
    except ValidationError:
        raise ValidationError(
            f"{path}: 'submitted_at' is not an ISO 8601 date-time ({stamp!r})"
        ) from None
    return ReflectionCreate(
        offering_id=number, language=language, answers=clean, submitted_at=submitted
    )


def _shape(reflection: Reflection, email: str) -> ReflectionPublic:
    return ReflectionPublic(
        student=email,
        offering_id=reflection.offering_id,
        language=reflection.language,
        answers={q: getattr(reflection, q) for q in QUESTIONS},
        submitted_at=reflection.submitted_at,
    )


def submit(session: Session, actor: User, path: Path) -> tuple[ReflectionPublic, bool]:
    """Store a student's reflection; a new one replaces the old. Returns (row, replaced)."""
    require(actor, Role.student)
    data = read_file(path)
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
