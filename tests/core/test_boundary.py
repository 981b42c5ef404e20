"""The one error boundary: exit codes, one-line errors, no traceback without --debug."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, Cli

from cms_cli.core import errors


@pytest.mark.local_only(
    "Ctrl-C is raised inside a service here; a client's Ctrl-C stops the client"
)
def test_every_exit_code_through_the_cli(
    cli: Cli, people: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("user", "list").exit_code == 0
    assert cli("user", "add", "--email", "bad", "--name", "B", "--role", "student").exit_code == 1
    assert cli("user", "list", "--no-such-option").exit_code == 2
    assert cli("user", "activate", "ghost@uni.edu").exit_code == 3
    assert cli("auth", "status", env={"CMS_TOKEN": "nope"}).exit_code == 4
    cli.login("sam@uni.edu")
    assert cli("user", "list").exit_code == 5
    cli.login("dean@uni.edu")
    assert (
        cli("user", "add", "--email", "sam@uni.edu", "--name", "S", "--role", "student").exit_code
        == 6
    )
    down = cli(
        "user", "list", env={"CMS_DATABASE_URL": "mysql+pymysql://cms:s3cret@127.0.0.1:1/cms"}
    )
    assert down.exit_code == 7

    def interrupted(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("cms_cli.auth.service.list_users", interrupted)
    result = cli("user", "list")
    assert result.exit_code == 130
    assert result.stderr == "error: interrupted\n"


def test_exit_codes_of_the_error_tree() -> None:
    assert {
        cls.__name__: cls.exit_code
        for cls in (
            errors.ValidationError,
            errors.UsageError,
            errors.NotFound,
            errors.NotAuthenticated,
            errors.PermissionDenied,
            errors.Conflict,
            errors.Unavailable,
        )
    } == {
        "ValidationError": 1,
        "UsageError": 2,
        "NotFound": 3,
        "NotAuthenticated": 4,
        "PermissionDenied": 5,
        "Conflict": 6,
        "Unavailable": 7,
    }


def test_an_unexpected_error_is_one_line_without_traceback(
    cli: Cli, manager: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Locally the line names the error; through `cms serve` the client is told only
    the request's id (the details are in the server's log under it)."""

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("cms_cli.auth.service.list_users", broken)
    result = cli("user", "list")
    assert result.exit_code == 1
    if cli.served:
        said, hint = result.stderr.splitlines()
        assert re.fullmatch(r"error: internal error \(request [0-9a-f]{12}\)", said), said
        assert hint == f"hint: the server's log has the details (request {said[-13:-1]})"
    else:
        assert result.stderr.splitlines() == [
            "error: internal error: RuntimeError: boom",
            "hint: run again with --debug for the traceback, and report it",
        ]
    assert result.stdout == ""


def test_debug_shows_the_traceback(cli: Cli, manager: str) -> None:
    down = {"CMS_DATABASE_URL": "mysql+pymysql://cms:s3cret@127.0.0.1:1/cms"}
    plain = cli.subprocess("user", "list", env=down)
    assert plain.exit_code == 7
    assert "Traceback" not in plain.stderr
    debug = cli.subprocess("--debug", "user", "list", env=down)
    assert debug.exit_code == 7  # --debug adds the traceback and changes nothing else
    assert "Traceback" in debug.stderr
    assert "s3cret" not in debug.stderr.splitlines()[-2]  # the error line stays masked


@pytest.mark.local_only(
    "the database is the server's: a client is refused for want of a token first"
)
def test_database_down_exits_7_without_the_password(cli: Cli) -> None:
    url = "mysql+pymysql://cms:hunter2-secret@127.0.0.1:1/cms"
    for run in (cli, cli.subprocess):
        result = run("user", "list", env={"CMS_DATABASE_URL": url})
        assert result.exit_code == 7, result
        assert "hunter2-secret" not in result.stderr + result.stdout
        assert result.stderr.startswith(
            "error: database unavailable (mysql+pymysql://cms:***@127.0.0.1:1/cms)"
        )
        assert "hint:" in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.local_only(
    "the database is the server's: a client is refused for want of a token first"
)
def test_unwritable_sqlite_path_is_unavailable(cli: Cli, tmp_path: object) -> None:
    result = cli("auth", "status", env={"CMS_DATABASE_URL": "sqlite:////proc/no/such/dir/cms.db"})
    assert result.exit_code in (1, 7)
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr


def test_errors_go_to_stderr_and_data_to_stdout(cli: Cli, manager: str) -> None:
    result = cli("user", "activate", "ghost@uni.edu")
    assert result.stdout == ""
    assert result.stderr == "error: no account with e-mail ghost@uni.edu\n"
    listing = cli.ok("user", "list", "--json")
    assert listing.stderr == ""


def test_real_process_exit_codes_and_csv_line_ends(cli: Cli, manager: str) -> None:
    result = cli.subprocess(
        "user", "list", "--csv", env={"CMS_TOKEN": cli.ok("auth", "token").stdout.strip()}
    )
    assert result.exit_code == 0, result
    with_crlf = cli.subprocess("user", "list", "--csv")
    assert with_crlf.exit_code == 0
    # The real stdout: RFC 4180 CRLF line ends (text mode keeps them as \r\n).
    assert "\r\n" in with_crlf.stdout or with_crlf.stdout.count("\n") >= 2
    assert (
        cli.subprocess(
            "auth",
            "bootstrap",
            "--email",
            "x@uni.edu",
            "--name",
            "X",
            "--password-stdin",
            input=PASSWORD + "\n",
        ).exit_code
        == 6
    )


def test_version_and_help(cli: Cli) -> None:
    import importlib.metadata

    from cms_cli import __version__
    from cms_cli.core.migrate import SCHEMA_HEAD

    # One version: the installed package's metadata is read from cms_cli/__init__.py.
    assert importlib.metadata.version("cms-cli") == __version__
    assert cli.ok("--version").stdout == f"cms {__version__} (schema {SCHEMA_HEAD})\n"
    # The CHANGELOG's newest dated section is this version.
    import re
    from pathlib import Path

    changelog = (Path(__file__).resolve().parents[2] / "CHANGELOG.md").read_text()
    dated = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", changelog, re.M)
    assert dated
    assert dated[0] == __version__
    top = cli.ok("--help").stdout
    for name in ("auth", "user", "audit", "db", "doctor", "config"):
        assert f"  {name}" in top
    assert cli("no-such-command").exit_code == 2
