"""cms user through the CLI, on SQLite and MariaDB."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import PASSWORD, Cli, sql

from cms_cli.auth.models import UserPublic
from cms_cli.core.output import columns

#: The contract's fields, in order: the Public model's.
FIELDS = list(columns(UserPublic))


def test_add_and_list(cli: Cli, people: dict[str, str]) -> None:
    rows = cli.ok("user", "list", "--json").json()
    assert [r["email"] for r in rows] == sorted(
        ["dean@uni.edu", "boss@uni.edu", "ana@uni.edu", "ben@uni.edu", "sam@uni.edu", "sue@uni.edu"]
    )
    assert list(rows[0]) == FIELDS
    assert all("password" not in str(r) for r in rows)
    ana = next(r for r in rows if r["email"] == "ana@uni.edu")
    assert ana == {
        **ana,
        "name": "Ana Lopez",
        "role": "facilitator",
        "employee_id": "E1",
        "is_active": True,
    }
    students = cli.ok("user", "list", "--role", "student", "--json").json()
    assert {r["email"] for r in students} == {"sam@uni.edu", "sue@uni.edu"}


def test_list_csv_is_rfc4180_with_the_json_fields(cli: Cli, manager: str) -> None:
    cli.add_user("quote@uni.edu", "student", 'Jo "JJ", Smith', student_id="S9")
    lines = cli.ok("user", "list", "--csv").stdout.splitlines()  # the runner folds CRLF
    assert lines[0] == ",".join(FIELDS)
    assert any(
        line.startswith('quote@uni.edu,"Jo ""JJ"", Smith",student,,S9,true,') for line in lines
    )


def test_json_and_csv_together_is_a_usage_error(cli: Cli, manager: str) -> None:
    assert cli("user", "list", "--json", "--csv").exit_code == 2


def test_emails_are_case_insensitive_and_unique(cli: Cli, manager: str) -> None:
    cli.add_user("Mixed.Case@Uni.EDU", "student")
    rows = cli.ok("user", "list", "--json").json()
    assert "mixed.case@uni.edu" in [r["email"] for r in rows]
    dup = cli("user", "add", "--email", "MIXED.case@uni.edu", "--name", "X", "--role", "student")
    assert dup.exit_code == 6
    assert "already exists" in dup.stderr


def test_duplicate_ids_conflict(cli: Cli, people: dict[str, str]) -> None:
    base = ["user", "add", "--email", "new@uni.edu", "--name", "N"]
    dup = cli(*base, "--role", "facilitator", "--employee-id", "E1")
    assert dup.exit_code == 6
    assert "employee id E1" in dup.stderr
    dup = cli(*base, "--role", "student", "--student-id", "S2")
    assert dup.exit_code == 6
    assert "student id S2" in dup.stderr


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["--email", "x", "--name", "X", "--role", "student"], 1, "not an e-mail"),
        (["--email", "x@uni.edu", "--name", " ", "--role", "student"], 1, "name"),
        (["--email", "x@uni.edu", "--name", "X", "--role", "dean"], 2, "--role"),
        (
            ["--email", "x@uni.edu", "--name", "X", "--role", "facilitator", "--student-id", "S5"],
            1,
            "student id",
        ),
        (["--email", "x@uni.edu", "--name", "X", "--role", "student", "--bogus"], 2, "--bogus"),
    ],
)
def test_add_rejects_bad_input(
    cli: Cli, manager: str, args: list[str], code: int, text: str
) -> None:
    result = cli("user", "add", *args)
    assert result.exit_code == code, result
    assert text in result.stderr
    assert len(cli.ok("user", "list", "--json").json()) == 1


def test_add_without_password_off_a_tty(cli: Cli, manager: str) -> None:
    result = cli.ok(
        "user", "add", "--email", "nopw@uni.edu", "--name", "No Pw", "--role", "student"
    )
    assert "set-password" in result.stderr
    assert (
        cli(
            "auth", "login", "--email", "nopw@uni.edu", "--password-stdin", input="anything-1\n"
        ).exit_code
        == 4
    )


def test_only_managers_manage_accounts(cli: Cli, people: dict[str, str]) -> None:
    cli.login("ana@uni.edu")
    for args in (
        ("user", "list"),
        ("user", "add", "--email", "z@uni.edu", "--name", "Z", "--role", "student"),
        ("user", "deactivate", "sam@uni.edu", "--yes"),
        ("user", "activate", "sam@uni.edu"),
        ("user", "set-password", "sam@uni.edu", "--password-stdin"),
    ):
        result = cli(*args, input="some-password\n")
        assert result.exit_code == 5, result
        assert "manager role" in result.stderr
    cli.login("sam@uni.edu")
    assert cli("user", "list").exit_code == 5


def test_permission_is_checked_before_input(cli: Cli, people: dict[str, str]) -> None:
    cli.login("sam@uni.edu")
    # An unknown e-mail would be exit 3; the permission check comes first.
    assert cli("user", "deactivate", "ghost@uni.edu", "--yes").exit_code == 5


def test_deactivate_ends_sessions_and_blocks_login(cli: Cli, people: dict[str, str]) -> None:
    cli.login("ana@uni.edu")
    token = cli.ok("auth", "token").stdout.strip()
    cli.login("dean@uni.edu")
    no_yes = cli("user", "deactivate", "ana@uni.edu")
    assert no_yes.exit_code == 2
    assert "--yes" in no_yes.stderr
    cli.ok("user", "deactivate", "ana@uni.edu", "--yes")
    assert cli("auth", "status", env={"CMS_TOKEN": token}).exit_code == 4
    blocked = cli(
        "auth", "login", "--email", "ana@uni.edu", "--password-stdin", input=PASSWORD + "\n"
    )
    assert blocked.exit_code == 4
    assert "deactivated" in blocked.stderr
    inactive = cli.ok("user", "list", "--inactive", "--json").json()
    assert [r["email"] for r in inactive] == ["ana@uni.edu"]
    assert "already inactive" in cli.ok("user", "deactivate", "ana@uni.edu", "--yes").stdout
    cli.ok("user", "activate", "ana@uni.edu")
    assert cli.login("ana@uni.edu").exit_code == 0


def test_cannot_deactivate_oneself(cli: Cli, manager: str) -> None:
    result = cli("user", "deactivate", manager, "--yes")
    assert result.exit_code == 1


def test_unknown_account_is_not_found(cli: Cli, manager: str) -> None:
    assert cli("user", "deactivate", "ghost@uni.edu", "--yes").exit_code == 3
    assert cli("user", "activate", "ghost@uni.edu").exit_code == 3
    result = cli(
        "user", "set-password", "ghost@uni.edu", "--password-stdin", input="long-enough-1\n"
    )
    assert result.exit_code == 3
    assert "ghost@uni.edu" in result.stderr


def test_set_password_ends_sessions_and_lifts_a_lock(cli: Cli, people: dict[str, str]) -> None:
    cli.login("sam@uni.edu")
    token = cli.ok("auth", "token").stdout.strip()
    for _ in range(5):
        cli("auth", "login", "--email", "sam@uni.edu", "--password-stdin", input="wrong-pass\n")
    cli.login("dean@uni.edu")
    cli.ok("user", "set-password", "sam@uni.edu", "--password-stdin", input="brand-new-pw\n")
    assert cli("auth", "status", env={"CMS_TOKEN": token}).exit_code == 4
    assert cli.login("sam@uni.edu", "brand-new-pw").exit_code == 0


# -- import ---------------------------------------------------------------------------


def write(tmp_path: Path, text: str | bytes, name: str = "users.csv") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


GOOD = (
    "email,name,role,employee_id,student_id\n"
    "f1@uni.edu,Fay One,facilitator,E10,\n"
    's1@uni.edu,"Stu, One",student,,S10\n'
    "s2@uni.edu,Stu Two,student,,S11\n"
)


def test_import_creates_all_rows(cli: Cli, manager: str, tmp_path: Path) -> None:
    result = cli.ok("user", "import", write(tmp_path, GOOD), "--json")
    assert result.json() == {"created": 3, "checked": 3, "dry_run": False}
    emails = {r["email"] for r in cli.ok("user", "list", "--json").json()}
    assert {"f1@uni.edu", "s1@uni.edu", "s2@uni.edu"} <= emails


def test_import_dry_run_writes_nothing(cli: Cli, manager: str, tmp_path: Path) -> None:
    result = cli.ok("user", "import", write(tmp_path, GOOD), "--dry-run")
    assert "3 account(s) would be created" in result.stdout
    assert cli.ok("user", "import", write(tmp_path, GOOD), "--dry-run", "--json").json() == {
        "created": 0,
        "checked": 3,
        "dry_run": True,
    }
    assert len(cli.ok("user", "list", "--json").json()) == 1


def test_import_reports_every_bad_line_and_writes_nothing(
    cli: Cli, people: dict[str, str], tmp_path: Path
) -> None:
    text = (
        "email,name,role,employee_id,student_id\n"
        "ok@uni.edu,Ok,student,,S20\n"
        "bad-email,Bad,student,,\n"
        "x@uni.edu,X,dean,,\n"
        "ana@uni.edu,Dup Db,facilitator,,\n"
        "ok@uni.edu,Dup File,student,,\n"
        "y@uni.edu,Y,facilitator,,S1\n"
    )
    result = cli("user", "import", write(tmp_path, text))
    assert result.exit_code == 1, result
    lines = result.stderr.splitlines()
    assert lines[0].startswith("line 3: not an e-mail")
    assert lines[1].startswith("line 4: role must be")
    assert lines[2] == "line 5: an account with e-mail ana@uni.edu already exists"
    assert lines[3] == "line 6: e-mail ok@uni.edu also on line 2"
    assert lines[4].startswith("line 7: only students have a student id")
    assert lines[-1].startswith("error: 5 problem(s) found; nothing was imported")
    assert "ok@uni.edu" not in cli.ok("user", "list", "--csv").stdout


@pytest.mark.parametrize(
    ("content", "text"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not a CSV file"),
        (b"email,name\nx@uni.edu,X\n", "missing column(s) role"),
        (b"email,name,role,shoe\n", "unknown column(s) shoe"),
        ("email,name,role\nj\xe9@uni.edu,J,student\n".encode("latin-1"), "not UTF-8"),
        (b'email,name,role\n"unterminated,x,student\n', "line"),
    ],
)
def test_import_junk_files_get_one_clear_error(
    cli: Cli, manager: str, tmp_path: Path, content: bytes, text: str
) -> None:
    result = cli("user", "import", write(tmp_path, content))
    assert result.exit_code == 1, result
    assert text in result.stderr
    assert "Traceback" not in result.stderr


def test_import_missing_file(cli: Cli, manager: str, tmp_path: Path) -> None:
    result = cli("user", "import", str(tmp_path / "nope.csv"))
    assert result.exit_code == 1
    assert "no such file" in result.stderr


def test_import_handles_bom_and_multiline_fields(cli: Cli, manager: str, tmp_path: Path) -> None:
    text = '\ufeffemail,name,role\n"a@uni.edu","Multi\nLine",student\nbad,B,student\n'
    result = cli("user", "import", write(tmp_path, text))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    # a name is one line: the quoted newline is refused, on the record's first line
    assert lines[0] == "line 2: name must not contain control characters (found U+000A)"
    assert lines[1].startswith("line 4: ")  # physical line, after the two-line record


def test_import_needs_a_manager(cli: Cli, people: dict[str, str], tmp_path: Path) -> None:
    cli.login("ana@uni.edu")
    assert cli("user", "import", write(tmp_path, GOOD)).exit_code == 5


def test_the_last_active_manager_stays(cli: Cli, people: dict[str, str], db_url: str) -> None:
    """Two managers deactivating each other: one succeeds, the other is refused (exit 6),
    and one active manager is left, whatever the order."""
    cli.ok("user", "deactivate", "boss@uni.edu", "--yes")
    cli.ok("user", "activate", "boss@uni.edu")
    dean = cli.spawn("user", "deactivate", "boss@uni.edu", "--yes")
    cli.login("boss@uni.edu")
    boss = cli.spawn("user", "deactivate", "dean@uni.edu", "--yes")
    outcomes = sorted(p.wait(timeout=60) for p in (dean, boss))
    assert outcomes[0] == 0
    assert outcomes[1] in (4, 6)  # refused as the last one, or its session already ended
    active = sql(db_url, "SELECT COUNT(*) FROM app_user WHERE role = 'manager' AND is_active")
    assert active == 1


def test_an_address_is_one_identity(cli: Cli, people: dict[str, str]) -> None:
    """Addresses that read exactly like an existing one are refused (invisible
    characters, mixed alphabets) or are the same one (NFC vs NFD), wherever they enter:
    options, imports, logins."""
    for look_alike in (
        "\u0430na@uni.edu",  # a Cyrillic a (U+0430)
        "ana@uni.edu\u200b",  # a zero-width space
        "\ufeffana@uni.edu",  # a byte-order mark
        "an\u00ada@uni.edu",  # a soft hyphen
    ):
        added = cli("user", "add", "--email", look_alike, "--name", "Twin", "--role", "student")
        assert added.exit_code == 1, added
        assert "not an e-mail address" in added.stderr
        assert "\u200b" not in added.stderr  # shown escaped, never as the character
        assert "\ufeff" not in added.stderr
        login = cli("auth", "login", "--email", look_alike, "--password-stdin", input="x" * 9)
        assert (login.exit_code, login.stderr) == (4, "error: wrong e-mail or password\n")
    cli.ok("user", "add", "--email", "cafe\u0301@uni.edu", "--name", "Café", "--role", "student")
    again = cli(
        "user", "add", "--email", "caf\u00e9@uni.edu", "--name", "Café", "--role", "student"
    )
    assert again.exit_code == 6


def test_addresses_are_compared_as_written_on_every_database(
    cli: Cli, people: dict[str, str]
) -> None:
    """MariaDB's default collation ignores accents: àna@ must not be ana@ (neither a
    duplicate nor, worse, a login into her account); a root dot or a domain in punycode
    is the same address as without."""
    cli.ok("user", "add", "--email", "\u00e0na@uni.edu", "--name", "Other", "--role", "student")
    login = cli(
        "auth", "login", "--email", "\u00e0na@uni.edu", "--password-stdin", input=PASSWORD + "\n"
    )
    assert login.exit_code == 4  # Other's account has no such password: never Ana's
    cli.ok("user", "add", "--email", "u@b\u00fccher.example", "--name", "U", "--role", "student")
    for same in ("u@xn--bcher-kva.example", "u@b\u00fccher.example."):
        twin = cli("user", "add", "--email", same, "--name", "U", "--role", "student")
        assert twin.exit_code == 6, twin
    trailing = cli("user", "add", "--email", "ana@uni.edu.", "--name", "A", "--role", "student")
    assert trailing.exit_code == 6
