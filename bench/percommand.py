"""What one `cms` process costs before and around its work: SQL statements and time.

For single-row commands (`offering show`, `tracker show`, `tracker log` with options),
on SQLite and on MariaDB: the statements the whole process sends (counted by a hook on
every engine: connection set-up, schema check, authentication, the work) and the
median wall time against `python -c "import sqlmodel, sqlalchemy.orm, typer"` in the
same run. Budgets (issue: the house): a single-row command within 1.3x of that import;
the per-process overhead (statements that are not the command's own work) <= 4 on MySQL.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import cms, mysql_root, seed_base

RUNS = 11
# Runs cms's own entry point with a hook counting every statement any engine sends,
# and prints them on stderr at exit (the connection's own set-up included).
HOOK = """
import atexit, sys
try:
    import pymysql.connections as _pc
    _query = _pc.Connection.query
    _wire = []
    def _logged(self, sql, unbuffered=False):
        _wire.append(" ".join(str(sql).split())[:90])
        return _query(self, sql, unbuffered)
    _pc.Connection.query = _logged
    _autocommit = _pc.Connection.autocommit
    def _ac(self, value):
        _wire.append("<autocommit %s>" % value)
        return _autocommit(self, value)
    _pc.Connection.autocommit = _ac
    _rollback = _pc.Connection.rollback
    def _rb(self):
        _wire.append("<ROLLBACK>")
        return _rollback(self)
    _pc.Connection.rollback = _rb
    _ping = _pc.Connection.ping
    def _pg(self, reconnect=True):
        _wire.append("<ping>")
        return _ping(self, reconnect)
    _pc.Connection.ping = _pg
    def _wire_report():
        for s in _wire:
            sys.stderr.write("@@wire " + s + "\\n")
    atexit.register(_wire_report)
except ImportError:
    pass
from sqlalchemy import event
from sqlalchemy.engine import Engine
seen = []
@event.listens_for(Engine, "before_cursor_execute")
def _count(conn, cursor, statement, *args):
    seen.append(" ".join(statement.split())[:90])
@event.listens_for(Engine, "connect")
def _connect(dbapi_connection, record):
    seen.append("<connect>")
def _report():
    sys.stderr.write("@@STATEMENTS %d\\n" % sum(1 for s in seen if s != "<connect>"))
    for s in seen:
        sys.stderr.write("@@ " + s + "\\n")
