"""Offerings at scale: the import rate, and `offering list --json` time and statements.

A catalog of 40 modules x 20 classes x 5 cohorts x 3 modes and 4,000 facilitators;
12,000 rows to import. Prints (a) `cms offering import` wall time and rows/s on
SQLite, (b) `cms offering list --json` over 12,000 offerings, and the SQL statements
of the listing at 100 and 12,000 offerings, (c) the import on MariaDB.
Budgets (SQLite): import >= 10,000 rows/s; list <= 1.0 s and <= 2 statements.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from _common import count_statements, median, mysql_root, run, seed_base

MODULES, CLASSES, COHORTS, MODES, FACILITATORS = 40, 20, 5, ("online", "in-person", "hybrid"), 4000
ROWS = MODULES * CLASSES * COHORTS * len(MODES)
RUNS = 3


def seed_catalog(url: str) -> str:
    """Migrate, then add the catalog, the people and a manager's session; return its token."""
    return seed_base(url, MODULES, CLASSES, COHORTS, FACILITATORS)


def write_csv(path: Path, limit: int = ROWS) -> None:
    start = date(2026, 1, 12)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "module",
                "class",
                "cohort",
                "mode",
                "facilitator",
                "start_date",
                "end_date",
                "max_students",
            ]
        )
        n = 0
        for m in range(MODULES):
            for c in range(CLASSES):
                for h in range(COHORTS):
                    for mode in MODES:
                        if n == limit:
                            return
                        writer.writerow(
                            [
                                f"M{m:03d}",
                                f"C{c:03d}",
                                f"Cohort {h}",
                                mode,
                                f"f{n % FACILITATORS:04d}@uni.edu",
                                start.isoformat(),
                                (start + timedelta(weeks=12)).isoformat(),
                                30,
                            ]
                        )
                        n += 1


def import_rate(url_for_run, label: str, csv_file: Path) -> None:  # type: ignore[no-untyped-def]
    times = []
    for i in range(RUNS):
        url, token, home = url_for_run(i)
        elapsed, proc = run(
            ["offering", "import", str(csv_file), "--json"],
            {"CMS_DATABASE_URL": url, "CMS_TOKEN": token, "CMS_HOME": home},
        )
        assert f'"created": {ROWS}' in proc.stdout, proc.stdout
        times.append(elapsed)
    best = median(times)
    print(
        f"{label}: import {ROWS} rows      {best:6.2f} s  {ROWS / best:8.0f} rows/s  (median of {RUNS}; budget >= 10,000 rows/s on SQLite)"
    )


def list_statements(url: str, token: str, home: str) -> int:
    """Statements issued by the listing itself (the service call), in-process."""
    from sqlmodel import Session

    from cms_cli.auth.service import authenticate
    from cms_cli.core.db import engine_for
    from cms_cli.offerings.service import Filters, list_offerings

    engine = engine_for(url)
    with Session(engine) as session:
        me, _ = authenticate(session, token)
        with count_statements(engine) as seen:
            rows = list_offerings(session, me, Filters(), today=date(2026, 2, 1))
    return len(seen), len(rows)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="cms-bench-offerings-"))
    try:
        template = work / "template.db"
        token = seed_catalog(f"sqlite:///{template}")
        csv_file = work / "offerings.csv"
        write_csv(csv_file)

        def sqlite_run(i: int) -> tuple[str, str, str]:
            db = work / f"run{i}.db"
            shutil.copy(template, db)
            return f"sqlite:///{db}", token, str(work)

        import_rate(sqlite_run, "SQLite ", csv_file)

        # (b) the listing over the last import's 12,000 offerings, and over 100.
        big = f"sqlite:///{work / f'run{RUNS - 1}.db'}"
        env = {
            "CMS_DATABASE_URL": big,
            "CMS_TOKEN": token,
            "CMS_HOME": str(work),
            "CMS_NOW": "2026-02-01T12:00:00+00:00",
        }
        times = []
        for _ in range(5):
            elapsed, _ = run(["offering", "list", "--json"], env)
            times.append(elapsed)
        print(
            f"SQLite : list --json, {ROWS} offerings   {median(times):6.2f} s  (median of 5; budget <= 1.0 s)"
        )
        small_db = work / "small.db"
        shutil.copy(template, small_db)
        small_csv = work / "small.csv"
        write_csv(small_csv, 100)
        run(
            ["offering", "import", str(small_csv)],
            {**env, "CMS_DATABASE_URL": f"sqlite:///{small_db}"},
        )
        for label, url in (("100", f"sqlite:///{small_db}"), (str(ROWS), big)):
            n, rows = list_statements(url, token, str(work))
            print(
                f"SQLite : listing statements at {label:>6} offerings: {n}  ({rows} rows; budget <= 2)"
            )

        # (c) MariaDB
        with mysql_root() as root:
            if root is not None:
                import sqlalchemy as sa

                def mysql_run(i: int) -> tuple[str, str, str]:
                    engine = sa.create_engine(root)
                    with engine.begin() as conn:
                        conn.execute(sa.text(f"DROP DATABASE IF EXISTS bench{i}"))
                        conn.execute(sa.text(f"CREATE DATABASE bench{i} CHARACTER SET utf8mb4"))
                    engine.dispose()
                    url = f"{root}bench{i}"
                    return url, seed_catalog(url), str(work)

                import_rate(mysql_run, "MariaDB", csv_file)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    main()
