"""`cms demo`: a realistic term in the embedded database, swept and delivered in-process.

Deterministic (seeded), dated around today (or CMS_NOW) so that some weeks are past,
some due, some to come. Demo passwords are printed on purpose: these accounts exist
only in the demo.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from cms_cli.audit import service as audit
from cms_cli.auth import credentials
from cms_cli.auth import service as auth
from cms_cli.auth.models import Role, User
from cms_cli.catalog import service as catalog
from cms_cli.catalog.models import Mode
from cms_cli.core import clock
from cms_cli.core.config import Config
from cms_cli.core.session import session_scope
from cms_cli.offerings import service as offerings
from cms_cli.offerings.models import OfferingCreate, OfferingPublic
from cms_cli.tracker import service as tracker
from cms_cli.tracker.calendar import Deadlines
from cms_cli.tracker.models import ACTIVITIES

SEED = 2026
DOMAIN = "uni.example"
PASSWORDS = {
    Role.manager: "demo-manager-pw",
    Role.facilitator: "demo-facilitator-pw",
    Role.student: "demo-student-pw",
}
MANAGERS = [("registrar", "Rita Registrar"), ("dean", "Dana Dean")]
FACILITATORS = [
    ("ana.lopez", "Ana Lopez"),
    ("ben.okafor", "Ben Okafor"),
    ("chloe.martin", "Chloé Martin"),
    ("david.kim", "David Kim"),
    ("eva.nowak", "Eva Nowak"),
    ("farid.haddad", "Farid Haddad"),
    ("grace.mensah", "Grace Mensah"),
    ("hugo.bernard", "Hugo Bernard"),
]
FIRST = [
    "Amara",
    "Liam",
    "Sofia",
    "Noah",
    "Yara",
    "Mateo",
    "Ines",
    "Kofi",
    "Lea",
    "Omar",
    "Zoe",
    "Ivan",
]
LAST = ["Diallo", "Smith", "Rossi", "Dubois", "Sato", "Silva", "Novak", "Ahmed", "Keller", "Moreau"]
MODULES = [
    ("CS101", "Introduction to Programming", 5),
    ("CS201", "Data Structures", 5),
    ("MA101", "Calculus I", 6),
    ("MA201", "Linear Algebra", 6),
    ("BU101", "Principles of Management", 4),
    ("BU210", "Marketing", 4),
    ("EN101", "Academic Writing", 3),
    ("DS301", "Machine Learning", 8),
]
MANAGER_EMAIL = f"registrar@{DOMAIN}"
#: What students of the completed offerings wrote on the reflection page.
ANSWERS = {
    "en": [
        ("The weekly labs, and the feedback on them.", "Keeping up in the assessment weeks.",
         "Post the lab solutions sooner."),
        ("Working in pairs.", "The pace of the second half.", "More worked examples."),
        ("Clear slides and recordings.", "The group project's planning.",
         "One more office hour before the exam."),
    ],
    "fr": [
        ("Les ateliers en binôme.", "Le rythme de la seconde moitié.",
         "Davantage d\u2019exemples corrigés."),
        ("Les retours sur les exercices.", "Le projet de groupe.",
         "Publier les corrigés plus tôt."),
    ],
}  # fmt: skip


@dataclass(kw_only=True)
class DemoResult:
    created: bool
    accounts: dict[str, int] = field(default_factory=dict)
    offerings: int = 0
    logs: int = 0
    reflections: int = 0
    sweep: dict[str, int] = field(default_factory=dict)


def exists(session: Session) -> bool:
    return session.exec(select(User.id).where(User.email == MANAGER_EMAIL)).first() is not None


def has_accounts(session: Session) -> bool:
    return session.exec(select(User.id)).first() is not None


def _people(session: Session, rng: random.Random) -> dict[Role, list[User]]:
    now = clock.now()
    hashes = {role: auth.hash_password(pw, 12) for role, pw in PASSWORDS.items()}
    rows: list[tuple[str, str, Role, str | None, str | None]] = [
        (f"{h}@{DOMAIN}", n, Role.manager, f"M{i + 1:03d}", None)
        for i, (h, n) in enumerate(MANAGERS)
    ]
    rows += [
        (f"{h}@{DOMAIN}", n, Role.facilitator, f"E{i + 101:03d}", None)
        for i, (h, n) in enumerate(FACILITATORS)
    ]
    names = [(f, last) for last in LAST for f in FIRST]
    rng.shuffle(names)
    for i, (first, last) in enumerate(names[:120]):
        handle = f"{first.lower()}.{last.lower()}"
        rows.append(
            (f"{handle}@students.{DOMAIN}", f"{first} {last}", Role.student, None, f"S{26000 + i}")
        )
    session.execute(
        sa.insert(User),
        [
            {
                "email": email,
                "name": name,
                "role": role,
                "employee_id": employee,
                "student_id": student,
                "password_hash": hashes[role],
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
            for email, name, role, employee, student in rows
        ],
    )
    audit.record(session, None, "demo", "user", None, after={"created": len(rows)})
    people: dict[Role, list[User]] = {r: [] for r in Role}
    for user in session.exec(select(User).order_by(col(User.id))).all():
        people[user.role].append(user)
    return people


def _catalog(session: Session, registrar: User, year: int) -> tuple[list[str], list[str]]:
    for code, name, credits in MODULES:
        catalog.add_module(session, registrar, code, name, credits, None)
    classes = [(f"{year}J", 1, "FT"), (f"{year}M", 2, "HT1"), (f"{year}S", 3, "HT2")]
    for code, trimester, intake in classes:
        catalog.add_class(session, registrar, code, year, trimester, intake)
    cohorts = [f"Cohort {year} A", f"Cohort {year} B"]
    for name in cohorts:
        catalog.add_cohort(session, registrar, name, None, None)
    return [c[0] for c in classes], cohorts


def _plan(today: date) -> list[tuple[int, date]]:
    """24 offerings: 6 completed, 12 running (5 weeks in), 6 starting in 3 weeks."""
    monday = today - timedelta(days=today.weekday())
    running = monday - timedelta(weeks=5)
    return [
        (
            i,
            monday - timedelta(weeks=20)
            if i < 6
            else running
            if i < 18
            else monday + timedelta(weeks=3),
        )
        for i in range(24)
    ]


def build(config: Config, step: Callable[[str], None]) -> DemoResult:
    """Fill an empty database; returns what was created."""
    rng = random.Random(SEED)
    today = clock.today(config.tz)
    max_load = config.settings.max_load
    result = DemoResult(created=True)
    with session_scope(config) as session:
        step("accounts")
        people = _people(session, rng)
        registrar = people[Role.manager][0]
        result.accounts = {r.value: len(u) for r, u in people.items()}
        step("catalog")
        classes, cohorts = _catalog(session, registrar, today.year)
        step("offerings and enrolments")
        modes = [Mode.online, Mode.in_person, Mode.hybrid]
        created: list[OfferingPublic] = []
        roster: dict[int, list[str]] = {}
        students = [u.email for u in people[Role.student]]
        for i, start in _plan(today):
            module = MODULES[i % len(MODULES)][0]
            facilitator = None if i == 9 else people[Role.facilitator][i % 8].email
            data = OfferingCreate(
                module=module,
                class_code=classes[(i // 8) % 3],
                cohort=cohorts[i % 2],
                mode=modes[(i // 2) % 3],
                start_date=start,
                end_date=start + timedelta(weeks=12, days=-3),
                facilitator=facilitator,
                max_students=30,
                manager=people[Role.manager][i % 2].email,
            )
            shown = offerings.create(session, registrar, data, max_load=max_load, today=today)
            enrolled = rng.sample(students, rng.randint(14, 28))
            offerings.enrol(session, registrar, shown.id, enrolled)
            roster[shown.id] = sorted(enrolled)
            created.append(shown)
        result.offerings = len(created)
        step("weekly logs")
        deadlines = Deadlines.of(config)
        by_email = {u.email: u for u in people[Role.facilitator]}
        # Absences come from their own generator, so that the rest of the term stays
        # as it was: in each offering one student misses most weeks (at risk), and
        # anyone may miss one now and then.
        absences = random.Random(SEED + 1)
        at_risk = {o.id: absences.choice(roster[o.id]) for o in created}
        for shown in created:
            writer = by_email.get(shown.facilitator or "", registrar)
            diligence = rng.choice([0.95, 0.85, 0.7, 0.5])
            current = (today - shown.start_date).days // 7 + 1
            for week in range(1, min(current, shown.weeks + 1)):
                if rng.random() > diligence:
                    continue  # a gap: this week was never logged
                complete = rng.random() < diligence
                statuses = {
                    a: "done"
                    if complete or rng.random() < 0.6
                    else rng.choice(["pending", "not-started"])
                    for a in ACTIVITIES
                }
                absent = [
                    email
                    for email in roster[shown.id]
                    if absences.random() < (0.6 if email == at_risk[shown.id] else 0.04)
                ]
                changes = (
                    tracker.LogChanges(statuses=statuses, absent=absent)
                    if absent
                    else tracker.LogChanges(statuses=statuses, all_present=True)
                )
                if not complete and rng.random() < 0.5:
                    changes = tracker.LogChanges(statuses=statuses)
                tracker.write_log(
                    session, writer, shown.id, week, changes, deadlines=deadlines, today=today
                )
                result.logs += 1
        step("reflections")
        result.reflections = _reflections(session, registrar, created, roster, today)
    return result


def _reflections(
    session: Session,
    registrar: User,
    created: list[OfferingPublic],
    roster: dict[int, list[str]],
    today: date,
) -> int:
    """The completed offerings' reflections, as a course team collects them from the
    page's files (`reflection import`): 40 to 90 % of each offering's students. Their
    own generator, so that the rest of the term stays as it was."""
    import json
    from datetime import UTC, datetime, time

    from cms_cli.reflection import service as reflection

    rng = random.Random(SEED + 2)
    files: list[tuple[str, bytes]] = []
    for shown in created:
        if shown.end_date >= today:
            continue
        handed = rng.sample(roster[shown.id], round(len(roster[shown.id]) * rng.uniform(0.4, 0.9)))
        for email in sorted(handed):
            language = rng.choice(["en", "en", "fr"])
            one, two, three = rng.choice(ANSWERS[language])
            day = shown.end_date + timedelta(days=rng.randint(0, 6))
            data = {
                "offering": shown.id,
                "email": email,
                "language": language,
                "answers": {"question1": one, "question2": two, "question3": three},
                "submitted_at": datetime.combine(
                    day, time(17, rng.randint(0, 59)), UTC
                ).isoformat(),
            }
            files.append((f"demo/{shown.id}/{email}.json", json.dumps(data).encode()))
    if not files:
        return 0
    return reflection.import_files(session, registrar, files, dry_run=False).created


def sweep_and_deliver(config: Config, *, smtp: bool = False) -> dict[str, int]:
    """Run the sweep and deliver what it created in-process (Huey immediate mode): to
    the in-app inbox, and by e-mail too when ``smtp`` (the demo run ``--here`` with
    CMS_SMTP_URL set). Returns the sweep's counts and how many rows ended ``sent``."""
    from cms_cli.notify import queue, sweep
    from cms_cli.notify.models import Notification, NotificationStatus

    used = config
    if not smtp:
        used = config.__class__(
            settings=config.settings.model_copy(update={"smtp_url": None}),
            profile=config.profile,
            paths=config.paths,
            file_found=config.file_found,
        )
    huey = queue.get_huey(used, immediate=True)

    def deliver_now(_config: Config, ids: list[int]) -> int:
        for notification_id in ids:
            huey.cms_deliver(notification_id)
        return len(ids)

    counts = sweep.run(used, enqueue=deliver_now, origin="cms demo").as_json()
    with session_scope(config) as session:
        counts["sent"] = session.exec(
            select(func.count())
            .select_from(Notification)
            .where(Notification.status == NotificationStatus.sent)
        ).one()
    return counts


def reset(config: Config) -> None:
    """Empty the database: the embedded file is removed; a configured one is migrated down."""
    from cms_cli.core import migrate
    from cms_cli.core.db import dispose_all
    from cms_cli.core.migrate import forget_schema_checks

    if config.embedded:
        dispose_all()
        forget_schema_checks()
        file = config.paths.data_dir / "cms.db"
        for suffix in ("", "-wal", "-shm"):
            file.with_name(file.name + suffix).unlink(missing_ok=True)
        config.queue_file.unlink(missing_ok=True)
    else:
        migrate.downgrade(config, "base")
        migrate.upgrade(config, "head")


def log_in_registrar(config: Config) -> credentials.Saved:
    """The demo's registrar logged in; where the token went (the command says it)."""

    with session_scope(config) as session:
        done = auth.login(
            session, MANAGER_EMAIL, PASSWORDS[Role.manager], hours=config.settings.session_hours
        )
    return credentials.save(config, done.token)
