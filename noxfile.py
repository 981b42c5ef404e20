"""Developer sessions. Plain `nox` runs lint, typecheck and both test sessions."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests", "tests_mysql", "browser"]
nox.options.reuse_existing_virtualenvs = True
PYTHON = "3.11"
# Each worker starts its own MariaDB, Redis and Chromium (tests/servers.py): at most four.
PARALLEL = ("-n", "auto", "--maxprocesses", "4")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy, strict on cms_cli/."""
    session.install("-e", ".[test]")
    session.run("mypy")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The suite on SQLite (everything not marked mysql)."""
    session.install("-e", ".[test]")
    session.run("pytest", *PARALLEL, "-m", "not mysql and not browser", *session.posargs)


@nox.session(python=PYTHON)
def tests_mysql(session: nox.Session) -> None:
    """The same tests on a private MariaDB (or CMS_TEST_MYSQL_URL)."""
    session.install("-e", ".[test]")
    session.run("pytest", *PARALLEL, "-m", "mysql", *session.posargs)


@nox.session(python=PYTHON)
def browser(session: nox.Session) -> None:
    """The reflection page in Debian's Chromium (needs npm ci --prefix tests/browser)."""
    session.install("-e", ".[test]")
    session.run("npm", "ci", "--prefix", "tests/browser", "--no-audit", "--no-fund", external=True)
    session.run("pytest", "-m", "browser", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks: print figures, assert nothing."""
    session.install("-e", ".[test]")
    for script in sorted(__import__("pathlib").Path("bench").glob("*.py")):
        session.run("python", str(script))
