"""Alembic, run in-process on the configured database; the schema check of a first use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

import cms_cli
from cms_cli.core.config import Config
from cms_cli.core.db import database_error, engine_for, schema_revision
from cms_cli.core.errors import NotFound, SchemaBehind, ValidationError

#: The Alembic revision this code expects. tests/core/test_schema.py checks that it is
#: the head of migrations/versions, so bumping a migration without it fails CI.
SCHEMA_HEAD = "0007"


def migrations_dir() -> Path:
    """Packaged in the wheel as cms_cli/_migrations; the source tree's migrations/ otherwise."""
    package = Path(cms_cli.__file__).parent
    for candidate in (package / "_migrations", package.parent / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("the migrations folder is missing from this installation")


def _alembic(connection: object | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    heads = ScriptDirectory.from_config(_alembic()).get_heads()
    return heads[0]


def is_known(revision: str) -> bool:
    """Whether this installation's migrations contain ``revision``."""
    try:
        return ScriptDirectory.from_config(_alembic()).get_revision(revision) is not None
    except Exception:
        return False


def _known(revision: str) -> None:
    if revision in ("head", "base") or revision.startswith(("+", "-")):
        return
    script = ScriptDirectory.from_config(_alembic())
    try:
        found = script.get_revision(revision)
    except Exception:
        found = None
    if found is None:
        raise NotFound(f"unknown revision {revision!r}", hint="cms db current shows where you are")


def _run(config: Config, action: str, revision: str) -> str | None:
    import sqlalchemy as sa

    engine = engine_for(config.database_url)
    try:
        with engine.connect() as conn:
            # SQLite rebuilds a table to alter it (batch mode): with foreign keys on, the
            # rebuild of a table others refer to (app_user) fails. Off for the migration,
            # set outside any transaction as SQLite requires; checked before commit.
            raw = conn.connection.dbapi_connection if conn.dialect.name == "sqlite" else None
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with conn.begin():
                    cfg = _alembic(conn)
                    if action == "upgrade":
                        command.upgrade(cfg, revision)
                    else:
                        command.downgrade(cfg, revision)
                    if raw is not None:
                        _foreign_keys_hold(conn)
            finally:
                if raw is not None:
                    raw.execute("PRAGMA foreign_keys=ON")
    except sa.exc.DBAPIError as exc:
        raise database_error(config.database_url, exc) from exc
    forget_schema_checks()
    return schema_revision(engine)


def _foreign_keys_hold(conn: Any) -> None:
    """ValidationError (and a rollback) if the migration left a dangling reference."""
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        from cms_cli.core.errors import ValidationError

        raise ValidationError(
            f"the migration would leave {len(broken)} broken reference(s) "
            f"(first: table {broken[0][0]}); nothing was changed",
            hint="run again with --debug and report it",
        )


def upgrade(config: Config, revision: str = "head") -> str | None:
    _known(revision)
    return _run(config, "upgrade", revision)


def downgrade(config: Config, revision: str) -> str | None:
    _known(revision)
    return _run(config, "downgrade", revision)


def current(config: Config) -> str | None:
    import sqlalchemy as sa

    try:
        return schema_revision(engine_for(config.database_url))
    except sa.exc.DBAPIError as exc:
        raise database_error(config.database_url, exc) from exc


#: Tables the runtime account may not rewrite: the audit trail is appended to only, and
#: the schema revision is moved by migrations alone.
LIMITED_GRANTS = {"audit_event": "SELECT, INSERT", "alembic_version": "SELECT"}
FULL_GRANT = "SELECT, INSERT, UPDATE, DELETE"


def _quoted(text: str, quote: str) -> str:
    return quote + text.replace(quote, quote * 2) + quote


def grants(config: Config, user: str, host: str) -> list[str]:
    """GRANT statements for a least-privilege MySQL/MariaDB account that runs cms (not
    its migrations): every table read and written, except the append-only audit trail
    and the schema revision. Table-level grants, so they name today's tables."""
    import sqlalchemy as sa
    from sqlmodel import SQLModel

    from cms_cli.core.errors import ValidationError
    from cms_cli.core.models import import_all_models

    url = sa.make_url(config.database_url)
    if url.get_backend_name() != "mysql" or not url.database:
        raise ValidationError(
            "grants are for a MySQL/MariaDB database; this one is "
            f"{url.get_backend_name()} (it has no accounts)",
            hint="set CMS_DATABASE_URL to the MySQL database (with its name) first",
        )
    import_all_models()
    database = _quoted(url.database, "`")
    account = _quoted(user, "'") + "@" + _quoted(host, "'")
    tables = sorted({*SQLModel.metadata.tables, "alembic_version"})
    return [
        f"GRANT {LIMITED_GRANTS.get(table, FULL_GRANT)} ON {database}.{_quoted(table, '`')} "
        f"TO {account};"
        for table in tables
    ]


# -- the schema check of each database's first use in a process ----------------------

_checked: set[str] = set()


def ensure_schema(config: Config) -> Engine:
    """The engine of the configured database, its schema checked once per process.

    The embedded default is created and migrated on first use; a configured
    database whose schema is behind is refused with a hint.
    """
    url = config.database_url
    engine = engine_for(url)
    if url in _checked:
        return engine
    try:
        current = schema_revision(engine)
    except sa.exc.DBAPIError as exc:
        raise database_error(url, exc) from exc
    if current != SCHEMA_HEAD:
        if current is not None and not is_known(current):
            raise ValidationError(
                f"the database schema ({current}) is newer than this cms ({SCHEMA_HEAD})",
                hint="upgrade cms on this machine",
            )
        if config.embedded:
            upgrade(config, "head")
        else:
            raise SchemaBehind(current, SCHEMA_HEAD)
    _checked.add(url)
    return engine


def forget_schema_checks() -> None:
    """Check every database's schema again at its next use (after a migration)."""
    _checked.clear()
