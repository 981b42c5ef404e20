"""The local call of a declared operation: its service, in process, on this
invocation's database, as the person logged in here."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from cms_cli.api.needs import provide
from cms_cli.core.operation import Paged, Rows, only_accepted

if TYPE_CHECKING:
    from pydantic import BaseModel
    from sqlmodel import Session

    from cms_cli.auth.current import Current
    from cms_cli.core.operation import Operation


@contextmanager
def _signed(operation: Operation) -> Iterator[tuple[Session, Current | None]]:
    """One transaction on this invocation's database, with who is logged in (exit 4
    if nobody is) unless the operation is for anyone."""
    from cms_cli.core.context import current as invocation
    from cms_cli.core.session import transaction

    # A listing or a show only reads: on SQLite it takes no lock, so a writer (an
    # import, a sweep) never makes it wait, as the server's GETs do not.
    with transaction(read_only=not operation.writes) as session:
        if not operation.signed:
            yield session, None
            return
        from cms_cli.auth.current import current

        yield session, current(session, invocation().config())


def check(operation: Operation, data: BaseModel) -> None:
    """The operation's pre-check (or, without one, who is logged in), in a transaction
    of its own that is over when this returns."""
    with _signed(operation) as (session, who):
        checker = operation.checker()
        if checker is not None:
            arguments = only_accepted(checker, operation.arguments(data))
            checker(session, who.user if who else None, **arguments)


def run(operation: Operation, data: BaseModel) -> Any:
    """The operation's service on ``data``, in one transaction."""
    import sqlalchemy as sa

    from cms_cli.core.context import current as invocation
    from cms_cli.core.db import is_deadlock

    here = invocation()
    with ExitStack() as stack:
        progress = stack.enter_context(_progress()) if "progress" in operation.needs else None
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with _signed(operation) as (session, who):
                    needs = provide(
                        operation,
                        here.config(),
                        here.now,
                        auth_session=who.auth_session if who else None,
                        progress=progress,
                    )
                    function = operation.function()
                    arguments = {**operation.arguments(data), **needs}
                    signed = (who.user,) if who is not None else ()
                    shaped = operation.shape(function(session, *signed, **arguments))
                    session.flush()  # a lock race shows here, where it can be run again
                return shaped
            except sa.exc.DBAPIError as exc:
                # MySQL picked this transaction as a deadlock victim: everything was
                # rolled back; run it again from the start.
                if attempt == ATTEMPTS or not is_deadlock(exc):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


#: Times a command's transaction is run when MySQL keeps picking it as a deadlock victim.
ATTEMPTS = 3


def rows(operation: Operation, data: BaseModel, limit: int) -> Rows:
    """A listing, whole: the local database gives every row at once (people see
    ``limit`` of them; the listing says how many more match)."""
    found = run(operation, data)
    if isinstance(found, Paged):
        return Rows(found.rows, found.total)
    return found if isinstance(found, Rows) else Rows(list(found))


@contextmanager
def _progress() -> Iterator[Callable[[float], None] | None]:
    """A progress bar on stderr when it is a terminal: a callable taking the fraction
    done; None otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    from cms_cli.core.output import stderr_console

    with Progress(console=stderr_console(), transient=True) as bar:
        task = bar.add_task("checking rows", total=1.0)
        yield lambda done: bar.update(task, completed=done)
