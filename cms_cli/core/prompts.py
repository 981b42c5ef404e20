"""Passwords and confirmations: a prompt on a TTY, never off one (exit 2 instead)."""

from __future__ import annotations

import sys

import typer

from cms_cli.core.errors import UsageError, ValidationError


def interactive() -> bool:
    return sys.stdin.isatty()


def read_password(from_stdin: bool, *, prompt: str = "Password", confirm: bool = False) -> str:
    """One line from stdin with ``--password-stdin``; else a hidden prompt on a TTY."""
    if from_stdin:
        not_text = ValidationError(
            "the password on stdin is not UTF-8 text", hint="give it as one line of UTF-8"
        )
        try:
            line = sys.stdin.readline().rstrip("\r\n")
            line.encode("utf-8")  # undecodable bytes arrive as lone surrogates
        except (UnicodeDecodeError, UnicodeEncodeError):
            raise not_text from None
        if not line:
            raise ValidationError("no password on stdin")
        return line
    if not interactive():
        raise UsageError(
            "a password is needed and stdin is not a terminal",
            hint="pass it with --password-stdin (one line on stdin)",
        )
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
    if not typer.confirm(question, default=False):
        raise ValidationError("cancelled; nothing was changed")
