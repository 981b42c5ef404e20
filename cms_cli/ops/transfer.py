"""Whole-database moves: `cms db copy`, `cms db backup` and `cms db restore`.

One routine does the work of all three: ``copy_database`` reads every cms table of a
source in one consistent snapshot (a read transaction under SQLite's WAL; ``START
TRANSACTION WITH CONSISTENT SNAPSHOT`` at REPEATABLE READ on MySQL/MariaDB, the
semantics of ``mysqldump --single-transaction``) and writes it, ids and all, into an
empty target whose schema Alembic builds at the source's own revision, in one
transaction, then compares the counts of every table before it commits.

A backup is a SQLite database file, whatever the source: from SQLite it is SQLite's
online backup (consistent while a worker writes), from MySQL/MariaDB it is the copy
above into a new file. It is cms's portable format: any cms restores it into either
kind of database, and ``sqlite3`` opens it. Restoring is the copy again, from the file
into the configured database (emptied first), followed by ``db upgrade`` when the file
is from an older schema; a file from a newer schema is refused.

What is not carried over: worker heartbeats and the claims of the workers they name (a
copy must not believe in workers that do not exist: its rows stay ``queued`` and the
next sweep or worker hands them over), the marks of the sweeps that ran there (doctor
asks for a sweep here), and the server's request counters (rate_count).
Every notification already sent is carried with its status, so no reminder goes out
twice from the new home.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cms_cli.core import migrate
from cms_cli.core.config import mask_url
from cms_cli.core.db import READ_ONLY, database_error, make_engine, schema_revision
from cms_cli.core.errors import Conflict, InternalError, ValidationError

#: Tables whose rows are not copied: the schema revision (Alembic writes it), the
#: server's per-minute request counters, and the heartbeats of workers and the marks of
#: sweeps that ran where the source is.
NOT_COPIED = frozenset({"alembic_version", "rate_count", "sweep_mark", "worker_heartbeat"})
#: Rows read and written per round trip.
BATCH = 5000


@dataclass
class Transfer:
    """What a copy, backup or restore moved: rows per table, the schema revision."""

    revision: str
    tables: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    upgraded_to: str | None = None

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


Progress = Callable[[str, int], None]


def _quiet(_table: str, _rows: int) -> None:
    return None


# -- reading one consistent snapshot -------------------------------------------------


@contextlib.contextmanager
def snapshot(engine: Engine) -> Iterator[sa.Connection]:
    """A connection whose every read sees the same instant of ``engine``'s database,
    writers going on meanwhile, and which takes no lock that would stop them."""
    with engine.connect() as conn:
        if conn.dialect.name == "mysql":
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            try:
                yield conn
            finally:
                conn.exec_driver_sql("COMMIT")
            return
        reader = conn.execution_options(**{READ_ONLY: True})  # a deferred BEGIN
        with reader.begin():
            yield reader


def _tables(conn: sa.Connection) -> sa.MetaData:
    """The tables as they are in the database (any revision), JSON read as its text so
    that it is written back unchanged."""
    metadata = sa.MetaData()
    metadata.reflect(conn)
    for table in metadata.tables.values():
        for column in table.columns:
            if isinstance(column.type, sa.JSON):
                column.type = sa.Text()
    return metadata


def _counts(conn: sa.Connection, metadata: sa.MetaData) -> dict[str, int]:
    return {
        table.name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        for table in metadata.sorted_tables
        if table.name not in NOT_COPIED
    }


# -- the target ----------------------------------------------------------------------


def target_state(conn: sa.Connection) -> tuple[str | None, dict[str, int]]:
    """The target's schema revision and the rows of each of its tables."""
    metadata = _tables(conn)
    counts = {
        table.name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        for table in metadata.sorted_tables
        if table.name not in {"alembic_version", "rate_count"}
    }
    return schema_revision(conn), counts


def require_empty(engine: Engine, revision: str, where: str) -> bool:
    """Conflict (exit 6) unless the target holds no rows; True when its schema must
    still be built (no tables at all), False when it is already at ``revision``."""
    with engine.connect() as conn:
        current, counts = target_state(conn)
        conn.rollback()
    full = {name: rows for name, rows in counts.items() if rows}
    if full:
        first = next(iter(full))
        raise Conflict(
            f"{where} is not empty ({sum(full.values())} rows, e.g. {full[first]} in "
            f"{first}); nothing was copied",
            hint="copy into a new, empty database (CREATE DATABASE, or a new file)",
        )
    if current is None and not counts:
        return True
    if current is not None and current != revision:
        # An empty cms schema of another revision (a copy that stopped while it built
        # the schema: DDL is not transactional on MySQL): its tables go, and the copy
        # starts again.
        empty(engine)
        return True
    if current != revision:
        raise Conflict(
            f"{where} has an empty schema at {current or 'no revision'}, the source is at "
            f"{revision}; nothing was copied",
            hint="drop its tables (cms db downgrade base) or use a new database",
        )
    return False


