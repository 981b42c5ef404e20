"""Engines, the database's errors as cms errors, and the column types every model
shares. Transactions and the schema check: core.session; migrations: core.migrate."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from cms_cli.core.config import Config, mask_url
from cms_cli.core.errors import CmsError, Unavailable

# A naming convention for constraints, so that Alembic batch mode on SQLite and
# ALTERs on MySQL can name what they drop. Set before any model is declared.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stored as naive UTC (microseconds kept on MySQL), returned timezone-aware."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "mysql":
            from sqlalchemy.dialects import mysql  # not imported for SQLite: start-up

            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def table_of(model: type[SQLModel]) -> sa.Table:
    """A table model's Table (its ``__table__``, typed)."""
    return SQLModel.metadata.tables[str(model.__tablename__)]


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    """A column for an instant (use as ``sa_column=utc_column()``)."""
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, lock_wait: int = 10) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (below).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={int(lock_wait) * 1000}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin_immediate(conn: sa.Connection) -> None:
    """Take the write lock when a transaction begins (waiting up to busy_timeout).

    With a deferred BEGIN, a transaction that read and then writes fails at once with
    "database is locked" when another process committed in between; with IMMEDIATE,
    concurrent commands on the embedded database queue up instead, and a check made
    inside a transaction (capacity, load) still holds when its insert runs. A
    transaction that only reads (``READ_ONLY`` in its execution options: the server's
    GET requests) begins deferred: under WAL it reads its snapshot while a writer holds
    the lock, and never waits on one.
    """
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


#: The execution option of a transaction that only reads (core.session.Transaction).
READ_ONLY = "cms_read_only"


def release_read(session: Session) -> None:
    """End the transaction so far when it holds a lock a plain read does not need: on
    SQLite every transaction holds the database's write lock (BEGIN IMMEDIATE); on
    MySQL a read holds nothing (READ COMMITTED), and the transaction goes on without a
    round trip. For what must not wait inside a transaction: a body arriving, bcrypt."""
    if session.get_bind().dialect.name == "sqlite":
        session.commit()


#: Seconds a statement waits for a lock, and a request for a pooled connection, unless
#: the configuration says otherwise (``lock_wait_seconds``).
LOCK_WAIT = 10


#: Seconds after which MySQL/MariaDB stops a statement of this process (0: never);
#: `cms serve` sets it (``statement_seconds``) before its first engine: a request
#: answers in bounded time, where a command run by hand may take what it needs.
_statement_seconds = 0


def bound_statements(seconds: int) -> None:
    """Stop every statement of this process's engines made from now on after
    ``seconds`` (MySQL/MariaDB; SQLite has no such limit)."""
    global _statement_seconds
    _statement_seconds = max(0, int(seconds))


def make_engine(url: str, lock_wait: int = LOCK_WAIT) -> Engine:
    """A new engine for ``url`` with the house settings for SQLite or MySQL; a lock (or
    a connection of the pool) is waited for ``lock_wait`` seconds at most, then the
    statement fails as "too busy" (exit 7, HTTP 503)."""
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database and sa_url.database != ":memory:":
            from pathlib import Path

            from cms_cli.core.files import private_file

            try:
                private_file(Path(sa_url.database))  # 0600 in a 0700 folder when new
            except OSError as exc:
                raise Unavailable(
                    f"database unavailable ({mask_url(url)}): {exc.strerror}",
                    hint="check CMS_DATABASE_URL: its folder must exist or be creatable",
                ) from None
        engine = sa.create_engine(sa_url, connect_args={"timeout": lock_wait})
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, lock_wait=lock_wait))
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    if sa_url.get_backend_name() == "mysql" and sa_url.get_driver_name() == "pymysql":
        from cms_cli.core import mysql

        # The session (strict sql_mode, UTC, READ COMMITTED) is set up by
        # core.mysql's connection in one statement; the dialect is told, not asked.
        # No ROLLBACK when a connection goes back to the pool: every use ends its
        # transaction itself (a Session, or a Connection, rolls back on close whatever
        # it did not commit), so the pool's own reset would be a round trip for nothing.
        return mysql.engine(
            sa_url,
            pool_pre_ping=True,
            pool_recycle=3600,
            pool_reset_on_return=None,
            pool_timeout=lock_wait,
            connect_args={
                "charset": "utf8mb4",
                "connect_timeout": 5,
                "lock_wait": lock_wait,
                "statement": _statement_seconds,
            },
        )
    return sa.create_engine(sa_url, pool_pre_ping=True)


