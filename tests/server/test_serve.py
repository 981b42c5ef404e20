"""cms serve and the CLI as its client: the same answers, errors and exit codes as a
command run against the database, with no database URL on the client's side.

A private `cms serve` runs on a free loopback port over the test's database (SQLite
and MariaDB), with the test's clock; the client is the CLI with CMS_SERVER_URL set.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import PASSWORD, Cli
from servers import free_port, wait_until_up


def _serving(cli: Cli, **env: str) -> Iterator[str]:
    """The URL of a `cms serve` over this test's database (with ``env`` besides), up
    for as long as the generator is."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cms_cli", "serve", "--port", str(port)],
        env={**os.environ, **cli.env, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(proc, url)
    yield url
    proc.terminate()
    proc.wait(timeout=15)


@pytest.fixture
def served(cli: Cli, offerings: dict[str, int]) -> Iterator[str]:
    """The URL of a `cms serve` over this test's database."""
    yield from _serving(cli)


def client_of(url: str, tmp_path: Path, cli: Cli) -> Cli:
    """The CLI of someone who holds no database URL, only the server's address."""
    home = tmp_path / "client"
    home.mkdir(exist_ok=True)
    env: dict[str, str] = {"CMS_HOME": str(home), "CMS_SERVER_URL": url}
    env["CMS_DATABASE_URL"] = None  # type: ignore[assignment]  # unset for the runner
    env["CMS_NOW"] = cli.env["CMS_NOW"]
    return Cli(home, env)


def test_the_client_gets_what_the_database_gives(
    cli: Cli, logged: dict[str, int], served: str, tmp_path: Path
) -> None:
    offerings = logged
    far = client_of(served, tmp_path, cli)
    a = str(offerings["A"])
    assert far("offering", "list").exit_code == 4  # nobody logged in on the client
    far.login("dean@uni.edu")
    cli.ok("notify", "sweep")  # the outbox and the inbox have rows
    for args in (
        ("offering", "list", "--json"),
        ("offering", "list", "--csv", "--trimester", "1"),
        ("offering", "list", "--module", "ma201"),
        ("offering", "show", a, "--json"),
        ("offering", "show", a),
        ("auth", "status", "--json"),
        ("tracker", "list", "--json"),
        ("tracker", "list", "--status", "overdue", "--csv"),
        ("tracker", "show", "--offering", a, "--week", "1", "--json"),
        ("tracker", "show", "--offering", a, "--week", "3"),
        ("tracker", "report", "--json"),
        ("tracker", "report", "--by", "facilitator", "--csv"),
        ("tracker", "report", "--module", "CS101"),
        ("tracker", "attendance", "--json"),
        ("tracker", "attendance", "--offering", a, "--below", "90", "--csv"),
        ("tracker", "deadlines", "--json"),
        ("tracker", "deadlines", "--facilitator", "ana@uni.edu"),
        ("offering", "students", a, "--csv"),
        ("module", "list", "--json"),
        ("cohort", "list", "--csv"),
        ("class", "list", "--inactive"),
        ("user", "list", "--json"),
        ("user", "list", "--role", "student", "--csv"),
        ("notify", "list", "--json"),
        ("notify", "list", "--status", "queued"),
        ("inbox", "--all", "--json"),
        ("audit", "list", "--entity", "offering", "--json"),
        ("audit", "list", "--since", "2026-01-01"),
        ("reflection", "list", "--offering", a, "--json"),
    ):
        near, there = cli(*args), far(*args)
        assert (there.exit_code, there.stdout) == (near.exit_code, near.stdout), args
    for args, code in (
        (("offering", "show", "999"), 3),
        (("offering", "list", "--trimester", "7"), 1),
        (("offering", "list", "--mode", "bus"), 1),
    ):
        near, there = cli(*args), far(*args)
        assert there.exit_code == near.exit_code == code, args
        assert there.stderr == near.stderr, args
    # A facilitator's client: their offerings only, another's refused (exit 5).
    cli.login("ben@uni.edu")
    far.login("ben@uni.edu")
    near, there = cli("offering", "show", a), far("offering", "show", a)
    assert there.exit_code == near.exit_code == 5
    assert there.stderr == near.stderr
    for args in (("offering", "list", "--json"), ("tracker", "list", "--json")):
        assert far(*args).stdout == cli(*args).stdout, args
    for args in (("tracker", "report"), ("tracker", "deadlines", "--facilitator", "ana@uni.edu")):
        near, there = cli(*args), far(*args)
        assert there.exit_code == near.exit_code == 5, args
        assert there.stderr == near.stderr, args


def test_sessions_are_the_servers(
    cli: Cli, offerings: dict[str, int], served: str, tmp_path: Path
) -> None:
    far = client_of(served, tmp_path, cli)
    wrong = far("auth", "login", "--email", "ana@uni.edu", "--password-stdin", input="nope\n")
    assert wrong.exit_code == 4
    far.login("ana@uni.edu")
    token = far.ok("auth", "token").stdout.strip()
    assert far.ok("auth", "status", "--json").json()["email"] == "ana@uni.edu"
    assert far.ok("auth", "logout").stdout == "Logged out ana@uni.edu.\n"
    revoked = far("offering", "list", env={"CMS_TOKEN": token})
    assert revoked.exit_code == 4
    assert "the session was revoked" in revoked.stderr
    # The server's audit trail has the login and the logout.
    actions = [
        e["action"] for e in cli.ok("audit", "list", "--entity", "session", "--json").json()[::-1]
    ]
    assert sorted(actions[-2:]) == ["login", "logout"]  # at one instant: the test clock


def test_what_a_client_may_not_do(
    cli: Cli, offerings: dict[str, int], served: str, tmp_path: Path
) -> None:
    far = client_of(served, tmp_path, cli)
    far.login("dean@uni.edu")
    for args in (("db", "upgrade"), ("notify", "sweep"), ("worker",), ("demo",)):
        refused = far(*args)
        assert refused.exit_code == 2, args
        assert "is an operator command" in refused.stderr, args
    # The doctor of a client checks the server (and never a database of its own).
    health = far.ok("doctor", "--json").json()
    names = [c["name"] for c in health["checks"]]
    assert names[:2] == ["config", "server"]
    assert "database" not in names
    assert {c["name"]: c["status"] for c in health["checks"]}["tls"] == "warn"  # plain http
    assert not list((tmp_path / "client").rglob("*.db"))
    # Whatever still asked for a database in client mode would be refused, not given
    # one of this machine.
    from cms_cli.core import context
    from cms_cli.core.errors import UsageError
    from cms_cli.core.session import transaction

    context.begin(None, False, server=served)
    with pytest.raises(UsageError, match="does not go through a server"), transaction():
        pass
    context.begin(None, False)
    insecure = far("offering", "list", env={"CMS_SERVER_URL": "http://cms.uni.example"})
    assert insecure.exit_code == 2
    assert "refusing to send your session in clear text" in insecure.stderr
    port = free_port()
    down = far("offering", "list", env={"CMS_SERVER_URL": f"http://127.0.0.1:{port}"})
    assert down.exit_code == 7
    assert f"server unavailable at http://127.0.0.1:{port}" in down.stderr


def test_the_http_surface(cli: Cli, offerings: dict[str, int], served: str) -> None:
    health = httpx.get(served + "/health")
    assert health.status_code == 200
    assert health.json()["database"] == "ok"
    missing = httpx.get(served + "/api/v1/offerings/1", headers={"Authorization": "Bearer x"})
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["exit_code"] == 4
    assert missing.json()["title"] == "NotAuthenticated"
    token = cli.ok("auth", "token").stdout.strip()
    unknown = httpx.get(
        served + "/api/v1/offerings/999", headers={"Authorization": f"Bearer {token}"}
    )
    assert (unknown.status_code, unknown.json()["exit_code"]) == (404, 3)
    assert unknown.json()["detail"] == "no offering with id 999"
    assert (
        "/api/v1/offerings/{offering_id}" in httpx.get(served + "/api/openapi.json").json()["paths"]
    )
    assert httpx.get(served + "/api/docs").status_code == 200
    metrics = httpx.get(served + "/metrics").text
    assert 'cms_http_requests_total{method="GET",route="/api/v1/offerings/{offering_id}"' in metrics


def test_a_client_process_loads_no_database_library(
    cli: Cli, logged: dict[str, int], served: str, tmp_path: Path
) -> None:
    far = client_of(served, tmp_path, cli)
    far.login("dean@uni.edu")
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('LOADED ' + ' '.join(sorted({n.split('.')[0]"
        " for n in sys.modules} & {'sqlalchemy', 'sqlmodel', 'pymysql', 'alembic'})) + '\\n'))\n"
        "from cms_cli.main import app\n"
        "app()\n"
    )
    a = str(logged["A"])
    for args in (
        ("offering", "show", a, "--json"),
        ("offering", "list"),
        ("tracker", "list", "--json"),
        ("tracker", "report"),
        ("tracker", "attendance", "--csv"),
        ("tracker", "deadlines", "--ics", str(tmp_path / "d.ics")),
        ("auth", "status"),
        ("user", "list", "--csv"),
        ("audit", "list"),
        ("inbox", "--all"),
    ):
        env = {k: v for k, v in {**os.environ, **far.env}.items() if v is not None}
        env.pop("CMS_DATABASE_URL", None)
        run = subprocess.run(
            [sys.executable, "-c", probe, *args], env=env, capture_output=True, text=True
        )
        assert run.returncode == 0, (args, run.stderr)
        assert run.stderr.splitlines()[-1] == "LOADED ", (args, run.stderr)


def test_the_inbox_is_read_through_the_server(
    cli: Cli, logged: dict[str, int], served: str, tmp_path: Path
) -> None:
    cli.ok("notify", "sweep")
    from cms_cli.notify import delivery

    config = cli.config()
    for row in cli.ok("notify", "list", "--json").json():
        delivery.deliver(row["id"], config)
    far = client_of(served, tmp_path, cli)
    far.login("ana@uni.edu")
    cli.login("ana@uni.edu")
    unread = far.ok("inbox", "--json").json()
    assert unread == cli.ok("inbox", "--json").json()
    first = unread[0]["id"]
    shown = far.ok("inbox", "show", str(first), "--json").json()
    assert shown["read_at"] is not None
    assert far("inbox", "show", "999").exit_code == 3
    assert (
        far.ok("inbox", "read", "--all").stdout
        == f"{len(unread) - 1} notification(s) marked read.\n"
    )
    assert cli.ok("inbox", "--json").json() == []


def test_a_facilitator_logs_a_week_through_the_server(
    cli: Cli, offerings: dict[str, int], served: str, tmp_path: Path
) -> None:
    a, b = str(offerings["A"]), str(offerings["B"])
    far = client_of(served, tmp_path, cli)
    far.login("ana@uni.edu")
    logged = far.ok(
        "tracker",
        "log",
        "--offering",
        a,
        "--week",
        "2",
        "--absent",
        "sam@uni.edu",
        "--formative-one",
        "DONE",
        "--notes",
        "from a laptop",
        "--json",
    ).json()
    cli.login("ana@uni.edu")
    assert cli.ok("tracker", "show", "--offering", a, "--week", "2", "--json").json() == logged
    assert logged["attendance"] == {"sam@uni.edu": False, "sue@uni.edu": True}
    said = far.ok("tracker", "log", "--offering", a, "--week", "2", "--summative", "done")
    assert said.stdout == f"Week 2 of offering {a} (CS101) saved: 43% complete.\n"
    for args, code in (
        (("tracker", "log", "--offering", b, "--week", "1", "--summative", "done"), 5),
        (("tracker", "log", "--offering", a, "--week", "99", "--summative", "done"), 1),
        (("tracker", "log", "--offering", a, "--week", "1", "--summative", "finished"), 1),
        (("tracker", "log", "--offering", a, "--week", "1", "--absent", "x@uni.edu"), 1),
        (("tracker", "log", "--offering", "999", "--week", "1", "--summative", "done"), 3),
        (("tracker", "log", "--offering", a, "--all-present", "--absent", "sam@uni.edu"), 2),
    ):
        near, there = cli(*args), far(*args)
        assert there.exit_code == near.exit_code == code, args
        assert there.stderr == near.stderr, args
    cli.login("dean@uni.edu")
    events = cli.ok("audit", "list", "--entity", "log", "--json").json()[::-1]
    assert [(e["actor"], e["action"]) for e in events] == [
        ("ana@uni.edu", "create"),
        ("ana@uni.edu", "update"),
    ]


def test_a_student_hands_in_a_reflection_through_the_server(
    cli: Cli, offerings: dict[str, int], served: str, tmp_path: Path
) -> None:
    import json

    a = offerings["A"]
    good = tmp_path / "reflection.json"
    good.write_text(
        json.dumps(
            {
                "offering": a,
                "language": "fr",
                "answers": {"question1": "Oui", "question2": "Non", "question3": "Peut-être"},
                "submitted_at": "2026-02-01T10:00:00Z",
            }
        ),
        encoding="utf-8",
    )
    bad = tmp_path / "bad.json"
    bad.write_text('{"offering": "12abc"}', encoding="utf-8")
    far = client_of(served, tmp_path, cli)
    far.login("sam@uni.edu")
    cli.login("sam@uni.edu")
    assert (
        far.ok("reflection", "submit", str(good)).stdout == f"Reflection for offering {a} stored.\n"
    )
    again = far.ok("reflection", "submit", str(good)).stdout
    assert again == f"Reflection for offering {a} replaced your earlier one.\n"
    near, there = cli("reflection", "submit", str(bad)), far("reflection", "submit", str(bad))
    assert there.exit_code == near.exit_code == 1
    assert there.stderr == near.stderr
    cli.login("dean@uni.edu")
    (row,) = cli.ok("reflection", "list", "--offering", str(a), "--json").json()
    assert (row["student"], row["language"]) == ("sam@uni.edu", "fr")
    far.login("dean@uni.edu")
    assert far("reflection", "submit", str(good)).exit_code == 5
    token = cli.ok("auth", "token").stdout.strip()
    huge = httpx.post(
        served + "/api/v1/reflections",
        content=b"x" * 2_000_000,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (huge.status_code, huge.json()["exit_code"]) == (413, 1)
    assert "too large" in huge.json()["detail"]


def test_a_manager_allocates_through_the_server(
    cli: Cli, offerings: dict[str, int], served: str, tmp_path: Path
) -> None:
    far = client_of(served, tmp_path, cli)
    far.login("dean@uni.edu")
    new = [
        "offering",
        "create",
        "--module",
        "MA201",
        "--class",
        "2026K",
        "--cohort",
        "Cohort B",
        "--mode",
        "hybrid",
        "--start",
        "2026-05-04",
        "--end",
        "2026-07-31",
        "--facilitator",
        "ana@uni.edu",
        "--max-students",
        "2",
    ]
    made = far.ok(*new, "--json").json()
    assert cli.ok("offering", "show", str(made["id"]), "--json").json() == made
    m = str(made["id"])
    for args, code in (
        (new, 6),  # the same offering again
        ([*new[:8], "--mode", "bus", *new[10:]], 1),
        (["offering", "update", m], 1),  # nothing to change
        (["offering", "update", m, "--start", "2026-08-01"], 1),  # after the end
        (["offering", "update", "999", "--max-students", "5"], 3),
        (["offering", "cancel", "999", "--yes"], 3),
        (["offering", "enrol", m], 2),
        (["offering", "unenrol", m, "--student", "sam@uni.edu"], 3),
    ):
        near, there = cli(*args), far(*args)
        assert there.exit_code == near.exit_code == code, args
        assert there.stderr == near.stderr, args
    updated = far.ok("offering", "update", m, "--max-students", "3", "--json").json()
    assert updated["max_students"] == 3
    said = far.ok("offering", "enrol", m, "--student", "sam@uni.edu", "--student", "sue@uni.edu")
    assert said.stdout == f"Enrolled 2 student(s) in offering {m} (2/3).\n"
    assert far.ok("offering", "unenrol", m, "--student", "SUE@uni.edu").stdout == (
        f"Unenrolled sue@uni.edu from offering {m}.\n"
    )
    assert far.ok("offering", "cancel", m, "--yes").stdout == f"Cancelled offering {m}.\n"
    assert cli.ok("offering", "show", m, "--json").json()["status"] == "cancelled"
    far.login("ana@uni.edu")
    assert far(*new).exit_code == 5
    assert far("offering", "cancel", m, "--yes").exit_code == 5


def test_the_catalog_is_kept_through_the_server(
    cli: Cli, term: dict[str, str], served: str, tmp_path: Path
) -> None:
    far = client_of(served, tmp_path, cli)
    far.login("dean@uni.edu")
    assert far.ok("module", "add", "cs305", "--name", "Databases", "--credits", "5").stdout == (
        "Added module CS305.\n"
    )
    assert far.ok("cohort", "add", "Evening 2027", "--start", "2027-01-04").stdout == (
        "Added cohort Evening 2027.\n"
    )
    assert far.ok("class", "add", "2027T", "--year", "2027", "--trimester", "1", "--intake", "ft")
    assert far.ok("module", "deactivate", "CS305").stdout == "Deactivated module CS305.\n"
    assert far.ok("module", "deactivate", "CS305").stdout == "module CS305 was already inactive.\n"
    assert far.ok("cohort", "activate", "evening 2027").stdout == (
        "cohort Evening 2027 was already active.\n"
    )
    for args, code in (
        (("module", "add", "CS305", "--name", "Again", "--credits", "5"), 6),
        (("module", "add", "CS999", "--name", "Heavy", "--credits", "99"), 1),
        (("class", "add", "2027U", "--year", "2027", "--trimester", "5", "--intake", "FT"), 1),
        (("class", "deactivate", "1999X"), 3),
    ):
        near, there = cli(*args), far(*args)
        assert there.exit_code == near.exit_code == code, args
        assert there.stderr == near.stderr, args
    assert cli.ok("module", "list", "--json").json() == far.ok("module", "list", "--json").json()
    far.login("ana@uni.edu")
    assert far("module", "add", "CS306", "--name", "X", "--credits", "5").exit_code == 5


def test_accounts_are_managed_through_the_server(
    cli: Cli, people: dict[str, str], served: str, tmp_path: Path
) -> None:
    far = client_of(served, tmp_path, cli)
    far.login("dean@uni.edu")
    made = far.ok(
        "user",
        "add",
        "--email",
        "New@uni.edu",
        "--name",
        "New One",
        "--role",
        "student",
        "--password-stdin",
        input="a-long-passphrase-1\n",
    )
    assert made.stdout == "Created student new@uni.edu.\n"
    cli.login("new@uni.edu", "a-long-passphrase-1")
    cli.login("dean@uni.edu")
    assert (
        far.ok(
            "user", "set-password", "new@uni.edu", "--password-stdin", input="another-phrase-22\n"
        ).stdout
        == "Password of new@uni.edu set.\n"
    )
    cli.login("new@uni.edu", "another-phrase-22")
    cli.login("dean@uni.edu")
    assert far.ok("user", "deactivate", "new@uni.edu", "--yes").stdout == (
        "Deactivated new@uni.edu.\n"
    )
    assert far.ok("user", "activate", "new@uni.edu").stdout == "Activated new@uni.edu.\n"
    for args, code in (
        (("user", "add", "--email", "new@uni.edu", "--name", "Twin", "--role", "student"), 6),
        (("user", "add", "--email", "x@uni.edu", "--name", "X", "--role", "janitor"), 2),
        (("user", "deactivate", "ghost@uni.edu", "--yes"), 3),
        (("user", "deactivate", "dean@uni.edu", "--yes"), 1),
    ):
        near, there = cli(*args), far(*args)
        assert there.exit_code == near.exit_code == code, args
        assert there.stderr == near.stderr, args
    far.login("ana@uni.edu")
    refused = far("user", "set-password", "sam@uni.edu", "--password-stdin", input="x\n")
    assert refused.exit_code == 5


def test_term_chores_through_the_server(
    cli: Cli, logged: dict[str, int], served: str, tmp_path: Path
) -> None:
    a = str(logged["A"])
    far = client_of(served, tmp_path, cli)
    far.login("dean@uni.edu")
    cli.ok("class", "add", "2027J", "--year", "2027", "--trimester", "1", "--intake", "FT")
    dry = far.ok("offering", "copy", "--from-class", "2026J", "--to-class", "2027J", "--dry-run")
    assert "2 offering(s) checked, all valid: 2 would be created in 2027J" in dry.stdout
    done = far.ok("offering", "copy", "--from-class", "2026J", "--to-class", "2027J", "--json")
    assert done.json()["created"] == 2
    again = far("offering", "copy", "--from-class", "2026J", "--to-class", "2027J")
    near = cli("offering", "copy", "--from-class", "2026J", "--to-class", "2027J")
    assert again.exit_code == near.exit_code == 1
    assert again.stderr == near.stderr  # offering N: ... exists already, each
    assert far.ok("tracker", "delete", "--offering", a, "--week", "1", "--yes").stdout == (
        f"Deleted the log of week 1 of offering {a}.\n"
    )
    assert cli("tracker", "show", "--offering", a, "--week", "1").exit_code == 3
    assert far("tracker", "delete", "--offering", a, "--week", "1", "--yes").exit_code == 3
    cli.ok("notify", "sweep")
    from cms_cli.core import db as core_db

    core_db.dispose_all()
    from conftest import sql

    sql(cli.env["CMS_DATABASE_URL"], "UPDATE notification SET status = 'failed', attempts = 5")
    queued = far.ok("notify", "retry", "--all-failed")
    assert queued.stdout.endswith("notification(s) queued again.\n")
    assert {r["status"] for r in cli.ok("notify", "list", "--json").json()} == {"queued"}
    extended = far.ok("auth", "refresh").stdout
    assert extended.startswith("Session of dean@uni.edu extended until ")
    changed = far.ok(
        "auth", "passwd", "--password-stdin", input=f"{PASSWORD}\na-brand-new-phrase-9\n"
    )
    assert changed.stdout == "Password of dean@uni.edu changed; your other sessions were ended.\n"
    assert far.ok("auth", "status", "--json").json()["email"] == "dean@uni.edu"  # kept
    far.login("ana@uni.edu")
    assert far("tracker", "delete", "--offering", a, "--week", "2", "--yes").exit_code == 5


def test_imports_are_uploaded_with_their_line_problems_intact(
    cli: Cli, offerings: dict[str, int], served: str, tmp_path: Path
) -> None:
    far = client_of(served, tmp_path, cli)
    far.login("dean@uni.edu")
    sheet = tmp_path / "term.csv"
    sheet.write_text(
        "module,class,cohort,mode,start_date,end_date,facilitator\n"
        "MA201,2026K,Cohort B,hybrid,2026-05-04,2026-07-31,\n"
        "XX999,2026K,Cohort B,hybrid,2026-05-04,2026-07-31,\n"
        "CS101,2026K,Cohort B,online,2026-05-04,2026-01-31,ghost@uni.edu\n",
        encoding="utf-8",
    )
    near, there = cli("offering", "import", str(sheet)), far("offering", "import", str(sheet))
    assert there.exit_code == near.exit_code == 1
    assert there.stderr == near.stderr
    assert "line 3: unknown module 'XX999'" in there.stderr
    good = tmp_path / "good.csv"
    good.write_text(
        sheet.read_text(encoding="utf-8").splitlines()[0] + "\n"
        "MA201,2026K,Cohort B,hybrid,2026-05-04,2026-07-31,ana@uni.edu\n",
        encoding="utf-8",
    )
    assert far.ok("offering", "import", str(good), "--dry-run", "--json").json() == {
        "created": 0,
        "checked": 1,
        "dry_run": True,
    }
    assert far.ok("offering", "import", str(good), "--json").json()["created"] == 1
    headless = tmp_path / "headless.csv"
    headless.write_text("email,nom\nx@uni.edu,X\n", encoding="utf-8")
    near, there = cli("user", "import", str(headless)), far("user", "import", str(headless))
    assert there.exit_code == near.exit_code == 1
    assert there.stderr == near.stderr  # names the file as the person gave it
    staff = tmp_path / "staff.csv"
    staff.write_text("email,name,role\nnew.one@uni.edu,New One,facilitator\n", encoding="utf-8")
    assert far.ok("user", "import", str(staff), "--json").json()["created"] == 1
    weeks = tmp_path / "weeks.csv"
    weeks.write_text(
        f"offering,week,summative_grading,present\n{offerings['A']},1,done,all\n", encoding="utf-8"
    )
    far.login("ana@uni.edu")
    assert far.ok("tracker", "import", str(weeks), "--json").json() == {
        "created": 1,
        "updated": 0,
        "checked": 1,
        "dry_run": False,
    }
    assert far("offering", "import", str(good)).exit_code == 5  # before the file is sent
    assert far("tracker", "import", str(tmp_path / "none.csv")).exit_code == 1


def test_one_address_guessing_many_accounts_is_refused(
    cli: Cli, people: dict[str, str], served: str
) -> None:
    from cms_cli.auth.service import LOCK_FAILURES, SOURCE_FAILURES

    login = served + "/api/v1/auth/login"
    tried = [f"guess{n}@uni.edu" for n in range(SOURCE_FAILURES)]
    for email in tried:  # every address stays under its own lock (LOCK_FAILURES)
        answer = httpx.post(login, json={"email": email, "password": "wrong-one-12"})
        assert answer.status_code == 401
    assert SOURCE_FAILURES > LOCK_FAILURES
    right = httpx.post(login, json={"email": "ana@uni.edu", "password": "correct-horse-9"})
    assert right.status_code == 401
    assert right.json()["detail"].startswith("too many failed logins from 127.0.0.1")
    events = cli.ok("audit", "list", "--entity", "session", "--json").json()[::-1]
    assert {"source": "127.0.0.1"} in [e["after"] for e in events if e["action"] == "lock"]


def test_the_log_form_works_through_the_server(
    cli: Cli, offerings: dict[str, int], served: str, tmp_path: Path
) -> None:
    """On a terminal, a client with no database gets the same form: the facilitator's
    active offerings, the week, each field, the students, a summary."""
    import pexpect

    a = str(offerings["A"])
    far = client_of(served, tmp_path, cli)
    far.login("ana@uni.edu")
    token = far.ok("auth", "token").stdout.strip()
    env = {k: v for k, v in {**os.environ, **far.env}.items() if v is not None}
    env.pop("CMS_DATABASE_URL", None)
    env.update({"CMS_TOKEN": token, "TERM": "xterm", "NO_COLOR": "1"})
    child = pexpect.spawn(
        sys.executable,
        ["-m", "cms_cli", "tracker", "log"],
        env=env,
        dimensions=(200, 80),
        encoding="utf-8",
        timeout=30,
    )
    child.expect(r"Week \(1-8\) \[4\]: ")  # her only active offering: no choice asked
    child.sendline("3")
    for answer in ("d", "d", "p", "", "", ""):
        child.expect(r"\]: ")
        child.sendline(answer)
    child.expect(r"Attendance \[not recorded yet\]: ")
    child.sendline("sam@uni.edu")
    child.expect(r"Notes \[none\]")
    child.sendline("through the server")
    child.expect(r"Save this week\? \[Y/n\]: ")
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    cli.login("ana@uni.edu")
    saved = cli.ok("tracker", "show", "--offering", a, "--week", "3", "--json").json()
    assert saved["notes"] == "through the server"
    assert saved["attendance"] == {"sam@uni.edu": False, "sue@uni.edu": True}
    assert (saved["formative_one_grading"], saved["summative_grading"]) == ("done", "pending")


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    cli: Cli, offerings: dict[str, int], served: str
) -> None:
    token = cli.ok("auth", "token").stdout.strip()
    big = httpx.post(
        served + "/api/v1/offerings",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert big.status_code == 413
    assert big.headers["content-type"] == "application/problem+json"
    assert big.json()["exit_code"] == 1
    # Uploads: who sends them is checked before their bodies are read (exit 4, not 1).
    for path in ("/reflections", "/reflections/import", "/imports/offerings"):
        anonymous = httpx.post(served + "/api/v1" + path, content=b"junk" * 1000)
        assert anonymous.status_code == 401, path
        assert anonymous.json()["exit_code"] == 4, path
    junk = httpx.post(
        served + "/api/v1/reflections/import",
        content=b'{"files": [{"name": "a.json", "content": "not base64!"}]}',
        headers={"Authorization": f"Bearer {token}"},
    )
    assert junk.json()["exit_code"] == 1
    assert junk.json()["detail"] == "the import is not a list of files (name and content)"


def test_the_audit_trail_knows_where_a_change_came_from(
    cli: Cli, offerings: dict[str, int], db_url: str, served: str, tmp_path: Path
) -> None:
    """A change through the server records the client's address; one made where the
    database is records none; behind the proxy uvicorn trusts (loopback by default),
    the address the proxy forwarded is the one recorded, and the one a login lock uses."""
    from conftest import sql

    far = client_of(served, tmp_path, cli)
    far.login("dean@uni.edu")
    a = str(offerings["A"])
    assert far("offering", "update", a, "--max-students", "31").exit_code == 0
    assert cli("offering", "update", a, "--max-students", "32").exit_code == 0
    updates = "SELECT COUNT(*) FROM audit_event WHERE entity = 'offering' AND action = 'update'"
    assert sql(db_url, updates + " AND origin = '127.0.0.1'") == 1
    assert sql(db_url, updates + " AND origin IS NULL") == 1
    proxied = httpx.post(
        served + "/api/v1/auth/login",
        json={"email": "ana@uni.edu", "password": "correct-horse-9"},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    assert proxied.status_code == 200
    events = cli.ok("audit", "list", "--entity", "session", "--json").json()[::-1]
    sources = {(e["actor"], e["after"].get("source")) for e in events if e["action"] == "login"}
    assert ("ana@uni.edu", "203.0.113.7") in sources  # through the proxy
    assert ("dean@uni.edu", "127.0.0.1") in sources  # the client, straight to the server
    assert ("dean@uni.edu", None) in sources  # where the database is
    assert sql(db_url, "SELECT COUNT(*) FROM audit_event WHERE origin = '203.0.113.7'") == 1
    # A trusted proxy forwards whatever the client claimed first: kept within its column.
    claimed = httpx.post(
        served + "/api/v1/auth/login",
        json={"email": "ana@uni.edu", "password": "correct-horse-9"},
        headers={"X-Forwarded-For": "x" * 300},
    )
    assert claimed.status_code == 200
    assert sql(db_url, "SELECT MAX(LENGTH(origin)) FROM audit_event") == 64


@pytest.fixture
def served_over_tls(
    cli: Cli, offerings: dict[str, int], tmp_path: Path
) -> Iterator[tuple[str, Path]]:
    """The app behind TLS (uvicorn with a self-signed certificate for 127.0.0.1, as a
    campus CA's would be): its https URL and the certificate to trust."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "cms_cli.server.app:create_app", "--factory",
         "--port", str(port), "--ssl-keyfile", str(key), "--ssl-certfile", str(cert),
         "--timeout-graceful-shutdown", "2"],
        env={**os.environ, **cli.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    url = f"https://127.0.0.1:{port}"
    wait_until_up(proc, url, ssl.create_default_context(cafile=cert))
    yield url, cert
    proc.terminate()
    proc.wait(timeout=15)


def test_the_client_trusts_the_systems_certificates_only(
    cli: Cli, served_over_tls: tuple[str, Path], tmp_path: Path
) -> None:
    """https is verified against the machine's trust store (SSL_CERT_FILE points at
    another): a certificate nobody vouches for is refused (exit 7, naming the URL);
    the doctor agrees with the client."""
    url, cert = served_over_tls
    far = client_of(url, tmp_path, cli)
    refused = far("auth", "login", "--email", "dean@uni.edu", "--password-stdin",
                  input="correct-horse-9\n")  # fmt: skip
    assert refused.exit_code == 7
    # The certificate is named, not the address: the address is right.
    assert f"error: the certificate of {url} is not trusted here (" in refused.stderr
    assert "hint: install the certificate authority that signed it" in refused.stderr
    doctor = far("doctor").stdout
    assert "server    down" in doctor
    assert "certificate authority" in doctor
    far.env["SSL_CERT_FILE"] = str(cert)
    far.login("dean@uni.edu")
    assert (
        far.ok("offering", "list", "--json").json() == cli.ok("offering", "list", "--json").json()
    )
    checks = far("doctor").stdout
    assert "server    ok" in checks
    assert "tls       ok" in checks


def test_every_worker_serves_the_profile_and_one_set_of_metrics(
    cli: Cli, offerings: dict[str, int], tmp_path: Path
) -> None:
    """`cms --profile staging serve --workers 2`: each worker serves the staging
    profile's database (the default one has none here, so a worker that read its own
    would answer 503), and /metrics, whichever worker answers, counts every request of
    both: the same total at every read."""
    import concurrent.futures

    home = tmp_path / "server-home"
    home.mkdir()
    url = cli.env["CMS_DATABASE_URL"]
    (home / "config.toml").write_text(f'[staging]\ndatabase_url = "{url}"\n', encoding="utf-8")
    env = {**os.environ, "CMS_HOME": str(home), "CMS_NOW": cli.env["CMS_NOW"]}
    for name in ("CMS_DATABASE_URL", "CMS_PROFILE", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cms_cli",
            "--profile",
            "staging",
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, served)
        token = cli.ok("auth", "token").stdout.strip()
        one = f"{served}/api/v1/offerings/{offerings['A']}"

        def ask(_: int) -> int:
            with httpx.Client() as client:  # a connection each: both workers take some
                return client.get(one, headers={"Authorization": f"Bearer {token}"}).status_code

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            assert set(pool.map(ask, range(40))) == {200}
        wanted = (
            'cms_http_requests_total{method="GET",route="/api/v1/offerings/{offering_id}",'
            'status="200"}'
        )
        totals = []
        for _ in range(8):
            with httpx.Client() as client:
                lines = client.get(served + "/metrics").text.splitlines()
            totals.append(sum(float(x.rsplit(" ", 1)[1]) for x in lines if x.startswith(wanted)))
        assert totals == [40.0] * 8
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_connection_survives_an_error(cli: Cli, offerings: dict[str, int], served: str) -> None:
    """Errors answered on a POST (a value too large for the database, a body that is not
    JSON) leave the keep-alive connection usable for the next request."""
    import http.client
    import json

    token = cli.ok("auth", "token").stdout.strip()
    me = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", int(served.rsplit(":", 1)[1]), timeout=30)
    for _ in range(3):
        conn.request(
            "POST", "/api/v1/offerings/99999999999999999999/cancel", body=b"{}", headers=me
        )
        refused = conn.getresponse()
        refusal = json.loads(refused.read())
        assert (refused.status, refusal["exit_code"]) == (422, 1)
        assert refusal["detail"].startswith("offering_id: ")
        conn.request("POST", "/api/v1/offerings", body=b"{not json", headers=me)
        junk = conn.getresponse()
        assert (junk.status, json.loads(junk.read())["exit_code"]) == (422, 1)
        conn.request("GET", "/api/v1/auth/status", headers=me)
        status = conn.getresponse()
        assert status.status == 200
        status.read()
    conn.close()


def test_a_failed_request_is_one_json_log_line_naming_its_request_id(tmp_path: Path) -> None:
    """`cms serve --log-format json` with its database down: each failed request is
    one JSON object on one line of the server's log, with the request id the client was
    told, the event and where it failed; no traceback (that is --debug's)."""
    import json

    port = free_port()
    dead = f"mysql+pymysql://cms:hunter2@127.0.0.1:{free_port()}/cms"
    env = {**os.environ, "CMS_HOME": str(tmp_path), "CMS_DATABASE_URL": dead}
    env.pop("CMS_SERVER_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cms_cli", "serve", "--port", str(port), "--log-format", "json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(url + "/health", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None
                assert time.monotonic() < deadline
                time.sleep(0.1)
        login = httpx.post(
            url + "/api/v1/auth/login", json={"email": "a@uni.edu", "password": "x" * 10}
        )
    finally:
        proc.terminate()
        _, log = proc.communicate(timeout=30)
    assert health.status_code == 503
    assert login.status_code == 503
    told = {health.headers["x-request-id"], login.headers["x-request-id"]}
    assert "Traceback" not in log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    failed = [line for line in lines if line.get("event") == "request_failed"]
    assert {line["request_id"] for line in failed} == told
    for line in failed:
        assert line["level"] == "error"
        assert line["message"].startswith(f"request {line['request_id']}: ")
        assert line["where"] != "-"


@pytest.fixture
def patient(cli: Cli, offerings: dict[str, int]) -> Iterator[str]:
    """A `cms serve` over this test's database that waits 2 s for a lock."""
    yield from _serving(cli, CMS_LOCK_WAIT_SECONDS="2")


def test_a_locked_table_is_a_503_within_the_lock_wait_and_the_connection_lives_on(
    cli: Cli, offerings: dict[str, int], patient: str, db_url: str
) -> None:
    """Another connection holds the offering table (MariaDB: LOCK TABLES ... WRITE) or
    the database's write lock (SQLite): a write through the server waits
    lock_wait_seconds, then is answered 503 "database too busy" with Retry-After and
    exit 7, and the same keep-alive connection serves the next request."""
    import http.client
    import json
    import sqlite3

    import sqlalchemy as sa

    token = cli.ok("auth", "token").stdout.strip()
    me = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if db_url.startswith("sqlite"):
        holder: Any = sqlite3.connect(sa.make_url(db_url).database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        holder = sa.create_engine(db_url).connect()
        holder.exec_driver_sql("LOCK TABLES offering WRITE")
    conn = http.client.HTTPConnection("127.0.0.1", int(patient.rsplit(":", 1)[1]), timeout=60)
    try:
        conn.request("POST", f"/api/v1/offerings/{offerings['A']}/cancel", body=b"{}", headers=me)
        busy = conn.getresponse()
        document = json.loads(busy.read())
    finally:
        if db_url.startswith("sqlite"):
            holder.execute("ROLLBACK")
            holder.close()
        else:
            holder.exec_driver_sql("UNLOCK TABLES")
            holder.close()
    assert (busy.status, document["exit_code"]) == (503, 7)
    assert document["detail"].startswith("database too busy (request ")
    assert busy.getheader("Retry-After") == "5"
    conn.request("GET", f"/api/v1/offerings/{offerings['A']}", headers=me)
    after = conn.getresponse()
    assert after.status == 200
    assert json.loads(after.read())["status"] != "cancelled"
    conn.close()


@pytest.mark.parametrize("db_url", [pytest.param("mysql", marks=pytest.mark.mysql)], indirect=True)
def test_a_statement_over_statement_seconds_is_stopped_and_a_503(
    cli: Cli, offerings: dict[str, int], db_url: str
) -> None:
    """With a lock wait of 30 s but statement_seconds 1, a request whose statement waits
    behind LOCK TABLES is stopped by MariaDB (max_statement_time) and answered 503
    while the lock is still held; the same connection then serves the next request."""
    import http.client
    import json

    import sqlalchemy as sa

    server = _serving(cli, CMS_LOCK_WAIT_SECONDS="30", CMS_STATEMENT_SECONDS="1")
    url = next(server)
    token = cli.ok("auth", "token").stdout.strip()
    me = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    holder = sa.create_engine(db_url).connect()
    holder.exec_driver_sql("LOCK TABLES offering WRITE")
    # A timeout under the lock wait: an answer at all is one before the lock's 30 s.
    conn = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1]), timeout=25)
    try:
        conn.request("POST", f"/api/v1/offerings/{offerings['A']}/cancel", body=b"{}", headers=me)
        busy = conn.getresponse()
        document = json.loads(busy.read())
    finally:
        holder.exec_driver_sql("UNLOCK TABLES")
        holder.close()
    assert (busy.status, document["exit_code"]) == (503, 7)
    assert document["detail"].startswith("database too busy (request ")
    conn.request("GET", f"/api/v1/offerings/{offerings['A']}", headers=me)
    after = conn.getresponse()
    assert after.status == 200
    assert json.loads(after.read())["status"] != "cancelled"
    conn.close()
    next(server, None)
