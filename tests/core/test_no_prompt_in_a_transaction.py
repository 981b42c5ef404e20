"""No question is ever asked while a transaction is open: every command that asks (a
confirmation, a password) checks first, asks with nothing open, then acts. While the
question waits, another process writes to the same SQLite database and must succeed
(with a transaction open, it would wait on the write lock and fail)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import typer
from conftest import PASSWORD, Cli

from cms_cli.core import prompts

NEW_PASSWORD = "another-horse-77"

WRITER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], timeout=2, isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("UPDATE module SET name = name || ''")
connection.execute("COMMIT")
"""


def _write_meanwhile(db_url: str) -> None:
    """Another process takes SQLite's write lock and commits, within 2 seconds."""
    path = db_url.removeprefix("sqlite:///")
    run = subprocess.run(
        [sys.executable, "-c", WRITER, path], capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 0, f"the concurrent writer failed: {run.stderr}"


@pytest.fixture
def asking(monkeypatch: pytest.MonkeyPatch, db_url: str) -> list[str]:
    """A terminal that answers every question (yes; the passwords), after another
    process wrote to the database while the question waited. Returns the questions."""
    asked: list[str] = []

    def confirm(question: str, default: bool = False) -> bool:
        asked.append(question)
        _write_meanwhile(db_url)
        return True

    def prompt(text: str, **kwargs: Any) -> str:
        asked.append(text)
        _write_meanwhile(db_url)
        return PASSWORD if text == "Current password" else NEW_PASSWORD

    monkeypatch.setattr(prompts, "interactive", lambda: True)
    monkeypatch.setattr(typer, "confirm", confirm)
    monkeypatch.setattr(typer, "prompt", prompt)
    return asked


ASKING = {
    "offering cancel": (("offering", "cancel", "{A}"), ["Cancel offering {A}?"]),
    "tracker delete": (
        ("tracker", "delete", "--offering", "{A}", "--week", "1"),
        ["Delete the log of week 1 of offering {A}?"],
    ),
    "user deactivate": (("user", "deactivate", "sue@uni.edu"), ["Deactivate sue@uni.edu?"]),
    "user set-password": (("user", "set-password", "sue@uni.edu"), ["New password"]),
    "auth passwd": (("auth", "passwd"), ["Current password", "New password"]),
}


# SQLite's single writer is where a held transaction shows at once.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("transport", ["local", "served"], indirect=True)
@pytest.mark.parametrize("command", sorted(ASKING))
def test_a_question_never_waits_inside_a_transaction(
    cli: Cli, logged: dict[str, int], asking: list[str], command: str
) -> None:
    args, questions = ASKING[command]
    a = str(logged["A"])
    done = cli.ok(*(arg.format(A=a) for arg in args))
    assert asking == [q.format(A=a) for q in questions]
    assert done.stdout  # it acted after the question


def test_asking_inside_a_transaction_is_refused(
    cli: Cli, manager: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard behind the class: a prompt while a transaction is open is a defect,
    refused before the question (an internal error, nothing changed)."""
    from cms_cli.core.errors import InternalError
    from cms_cli.core.session import session_scope

    monkeypatch.setattr(prompts, "interactive", lambda: True)
    monkeypatch.setattr(typer, "confirm", lambda *a, **k: pytest.fail("asked"))
    with session_scope(cli.config()), pytest.raises(InternalError, match="inside a database"):
        prompts.confirm("Really?", yes=False)
    prompts.nothing_open()  # closed again
