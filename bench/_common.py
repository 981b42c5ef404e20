"""Helpers shared by the benchmark scripts (not a test, not part of the package)."""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # servers.py: the private MariaDB of the tests


def _as_installed() -> None:
    """Measure cms as a user runs it: an installed wheel has its bytecode compiled at
    install time (pip does it), while an editable checkout under
    PYTHONDONTWRITEBYTECODE compiles every module from source on every run (about
    80 ms per process here). Compile the package once, and let the measured processes
    read the bytecode."""
    import compileall

    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    compileall.compile_dir(str(ROOT / "cms_cli"), quiet=1)


_as_installed()


def cms() -> str:
    found = shutil.which("cms", path=str(Path(sys.executable).parent)) or shutil.which("cms")
    if found is None:
        sys.exit("cms is not installed in this environment (pip install -e .)")
    return found


def run(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run([cms(), *args], env={**os.environ, **env}, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"cms {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return elapsed, proc


def median(values: list[float]) -> float:
    return statistics.median(values)


@contextlib.contextmanager
def count_statements(engine: Any) -> Iterator[list[str]]:
    """Collect every SQL statement the engine executes inside the block."""
    from sqlalchemy import event

    seen: list[str] = []

    def listener(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


@contextlib.contextmanager
def mysql_root() -> Iterator[str | None]:
    """A MariaDB root URL: CMS_BENCH_MYSQL_URL, a private server, or None without one."""
    given = os.environ.get("CMS_BENCH_MYSQL_URL")
    if given:
        yield given.rstrip("/") + "/"
        return
    import servers

    try:
        with servers.mariadb() as url:
            yield url
    except BaseException as exc:  # pytest.skip raises an exception of its own
        if type(exc).__name__ in ("Skipped", "Failed"):
            print(f"MariaDB: not run ({exc})")
            yield None
        else:
            raise


def in_process(env: dict[str, str], call: Callable[[], Any]) -> Any:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return call()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def seed_base(url: str, modules: int, classes: int, cohorts: int, facilitators: int) -> str:
    """Migrate ``url``; add modules M000.., classes C000.., cohorts "Cohort 0"..,
    facilitators f0000@uni.edu.. and a manager dean@uni.edu with a session: its token."""
    import secrets
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa
    from sqlmodel import Session

    from cms_cli.auth.models import AuthSession, Role, User
    from cms_cli.auth.service import token_hash
    from cms_cli.catalog.models import ClassGroup, Cohort, Intake, Module
    from cms_cli.core import migrate
    from cms_cli.core.config import load_config
    from cms_cli.core.db import engine_for

    in_process({"CMS_DATABASE_URL": url}, lambda: migrate.upgrade(load_config(), "head"))
    now = datetime.now(UTC)
    engine = engine_for(url)
    with Session(engine) as session:
        session.execute(
            sa.insert(Module),
            [
                {
                    "code": f"M{i:03d}",
                    "name": f"Module {i}",
                    "credits": 5,
                    "is_active": True,
                    "created_at": now,
                }
                for i in range(modules)
            ],
        )
        session.execute(
            sa.insert(ClassGroup),
            [
                {
                    "code": f"C{i:03d}",
                    "year": 2026,
                    "trimester": i % 3 + 1,
                    "intake": list(Intake)[i % 3],
                    "is_active": True,
                    "created_at": now,
                }
                for i in range(classes)
            ],
        )
        session.execute(
            sa.insert(Cohort),
            [
                {
                    "name": f"Cohort {i}",
                    "name_key": f"cohort {i}",
                    "is_active": True,
                    "created_at": now,
                }
                for i in range(cohorts)
            ],
        )
        people = [
            {
                "email": f"f{i:04d}@uni.edu",
                "name": f"Fac {i}",
                "role": Role.facilitator,
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(facilitators)
        ]
        people.append(
            {
                "email": "dean@uni.edu",
                "name": "Dean",
                "role": Role.manager,
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
        )
        session.execute(sa.insert(User), people)
        manager_id = session.execute(
            sa.select(User.id).where(User.email == "dean@uni.edu")
        ).scalar_one()
        token = secrets.token_urlsafe(32)
        session.add(
            AuthSession(
                user_id=manager_id,
                token_hash=token_hash(token),
                # valid at whatever CMS_NOW a bench sets (a session issued in the
                # future of the reading clock is refused)
                created_at=datetime(2020, 1, 1, tzinfo=UTC),
                expires_at=now + timedelta(days=365 * 10),
            )
        )
        session.commit()
    engine.dispose()
    return token
