"""A MySQL/MariaDB connection that costs one statement to set up, and a dialect that is
told what it would otherwise ask.

Every `cms` command is a process of its own, so what a connection costs before the
work is paid by every command. Left to themselves, PyMySQL and SQLAlchemy send about
fifteen statements first: `SET NAMES`, the session settings, `SET AUTOCOMMIT`, the
isolation level and a `COMMIT`, then five probes (`VERSION()`, `DATABASE()`, the
isolation level, `sql_mode`, `lower_case_table_names`). Here:

- the session is set up in one statement, sent by PyMySQL as its ``init_command``:
  character set, ``autocommit=0``, strict ``sql_mode``, UTC, READ COMMITTED, and how
  long a lock is waited for (``lock_wait_seconds``);
- the dialect is told the server version (from the handshake: no query), the database
  (from the URL), the isolation level and ``sql_mode`` (we set them) and the identifier
  casing (cms's names are lower case, so it does not matter).

`bench/percommand.py` counts what reaches the server.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

#: Strict: a value too long or out of range is an error, never truncated in silence.
SQL_MODE = (
    "STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
    "NO_ENGINE_SUBSTITUTION"
)
#: READ COMMITTED: a check made after locking a row (capacity, load) must read what
#: others committed meanwhile, not the snapshot of the transaction's first read as
#: REPEATABLE READ would (tests/offerings: concurrent enrolments).
ISOLATION = "READ COMMITTED"
#: Seconds a statement waits for a lock before it gives up (the `lock_wait_seconds`
#: setting; core.db.engine_of).
LOCK_WAIT = 10


def isolation_variable(server_version: str) -> str:
    """The session variable of the isolation level: ``transaction_isolation`` on MySQL
    (5.7.20 and later) and MariaDB 11.1 and later, ``tx_isolation`` on older MariaDB."""
    if "mariadb" not in server_version.lower():
        return "transaction_isolation"
    numbers = server_version.split("-")[0].split(".")
    try:
        major, minor = int(numbers[0]), int(numbers[1])
    except (IndexError, ValueError):
        return "tx_isolation"
    return "transaction_isolation" if (major, minor) >= (11, 1) else "tx_isolation"


def statement_limit(server_version: str, seconds: int) -> str:
    """The session setting that stops a statement running longer than ``seconds``
    (none for 0): MariaDB's ``max_statement_time`` (seconds, any statement), MySQL's
    ``max_execution_time`` (milliseconds, SELECTs only)."""
    if seconds <= 0:
        return ""
    if "mariadb" in server_version.lower():
        return f", max_statement_time={seconds}"
    return f", max_execution_time={seconds * 1000}"


def connection_class() -> type[Any]:
    """PyMySQL's Connection, setting the session up in one statement."""
    import pymysql.connections
    from pymysql.charset import charset_by_name

    class OneStatementConnection(pymysql.connections.Connection):
        def __init__(
            self, *args: Any, lock_wait: int = LOCK_WAIT, statement: int = 0, **kwargs: Any
        ) -> None:
            self.lock_wait = int(lock_wait)
            self.statement = int(statement)
            super().__init__(*args, **kwargs)

        def set_character_set(self, charset: str, collation: str | None = None) -> None:
            # PyMySQL calls this right after the handshake (the server's version is
            # known) and before its init_command: instead of its own `SET NAMES`, the
            # character set joins the one statement that sets the session up.
            self.charset = charset
            self.collation = collation
            self.encoding = charset_by_name(charset).encoding
            names = f"NAMES {charset}" + (f" COLLATE {collation}" if collation else "")
            level = ISOLATION.replace(" ", "-")
            # A row lock (InnoDB) or a table's (LOCK TABLES, DDL: metadata locks, which
            # wait a day by default) is waited for lock_wait seconds at most; then
            # 1205, which cms answers as "too busy" (exit 7, HTTP 503).
            version = str(getattr(self, "server_version", ""))
            self.init_command = (
                f"SET {names}, autocommit=0, sql_mode='{SQL_MODE}', time_zone='+00:00', "
                f"{isolation_variable(version)}='{level}', "
                f"innodb_lock_wait_timeout={self.lock_wait}, lock_wait_timeout={self.lock_wait}"
                + statement_limit(version, self.statement)
            )

    return OneStatementConnection


def dialect_class() -> type[Any]:
    """SQLAlchemy's PyMySQL dialect, connecting through ``connection_class`` and told
    what its first connection would otherwise ask the server."""
    from sqlalchemy.dialects.mysql.pymysql import MySQLDialect_pymysql

    connection = connection_class()

    class ToldDialect(MySQLDialect_pymysql):
        supports_statement_cache = True

        def connect(self, *cargs: Any, **cparams: Any) -> Any:
            return connection(*cargs, **cparams)

        def on_connect(self) -> Any:
            return None  # its `SET NAMES` is in the connection's one statement

        def _get_server_version_info(self, connection: sa.Connection) -> tuple[int, ...]:
            raw: Any = connection.connection.dbapi_connection
            parsed: tuple[int, ...] = self._parse_server_version(str(raw.server_version))
            return parsed

        def _get_default_schema_name(self, connection: sa.Connection) -> str:
            return str(connection.engine.url.database)

        def get_default_isolation_level(self, dbapi_connection: Any) -> Any:
            return ISOLATION

        def _detect_sql_mode(self, connection: sa.Connection) -> None:
            self._sql_mode = SQL_MODE

        def _detect_casing(self, connection: sa.Connection) -> int:
            self._casing = 0
            return 0

    return ToldDialect


def engine(url: sa.URL, **options: Any) -> sa.Engine:
    """An engine for a ``mysql+pymysql`` URL with the told dialect."""
    from sqlalchemy.dialects import registry

    registry.register("mysql.cms_pymysql", __name__, "_Dialect")
    return sa.create_engine(url.set(drivername="mysql+cms_pymysql"), **options)


def __getattr__(name: str) -> Any:
    if name == "_Dialect":  # for SQLAlchemy's registry, built on first use
        return dialect_class()
    raise AttributeError(name)
