"""Transactions on the configured database, its schema checked once per process.

``session_scope(config)`` is one transaction (committed at the end of the block, rolled
back on any error); ``in_transaction`` runs work again when MySQL broke a deadlock;
``transaction()`` is the scope of this invocation's database. The first use of a
database checks its schema (core.migrate.check_in), in the same transaction.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa
from sqlmodel import Session

from cms_cli.core import migrate
from cms_cli.core.config import Config
from cms_cli.core.db import engine_for, is_transient
from cms_cli.core.errors import CmsError

T = TypeVar("T")


@contextmanager
def session_scope(config: Config) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any error."""
    engine = engine_for(config.database_url)
    with Session(engine, expire_on_commit=False) as session:
        try:
            migrate.check_in(session, config)
            yield session
            session.commit()
        except CmsError as exc:
            if exc.keep_changes:
                session.commit()
            else:
                session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise


def in_transaction(config: Config, work: Callable[[Session], T], *, attempts: int = 5) -> T:
    """``work(session)`` in one transaction, run again from the start (after a short,
    growing, jittered pause) when the server rolled it back to break a deadlock.

    Only for work that is safe to repeat: everything it wrote was rolled back, and it
    must not have done anything outside the database (no mail sent, no queue touched).
    """
    for attempt in range(1, attempts + 1):
        try:
            with session_scope(config) as session:
                return work(session)
        except sa.exc.DBAPIError as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            time.sleep(random.uniform(0.5, 1.5) * 0.02 * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def transaction() -> Iterator[Session]:
    """The session scope of this invocation's configured database. A client of `cms
    serve` has none: a command that has not learnt to ask the server refuses (exit 2)
    rather than open a database of this machine."""
    from cms_cli.core.context import current

    invocation = current()
    if invocation.server_url:
        from cms_cli.core.errors import UsageError

        raise UsageError(
            f"this command does not go through a server yet (server_url is "
            f"{invocation.server_url})",
            hint="run it where the database is configured (the server host)",
        )
    with session_scope(invocation.config()) as session:
        yield session
