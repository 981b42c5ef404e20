"""`cms db backup` and `cms db copy`: rows per second, as a user runs them.

(a) the demo term (`cms demo`, about 2,900 rows): backup of the embedded SQLite file,
    copy SQLite -> MariaDB, backup of MariaDB, copy MariaDB -> SQLite.
(b) 12,000 offerings with a term of logs (12 weekly logs each: 144,000 logs, about
    160,000 rows in all): the same four.
Each is one `cms` process, timed whole (wall seconds) and with its own figure (the
rows it moved and its rows/s, from the summary line it prints).
Budget: copy SQLite -> MariaDB >= 5,000 rows/s. Prints figures; asserts nothing.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from _common import ROOT, mysql_root, run

sys.path.insert(0, str(ROOT / "bench"))

WEEKS = 12


def add_logs(url: str) -> None:
    """A term of logs on every offering: weeks 1..12, mixed states."""
    import sqlalchemy as sa

    from cms_cli.core.db import engine_for
    from cms_cli.tracker.models import WeeklyLog

    now = datetime(2026, 3, 18, 12, tzinfo=UTC)
    engine = engine_for(url)
    states = ["done", "pending", "not-started"]
    with engine.begin() as conn:
        ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM offering"))]
        batch = []
        for n, offering in enumerate(ids):
            for week in range(1, WEEKS + 1):
                state = states[(n + week) % 3]
                batch.append(
                    {
                        "offering_id": offering,
                        "week": week,
                        "formative_one_grading": state,
                        "formative_two_grading": "done",
                        "summative_grading": state,
                        "course_moderation": "done",
                        "intranet_sync": state,
                        "grade_book_status": "done",
                        "notes": f"week {week}: on track" if state == "done" else None,
                        "attendance_taken": False,
                        "completion": 100 if state == "done" else 50,
                        "complete": state == "done",
                        "submitted_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            if len(batch) >= 20000:
                conn.execute(sa.insert(WeeklyLog), batch)
                batch = []
        if batch:
            conn.execute(sa.insert(WeeklyLog), batch)
    engine.dispose()


def moved(label: str, args: list[str], env: dict[str, str], budget: str = "") -> None:
    seconds, proc = run(args, env)
    found = re.search(
        r"([\d,]+) rows in \d+ tables.*\(([\d.]+) s(?:, ([\d,]+) rows/s)?\)", proc.stdout
    )
    rows = found.group(1) if found else "?"
    inner = found.group(3) if found and found.group(3) else "-"
    rate = int(rows.replace(",", "")) / seconds if found else 0
    print(
        f"{label:<44} {rows:>9} rows  {seconds:6.2f} s whole process  "
        f"{rate:9,.0f} rows/s  (inside: {inner} rows/s){budget}"
    )


def scenario(name: str, home: Path, sqlite_url: str, root: str | None) -> None:
    env = {**os.environ, "CMS_HOME": str(home), "CMS_DATABASE_URL": sqlite_url}
    print(f"\n{name}")
    moved("backup of SQLite", ["db", "backup", str(home / "a.sqlite")], env)
    if root is None:
        return
    target = servers_db(root, f"bench_copy_{abs(hash(name)) % 10000}")
    moved(
        "copy SQLite -> MariaDB",
        ["db", "copy", "--to", target, "--yes"],
        env,
        budget="   (budget >= 5,000 rows/s)",
    )
    on_mysql = {**env, "CMS_DATABASE_URL": target}
    moved("backup of MariaDB (one transaction)", ["db", "backup", str(home / "b.sqlite")], on_mysql)
    back = f"sqlite:///{home / 'back.db'}"
    moved("copy MariaDB -> SQLite", ["db", "copy", "--to", back, "--yes"], on_mysql)


def servers_db(root: str, name: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(root)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    engine.dispose()
    return root + name


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, mysql_root() as root:
        work = Path(tmp)
        demo = work / "demo"
        demo.mkdir()
        env = {**os.environ, "CMS_HOME": str(demo)}
        env.pop("CMS_DATABASE_URL", None)
        run(["demo"], env)
        scenario("(a) the demo term", demo, f"sqlite:///{demo / 'cms.db'}", root)

        from notify import build

        big = work / "big"
        big.mkdir()
        url = f"sqlite:///{big / 'cms.db'}"
        build(url, 12000, 2000)
        add_logs(url)
        scenario(f"(b) 12,000 offerings, {12000 * WEEKS:,} weekly logs", big, url, root)


if __name__ == "__main__":
    main()
