"""Migrations on SQLite and MariaDB, the embedded default, a schema that is behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, Cli, create_mysql_database

from cms_cli.core import db as core_db
from cms_cli.core import migrate
from cms_cli.core import session as core_session
from cms_cli.core.config import load_config


def test_schema_head_matches_the_migrations() -> None:
    assert migrate.head() == migrate.SCHEMA_HEAD


def test_embedded_default_is_created_and_migrated_on_first_use(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    env = {"CMS_HOME": str(home), "CMS_DATABASE_URL": None}
    result = cli(
        "auth",
        "bootstrap",
        "--email",
        "d@uni.edu",
        "--name",
        "D",
        "--password-stdin",
        input=PASSWORD + "\n",
        env=env,
    )  # type: ignore[arg-type]
    assert result.exit_code == 0, result
    assert (home / "cms.db").exists()
    current = cli.ok("db", "current", "--json", env=env).json()  # type: ignore[arg-type]
    assert current["current"] == current["head"] == migrate.SCHEMA_HEAD
    assert current["up_to_date"] is True


@pytest.fixture
def empty_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A configured database with no schema at all."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'empty.db'}"
    root = request.getfixturevalue("mysql_root_url")
    return create_mysql_database(root, "cms_empty")


def test_configured_database_behind_is_refused_with_a_hint(cli: Cli, empty_url: str) -> None:
    env = {"CMS_DATABASE_URL": empty_url}
    result = cli("auth", "status", env=env)
    assert result.exit_code == 1
    assert "schema is behind" in result.stderr
    assert "hint: run cms db upgrade" in result.stderr
    assert cli.ok("db", "current", "--json", env=env).json()["current"] is None
    up = cli.ok("db", "upgrade", env=env)
    assert migrate.SCHEMA_HEAD in up.stdout
    assert cli("auth", "status", env=env).exit_code == 4  # schema fine, nobody logged in


def test_downgrade_and_upgrade_again(cli: Cli, empty_url: str) -> None:
    env = {"CMS_DATABASE_URL": empty_url}
    cli.ok("db", "upgrade", env=env)
    engine = core_db.engine_for(empty_url)
    refused = cli("db", "downgrade", "base", env=env)  # no TTY, no --yes: nothing dropped
    assert refused.exit_code == 2
    assert "hint: add --yes to confirm" in refused.stderr
    with engine.connect() as conn:
        assert "app_user" in sa.inspect(conn).get_table_names()
    down = cli.ok("db", "downgrade", "base", "--yes", env=env)
    assert "base" in down.stdout
    with engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
    cli.ok("db", "upgrade", env=env)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert {"app_user", "auth_session", "login_throttle", "audit_event"} <= tables


def test_unknown_revision_is_not_found(cli: Cli) -> None:
    result = cli("db", "upgrade", "9999")
    assert result.exit_code == 3
    assert "unknown revision" in result.stderr


def test_models_and_migrations_agree(db_url: str) -> None:
    """Autogenerate finds nothing to do: the migrations build exactly the models' schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from cms_cli.core.models import import_all_models

    import_all_models()
    with core_db.engine_for(db_url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_mysql_connection_settings(db_url: str, backend: str) -> None:
    engine = migrate.ensure_schema(load_config_for(db_url))
    with engine.connect() as conn:
        if backend == "mysql":
            mode = conn.execute(sa.text("SELECT @@SESSION.sql_mode")).scalar()
            assert "STRICT_TRANS_TABLES" in str(mode)
            charset = conn.execute(sa.text("SELECT @@character_set_client")).scalar()
            assert charset == "utf8mb4"
        else:
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


def load_config_for(url: str):  # type: ignore[no-untyped-def]
    import os

    os.environ["CMS_DATABASE_URL"] = url
    try:
        return load_config()
    finally:
        del os.environ["CMS_DATABASE_URL"]


def test_a_database_newer_than_this_cms_is_refused(cli: Cli, db_url: str) -> None:
    engine = core_db.engine_for(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    migrate.forget_schema_checks()
    try:
        result = cli("auth", "status")
        assert result.exit_code == 1
        assert "newer than this cms" in result.stderr
    finally:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE alembic_version SET version_num = :head"),
                {"head": migrate.SCHEMA_HEAD},
            )
        migrate.forget_schema_checks()


class _Deadlock(Exception):
    """What pymysql raises for a deadlock victim: (1213, message)."""


def _deadlock(code: int = 1213) -> sa.exc.DBAPIError:
    return sa.exc.OperationalError(
        "INSERT ...", {}, _Deadlock(code, "Deadlock found when trying to get lock")
    )


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The embedded database of a new home, which this test may create."""
    from cms_cli.core import context

    monkeypatch.setenv("CMS_HOME", str(tmp_path))
    monkeypatch.setattr(context.current(), "may_create", True)
    return load_config()


@pytest.mark.parametrize("code", [1213, 1205, 1467])
def test_a_deadlock_victim_is_run_again(embedded: Any, code: int) -> None:
    """1213 deadlock, 1205 lock wait, 1467 the AUTO-INC lock of an INSERT ... SELECT
    lost the same race (seen with four concurrent sweeps on MariaDB)."""
    config = embedded
    calls: list[int] = []

    def work(session: Any) -> str:
        session.execute(sa.text("SELECT 1"))
        calls.append(1)
        if len(calls) < 3:
            raise _deadlock(code)
        return "done"

    assert core_session.in_transaction(config, work) == "done"
    assert len(calls) == 3


def test_retries_end_and_other_errors_are_not_retried(embedded: Any) -> None:
    config = embedded
    calls: list[int] = []

    def always_deadlocked(session: Any) -> None:
        calls.append(1)
        raise _deadlock()

    with pytest.raises(sa.exc.OperationalError):
        core_session.in_transaction(config, always_deadlocked, attempts=3)
    assert len(calls) == 3

    calls.clear()

    def broken(session: Any) -> None:
        calls.append(1)
        session.execute(sa.text("SELECT * FROM no_such_table"))

    with pytest.raises(sa.exc.OperationalError):
        core_session.in_transaction(config, broken)
    assert len(calls) == 1


def test_a_lost_lock_race_is_a_one_line_error_saying_nothing_changed() -> None:
    """A lock waited for past lock_wait_seconds, or a deadlock the retries did not get
    past: the database was too busy, a backend matter (exit 7; 503 through cms serve)."""
    error = core_db.database_error("mysql+pymysql://cms:secret@db/cms", _deadlock())
    assert error.exit_code == 7
    assert "nothing was changed" in error.message
    assert error.hint == "run the command again"


def test_upgrading_a_populated_database_keeps_its_rows(cli: Cli, logged: dict[str, int]) -> None:
    """0006 rebuilds app_user (SQLite batch mode) while other tables refer to it: the
    rows, their references and logins survive a downgrade and an upgrade."""
    before = cli.ok("offering", "list", "--json").json()
    cli.ok("db", "downgrade", "0005", "--yes")
    cli.ok("db", "upgrade")
    assert cli.ok("offering", "list", "--json").json() == before
    cli.login("ana@uni.edu")
    assert cli.ok("tracker", "show", "--offering", str(logged["A"]), "--week", "1", "--json")