atexit.register(_report)
from cms_cli.main import app
sys.argv[0] = "cms"
app()
"""


def statements(args: list[str], env: dict[str, str]) -> tuple[int, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", HOOK, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        sys.exit(f"cms {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-500:]}")
    count = 0
    seen = []
    for line in proc.stderr.splitlines():
        if line.startswith("@@STATEMENTS "):
            count = int(line.split()[1])
        elif line.startswith("@@ "):
            seen.append(line[3:])
        elif line.startswith("@@wire "):
            seen.append("wire: " + line[7:])
    return count, seen


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, check=True)
    return time.perf_counter() - start


def seed(url: str, home: str) -> dict[str, str]:
    """A catalog, a facilitator's offering with two students; the facilitator's token."""
    import secrets
    from datetime import UTC, date, datetime, timedelta

    import sqlalchemy as sa
    from sqlmodel import Session

    from cms_cli.auth.models import AuthSession, Role, User
    from cms_cli.auth.service import token_hash
    from cms_cli.core.db import engine_for
    from cms_cli.offerings.models import Enrolment, Offering

    seed_base(url, 2, 2, 2, 1)
    now = datetime.now(UTC)
    engine = engine_for(url)
    token = secrets.token_urlsafe(32)
    with Session(engine) as session:
        facilitator = session.execute(
            sa.select(User).where(User.email == "f0000@uni.edu")
        ).scalar_one()
        manager = session.execute(sa.select(User).where(User.email == "dean@uni.edu")).scalar_one()
        students = [
            User(
                email=f"s{i}@uni.edu",
                name=f"S {i}",
                role=Role.student,
                created_at=now,
                updated_at=now,
            )
            for i in range(2)
        ]
        session.add_all(students)
        session.flush()
        offering = Offering(
            module_id=1,
            class_id=1,
            cohort_id=1,
            mode="online",
            facilitator_id=facilitator.id,
            manager_id=manager.id,
            start_date=date(2026, 1, 5),
            end_date=date(2026, 3, 27),
            created_at=now,
            updated_at=now,
        )
        session.add(offering)
        session.flush()
        session.add_all(
            [Enrolment(offering_id=offering.id, student_id=s.id, created_at=now) for s in students]
        )
        session.add(
            AuthSession(
                user_id=facilitator.id,
                token_hash=token_hash(token),
                created_at=datetime(2020, 1, 1, tzinfo=UTC),
                expires_at=now + timedelta(days=30),
            )
        )
        session.commit()
        offering_id = str(offering.id)
    engine.dispose()
    return {
        "CMS_DATABASE_URL": url,
        "CMS_TOKEN": token,
        "CMS_HOME": home,
        "CMS_NOW": "2026-02-01T12:00:00+00:00",
        "OFFERING": offering_id,
    }


COMMANDS = [
    ("offering show ID --json", lambda o: ["offering", "show", o, "--json"]),
    (
        "tracker show --week 1 --json",
        lambda o: ["tracker", "show", "--offering", o, "--week", "1", "--json"],
    ),
    (
        "tracker log --week 1 (options)",
        lambda o: [
            "tracker",
            "log",
            "--offering",
            o,
            "--week",
            "1",
            "--all-present",
            "--formative-one",
            "done",
            "--json",
        ],
    ),
]


def server_statements(root: str | None) -> Callable[[], int] | None:
    """A reader of MariaDB's count of statements received from clients (``Questions``):
    the statements a process sent, its connection set-up (dialect probes, SETs) included."""
    if root is None:
        return None
    import sqlalchemy as sa

    engine = sa.create_engine(root, poolclass=sa.pool.StaticPool)
    conn = engine.connect()

    def read() -> int:
        return int(conn.execute(sa.text("SHOW GLOBAL STATUS LIKE 'Questions'")).one()[1])

    return read


def measure(
    label: str, env: dict[str, str], floor: float, show: bool, server: Callable[[], int] | None
) -> None:
    offering = env.pop("OFFERING")
    # the first log exists, so that `tracker show` has a row
    statements(
        ["tracker", "log", "--offering", offering, "--week", "1", "--summative", "done"], env
    )
    for name, argv in COMMANDS:
        before = server() if server else 0
        count, seen = statements(argv(offering), env)
        received = server() - before - 1 if server else None  # less the reading itself
        times = [timed([cms(), *argv(offering)], env) for _ in range(RUNS)]
        best = statistics.median(times)
        on_server = (
            f"; the server received {received} ({received - count} of them the connection's"
            " set-up; budget <= 4 beyond the work)"
            if received is not None
            else ""
        )
        print(
            f"{label}: {name:<32} {count:3d} statements{on_server}  {best * 1000:6.0f} ms  "
            f"{best / floor:4.2f}x the import floor (budget 1.3x)"
        )
        if show:
            for statement in seen:
                print(f"           {statement}")


def main() -> None:
    sys.path.insert(0, os.path.dirname(__file__))
    floor_cmd = [sys.executable, "-c", "import sqlmodel, sqlalchemy.orm, typer"]
    timed(floor_cmd, {})
    floor = statistics.median([timed(floor_cmd, {}) for _ in range(RUNS)])
    print(
        f'python -c "import sqlmodel, sqlalchemy.orm, typer"   {floor * 1000:6.0f} ms (the floor)'
    )
    show = "--show" in sys.argv
    work = Path(tempfile.mkdtemp(prefix="cms-bench-percommand-"))
    try:
        env = seed(f"sqlite:///{work / 'cms.db'}", str(work))
        measure("SQLite ", env, floor, show, None)
        with mysql_root() as root:
            if root is not None:
                import sqlalchemy as sa

                engine = sa.create_engine(root)
                with engine.begin() as conn:
                    conn.execute(sa.text("DROP DATABASE IF EXISTS benchone"))
                    conn.execute(sa.text("CREATE DATABASE benchone CHARACTER SET utf8mb4"))
                engine.dispose()
                env = seed(f"{root}benchone", str(work))
                measure("MariaDB", env, floor, show, server_statements(root))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