def engine_for(url: str, lock_wait: int = LOCK_WAIT) -> Engine:
    """One engine per URL and process, with every model registered (core.models). The
    first use makes it, with its ``lock_wait`` (engine_of passes the configuration's)."""
    from cms_cli.core.models import import_all_models

    import_all_models()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url, lock_wait)
        return engine


def engine_of(config: Config) -> Engine:
    """The engine of ``config``'s database, with its ``lock_wait_seconds``; Unavailable
    (exit 7) when none is configured and the embedded one does not exist, unless this
    invocation may create it (require_database)."""
    require_database(config)
    return engine_for(config.database_url, config.settings.lock_wait_seconds)


def require_database(config: Config) -> None:
    """Refuse (exit 7, naming the file looked for) to use the embedded database when it
    does not exist and this invocation may not create it: cron's `cms notify sweep`
    with cron's environment would otherwise sweep a new, empty database and say
    nothing."""
    from cms_cli.core.context import current

    if not config.embedded or current().may_create:
        return
    from pathlib import Path

    path = Path(sa.make_url(config.database_url).database or "")
    if path.exists():
        return
    raise Unavailable(
        f"no database: none is configured (CMS_DATABASE_URL, or database_url in "
        f"{config.paths.config_file} for profile {config.profile}) and the embedded one "
        f"({path}) does not exist",
        hint="set CMS_DATABASE_URL or choose --profile; to start one here: cms demo, "
        "cms auth bootstrap or cms db upgrade --create",
    )


def dispose_all() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def schema_revision(conn: sa.Connection) -> str | None:
    """The Alembic revision stamped in the database, or None for an empty one: one
    statement (a missing table is an error both databases answer without ending the
    transaction)."""
    try:
        revision: str | None = conn.execute(
            sa.text("SELECT version_num FROM alembic_version")
        ).scalar()
    except sa.exc.DBAPIError as exc:
        missing = _mysql_code(exc) == 1146 or "no such table" in str(_driver_error(exc))
        if not missing:
            raise
        return None
    return revision


# MySQL client/server errors that mean "cannot reach or use the server": too many
# connections, access denied, unknown database, no socket, cannot connect, gone away,
# lost connection, SSL/handshake failures.
_MYSQL_UNREACHABLE = {1040, 1044, 1045, 1049, 2002, 2003, 2005, 2006, 2013, 2026, 2055}
_SQLITE_UNREACHABLE = ("unable to open database", "database is locked", "disk i/o error")


def _driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception inside SQLAlchemy's wrapper (or ``exc`` itself)."""
    return getattr(exc, "orig", None) or exc


def _mysql_code(exc: BaseException) -> int | None:
    """The MySQL error number of a pymysql error, e.g. 1213; None for anything else."""
    args = getattr(_driver_error(exc), "args", None)
    code = args[0] if args else None
    return code if isinstance(code, int) else None


def _reason(exc: BaseException) -> str:
    """The first line of the driver's message, or its class name when it has none."""
    orig = _driver_error(exc)
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__


def is_unreachable(exc: BaseException) -> bool:
    """True when a DBAPI error means the database cannot be reached (exit 7)."""
    if getattr(exc, "connection_invalidated", False):
        return True
    if _mysql_code(exc) in _MYSQL_UNREACHABLE:
        return True
    text = str(_driver_error(exc)).lower()
    return any(marker in text for marker in _SQLITE_UNREACHABLE)


