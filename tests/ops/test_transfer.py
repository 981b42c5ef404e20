"""cms db backup, restore and copy: everything moves, ids and hashes kept, on both
databases and in both directions; bad files and occupied targets change nothing."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import Cli, create_mysql_database, sql

from cms_cli.ops.transfer import NOT_COPIED, _tables

pytestmark = pytest.mark.slow


def contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every cms table (the heartbeats and counters excepted), in order, as
    values both databases compare equal (JSON as its text)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            metadata = _tables(conn)
            out = {}
            for table in metadata.sorted_tables:
                if table.name in NOT_COPIED:
                    continue
                columns = sorted(table.columns, key=lambda c: c.name)
                rows = conn.execute(sa.select(*columns)).all()
                out[table.name] = sorted((tuple(_plain(v) for v in row) for row in rows), key=repr)
            return out
    finally:
        engine.dispose()


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    return value


def filled(cli: Cli, url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The demo's term in the database at ``url`` (as `cms demo --here` writes it)."""
    cli.ok("demo", "--here", env={"CMS_DATABASE_URL": url})
    found = contents(url)
    assert len(found["app_user"]) == 130
    assert len(found["notification"]) > 40
    assert len(found["audit_event"]) > 100
    return found


@pytest.fixture
def other_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database of the other kind: MariaDB beside SQLite, a file beside MariaDB."""
    if db_url.startswith("sqlite"):
        root = request.getfixturevalue("mysql_root_url")
        return create_mysql_database(root, "cms_copy_target")
    return f"sqlite:///{tmp_path / 'moved.db'}"


@pytest.mark.mysql
def test_copy_moves_everything_to_the_other_kind_and_nothing_is_sent_again(
    cli: Cli, db_url: str, other_url: str
) -> None:
    before = filled(cli, db_url)
    sql(
        db_url,
        "INSERT INTO worker_heartbeat (name, started_at, seen_at, scheduler) "
        "VALUES ('w@there:1', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0)",
    )
    copied = cli.subprocess(
        "db", "copy", "--to", other_url, "--yes", env={"CMS_DATABASE_URL": db_url}
    )
    assert copied.exit_code == 0, copied
    assert "rows in" in copied.stdout
    assert "password" not in copied.stdout  # the target's password is masked
    after = contents(other_url)
    assert after == before  # ids, hashes, audit trail, outbox states: equal
    assert sql(other_url, "SELECT COUNT(*) FROM worker_heartbeat") == 0
    # The new home believes the old one's history: a sweep there creates nothing.
    moved = {"CMS_DATABASE_URL": other_url}
    swept = cli.ok("notify", "sweep", "--json", env=moved).json()
    assert (swept["reminders"], swept["escalations"]) == (0, 0)
    # Someone logs in there with the password they had.
    cli.ok(
        "auth",
        "login",
        "--email",
        "registrar@uni.example",
        "--password-stdin",
        input="demo-manager-pw\n",
        env=moved,
    )
    # A second copy into the same target: refused, nothing changed.
    again = cli("db", "copy", "--to", other_url, "--yes", env={"CMS_DATABASE_URL": db_url})
    assert again.exit_code == 6
    assert "is not empty" in again.stderr
    assert contents(other_url)["offering"] == before["offering"]


def test_copy_refuses_what_it_cannot_use(cli: Cli, db_url: str, tmp_path: Path) -> None:
    cli.bootstrap()
    here = {"CMS_DATABASE_URL": db_url}
    cases = {
        "not a url": (1, "not a database URL"),
        "postgresql://u@h/db": (1, "SQLite or MySQL/MariaDB"),
        "mysql+mysqldb://u@h/db": (1, "mysql+pymysql"),
        "sqlite://": (1, "name the SQLite file"),
        db_url: (1, "the database cms uses now"),
    }
    for url, (code, words) in cases.items():
        result = cli("db", "copy", "--to", url, "--yes", env=here)
        assert (result.exit_code, words in result.stderr) == (code, True), (url, result)
    target = f"sqlite:///{tmp_path / 'new.db'}"
    unasked = cli("db", "copy", "--to", target, env=here)  # off a terminal, no --yes
    assert unasked.exit_code == 2
    assert not (tmp_path / "new.db").exists()
    down = cli("db", "copy", "--to", "mysql+pymysql://cms:pw@127.0.0.1:1/cms", "--yes", env=here)
    assert down.exit_code == 7
    assert ":pw@" not in down.stderr


@pytest.mark.mysql
def test_backup_and_restore_into_a_fresh_database(
    cli: Cli, db_url: str, tmp_path: Path, other_url: str
) -> None:
    before = filled(cli, db_url)
    sql(
        db_url,
        "UPDATE notification SET claim_token = 'dead-worker', status = 'queued' "
        "WHERE id = (SELECT m FROM (SELECT MIN(id) AS m FROM notification) AS t)",
    )
    before = contents(db_url)
    file = tmp_path / "cms-backup.sqlite"
    made = cli.subprocess("db", "backup", str(file), env={"CMS_DATABASE_URL": db_url})
    assert made.exit_code == 0, made
    assert file.stat().st_mode & 0o777 == 0o600  # it holds password hashes
    assert not list(tmp_path.glob(".*partial*"))
    assert sqlite3.connect(file).execute("PRAGMA journal_mode").fetchone() == ("delete",)
    for target in (f"sqlite:///{tmp_path / 'restored.db'}", other_url):
        restored = cli.subprocess(
            "db", "restore", str(file), "--yes", env={"CMS_DATABASE_URL": target}
        )
        assert restored.exit_code == 0, restored
        after = contents(target)
        claims = "SELECT COUNT(*) FROM notification WHERE claim_token IS NOT NULL"
        assert sql(target, claims) == 0  # no claim of a worker that is not there
        assert {k: len(v) for k, v in after.items()} == {k: len(v) for k, v in before.items()}
        for table in ("app_user", "offering", "weekly_log", "audit_event", "inbox_item"):
            assert after[table] == before[table], table
        states = "SELECT status, COUNT(*) FROM notification GROUP BY status ORDER BY status"
        assert _all(target, states) == _all(db_url, states)
        current = cli.ok("db", "current", "--json", env={"CMS_DATABASE_URL": target}).json()
        assert current["up_to_date"]


def _all(url: str, statement: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(statement)).all()]
    finally:
        engine.dispose()


def test_a_backup_made_while_the_worker_and_a_sweep_run_is_consistent(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    """The backup is one instant: every reference holds in it, and what it holds equals
    the database's rows of that instant (rows only added or moved on since)."""
    filled(cli, db_url)
    here = {"CMS_DATABASE_URL": db_url}
    cli.env["CMS_NOW"] = "2030-01-01T00:00:00+00:00"  # every week due: a busy sweep
    busy = [
        subprocess.Popen(
            [sys.executable, "-m", "cms_cli", *args],
            env={**os.environ, **cli.env, **here},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for args in (("notify", "sweep"), ("worker", "--workers", "2", "--no-scheduler"))
    ]
    try:
        time.sleep(1.0)
        file = tmp_path / "during.sqlite"
        made = cli.subprocess("db", "backup", str(file), env=here)
        assert made.exit_code == 0, made
    finally:
        for proc in busy:
            proc.terminate()
        for proc in busy:
            proc.wait(timeout=60)
    with sqlite3.connect(file) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    assert (
        cli.subprocess(
            "db", "restore", str(file), "--yes", env={"CMS_DATABASE_URL": target}
        ).exit_code
        == 0
    )
    later = contents(db_url)
    restored = contents(target)
    for table in ("app_user", "offering", "enrolment", "weekly_log", "reflection"):
        assert restored[table] == later[table], table  # nobody changed these meanwhile
    # The audit trail only grows: the backup's is a part of today's, row for row.
    assert set(restored["audit_event"]) <= set(later["audit_event"])
    # Each notification of the backup is one of today's (its status may have moved on).
    assert len(restored["notification"]) <= len(later["notification"])


def test_restore_refuses_bad_files_and_changes_nothing(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    cli.bootstrap()
    here = {"CMS_DATABASE_URL": db_url}
    before = contents(db_url)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"\x00\x01 not a database at all\n" * 100)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    newer = tmp_path / "newer.sqlite"
    assert cli("db", "backup", str(newer), env=here).exit_code == 0
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    damaged = tmp_path / "damaged.sqlite"
    good = bytearray(newer.read_bytes())
    good[4096 * 3 : 4096 * 3 + 512] = b"\xff" * 512
    damaged.write_bytes(bytes(good))
    cases = {
        junk: "not a cms backup",
        other: "not a cms backup",
        newer: "from a newer cms",
        tmp_path / "missing.sqlite": "cannot read it",
        tmp_path: "cannot read it",
    }
    for file, words in cases.items():
        result = cli("db", "restore", str(file), "--yes", env=here)
        assert result.exit_code == 1, (file, result)
        assert words in result.stderr, (file, result.stderr)
    broken = cli("db", "restore", str(damaged), "--yes", env=here)
    assert broken.exit_code == 1, broken
    fine = tmp_path / "fine.sqlite"
    assert cli("db", "backup", str(fine), env=here).exit_code == 0
    unasked = cli("db", "restore", str(fine), env=here)  # off a terminal, no --yes
    assert unasked.exit_code == 2
    assert contents(db_url) == before


def test_an_older_backup_is_upgraded_and_heartbeats_do_not_come_back(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    old = tmp_path / "old.db"
    made = cli.subprocess(
        "db", "upgrade", "0010", "--create", env={"CMS_DATABASE_URL": f"sqlite:///{old}"}
    )
    assert made.exit_code == 0, made
    with sqlite3.connect(old) as conn:
        conn.execute(
            "INSERT INTO app_user (email, name, role, password_hash, is_active, created_at, "
            "updated_at) "
            "VALUES ('old@uni.edu', 'Old Timer', 'manager', 'x', 1, '2025-01-01 00:00:00', "
            "'2025-01-01 00:00:00')"
        )
        conn.execute(
            "INSERT INTO worker_heartbeat (name, started_at, seen_at, scheduler) "
            "VALUES ('w@gone:1', '2025-01-01 00:00:00', '2025-01-01 00:00:00', 1)"
        )
    restored = cli.subprocess("db", "restore", str(old), "--yes", env={"CMS_DATABASE_URL": db_url})
    assert restored.exit_code == 0, restored
    assert "upgraded to" in restored.stdout
    assert cli.ok("db", "current", "--json", env={"CMS_DATABASE_URL": db_url}).json()["up_to_date"]
    assert sql(db_url, "SELECT email FROM app_user") == "old@uni.edu"
    assert sql(db_url, "SELECT COUNT(*) FROM worker_heartbeat") == 0


def test_backup_refuses_a_folder_and_a_missing_one(cli: Cli, db_url: str, tmp_path: Path) -> None:
    cli.bootstrap()
    here = {"CMS_DATABASE_URL": db_url}
    assert cli("db", "backup", str(tmp_path), env=here).exit_code == 1
    nowhere = cli("db", "backup", str(tmp_path / "no" / "such" / "b.sqlite"), env=here)
    assert nowhere.exit_code == 1
    assert "does not exist" in nowhere.stderr


def test_a_restore_that_cannot_finish_changes_nothing(
    cli: Cli, db_url: str, tmp_path: Path
) -> None:
    """Every check runs on a staged copy before the database is touched: a backup with
    a broken reference, with a table cms does not have, or the live database itself
    as the file is refused (exit 1) and the database is as it was."""
    cli.bootstrap()
    here = {"CMS_DATABASE_URL": db_url}
    before = contents(db_url)
    good = tmp_path / "good.sqlite"
    assert cli("db", "backup", str(good), env=here).exit_code == 0
    dangling = tmp_path / "dangling.sqlite"
    shutil.copy(good, dangling)
    with sqlite3.connect(dangling) as conn:
        conn.execute(
            "INSERT INTO enrolment (offering_id, student_id, created_at) "
            "VALUES (999999, 1, '2026-01-01 00:00:00')"
        )
    foreign = tmp_path / "foreign.sqlite"
    shutil.copy(good, foreign)
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE evil (a)")
        conn.execute("INSERT INTO evil VALUES (1)")
    for file in (dangling, foreign):
        refused = cli("db", "restore", str(file), "--yes", env=here)
        assert refused.exit_code == 1, (file, refused)
        assert "nothing was changed" in refused.stderr or "nothing was copied" in refused.stderr
        assert contents(db_url) == before, file
        assert not list(tmp_path.glob(".*restoring*"))
    if db_url.startswith("sqlite"):
        live = sa.make_url(db_url).database
        itself = cli("db", "restore", str(live), "--yes", env=here)
        assert itself.exit_code == 1
        assert "the database cms uses now" in itself.stderr
        assert contents(db_url) == before


def test_a_restore_refuses_while_a_worker_runs(cli: Cli, db_url: str, tmp_path: Path) -> None:
    cli.bootstrap()
    here = {"CMS_DATABASE_URL": db_url}
    file = tmp_path / "b.sqlite"
    assert cli("db", "backup", str(file), env=here).exit_code == 0
    from datetime import UTC, datetime

    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    sql(
        db_url,
        "INSERT INTO worker_heartbeat (name, started_at, seen_at, scheduler) "
        "VALUES ('host:1', :n, :n, 0)",
        {"n": now},
    )
    busy = cli("db", "restore", str(file), "--yes", env={**here, "CMS_NOW": None})  # type: ignore[dict-item]
    assert busy.exit_code == 6
    assert "a worker is running on this database (host:1)" in busy.stderr


@pytest.mark.mysql
def test_a_copy_that_stopped_while_building_the_schema_runs_again(
    cli: Cli, db_url: str, other_url: str
) -> None:
    """A copy killed while it built the target's tables (DDL is not transactional on
    MySQL) leaves empty cms tables at some revision: the next copy starts again."""
    cli.bootstrap()
    partial = cli("db", "upgrade", "0003", env={"CMS_DATABASE_URL": other_url, "CMS_NOW": None})  # type: ignore[dict-item]
    assert partial.exit_code == 0, partial
    copied = cli("db", "copy", "--to", other_url, "--yes", env={"CMS_DATABASE_URL": db_url})
    assert copied.exit_code == 0, copied
    assert sql(other_url, "SELECT COUNT(*) FROM app_user") == 1
