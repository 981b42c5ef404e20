"""`cms reflection submit`, `import`, `list` and `summary`: the file the reflection
page downloads, stored; and how many of an offering's students handed one in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, select

from cms_cli.audit import service as audit
from cms_cli.auth.models import Role, User, require
from cms_cli.core import clock
from cms_cli.core.errors import FileProblems, PermissionDenied, ValidationError
from cms_cli.offerings import service as offerings
from cms_cli.offerings.models import Enrolment, Offering
from cms_cli.offerings.public import Filters
from cms_cli.reflection.files import MAX_FILES, QUESTIONS, parse
from cms_cli.reflection.models import Reflection, ReflectionCreate, ReflectionPublic
from cms_cli.reflection.public import (
    ImportedReflections,
    ReflectionUpload,
    ResponseRate,
    Submitted,
)


def _shape(reflection: Reflection, email: str) -> ReflectionPublic:
    return ReflectionPublic(
        student=email,
        offering_id=reflection.offering_id,
        language=reflection.language,
        answers={q: getattr(reflection, q) for q in QUESTIONS},
        submitted_at=reflection.submitted_at,
    )


def submit(session: Session, actor: User, raw: bytes, name: str) -> Submitted:
    """Store a student's reflection from the page's file (``raw``, named ``name`` in
    messages); a new one replaces the old. Returns (row, replaced)."""
    require(actor, Role.student)
    data = parse(raw, name)
    if data.email is not None and data.email != actor.email:
        raise PermissionDenied(
            f"{name}: this reflection is {data.email}'s, and you are {actor.email}",
            hint="hand in your own file; a course team imports files with cms reflection import",
        )
    offering = offerings.get_offering_row(session, data.offering_id)
    if offering.cancelled_at is not None:
        raise ValidationError(f"{name}: offering {offering.id} was cancelled")
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
    return Submitted(reflection=after, replaced=before is not None)


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


#: At most this many files' problems are listed (the rest are counted).
SHOWN_PROBLEMS = 100


@dataclass(frozen=True, kw_only=True)
class Handed:
    """One file of an import, read: its name as given and what it holds."""

    name: str
    reflection: ReflectionCreate


def read_all(files: Sequence[tuple[str, bytes]]) -> tuple[list[Handed], list[str]]:
    """Each file parsed: the good ones, and ``FILE: problem`` for each bad one."""
    good: list[Handed] = []
    problems: list[str] = []
    for name, raw in files:
        try:
            data = parse(raw, name)
        except ValidationError as exc:
            problems.append(exc.message)
            continue
        if data.email is None:
            problems.append(
                f"{name}: it names no student (a file from before the page asked for the "
                "e-mail: the student hands it in with cms reflection submit)"
            )
            continue
        good.append(Handed(name=name, reflection=data))
    return good, problems


def may_import(session: Session, actor: User) -> None:
    """Who may import collected reflections (facilitators, managers): checked before
    any file is read."""
    if actor.role is Role.student:
        raise PermissionDenied("students hand in their own reflection: cms reflection submit")


def import_upload(session: Session, actor: User, bundle: bytes) -> ImportedReflections:
    """`reflection import`'s files as one upload (ReflectionUpload's JSON: names and
    base64 contents, and whether only to check them)."""
    import base64
    import binascii

    from pydantic import ValidationError as Invalid

    may_import(session, actor)
    try:
        upload = ReflectionUpload.model_validate_json(bundle)
        files = [(f.name, base64.b64decode(f.content, validate=True)) for f in upload.files]
    except (Invalid, binascii.Error, ValueError):
        raise ValidationError("the import is not a list of files (name and content)") from None
    return import_files(session, actor, files, dry_run=upload.dry_run)


def import_files(
    session: Session, actor: User, files: Sequence[tuple[str, bytes]], *, dry_run: bool
) -> ImportedReflections:
    """Store the reflections of files a course team collected (an LMS drop box, e-mail,
    a shared folder), each naming its student. Every file is checked before anything
    is written, and every problem reported as ``FILE: ...``; all or nothing. The
    offering's facilitator or a manager; each student must be enrolled in the file's
    offering. Of two reflections of one student and offering, the newer one stays
    (``submitted_at``): a stored one is replaced by a newer file, an older file is
    left aside ("kept")."""
    may_import(session, actor)
    if not files:
        raise ValidationError("no reflection files to import", hint="name .json files or folders")
    if len(files) > MAX_FILES:
        raise ValidationError(f"{len(files)} files: at most {MAX_FILES} in one import")
    handed, problems = read_all(files)
    wanted = {h.reflection.offering_id for h in handed}
    found = {
        o.id: o for o in session.exec(select(Offering).where(col(Offering.id).in_(wanted))).all()
    }
    refused = []
    for h in handed:
        offering = found.get(h.reflection.offering_id)
        if offering is None:
            problems.append(f"{h.name}: no offering {h.reflection.offering_id}")
        elif offering.cancelled_at is not None:
            problems.append(f"{h.name}: offering {offering.id} was cancelled")
        elif actor.role is not Role.manager and offering.facilitator_id != actor.id:
            refused.append(f"{h.name} (offering {offering.id})")
    if refused:
        named = ", ".join(refused[:3]) + (
            f" and {len(refused) - 3} more" if len(refused) > 3 else ""
        )
        raise PermissionDenied(
            f"not your offerings: {named}; nothing was imported",
            hint="a facilitator imports the files of their own offerings; a manager, any",
        )
    emails = {h.reflection.email for h in handed}
    people = dict(
        session.execute(
            sa.select(col(User.email), col(User.id)).where(
                col(User.email).in_(emails), col(User.role) == Role.student
            )
        ).all()
    )
    enrolled = set(
        session.execute(
            sa.select(col(Enrolment.offering_id), col(Enrolment.student_id)).where(
                col(Enrolment.offering_id).in_(wanted),
                col(Enrolment.student_id).in_(list(people.values()) or [0]),
            )
        ).all()
    )
    newest: dict[tuple[int, int], Handed] = {}
    kept = 0
    for h in handed:
        data = h.reflection
        if data.offering_id not in found or found[data.offering_id].cancelled_at is not None:
            continue
        student_id = people.get(data.email or "")
        if student_id is None or (data.offering_id, student_id) not in enrolled:
            # One wording whether the account exists or not: an import (a dry run
            # included) is no way to learn who has an account.
            problems.append(
                f"{h.name}: {data.email} is not a student of offering {data.offering_id}"
            )
            continue
        key = (data.offering_id, student_id)
        other = newest.get(key)
        if other is None or data.submitted_at > other.reflection.submitted_at:
            newest[key] = h
        kept += other is not None
    if problems:
        shown = problems[:SHOWN_PROBLEMS]
        if len(problems) > len(shown):
            shown.append(f"... and {len(problems) - len(shown)} more problem(s) not shown")
        raise FileProblems(
            f"{len(problems)} of {len(files)} file(s) have problems; nothing was imported",
            shown,
            hint="mend or set aside those files (a student downloads theirs again from the "
            "page) and run the import again",
        )
    stored = {
        (r.offering_id, r.student_id): r
        for r in session.exec(
            select(Reflection)
            .where(col(Reflection.offering_id).in_(wanted))
            .where(col(Reflection.student_id).in_(list(people.values()) or [0]))
            .with_for_update()
        ).all()
    }
    created = replaced = 0
    now = clock.now()
    for (offering_id, student_id), h in newest.items():
        data = h.reflection
        email = data.email or ""
        existing = stored.get((offering_id, student_id))
        if existing is not None and existing.submitted_at >= data.submitted_at:
            kept += 1
            continue
        if existing is None:
            created += 1
        else:
            replaced += 1
        if dry_run:
            continue
        before = _shape(existing, email) if existing is not None else None
        row = existing or Reflection(
            offering_id=offering_id,
            student_id=student_id,
            language=data.language,
            question1="",
            question2="",
            question3="",
            submitted_at=data.submitted_at,
            received_at=now,
        )
        row.language = data.language
        for question in QUESTIONS:
            setattr(row, question, data.answers[question])
        row.submitted_at, row.received_at = data.submitted_at, now
        session.add(row)
        audit.record(
            session,
            actor,
            "import",
            "reflection",
            f"{offering_id}/{email}",
            before=before,
            after=_shape(row, email),
        )
    if not dry_run:
        try:
            session.flush()
        except sa.exc.IntegrityError as exc:  # a student handed one in meanwhile
            from cms_cli.core.errors import Conflict

            raise Conflict("a reflection arrived during the import; run it again") from exc
    return ImportedReflections(
        checked=len(files), created=created, replaced=replaced, kept=kept, dry_run=dry_run
    )


def response_rates(
    session: Session, actor: User, filters: Filters, *, today: date
) -> list[ResponseRate]:
    """Per offering the actor may see (managers all, facilitators theirs; filters as
    `offering list`): enrolled students, how many of them handed a reflection in, the
    rate. One statement whatever the number of offerings."""
    if actor.role is Role.student:
        raise PermissionDenied("students cannot read response rates")
    visible = offerings.filtered_query(actor, filters, today=today).subquery("visible")
    enrolled = (
        sa.select(
            col(Enrolment.offering_id).label("offering_id"),
            sa.func.count().label("enrolled"),
            sa.func.count(col(Reflection.id)).label("submitted"),
        )
        .outerjoin(
            Reflection,
            sa.and_(
                col(Reflection.offering_id) == Enrolment.offering_id,
                col(Reflection.student_id) == Enrolment.student_id,
            ),
        )
        .where(col(Enrolment.offering_id).in_(sa.select(visible.c.id)))
        .group_by(col(Enrolment.offering_id))
        .subquery("counts")
    )
    rows = session.execute(
        sa.select(
            visible.c.id,
            visible.c.module,
            sa.func.coalesce(enrolled.c.enrolled, 0),
            sa.func.coalesce(enrolled.c.submitted, 0),
        )
        .outerjoin(enrolled, enrolled.c.offering_id == visible.c.id)
        .order_by(visible.c.id)
    ).all()
    return [
        ResponseRate(
            offering_id=offering_id,
            module=module,
            enrolled=count,
            submitted=submitted,
            rate=round(100 * submitted / count, 1) if count else None,
        )
        for offering_id, module, count, submitted in rows
    ]


def response_rate(session: Session, actor: User, offering_id: int, *, today: date) -> ResponseRate:
    """One offering's rate, for `reflection list` (its facilitator, managers)."""
    if actor.role is Role.student:
        raise PermissionDenied("students cannot read other students' reflections")
    offering = offerings.get_offering_row(session, offering_id)
    offerings.check_can_see(session, actor, offering)
    chosen = Filters(ids=[offering_id], include_cancelled=True)
    return response_rates(session, actor, chosen, today=today)[0]