#: MySQL refusing a command to this account: a table's or a column's rights (revoked,
#: or never granted). An operator's matter, like a database that is away (exit 7).
_MYSQL_DENIED = {1142, 1143}


def is_denied(exc: BaseException) -> bool:
    """True when MySQL refused the command to this account (its rights)."""
    return _mysql_code(exc) in _MYSQL_DENIED


def passes(exc: BaseException) -> bool:
    """A failure of the database that background work waits out rather than gives up
    on: a lock race lost, the database away, or its rights revoked for a while."""
    return is_transient(exc) or is_unreachable(exc) or is_denied(exc)


# MySQL errors after which the server has rolled back (1213, deadlock victim) or given up
# waiting for a lock (1205): running the same transaction again is the documented remedy.
# 1467 ("Failed to read auto-increment value from storage engine") is InnoDB's answer
# when the table's AUTO-INC lock, taken by an INSERT ... SELECT, is lost to a deadlock
# or a lock wait: the same race as 1213, seen by concurrent sweeps on MariaDB 10.11.
_MYSQL_TRANSIENT = {1205, 1213, 1467}
#: A statement stopped for running too long: MariaDB's max_statement_time (1969),
#: MySQL's max_execution_time (3024). `cms serve`'s ``statement_seconds``.
_MYSQL_TOO_LONG = {1969, 3024}


def is_deadlock(exc: BaseException) -> bool:
    """True when MySQL rolled the transaction back to break a deadlock: run it again at
    once (a lock wait that ran out, 1205, already waited its lock_wait_seconds)."""
    return _mysql_code(exc) in {1213, 1467}


def is_transient(exc: BaseException) -> bool:
    """True when the transaction lost a lock race and may simply be run again."""
    return _mysql_code(exc) in _MYSQL_TRANSIENT


#: MySQL refusing a value: too long (1406), out of range (1264), not valid text (1366).
#: Services check every limit first (core.limits); this is the net behind them.
_MYSQL_VALUE = {1264, 1366, 1406}


def database_error(url: str, exc: BaseException) -> CmsError:
    """Exit 7 for an unreachable database; any other database failure is exit 1."""
    if "database is locked" in str(_driver_error(exc)).lower():  # SQLite's lock wait ran out
        return Unavailable(
            "the database was too busy to finish (lock conflict); nothing was changed",
            hint="run the command again",
        )
    if is_unreachable(exc):
        return unavailable(url, exc)
    if _mysql_code(exc) in _MYSQL_VALUE or isinstance(_driver_error(exc), OverflowError):
        from cms_cli.core.errors import ValidationError

        return ValidationError(
            f"a value is too long or out of range for the database ({_reason(exc)[:120]});"
            " nothing was changed",
            hint="see docs/limits.md for the limit of each field",
        )
    if _mysql_code(exc) in _MYSQL_TOO_LONG:
        return Unavailable(
            "the database was too busy to answer in time (statement_seconds); nothing was changed",
            hint="run the command again later",
        )
    if is_transient(exc):  # a lock waited for past its limit, or a deadlock: exit 7
        return Unavailable(
            "the database was too busy to finish (lock conflict); nothing was changed",
            hint="run the command again",
        )
    if is_denied(exc):
        return Unavailable(
            f"the database refused this command to its account ({_reason(exc)[:160]}); "
            "nothing was changed",
            hint="check the account's rights: cms db grants prints what it needs",
        )
    return CmsError(
        f"database error: {_reason(exc)}", hint="run again with --debug for the details"
    )


def unavailable(url: str, exc: BaseException) -> Unavailable:
    """The error for a database that cannot be reached; the password never shown."""
    reason = _reason(exc)
    sa_url = sa.make_url(url)
    if sa_url.password:
        reason = reason.replace(str(sa_url.password), "***")
    return Unavailable(
        f"database unavailable ({mask_url(url)}): {reason}",
        hint="check CMS_DATABASE_URL and that the server is running (cms doctor)",
    )


