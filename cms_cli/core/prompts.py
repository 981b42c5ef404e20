"""Passwords and confirmations: a prompt on a TTY, never off one (exit 2 instead)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer

from cms_cli.core.errors import Cancelled, Interrupted, UsageError, ValidationError

T = TypeVar("T")


def interactive() -> bool:
    return sys.stdin.isatty()


def nothing_open() -> None:
    """A person is about to be asked something: no transaction may be open meanwhile
    (every other writer, the worker included, would wait on it). A command that would
    do so is a defect of cms, refused before the question."""
    session = sys.modules.get("cms_cli.core.session")
    if session is not None and session.open_transactions():
        from cms_cli.core.errors import InternalError

        raise InternalError(
            "internal error: a question was about to wait inside a database transaction",
            hint="report it; nothing was changed",
        )


@contextmanager
def asking(cancelled: str = "cancelled; nothing was saved") -> Iterator[None]:
    """Around a question a person is answering: Ctrl-C ends the line the cursor is on
    and says ``cancelled`` (exit 130), Ctrl-D the same (exit 1), instead of a bare
    "interrupted" or Click's "Aborted!". No transaction is open while asking
    (``nothing_open``), so there is nothing to undo."""
    try:
        yield
    except (KeyboardInterrupt, typer.Abort) as stop:
        sys.stderr.write("\n")
        # Click turns Ctrl-C into Abort, and Ctrl-D too: its cause tells them apart.
        if isinstance(stop, typer.Abort) and isinstance(stop.__context__, EOFError):
            raise Cancelled(cancelled) from None
        raise Interrupted(cancelled) from None
    except EOFError:
        sys.stderr.write("\n")
        raise Cancelled(cancelled) from None


#: The most --password-stdin reads looking for the end of a line.
PASSWORD_LINE = 1024


def read_password(from_stdin: bool, *, prompt: str = "Password", confirm: bool = False) -> str:
    """One line from stdin with ``--password-stdin``; else a hidden prompt on a TTY."""
    if from_stdin:
        not_text = ValidationError(
            "the password on stdin is not UTF-8 text", hint="give it as one line of UTF-8"
        )
        try:
            # Bounded: a password is at most MAX_PASSWORD_BYTES (72); a stream with no
            # end of line (/dev/zero) is refused, never read into memory whole.
            line = sys.stdin.readline(PASSWORD_LINE + 1)
            if len(line) > PASSWORD_LINE:
                raise ValidationError(
                    f"the line on stdin is longer than any password ({PASSWORD_LINE} "
                    "characters read without an end of line)",
                    hint="--password-stdin reads one password a line",
                )
            line = line.rstrip("\r\n")
            line.encode("utf-8")  # undecodable bytes arrive as lone surrogates
        except (UnicodeDecodeError, UnicodeEncodeError):
            raise not_text from None
        if not line:
            raise ValidationError(
                f"no {prompt.lower()} on stdin",
                hint="--password-stdin reads one password a line",
            )
        return line
    if not interactive():
        raise UsageError(
            "a password is needed and stdin is not a terminal",
            hint="pass it with --password-stdin (one line on stdin)",
        )
    nothing_open()
    with asking("cancelled; nothing was changed"):
        value: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    return value


def confirm(question: str, *, yes: bool) -> None:
    """Ask on a TTY; off one, ``--yes`` is required (exit 2 without it)."""
    if yes:
        return
    if not interactive():
        raise UsageError(
            "this changes data and stdin is not a terminal", hint="add --yes to confirm"
        )
    nothing_open()
    with asking("cancelled; nothing was changed"):
        sure = typer.confirm(question, default=False)
    if not sure:
        raise Cancelled("cancelled; nothing was changed")


def confirming(question: str, *, yes: bool) -> Callable[[T], T] | None:
    """The ``ask`` of a destructive operation (api.call): the question on a TTY, before
    the operation and with no transaction open; none with ``--yes``."""
    if yes:
        return None

    def ask(data: T) -> T:
        confirm(question, yes=False)
        return data

    return ask
