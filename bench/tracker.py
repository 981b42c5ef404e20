"""The tracker at scale: 1,000 offerings x 16 weeks, 70 % of the logs present.

Prints the wall time of `cms tracker report --json` and of `cms tracker list --status
overdue --json` (whole processes, medians), and the SQL statements each issues at 100
and at 1,000 offerings. Budget: report <= 1.0 s and a constant number of statements.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from _common import count_statements, median, run, seed_base

NOW = datetime(2026, 3, 16, 12, tzinfo=UTC)  # ten weeks in: weeks 1-9 due
START = date(2026, 1, 5)
WEEKS = 16


def build(url: str, offerings: int) -> str:
    """The catalog, `offerings` offerings of 16 weeks, 70 % of their logs."""
    import sqlalchemy as sa
    from sqlmodel import Session

    from cms_cli.auth.models import User
    from cms_cli.catalog.models import Mode
    from cms_cli.core.db import engine_for
    from cms_cli.offerings.models import Offering
    from cms_cli.tracker.models import ACTIVITIES, Status, WeeklyLog

    token = seed_base(url, 50, 10, 2, 250)
    rng = random.Random(7)
    engine = engine_for(url)
    with Session(engine) as session:
        ids = dict(session.execute(sa.select(User.email, User.id)).all())
        rows, n = [], 0
        for m in range(50):
            for c in range(10):
                for h in range(2):
                    if n == offerings:
                        break
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
                            "max_students": 30,
                            "created_at": NOW,
                            "updated_at": NOW,
                        }
                    )
                    n += 1
        session.execute(sa.insert(Offering), rows)
        logs = []
        for offering_id in range(1, offerings + 1):
            for week in range(1, WEEKS + 1):
                if rng.random() < 0.7:
                    complete = rng.random() < 0.6
                    statuses = {
                        a: Status.done if complete or rng.random() < 0.5 else Status.pending
                        for a in ACTIVITIES
                    }
                    done = sum(s is Status.done for s in statuses.values()) + 1
                    logs.append(
                        {
                            "offering_id": offering_id,
                            "week": week,
                            **statuses,
                            "attendance_taken": True,
                            "completion": round(100 * done / 7),
                            "complete": done == 7,
                            "created_at": NOW,
                            "updated_at": NOW,
                        }
                    )
        session.execute(sa.insert(WeeklyLog), logs)
        session.commit()
    engine.dispose()
    return token


def statements(url: str, token: str) -> tuple[int, int]:
    from zoneinfo import ZoneInfo

    from sqlmodel import Session

    from cms_cli.auth.service import authenticate
    from cms_cli.core.db import engine_for
    from cms_cli.offerings.service import Filters
    from cms_cli.tracker.calendar import Deadlines
    from cms_cli.tracker.service import ListFilters, list_logs, report

    engine = engine_for(url)
    deadlines = Deadlines(ZoneInfo("UTC"), 48)
    with Session(engine) as session:
        me, _ = authenticate(session, token)
        with count_statements(engine) as seen:
            report(session, me, Filters(), deadlines=deadlines, now=NOW, today=NOW.date())
        n_report = len(seen)
        with count_statements(engine) as seen:
            list_logs(
                session,
                me,
                ListFilters(status="overdue"),
                deadlines=deadlines,
                now=NOW,
                today=NOW.date(),
            )
        n_list = len(seen)
    engine.dispose()
    return n_report, n_list


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="cms-bench-tracker-"))
    try:
        for size in (100, 1000):
            url = f"sqlite:///{work / f'{size}.db'}"
            token = build(url, size)
            n_report, n_list = statements(url, token)
            print(
                f"{size:5} offerings: statements  report {n_report}  list --status overdue {n_list}"
            )
        env = {
            "CMS_DATABASE_URL": url,
            "CMS_TOKEN": token,
            "CMS_HOME": str(work),
            "CMS_NOW": NOW.isoformat(),
        }
        for label, args in (
            ("tracker report --json", ["tracker", "report", "--json"]),
            (
                "tracker list --status overdue --json",
                ["tracker", "list", "--status", "overdue", "--json"],
            ),
        ):
            times = [run(args, env)[0] for _ in range(5)]
            print(f"1,000 x 16: {label:38} {median(times):5.2f} s (median of 5)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
