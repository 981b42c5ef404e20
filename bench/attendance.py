"""Weeks in bulk and attendance at scale: 1,000 offerings x 30 students x 16 weeks.

Prints (a) `cms tracker import` of 16,000 rows (one per offering and week) on SQLite:
statuses only, and with attendance (an `absent` cell: 480,000 attendance records),
wall time and rows/s (budget: >= 5,000 rows/s); (b) `cms tracker attendance --json`
and `--below 75` over what (a) wrote, whole process, median of 5 (budget: <= 1.5 s),
and the SQL statements of the attendance query at 10 and at 1,000 offerings (budget:
constant). Prints figures; asserts nothing.
"""

from __future__ import annotations

import csv
import random
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from _common import count_statements, median, run, seed_base

NOW = datetime(2026, 5, 4, 12, tzinfo=UTC)  # every week of the term is past
START = date(2026, 1, 5)
WEEKS, OFFERINGS, PER_OFFERING, STUDENTS = 16, 1_000, 30, 3_000
ACTIVITY_COLUMNS = (
    "formative_one_grading",
    "formative_two_grading",
    "summative_grading",
    "course_moderation",
    "intranet_sync",
    "grade_book_status",
)


def build(url: str) -> str:
    """The catalog, 1,000 offerings of 16 weeks, 3,000 students each enrolled in ten
    of them (30 per offering); the manager's token."""
    import sqlalchemy as sa
    from sqlmodel import Session

    from cms_cli.auth.models import Role, User
    from cms_cli.catalog.models import Mode
    from cms_cli.core.db import engine_for
    from cms_cli.offerings.models import Enrolment, Offering

    token = seed_base(url, 50, 10, 2, 250)
    engine = engine_for(url)
    with Session(engine) as session:
        session.execute(
            sa.insert(User),
            [
                {
                    "email": f"s{i:05d}@students.uni.edu",
                    "name": f"Student {i}",
                    "role": Role.student,
                    "student_id": f"S{i:05d}",
                    "is_active": True,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i in range(STUDENTS)
            ],
        )
        ids = dict(session.execute(sa.select(User.email, User.id)).all())
        rows = []
        for n in range(OFFERINGS):
            m, rest = divmod(n, 20)
            c, h = divmod(rest, 2)
            rows.append(
                {
                    "module_id": m + 1,
                    "class_id": c + 1,
                    "cohort_id": h + 1,
                    "mode": Mode.online,
                    "facilitator_id": ids[f"f{n % 250:04d}@uni.edu"],
                    "manager_id": ids["dean@uni.edu"],
                    "start_date": START,
                    "end_date": START + timedelta(weeks=WEEKS, days=-1),
                    "max_students": 40,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
        session.execute(sa.insert(Offering), rows)
        session.execute(
            sa.insert(Enrolment),
            [
                {
                    "offering_id": n + 1,
                    "student_id": ids[roster(n)[k]],
                    "created_at": NOW,
                }
                for n in range(OFFERINGS)
                for k in range(PER_OFFERING)
            ],
        )
        session.commit()
    engine.dispose()
    return token


def roster(n: int) -> list[str]:
    """The e-mails of offering n+1's students (each student in ten offerings)."""
    first = (n * PER_OFFERING) % STUDENTS
    return [f"s{(first + k) % STUDENTS:05d}@students.uni.edu" for k in range(PER_OFFERING)]


def write_csv(path: Path, *, attendance: bool) -> None:
    rng = random.Random(3)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["offering", "week", *ACTIVITY_COLUMNS, "notes", "absent"])
        for n in range(OFFERINGS):
            students = roster(n)
            for week in range(1, WEEKS + 1):
                statuses = [rng.choice(("done", "done", "pending")) for _ in ACTIVITY_COLUMNS]
                absent = ";".join(s for s in students[:3] if rng.random() < 0.3)
                writer.writerow([n + 1, week, *statuses, "", absent if attendance else ""])


def attendance_statements(url: str, token: str, offerings: list[int] | None) -> int:
    from sqlmodel import Session

    from cms_cli.auth.service import authenticate
    from cms_cli.core.db import engine_for
    from cms_cli.offerings.service import Filters
    from cms_cli.tracker.attendance import AttendanceFilters, attendance

    engine = engine_for(url)
    with Session(engine) as session:
        me, _ = authenticate(session, token)
        chosen = AttendanceFilters(offerings=Filters(ids=offerings))
        with count_statements(engine) as seen:
            attendance(session, me, chosen, today=NOW.date())
    engine.dispose()
    return len(seen)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="cms-bench-attendance-"))
    try:
        template = work / "template.db"
        token = build(f"sqlite:///{template}")
        rows = OFFERINGS * WEEKS
        for attendance in (False, True):
            db = work / f"import-{attendance}.db"
            shutil.copy(template, db)
            sheet = work / f"weeks-{attendance}.csv"
            write_csv(sheet, attendance=attendance)
            env = {
                "CMS_DATABASE_URL": f"sqlite:///{db}",
                "CMS_TOKEN": token,
                "CMS_HOME": str(work),
                "CMS_NOW": NOW.isoformat(),
            }
            elapsed, proc = run(["tracker", "import", str(sheet), "--json"], env)
            if proc.returncode != 0:
                raise SystemExit(f"import failed: {proc.stderr}")
            what = "with attendance (480,000 records)" if attendance else "statuses only"
            print(
                f"SQLite : tracker import {rows} rows, {what:<34} {elapsed:6.2f} s "
                f"{rows / elapsed:8.0f} rows/s  (budget >= 5,000 rows/s)"
            )
        for args in (["--json"], ["--below", "75", "--json"]):
            times = [run(["tracker", "attendance", *args], env)[0] for _ in range(5)]
            label = " ".join(["tracker attendance", *args])
            print(
                f"SQLite : {label:<40} {median(times):6.2f} s  "
                "(median of 5 whole processes; budget <= 1.5 s)"
            )
        url = f"sqlite:///{work / 'import-True.db'}"
        small = attendance_statements(url, token, list(range(1, 11)))
        large = attendance_statements(url, token, None)
        print(
            f"SQLite : attendance statements at 10 offerings: {small}; at {OFFERINGS}: {large}"
            "  (budget: constant)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