def str_enum(enum_cls: type[Any], length: int = 16) -> sa.Enum:
    """An enum stored as its values in a VARCHAR (no native ENUM: portable migrations)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


def insert_many(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows (same keys in each) in one driver executemany.

    What ``session.execute(insert(table), rows)`` does, without SQLAlchemy's per-row
    parameter handling, the larger part of a 12,000-row import: each column's bind
    processor is looked up once and applied here, and the driver batches the rows
    (pymysql rewrites them into multi-row VALUES).
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    keys = list(rows[0])
    compiled = sa.insert(table).compile(dialect=dialect, column_keys=keys)
    names = list(compiled.positiontup or []) if dialect.positional else list(compiled.binds)
    if sorted(names) != sorted(keys):  # not a plain INSERT of these columns: the long way
        session.execute(sa.insert(table), rows)
        return
    columns: dict[str, list[Any]] = {}
    for key in keys:
        process = table.c[key].type._cached_bind_processor(dialect)
        # Imports repeat values (one "now", a term's few dates): each is processed once.
        columns[key] = (
            [row[key] for row in rows] if process is None else _processed(rows, key, process)
        )
    params: list[Any]
    if dialect.positional:  # SQLite: ?, in the statement's order
        params = list(zip(*(columns[name] for name in names), strict=True))
    else:  # pymysql: %(name)s
        params = [
            dict(zip(keys, values, strict=True)) for values in zip(*columns.values(), strict=True)
        ]
    connection.exec_driver_sql(compiled.string, params)


def _processed(rows: list[dict[str, Any]], key: str, process: Callable[[Any], Any]) -> list[Any]:
    done: dict[Any, Any] = {}
    out = []
    for row in rows:
        value = row[key]
        try:
            out.append(done[value])
        except KeyError:
            out.append(done.setdefault(value, process(value)))
        except TypeError:  # unhashable
            out.append(process(value))
    return out


def rowcount(result: Any) -> int:
    """Rows an UPDATE/DELETE/INSERT matched (a CursorResult's rowcount)."""
    return int(getattr(result, "rowcount", 0) or 0)


def insert_or_lock(session: Session, table: sa.Table, values: dict[str, Any]) -> None:
    """INSERT ``values`` unless a row with the same primary key exists; either way this
    transaction then holds that row's write lock, until it ends.

    MySQL: ``INSERT ... ON DUPLICATE KEY UPDATE`` (a no-op update) takes an exclusive
    lock on an existing row, where ``INSERT IGNORE`` would take a shared one that two
    callers then both try to upgrade (a deadlock); concurrent callers queue instead.
    SQLite: the transaction already holds the database's write lock (BEGIN IMMEDIATE).
    """
    dialect = session.get_bind().dialect.name
    key = next(c.name for c in table.primary_key.columns)
    if dialect == "mysql":
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        statement: Any = mysql_insert(table).values(**values)
        statement = statement.on_duplicate_key_update({key: statement.inserted[key]})
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(table).values(**values).on_conflict_do_nothing()
    session.execute(statement)


def upsert(
    session: Session, table: sa.Table, rows: list[dict[str, Any]], keys: tuple[str, ...]
) -> None:
    """INSERT ``rows`` in one statement; a row whose ``keys`` (a unique constraint) are
    taken updates the other columns instead (MySQL's ON DUPLICATE KEY UPDATE, SQLite's
    ON CONFLICT DO UPDATE)."""
    if not rows:
        return
    changed = [k for k in rows[0] if k not in keys]
    statement: Any
    if session.get_bind().dialect.name == "mysql":
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        statement = mysql_insert(table).values(rows)
        statement = statement.on_duplicate_key_update({k: statement.inserted[k] for k in changed})
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(table).values(rows)
        statement = statement.on_conflict_do_update(
            index_elements=list(keys), set_={k: statement.excluded[k] for k in changed}
        )
    session.execute(statement)
