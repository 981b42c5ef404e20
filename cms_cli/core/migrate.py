"""Alembic, run in-process on the configured database; the schema check of a first use."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

import cms_cli
from cms_cli.core.config import Config
from cms_cli.core.db import database_error, engine_of, schema_revision
from cms_cli.core.errors import NotFound, SchemaBehind, ValidationError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

# Alembic is imported only when a migration runs or a revision is looked up (a tenth of
# a second): every command checks the schema, almost always finding it at head.

#: The Alembic revision this code expects. tests/core/test_schema.py checks that it is
#: the head of migrations/versions, so bumping a migration without it fails CI.
SCHEMA_HEAD = "0014"


def migrations_dir() -> Path:
    """Packaged in the wheel as cms_cli/_migrations; the source tree's migrations/ otherwise."""
    package = Path(cms_cli.__file__).parent
    for candidate in (package / "_migrations", package.parent / "migrations"):
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("the migrations folder is missing from this installation")


def _alembic(connection: object | None = None) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic())


def head() -> str:
    heads = _scripts().get_heads()
    return heads[0]


def is_known(revision: str) -> bool:
    """Whether this installation's migrations contain ``revision``."""
    try:
        return _scripts().get_revision(revision) is not None
    except Exception:
        return False


def _known(revision: str) -> None:
    if revision in ("head", "base") or revision.startswith(("+", "-")):
        return
    script = _scripts()
    try:
        found = script.get_revision(revision)
    except Exception:
        found = None
    if found is None:
        raise NotFound(f"unknown revision {revision!r}", hint="cms db current shows where you are")


def _run(config: Config, action: str, revision: str) -> str | None:
    engine = engine_of(config)
    try:
        with engine.connect() as conn:
            migrate_on(conn, action, revision)
    except sa.exc.DBAPIError as exc:
        raise database_error(config.database_url, exc) from exc
    forget_schema_checks()
    with engine.connect() as conn:
        return schema_revision(conn)


def migrate_on(conn: sa.Connection, action: str, revision: str) -> None:
    """Run Alembic's ``action`` ("upgrade" or "downgrade") to ``revision`` on ``conn``
    (no transaction open), in a transaction of its own; db copy and restore build an
    empty database's schema with it."""
    from alembic import command

    # SQLite rebuilds a table to alter it (batch mode): with foreign keys on, the
    # rebuild of a table others refer to (app_user) fails. Off for the migration, set
    # outside any transaction as SQLite requires; checked before commit.
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
        with engine_of(config).connect() as conn:
            return schema_revision(conn)
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
    """The engine of the configured database, its schema checked once per process
    (on a connection of its own; a transaction checks on its own: ``check_in``)."""
    url = config.database_url
    engine = engine_of(config)
    if url in _checked:
        return engine
    try:
        with engine.connect() as conn:
            current = schema_revision(conn)
    except sa.exc.DBAPIError as exc:
        raise database_error(url, exc) from exc
    _settle(config, current)
    return engine


def check_in(session: Session, config: Config) -> None:
    """Check the schema in ``session``'s own transaction, with one statement, once per
    process: the first statement of nearly every command. The embedded database is
    created and migrated when it is behind (the session's transaction is ended first,
    and the next statement begins another)."""
    url = config.database_url
    if url in _checked:
        return
    try:
        current = schema_revision(session.connection())
    except sa.exc.DBAPIError as exc:
        raise database_error(url, exc) from exc
    if current != SCHEMA_HEAD and config.embedded:
        session.rollback()  # the migration writes through a connection of its own
    _settle(config, current)


def _settle(config: Config, current: str | None) -> None:
    """Accept ``current`` (remembered), migrate the embedded database, or refuse: a
    configured database behind is refused with a hint, a newer one too."""
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
    _checked.add(config.database_url)


def forget_schema_checks() -> None:
    """Check every database's schema again at its next use (after a migration)."""
    _checked.clear()
