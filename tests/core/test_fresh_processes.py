"""Every command of the registry, run once as its own fresh process (`python -m cms_cli`).

In-process test runs share one interpreter, so a model imported by an earlier test
hides a command whose own process never imports it (`cms notify retry` crashed with
"could not find table 'offering'" for that reason). Here each command starts from
nothing. `test_every_command_is_covered` fails when a command is added to the registry
without a step below, so the class cannot come back through a new command.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import ALL_DONE, PASSWORD, Cli, RunResult, sql

from cms_cli.main import COMMANDS, load_command


@cache
def leaf_commands() -> frozenset[str]:
    """Every runnable command path: "offering create", "worker", "inbox", ..."""
    paths: set[str] = set()
    for name in COMMANDS:
        command = load_command(name)
        subs = getattr(command, "commands", None)
        if not subs or getattr(command, "invoke_without_command", False):
            paths.add(name)
        for sub in subs or {}:
            paths.add(f"{name} {sub}")
    return frozenset(paths)


@dataclass
class Step:
    args: tuple[str, ...]
    who: str | None = "manager"  # whose token (None: no token, an operator command)
    code: int | tuple[int, ...] = 0
    input: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    before: Callable[[], None] | None = None

    @property
    def command(self) -> str:
        words = [a for a in self.args[:2] if not a.startswith("-")]
        return " ".join(words) if " ".join(words) in leaf_commands() else words[0]


def fresh(cli: Cli, step: Step, tokens: dict[str, str]) -> RunResult:
    env = dict(step.env)
    if step.who is not None:
        env["CMS_TOKEN"] = tokens[step.who]
    return cli.subprocess(*step.args, input=step.input, env=env)


def _csv(path: Path, *lines: str) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _fail_one_notification(db_url: str) -> Callable[[], None]:
    def run() -> None:
        sql(
            db_url,
            "UPDATE notification SET status = 'failed', attempts = 5, "
            "last_error = 'SMTPServerDisconnected' WHERE id = 1",
        )

    return run


#: Where `offering copy` puts a copy of 2026K in the scenario (trimesters differ).
NEXT_TERM = ("--start", "2026-09-07", "--json")


def scenario(cli: Cli, db_url: str, tmp: Path, offering: int, backend: str) -> list[Step]:
    """One step per command, in an order where each finds what it needs."""
    a = str(offering)
    embedded = {"CMS_HOME": str(tmp / "embedded"), "CMS_DATABASE_URL": ""}
    demo_home = {"CMS_HOME": str(tmp / "demo"), "CMS_DATABASE_URL": ""}
    reflection = tmp / "reflection.json"
    reflection.write_text(
        json.dumps(
            {
                "offering": offering,
                "language": "en",
                "answers": {"question1": "a", "question2": "b", "question3": "c"},
                "submitted_at": "2026-02-01T10:00:00Z",
            }
        ),
        encoding="utf-8",
    )
    collected = tmp / "collected"  # a course team's drop box: a newer one of the student's
    collected.mkdir()
    (collected / "reflection-offering.json").write_text(
        reflection.read_text().replace("2026-02-01T10:00", "2026-02-02T10:00")[:-1]
        + ', "email": "sam@uni.edu"}',
        encoding="utf-8",
    )
    users = _csv(tmp / "users.csv", "email,name,role", "new1@uni.edu,New One,student")
    offerings = _csv(
        tmp / "offerings.csv",
        "module,class,cohort,mode,start_date,end_date",
        "CS101,2026K,Cohort B,hybrid,2026-05-04,2026-07-31",
    )
    weeks = _csv(tmp / "weeks.csv", "offering,week,summative_grading", f"{a},2,done")
    new_password = "another-horse-7\n"
    return [
        Step(
            (
                "auth",
                "bootstrap",
                "--email",
                "first@uni.edu",
                "--name",
                "First",
                "--password-stdin",
            ),
            who=None,
            input=PASSWORD + "\n",
            env=embedded,
        ),
        Step(
            ("auth", "login", "--email", "boss@uni.edu", "--password-stdin"),
            who=None,
            input=PASSWORD + "\n",
        ),
        Step(("auth", "status", "--json")),
        Step(
            (
                "auth",
                "refresh",
            )
        ),
        Step(
            (
                "auth",
                "token",
            )
        ),
        Step(
            ("auth", "passwd", "--password-stdin"),
            who="student2",
            input=PASSWORD + "\n" + new_password,
        ),
        Step(
            (
                "auth",
                "logout",
            ),
            who="student2",
        ),
        Step(
            (
                "user",
                "add",
                "--email",
                "x@uni.edu",
                "--name",
                "X Y",
                "--role",
                "student",
                "--password-stdin",
            ),
            input=PASSWORD + "\n",
        ),
        Step(("user", "import", users)),
        Step(("user", "list", "--json")),
        Step(("user", "set-password", "x@uni.edu", "--password-stdin"), input=new_password),
        Step(("user", "deactivate", "x@uni.edu", "--yes")),
        Step(("user", "activate", "x@uni.edu")),
        Step(("module", "add", "PH101", "--name", "Physics", "--credits", "3")),
        Step(("module", "list", "--csv")),
        Step(("module", "deactivate", "PH101")),
        Step(("module", "activate", "PH101")),
        Step(("cohort", "add", "Cohort Z")),
        Step(
            (
                "cohort",
                "list",
            )
        ),
        Step(("cohort", "deactivate", "Cohort Z")),
        Step(("cohort", "activate", "Cohort Z")),
        Step(("class", "add", "2027J", "--year", "2027", "--trimester", "1", "--intake", "FT")),
        Step(("class", "list", "--json")),
        Step(("class", "deactivate", "2027J")),
        Step(("class", "activate", "2027J")),
        Step(
            (
                "offering",
                "create",
                "--module",
                "PH101",
                "--class",
                "2026J",
                "--cohort",
                "Cohort A",
                "--mode",
                "online",
                "--start",
                "2026-01-05",
                "--end",
                "2026-03-01",
                "--json",
            )
        ),
        Step(("offering", "list", "--json")),
        Step(("offering", "show", a, "--json")),
        Step(("offering", "update", a, "--max-students", "40")),
        Step(("offering", "import", offerings)),
        Step(("offering", "copy", "--from-class", "2026K", "--to-class", "2026J", *NEXT_TERM)),
        Step(("offering", "enrol", a, "--student", "x@uni.edu")),
        Step(("offering", "unenrol", a, "--student", "x@uni.edu")),
        Step(("offering", "students", a, "--csv")),
        Step(
            ("tracker", "log", "--offering", a, "--week", "3", "--all-present", *ALL_DONE),
            who="facilitator",
        ),
        Step(("tracker", "show", "--offering", a, "--week", "3", "--json"), who="facilitator"),
        Step(("tracker", "list", "--status", "overdue", "--json")),
        Step(("tracker", "report", "--json")),
        Step(("tracker", "report", "--by", "facilitator", "--csv")),
        Step(("tracker", "attendance", "--below", "80", "--json")),
        Step(("tracker", "deadlines", "--json"), who="facilitator"),
        Step(("tracker", "import", weeks, "--json"), who="facilitator"),
        Step(("tracker", "delete", "--offering", a, "--week", "3", "--yes")),
        Step(("offering", "close", "--class", "2026K", "--dry-run")),
        # No SMTP here: codes are only ever e-mailed (exit 7), never shown.
        Step(("user", "invite", "x@uni.edu"), code=7),
        Step(("auth", "forgot", "--email", "x@uni.edu"), who=None, code=7),
        Step(
            ("auth", "accept", "AAAA-BBBB-CCCC-DDDD", "--password-stdin"),
            who=None,
            code=4,
            input="whatever-pass-1\n",
        ),
        Step(("notify", "sweep", "--json"), who=None),
        Step(("notify", "list", "--json")),
        Step(("notify", "prune", "--before", "2026-01-01", "--yes", "--json"), who=None),
        Step(("notify", "retry", "1"), before=_fail_one_notification(db_url)),
        Step(("worker", "--no-scheduler")),  # run by run_worker below
        # A real `cms serve` runs in tests/server; here the process starts and refuses.
        Step(("serve", "--port", "0"), who=None, code=1),
        # as the recipient of inbox item 1 (what the worker just delivered)
        Step(("inbox", "--json"), who="inbox-owner"),
        Step(("inbox", "show", "1", "--json"), who="inbox-owner"),
        Step(("inbox", "read", "--all"), who="inbox-owner"),
        Step(("reflection", "submit", str(reflection)), who="student"),
        Step(("reflection", "list", "--offering", a, "--json")),
        Step(("reflection", "import", str(collected), "--json")),
        Step(("reflection", "summary", "--json")),
        Step(("audit", "list", "--json")),
        Step(("config", "show", "--json"), who=None),
        Step(
            (
                "config",
                "path",
            ),
            who=None,
        ),
        Step(("db", "current", "--json"), who=None),
        # grants are for MySQL; on SQLite the command says so (exit 1)
        Step(
            (
                "db",
                "grants",
            ),
            who=None,
            code=0 if backend == "mysql" else 1,
        ),
        Step(("db", "downgrade", "0004", "--yes"), who=None),
        Step(
            (
                "db",
                "upgrade",
            ),
            who=None,
        ),
        Step(("db", "backup", str(tmp / "backup.sqlite")), who=None),
        Step(("db", "restore", str(tmp / "backup.sqlite"), "--yes"), who=None),
        Step(("db", "copy", "--to", f"sqlite:///{tmp / 'copy.db'}", "--yes"), who=None),
        # ok, or a failing check (exit 1: no worker heartbeat) - never a crash
        Step(("doctor", "--json"), who=None, code=(0, 1)),
        Step(("offering", "cancel", a, "--yes")),
        Step(("demo",), who=None, env=demo_home),
    ]


def run_worker(cli: Cli, tokens: dict[str, str], db_url: str) -> RunResult:
    """The worker delivers what `notify retry` queued, then stops on SIGTERM (exit 0)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "cms_cli", "worker", "--no-scheduler"],
        env={**os.environ, **cli.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    engine = sa.create_engine(db_url)
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            with engine.connect() as conn:
                status = conn.execute(
                    sa.text("SELECT status FROM notification WHERE id = 1")
                ).scalar()
            if status == "sent":
                break
            time.sleep(0.2)
        assert status == "sent", f"the retried notification is {status}"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        engine.dispose()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return RunResult(("worker", "--no-scheduler"), proc.returncode, out, err)


def _inbox_owner(db_url: str) -> str:
    """Whose token reads inbox item 1."""
    email = sql(
        db_url,
        "SELECT u.email FROM inbox_item i JOIN app_user u ON u.id = i.user_id WHERE i.id = 1",
    )
    by_email = {"ana@uni.edu": "facilitator", "ben@uni.edu": "facilitator2"}
    return by_email.get(str(email), "manager")


def test_every_command_is_covered(cli: Cli, tmp_path: Path) -> None:
    steps = scenario(cli, "sqlite://", tmp_path, 1, "sqlite")
    covered = {s.command for s in steps}
    assert leaf_commands() - covered == set()


#: On MariaDB, the steps whose process touches what differs there (the outbox's
#: insert-ignore and row claims, the recovery path the review found broken on both
#: databases, the grants, the doctor's checks); every command runs on SQLite. The class
#: under test (a process missing models) does not depend on the database, and the
#: whole list twice cost 40 s of the suite's 8-minute budget.
MYSQL_STEPS = frozenset(
    {"notify sweep", "notify list", "notify retry", "worker", "inbox", "inbox show",
     "db current", "db grants", "db backup", "db restore", "doctor", "auth login",
     "offering import", "tracker log"}
)  # fmt: skip


@pytest.mark.slow
def test_every_command_as_a_fresh_process(
    cli: Cli, logged: dict[str, int], db_url: str, backend: str, tmp_path: Path
) -> None:
    cli.env["CMS_SESSION_HOURS"] = "2160"
    tokens: dict[str, str] = {}
    for who, email in (
        ("student2", "sue@uni.edu"),
        ("student", "sam@uni.edu"),
        ("facilitator2", "ben@uni.edu"),
        ("facilitator", "ana@uni.edu"),
        ("manager", "dean@uni.edu"),
    ):
        cli.login(email)
        tokens[who] = cli.ok("auth", "token").stdout.strip()
    failures: list[str] = []
    for step in scenario(cli, db_url, tmp_path, logged["A"], backend):
        if backend == "mysql" and step.command not in MYSQL_STEPS:
            continue
        if step.before is not None:
            step.before()
        if step.who == "inbox-owner":
            tokens["inbox-owner"] = tokens[_inbox_owner(db_url)]
        if step.args[0] == "worker":
            run = run_worker(cli, tokens, db_url)
        else:
            run = fresh(cli, step, tokens)
        codes = step.code if isinstance(step.code, tuple) else (step.code,)
        crashed = "Traceback" in run.stderr or "internal error" in run.stderr
        if run.exit_code not in codes or crashed:
            failures.append(str(run))
    assert failures == [], "\n".join(failures)