@contextlib.contextmanager
def _loading(conn: sa.Connection) -> Iterator[None]:
    """Foreign keys unchecked while rows arrive (tables go in dependency order anyway,
    and SQLite's are checked before commit)."""
    if conn.dialect.name == "mysql":
        conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
        conn.commit()
        try:
            yield
        finally:
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")
            conn.commit()
        return
    raw = conn.connection.dbapi_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def copy_database(
    source: Engine,
    target: Engine,
    *,
    where: str = "the target",
    progress: Progress = _quiet,
    build: bool | None = None,
    keep: tuple[str, ...] = (),
) -> Transfer:
    """Copy every cms row of ``source`` into the empty ``target`` (schema built at the
    source's revision), ids kept, counts compared before the commit."""
    started = time.monotonic()
    with snapshot(source) as src:
        revision = schema_revision(src)
        if revision is None:
            raise ValidationError(
                "the source has no cms schema (no alembic_version); nothing was copied",
                hint="cms db current shows what a database holds",
            )
        if build is None:
            build = require_empty(target, revision, where)
        if build:
            with target.connect() as conn:
                migrate.migrate_on(conn, "upgrade", revision)
        source_tables = _tables(src)
        done = Transfer(revision=revision)
        with target.connect() as out:
            target_tables = _tables(out)
            out.rollback()
            foreign = sorted(set(source_tables.tables) - set(target_tables.tables) - NOT_COPIED)
            if foreign:
                raise ValidationError(
                    f"the source has table(s) cms {revision} does not have "
                    f"({', '.join(foreign[:5])}); nothing was copied",
                    hint="a cms database holds cms's tables only",
                )
            expected = _counts(src, source_tables)
            with _loading(out), out.begin():
                skipped = NOT_COPIED - set(keep)
                for table in target_tables.sorted_tables:
                    if table.name in skipped or table.name not in source_tables.tables:
                        continue
                    done.tables[table.name] = _copy_table(
                        src, source_tables.tables[table.name], out, table, progress
                    )
                _forget_workers(out, target_tables)
                found = _counts(out, target_tables)
                _verify(expected, found)
                if out.dialect.name == "sqlite":
                    migrate._foreign_keys_hold(out)
                else:
                    _references_hold(out, target_tables)
    done.seconds = time.monotonic() - started
    return done


def _copy_table(
    src: sa.Connection,
    source: sa.Table,
    out: sa.Connection,
    target: sa.Table,
    progress: Progress,
) -> int:
    columns = [c.name for c in target.columns if c.name in source.columns]
    order = list(source.primary_key.columns) or [source.columns[columns[0]]]
    query = sa.select(*(source.columns[name] for name in columns)).order_by(*order)
    insert = target.insert()
    copied = 0
    result = src.execution_options(yield_per=BATCH).execute(query)
    for rows in result.partitions():
        out.execute(insert, [dict(zip(columns, row, strict=True)) for row in rows])
        copied += len(rows)
        progress(target.name, copied)
    return copied


def _references_hold(out: sa.Connection, metadata: sa.MetaData) -> None:
    """On MySQL (loaded with its checks off): ValidationError, and a rollback, when a row
    refers to one that is not there. One query per foreign key."""
    for table in metadata.sorted_tables:
        for key in table.foreign_keys:
            column, parent = key.parent, key.column
            if column.table is not table:
                continue
            dangling = out.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(
                    column.is_not(None),
                    ~sa.exists().where(parent == column),
                )
            ).scalar_one()
            if dangling:
                raise ValidationError(
                    f"{dangling} row(s) of {table.name} refer to a missing "
                    f"{parent.table.name}; nothing was copied",
                    hint="the source is damaged: use another backup",
                )


def _forget_workers(out: sa.Connection, metadata: sa.MetaData) -> None:
    """Let go of the claims of workers that ran where the source is: their rows stay
    queued, and a worker or sweep here hands them over."""
    table = metadata.tables.get("notification")
    if table is None or "claim_token" not in table.columns:
        return
    out.execute(
        table.update()
        .where(table.c.claim_token.is_not(None))
        .values(claim_token=None, claimed_at=None)
    )


def _verify(expected: dict[str, int], found: dict[str, int]) -> None:
    wrong = {
        name: (rows, found.get(name, 0))
        for name, rows in expected.items()
        if found.get(name, 0) != rows
    }
    if wrong:
        name, (want, got) = next(iter(wrong.items()))
        raise InternalError(
            f"the copy's counts differ from the source's ({name}: {want} read, {got} "
            "written); nothing was copied"
        )


