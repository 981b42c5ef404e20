"""Transactions on the configured database, its schema checked once per process.

``session_scope(config)`` is one transaction (committed at the end of the block, rolled
back on any error); ``in_transaction`` runs work again when MySQL broke a deadlock;
``transaction()`` is the scope of this invocation's database. The first use of a
database checks its schema (core.migrate.check_in), in the same transaction.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa
from sqlmodel import Session

from cms_cli.core import migrate
from cms_cli.core.config import Config
from cms_cli.core.db import READ_ONLY, engine_of, is_deadlock, is_transient
from cms_cli.core.errors import CmsError

T = TypeVar("T")


#: Open transactions by the thread that began each: a prompt is never shown while its
#: thread has one (prompts). A server's request may begin in one thread of its pool and
#: end in another: it counts against the thread that began it until it ends.
_open: Counter[int] = Counter()
_counting = threading.Lock()


def open_transactions() -> int:
    """Transactions this thread has begun and not ended."""
    return _open[threading.get_ident()]


class Transaction:
    """One transaction on ``config``'s database whose start and end may be apart:
    ``session_scope`` is the usual block; the server begins one before a request's body
    is read and ends it once the answer is made. The first use of a database in this
    process checks its schema, in the same transaction."""

    def __init__(self, config: Config, *, read_only: bool = False) -> None:
        """``read_only``: a transaction that only reads (on SQLite it takes no lock)."""
        engine = engine_of(config)
        if read_only:
            engine = engine.execution_options(**{READ_ONLY: True})
        self.session = Session(engine, expire_on_commit=False)
        self.thread = threading.get_ident()
        with _counting:
            _open[self.thread] += 1
        try:
            migrate.check_in(self.session, config)
        except BaseException as exc:
            self.end(exc)
            raise

    def end(self, error: BaseException | None) -> None:
        """Commit (no error, or a CmsError that keeps its changes, like a failed
        login's record), else roll back; then close, the connection back in its pool."""
        session = self.session
        committed = False
        try:
            keep = error is None or (isinstance(error, CmsError) and error.keep_changes)
            if keep:
                try:
                    session.commit()
                    committed = True
                except BaseException:
                    session.rollback()
                    raise
            else:
                session.rollback()
        finally:
            then = session.info.pop(AFTER_COMMIT, [])
            session.close()
            with _counting:
                _open[self.thread] -= 1
                if not _open[self.thread]:
                    del _open[self.thread]
        if committed:
            for work in then:  # no transaction open: an e-mail may take its time
                work()


#: ``Session.info`` key of the work to do once its transaction has committed.
AFTER_COMMIT = "cms_after_commit"


def after_commit(session: Session, work: Callable[[], None]) -> None:
    """Run ``work`` once ``session``'s transaction has committed and ended (never if it
    rolls back): what must not happen inside it, as sending an e-mail about what it
    wrote. An error of ``work`` is the operation's error (its writes stay)."""
    session.info.setdefault(AFTER_COMMIT, []).append(work)


@contextmanager
def session_scope(config: Config, *, read_only: bool = False) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any error
    (``read_only``: it only reads, and on SQLite takes no lock)."""
    scope = Transaction(config, read_only=read_only)
    try:
        yield scope.session
    except BaseException as exc:
        scope.end(exc)
        raise
    scope.end(None)


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


def again_on_deadlock(session: Session, work: Callable[[], T], *, attempts: int = 5) -> T:
    """``work()`` in ``session``'s transaction, run again (after rolling it back and a
    short, growing, jittered pause) when MySQL broke a deadlock in it (a lock wait that
    ran out is not waited for again: it is "too busy", exit 7).

    Only where the transaction has written nothing before ``work`` (its reads are read
    again): a failed login's bookkeeping, which locks the throttles' rows."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except sa.exc.DBAPIError as exc:
            if attempt == attempts or not is_deadlock(exc):
                raise
            session.rollback()
            time.sleep(random.uniform(0.5, 1.5) * 0.02 * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def transaction(*, read_only: bool = False) -> Iterator[Session]:
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
    with session_scope(invocation.config(), read_only=read_only) as session:
        yield session