# -- the three commands --------------------------------------------------------------


def copy_to(source: Engine, url: str, *, progress: Progress = _quiet) -> Transfer:
    """`cms db copy --to URL`: everything into the empty database at ``url``, brought
    to this cms's schema afterwards when the source was behind."""
    target = make_engine(url)
    try:
        done = copy_database(source, target, where=mask_url(url), progress=progress)
        if done.revision != migrate.SCHEMA_HEAD:
            with target.connect() as conn:
                migrate.migrate_on(conn, "upgrade", "head")
            done.upgraded_to = migrate.SCHEMA_HEAD
        return done
    except sa.exc.DBAPIError as exc:
        raise database_error(url, exc) from exc
    finally:
        target.dispose()


def _partial(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


def backup(source: Engine, path: Path, *, progress: Progress = _quiet) -> Transfer:
    """`cms db backup FILE`: a consistent copy of ``source`` as a SQLite file (0600,
    written beside FILE and moved into place when complete)."""
    from cms_cli.core.files import private_file

    started = time.monotonic()
    partial = _partial(path)
    try:
        partial.unlink(missing_ok=True)
        private_file(partial)
    except OSError as exc:
        raise ValidationError(
            f"cannot write a backup beside {path} ({exc.strerror})",
            hint="choose a file in a folder you may write to",
        ) from None
    try:
        if source.dialect.name == "sqlite":
            done = _sqlite_backup(source, partial)
        else:
            target = make_engine(f"sqlite:///{partial}")
            try:
                done = copy_database(source, target, build=True, progress=progress)
            finally:
                target.dispose()
            _single_file(partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        raise
    done.seconds = time.monotonic() - started
    return done


def _sqlite_backup(source: Engine, partial: Path) -> Transfer:
    """SQLite's online backup, in one step: the pages of one instant, while others
    write (WAL)."""
    with source.connect() as conn:
        raw: Any = conn.connection.dbapi_connection  # sqlite3's own connection
        out = sqlite3.connect(partial)
        try:
            raw.backup(out)
            out.execute("PRAGMA journal_mode=DELETE")
        finally:
            out.close()
        conn.rollback()
    reader = readonly_engine(partial)
    try:
        with reader.connect() as conn:
            revision = schema_revision(conn)
            counts = _counts(conn, _tables(conn))
    finally:
        reader.dispose()
    return Transfer(revision=revision or "none", tables=counts)


def _single_file(path: Path) -> None:
    """A backup is one file: no WAL beside it."""
    out = sqlite3.connect(path)
    try:
        out.execute("PRAGMA journal_mode=DELETE")
    finally:
        out.close()


def readonly_engine(path: Path) -> Engine:
    """A backup file opened read-only (none of cms's pragmas: the file is not changed)."""
    return sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true", poolclass=sa.pool.NullPool)


def inspect_backup(path: Path) -> tuple[str, dict[str, int]]:
    """The schema revision and row counts of a backup file; ValidationError (exit 1)
    for a file that is not one, or is from a newer cms."""
    shown = path.name
    try:
        with path.open("rb") as handle:
            header = handle.read(16)
    except OSError as exc:
        raise ValidationError(f"{shown}: cannot read it ({exc.strerror})") from None
    if header != b"SQLite format 3\x00":
        raise ValidationError(
            f"{shown} is not a cms backup (not a SQLite database file)",
            hint="a backup is the file `cms db backup FILE` wrote",
        )
    engine = readonly_engine(path)
    try:
        with engine.connect() as conn:
            ok = conn.exec_driver_sql("PRAGMA quick_check").scalar()
            if ok != "ok":
                raise ValidationError(f"{shown} is damaged (SQLite: {ok})")
            revision = schema_revision(conn)
            if revision is None:
                raise ValidationError(
                    f"{shown} is a SQLite file but not a cms backup (no schema revision)"
                )
            counts = _counts(conn, _tables(conn))
    except sa.exc.DBAPIError as exc:
        raise ValidationError(f"{shown} is not a cms backup ({exc.orig})") from None
    finally:
        engine.dispose()
    if not migrate.is_known(revision):
        raise ValidationError(
            f"{shown} is from a newer cms (schema {revision}; this cms knows up to "
            f"{migrate.SCHEMA_HEAD}); nothing was restored",
            hint="restore it with the cms version that made it, or a newer one",
        )
    return revision, counts


def empty(engine: Engine) -> None:
    """Drop every table of ``engine``'s database (a restore's first step)."""
    with engine.connect() as conn:
        metadata = sa.MetaData()
        metadata.reflect(conn)
        conn.rollback()
        with _loading(conn), conn.begin():
            metadata.drop_all(conn)


def _same_file(path: Path, target: Engine) -> bool:
    database = target.url.database if target.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        return False
    try:
        return Path(database).exists() and path.resolve().samefile(Path(database).resolve())
    except OSError:
        return False


def live_workers(target: Engine) -> list[str]:
    """Workers whose heartbeat is fresh (they write to ``target`` now): a restore
    under them would race their writes. Fresh: younger than STALE_HEARTBEAT, as
    `cms doctor` judges it."""
    from datetime import timedelta

    from cms_cli.core import clock
    from cms_cli.notify.worker import STALE_HEARTBEAT

    try:
        with target.connect() as conn:
            if "worker_heartbeat" not in sa.inspect(conn).get_table_names():
                return []
            table = sa.table(
                "worker_heartbeat", sa.column("name"), sa.column("seen_at"), sa.column("stopped_at")
            )
            since = (clock.now() - timedelta(seconds=STALE_HEARTBEAT)).replace(tzinfo=None)
            rows = conn.execute(
                sa.select(table.c.name).where(
                    table.c.stopped_at.is_(None), table.c.seen_at >= since
                )
            ).all()
            conn.rollback()
    except sa.exc.DBAPIError:
        return []
    from cms_cli.notify.worker import alive_here

    # On this host the process table says more than a heartbeat (a worker stopped by
    # SIGKILL, or one run on a frozen clock): a worker whose process is gone is not there.
    return [str(r[0]) for r in rows if alive_here(str(r[0])) is not False]


def restore(path: Path, target: Engine, *, progress: Progress = _quiet) -> Transfer:
    """`cms db restore FILE`: the file is checked, then copied whole into a staging
    SQLite file beside it (schema built at its revision, every count and reference
    checked, brought to this cms's schema): any problem stops there, the configured
    database untouched. Then the staged copy goes in: on SQLite in one step (SQLite's
    backup, a single transaction), on MySQL by emptying the database and loading it
    again. Sweep marks come along (the same deployment), worker heartbeats do not."""
    if _same_file(path, target):
        raise ValidationError(
            "that file is the database cms uses now: restore from a backup of it",
            hint="cms db backup FILE writes one",
        )
    inspect_backup(path)
    started = time.monotonic()
    staging = path.with_name(f".{path.name}.restoring")
    _remove_sqlite(staging)
    from cms_cli.core.files import private_file

    private_file(staging)
    try:
        stage = make_engine(f"sqlite:///{staging}")
        source = readonly_engine(path)
        try:
            done = _checked_copy(source, stage, keep=("sweep_mark",), progress=progress)
            if done.revision != migrate.SCHEMA_HEAD:
                with stage.connect() as conn:
                    migrate.migrate_on(conn, "upgrade", "head")
                done.upgraded_to = migrate.SCHEMA_HEAD
        finally:
            source.dispose()
            stage.dispose()
        _single_file(staging)
        if target.dialect.name == "sqlite":
            _sqlite_replace(staging, target)
        else:
            empty(target)
            staged = readonly_engine(staging)
            try:
                copy_database(staged, target, build=True, keep=("sweep_mark",))
            except BaseException as exc:
                raise InternalError(
                    f"the restore stopped while loading ({type(exc).__name__}: "
                    f"{str(exc)[:160]}): the database is empty now",
                    hint="run the restore again (the backup file is fine)",
                ) from exc
            finally:
                staged.dispose()
    finally:
        _remove_sqlite(staging)
    migrate.forget_schema_checks()
    done.seconds = time.monotonic() - started
    return done


def _checked_copy(
    source: Engine, stage: Engine, *, keep: tuple[str, ...], progress: Progress
) -> Transfer:
    """The copy into the staging file; what makes a backup unusable is a ValidationError
    (exit 1), never an internal error."""
    try:
        return copy_database(source, stage, build=True, keep=keep, progress=progress)
    except (sa.exc.NoSuchTableError, sa.exc.DBAPIError, InternalError) as exc:
        if isinstance(exc, sa.exc.DBAPIError) and "disk" in str(exc).lower():
            raise
        reason = exc.message if isinstance(exc, InternalError) else f"{type(exc).__name__}"
        raise ValidationError(
            f"the backup cannot be restored ({reason}); nothing was changed",
            hint="use another backup, or report it with --debug",
        ) from exc


def _sqlite_replace(staging: Path, target: Engine) -> None:
    """The staged database copied over the live one in one step (SQLite's online
    backup into it: one transaction; readers see the old or the new)."""
    with target.connect() as conn:
        raw: Any = conn.connection.dbapi_connection
        staged = sqlite3.connect(staging)
        try:
            staged.backup(raw)
        finally:
            staged.close()
        conn.rollback()


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
