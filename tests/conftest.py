"""Fixtures: databases (SQLite and a private MariaDB), a CLI runner, accounts."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from servers import mariadb

from cms_cli.core import db as core_db

PASSWORD = "correct-horse-9"
MYSQL_DB = "cms_test"


def pytest_configure(config: pytest.Config) -> None:
    # Nothing from the developer's environment leaks into a test.
    for key in [k for k in os.environ if k.startswith("CMS_") and not k.startswith("CMS_TEST_")]:
        del os.environ[key]
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    os.environ["CMS_BCRYPT_ROUNDS"] = "4"  # cost 12 is tested once, in test_auth_service
    os.environ.pop("NO_COLOR", None)
    if not hasattr(config, "workerinput"):  # once, in the process that starts the workers
        _compile_the_package()


def _compile_the_package() -> None:
    """Compile cms_cli's modules once, as pip does when it installs a package: an
    editable checkout under PYTHONDONTWRITEBYTECODE (set on many CI machines) would
    otherwise compile every module again in each of the suite's hundreds of
    subprocesses. The flag stops imports from writing bytecode, not from reading it."""
    import compileall

    import cms_cli

    compileall.compile_dir(Path(cms_cli.__file__).parent, quiet=1, workers=1)


# -- databases ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mysql_root_url() -> Iterator[str]:
    """A MariaDB server URL without database: CMS_TEST_MYSQL_URL, or a private one."""
    given = os.environ.get("CMS_TEST_MYSQL_URL")
    if given:
        yield given.rstrip("/") + "/"
        return
    with mariadb() as url:
        yield url


def _migrate(url: str) -> None:
    from cms_cli.core import migrate
    from cms_cli.core.config import load_config

    saved = os.environ.get("CMS_DATABASE_URL")
    os.environ["CMS_DATABASE_URL"] = url
    try:
        migrate.upgrade(load_config(), "head")
    finally:
        if saved is None:
            os.environ.pop("CMS_DATABASE_URL", None)
        else:
            os.environ["CMS_DATABASE_URL"] = saved


def create_mysql_database(root_url: str, name: str) -> str:
    engine = sa.create_engine(root_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    engine.dispose()
    return root_url + name


@pytest.fixture(scope="session")
def mysql_template(mysql_root_url: str) -> str:
    url = create_mysql_database(mysql_root_url, MYSQL_DB)
    _migrate(url)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    file = tmp_path_factory.mktemp("template") / "cms.db"
    _migrate(f"sqlite:///{file}")
    core_db.dispose_all()
    return file


def _truncate_all(url: str) -> None:
    engine = core_db.engine_for(url)
    with engine.begin() as conn:
        conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=0"))
        for table in sa.inspect(conn).get_table_names():
            if table != "alembic_version":
                conn.execute(sa.text(f"TRUNCATE TABLE `{table}`"))
        conn.execute(sa.text("SET FOREIGN_KEY_CHECKS=1"))


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a SQLite file, or the MariaDB test database."""
    if request.param == "sqlite":
        file = tmp_path / "cms.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), file)
        url = f"sqlite:///{file}"
        yield url
        core_db.engine_for(url).dispose()
        core_db._engines.pop(url, None)
    else:
        url = request.getfixturevalue("mysql_template")
        _truncate_all(url)
        yield url


@pytest.fixture
def backend(db_url: str) -> str:
    return "mysql" if db_url.startswith("mysql") else "sqlite"


# -- running the CLI ------------------------------------------------------------------


@dataclass
class RunResult:
    """What a user sees: the exit code, stdout and stderr apart."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None = None

    def json(self) -> Any:
        import json

        return json.loads(self.stdout)

    def __str__(self) -> str:
        return (
            f"cms {' '.join(self.args)} -> {self.exit_code}\n"
            f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
        )


class Cli:
    """Runs ``cms`` in-process (Typer's runner) with this test's home and database."""

    def __init__(self, home: Path, env: dict[str, str], *, served: bool = False) -> None:
        self.home = home
        self.env = env
        #: User commands go through `cms serve` (the app in this process).
        self.served = served
        #: The shared fixtures' stages this test's database holds (see ``staged``), and
        #: whether anything else has run since (then no snapshot may replace it).
        self.stages: dict[str, Any] = {}
        self.dirty = False

    def __call__(
        self,
        *args: str,
        input: str | None = None,
        env: Mapping[str, str | None] | None = None,
        strict: bool = False,
    ) -> RunResult:
        from typer.testing import CliRunner

        from cms_cli.main import app

        self.dirty = True
        merged: dict[str, str | None] = {**self.env, **(env or {})}
        words = " ".join(a for a in args[:2] if not a.startswith("-"))
        if self.served and not words.startswith(OPERATOR) and "CMS_SERVER_URL" not in merged:
            merged["CMS_SERVER_URL"] = SERVED
        result = CliRunner().invoke(app, list(args), input=input, env=merged)
        run = RunResult(args, result.exit_code, result.stdout, result.stderr, result.exception)
        if strict:
            assert run.exit_code == 0, str(run)
        if run.exception is not None and not isinstance(run.exception, SystemExit):
            # Anything but a clean exit is a crash the error boundary missed.
            raise AssertionError(str(run)) from run.exception
        return run

    def config(self, **env: str) -> Any:
        """This test's settings as a service sees them (plus ``env``), for service calls."""
        from cms_cli.core.config import load_config

        saved = dict(os.environ)
        os.environ.update({k: v for k, v in self.env.items() if v is not None})
        os.environ.update(env)
        try:
            return load_config()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def ok(
        self, *args: str, input: str | None = None, env: Mapping[str, str | None] | None = None
    ) -> RunResult:
        return self(*args, input=input, env=env, strict=True)

    def subprocess(
        self, *args: str, input: str | None = None, env: Mapping[str, str] | None = None
    ) -> RunResult:
        """A real process, for what in-process runs cannot show (start-up, exit codes)."""
        self.dirty = True
        full = {**os.environ, **self.env, **(env or {})}
        proc = subprocess.run(
            [sys.executable, "-m", "cms_cli", *args],
            input=input,
            capture_output=True,
            text=True,
            env=full,
            timeout=120,
        )
        return RunResult(args, proc.returncode, proc.stdout, proc.stderr)

    def spawn(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """Start ``cms`` as a process of its own, logged in as the current user (races)."""
        token = self.ok("auth", "token").stdout.strip()
        return subprocess.Popen(
            [sys.executable, "-m", "cms_cli", *args],
            env={**os.environ, **self.env, "CMS_TOKEN": token, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    # accounts -------------------------------------------------------------------------

    def bootstrap(
        self,
        email: str = "dean@uni.edu",
        password: str = PASSWORD,
        env: Mapping[str, str | None] | None = None,
        strict: bool = False,
    ) -> RunResult:
        return self(
            *("auth", "bootstrap", "--email", email, "--name", "Ada Dean", "--password-stdin"),
            input=password + "\n",
            env=env,
            strict=strict,
        )

    def login(
        self, email: str, password: str = PASSWORD, env: Mapping[str, str | None] | None = None
    ) -> RunResult:
        return self.ok(
            "auth", "login", "--email", email, "--password-stdin", input=password + "\n", env=env
        )

    def add_user(self, email: str, role: str, name: str | None = None, **ids: str) -> RunResult:
        args = [
            "user",
            "add",
            "--email",
            email,
            "--name",
            name or email.split("@")[0].title(),
            "--role",
            role,
        ]
        for key, value in ids.items():
            args += [f"--{key.replace('_', '-')}", value]
        return self.ok(*args, "--password-stdin", input=PASSWORD + "\n")


#: Test modules whose CLI tests run twice: against the database, and as a client of
#: `cms serve` (the app in this process), with the same assertions.
BOTH_TRANSPORTS = frozenset(
    {
        "test_offerings_cli",
        "test_enrolments_cli",
        "test_tracker_cli",
        "test_catalog_cli",
        "test_audit_cli",
        "test_attendance",
        "test_deadlines",
        "test_report_by",
        "test_report_view",
        "test_user_cli",
        "test_auth_cli",
        "test_codes",
        "test_import_cli",
        "test_copy",
        "test_term_end",
        "test_import",
        "test_sweep_cli",
        "test_delivery",
        "test_digest",
        "test_lockout",
        "test_hostile_input",
        "test_small_surprises",
        "test_reflection_cli",
        "test_boundary",
        "test_output",
        "test_round_trip",
    }
)
#: Of those, the modules that run through `cms serve` on MariaDB too (the rest run
#: through it on SQLite): the whole product of both would pass the suite's 8 minutes.
SERVED_ON_MYSQL = frozenset({"test_offerings_cli", "test_tracker_cli", "test_copy"})
#: Commands that act on the database itself: run on the server host, never as a client.
OPERATOR = (
    "auth bootstrap",
    "db",
    "notify sweep",
    "notify prune",
    "worker",
    "demo",
    "serve",
    "config",
    "doctor",
)
SERVED = "http://127.0.0.1:9"  # never dialled: the runner's client talks to the app in-process


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rpartition(".")[2]
    local_only = metafunc.definition.get_closest_marker("local_only") is not None
    if "transport" in metafunc.fixturenames and module in BOTH_TRANSPORTS and not local_only:
        metafunc.parametrize("transport", ["local", "served"], indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Through `cms serve` on MariaDB only for SERVED_ON_MYSQL (see there)."""
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        module = item.module.__name__.rpartition(".")[2] if item.module else ""
        if (
            params.get("transport") == "served"
            and params.get("db_url") == "mysql"
            and module not in SERVED_ON_MYSQL
        ):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def transport(request: pytest.FixtureRequest) -> Iterator[str]:
    """How the CLI reaches the database: "local", or "served" (through cms serve)."""
    kind = getattr(request, "param", "local")
    if kind != "served":
        yield kind
        return
    from cms_cli.api import remote

    remote.sender = served_app
    try:
        yield kind
    finally:
        remote.sender = None


def served_app(request: Any) -> Any:
    """The client's request answered by the app in this process (one per test worker),
    serving the database of the environment the CLI runner set for this command."""
    from cms_cli.api.remote import Answer
    from cms_cli.core.config import load_config
    from cms_cli.server.limits import Limiter

    client = _test_client()
    client.app.state.config = load_config()  # type: ignore[attr-defined]
    # One app serves every test of this worker, from one client address: no rate limit
    # here (tests/server/test_rate_limit.py runs real servers for it).
    client.app.state.limiter = Limiter(None, 0)  # type: ignore[attr-defined]
    body = request.body
    if body is not None and not isinstance(body, bytes):
        body = body.read()
    answer = client.request(request.method, request.url, headers=request.headers, content=body)
    return Answer(answer.status_code, dict(answer.headers), answer.content)


@functools.cache
def _test_client() -> Any:
    from fastapi.testclient import TestClient

    from cms_cli.core.config import load_config
    from cms_cli.server.app import create_app

    return TestClient(create_app(load_config()), raise_server_exceptions=False)


@pytest.fixture
def cli(tmp_path: Path, db_url: str, transport: str) -> Cli:
    home = tmp_path / "home"
    home.mkdir()
    return Cli(
        home, {"CMS_HOME": str(home), "CMS_DATABASE_URL": db_url}, served=transport == "served"
    )


# -- the shared fixtures, built once per worker on SQLite ------------------------------
# Most tests start from the same term (a manager, people, a catalog, two offerings,
# some logs), built through the CLI: on SQLite each stage is built once per worker and
# transport, kept (the database file, the home with its token, the environment), and
# copied for the next test that starts from it. On MariaDB every test builds it.

#: (stage, served) -> (database file, home folder, environment, value)
_SNAPSHOTS: dict[tuple[str, bool], tuple[Path, Path, dict[str, str], Any]] = {}


def staged(
    request: pytest.FixtureRequest,
    cli: Cli,
    stage: str,
    before: str | None,
    build: Callable[[], Any],
) -> Any:
    """The value of ``stage`` for this test: already there, copied from its snapshot
    (a clean SQLite database that holds no later stage), or built after ``before``."""
    if stage in cli.stages:
        return cli.stages[stage]
    url = cli.env["CMS_DATABASE_URL"]
    sqlite = url.startswith("sqlite:///")
    key = (stage, cli.served)
    if sqlite and not cli.dirty and key in _SNAPSHOTS:
        _restore(cli, url, *_SNAPSHOTS[key][:3])
        cli.stages = dict(_SNAPSHOTS[key][3])
        return cli.stages[stage]
    if before is not None:
        request.getfixturevalue(before)
    clean = not cli.dirty
    value = build()
    cli.stages[stage] = value
    if sqlite and clean:  # nothing but stages ran: keep it for the next test
        folder = request.getfixturevalue("tmp_path_factory").mktemp(f"stage-{stage}")
        _dispose(url)
        shutil.copy(url.removeprefix("sqlite:///"), folder / "cms.db")
        shutil.copytree(cli.home, folder / "home")
        env = {k: v for k, v in cli.env.items() if k not in ("CMS_HOME", "CMS_DATABASE_URL")}
        _SNAPSHOTS[key] = (folder / "cms.db", folder / "home", env, dict(cli.stages))
    cli.dirty = False
    return value


def _dispose(url: str) -> None:
    """Close the database's connections (SQLite's WAL is written back on the last)."""
    engine = core_db._engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def _restore(cli: Cli, url: str, db: Path, home: Path, env: dict[str, str]) -> None:
    _dispose(url)
    target = Path(url.removeprefix("sqlite:///"))
    for extra in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        extra.unlink(missing_ok=True)
    shutil.copy(db, target)
    shutil.copytree(home, cli.home, dirs_exist_ok=True)  # what a fixture put there stays
    cli.env.update(env)
    cli.dirty = False


@pytest.fixture
def manager(request: pytest.FixtureRequest, cli: Cli) -> str:
    """A bootstrapped manager, logged in."""

    def build() -> str:
        email = "dean@uni.edu"
        cli.bootstrap(email, strict=True)
        cli.login(email)
        return email

    value: str = staged(request, cli, "manager", None, build)
    return value


@pytest.fixture
def people(request: pytest.FixtureRequest, cli: Cli) -> dict[str, str]:
    """A manager (logged in), a second manager, two facilitators and two students."""
    value: dict[str, str] = staged(request, cli, "people", "manager", lambda: _people(cli))
    return value


def _people(cli: Cli) -> dict[str, str]:
    manager = "dean@uni.edu"
    cli.add_user("boss@uni.edu", "manager", "Bo Boss")
    cli.add_user("ana@uni.edu", "facilitator", "Ana Lopez", employee_id="E1")
    cli.add_user("ben@uni.edu", "facilitator", "Ben Ode", employee_id="E2")
    cli.add_user("sam@uni.edu", "student", "Sam Stu", student_id="S1")
    cli.add_user("sue@uni.edu", "student", "Sue Stu", student_id="S2")
    return {
        "manager": manager,
        "manager2": "boss@uni.edu",
        "facilitator": "ana@uni.edu",
        "facilitator2": "ben@uni.edu",
        "student": "sam@uni.edu",
        "student2": "sue@uni.edu",
    }


def sql(db_url: str, statement: str, params: Mapping[str, Any] | None = None) -> Any:
    """Run one statement on the test database directly, past every check of cms (rows
    another tool, an older cms or a moved clock left); the first column of the first
    row, if any."""
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), dict(params or {}))
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def set_name(db_url: str, email: str, name: str) -> None:
    """Store a name directly, as another tool or an older cms might have (no checks)."""
    sql(db_url, "UPDATE app_user SET name = :n WHERE email = :e", {"n": name, "e": email})


@pytest.fixture
def session(cli: Cli, db_url: str) -> Iterator[Any]:
    """A SQLModel session on the test database, for service-level tests."""
    from sqlmodel import Session

    with Session(core_db.engine_for(db_url), expire_on_commit=False) as s:
        yield s


# -- a small term (offerings, tracker) ---------------------------------------------

TERM_NOW = "2026-02-01T12:00:00+00:00"


@pytest.fixture
def term(request: pytest.FixtureRequest, cli: Cli) -> dict[str, str]:
    value: dict[str, str] = staged(request, cli, "term", "people", lambda: _term(cli))
    return value


def _term(cli: Cli) -> dict[str, str]:
    people: dict[str, str] = cli.stages["people"]
    cli.env["CMS_NOW"] = TERM_NOW
    cli.env["CMS_SESSION_HOURS"] = "2160"  # 90 days: tests may move "now" forward
    cli.login("dean@uni.edu")
    cli.ok("module", "add", "CS101", "--name", "Intro to Programming", "--credits", "5")
    cli.ok("module", "add", "MA201", "--name", "Algebra", "--credits", "10")
    cli.ok("class", "add", "2026J", "--year", "2026", "--trimester", "1", "--intake", "FT")
    cli.ok("class", "add", "2026K", "--year", "2026", "--trimester", "2", "--intake", "HT1")
    cli.ok("cohort", "add", "Cohort A")
    cli.ok("cohort", "add", "Cohort B")
    return people


def create(
    cli: Cli,
    *extra: str,
    module: str = "CS101",
    klass: str = "2026J",
    cohort: str = "Cohort A",
    mode: str = "online",
    start: str = "2026-01-12",
    end: str = "2026-04-03",
) -> int:
    result = cli.ok(
        "offering",
        "create",
        "--module",
        module,
        "--class",
        klass,
        "--cohort",
        cohort,
        "--mode",
        mode,
        "--start",
        start,
        "--end",
        end,
        "--json",
        *extra,
    )
    offering_id: int = result.json()["id"]
    return offering_id


ALL_DONE = [
    "--formative-one",
    "done",
    "--formative-two",
    "done",
    "--summative",
    "done",
    "--moderation",
    "done",
    "--intranet-sync",
    "done",
    "--grade-book",
    "done",
]


@pytest.fixture
def offerings(request: pytest.FixtureRequest, cli: Cli) -> dict[str, int]:
    value: dict[str, int] = staged(request, cli, "offerings", "term", lambda: _offerings(cli))
    return value


def _offerings(cli: Cli) -> dict[str, int]:
    a = create(cli, "--facilitator", "ana@uni.edu", start="2026-01-05", end="2026-02-27")
    b = create(
        cli, "--facilitator", "ben@uni.edu", module="MA201", start="2026-01-12", end="2026-03-06"
    )
    cli.ok("offering", "enrol", str(a), "--student", "sam@uni.edu", "--student", "sue@uni.edu")
    return {"A": a, "B": b}


@pytest.fixture
def logged(request: pytest.FixtureRequest, cli: Cli) -> dict[str, int]:
    value: dict[str, int] = staged(request, cli, "logged", "offerings", lambda: _logged(cli))
    return value


def _logged(cli: Cli) -> dict[str, int]:
    offerings: dict[str, int] = cli.stages["offerings"]
    a, b = str(offerings["A"]), str(offerings["B"])
    cli.login("ana@uni.edu")
    cli.ok("tracker", "log", "--offering", a, "--week", "1", "--all-present", *ALL_DONE)
    cli.ok("tracker", "log", "--offering", a, "--week", "2", "--formative-one", "done")
    cli.ok("tracker", "log", "--offering", a, "--week", "4", "--summative", "pending")
    cli.login("ben@uni.edu")
    cli.ok("tracker", "log", "--offering", b, "--week", "1", "--all-present", *ALL_DONE)
    cli.login("dean@uni.edu")
    return offerings


# -- queue and mail -------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis for the queue: CMS_TEST_REDIS_URL, or a private redis-server."""
    from servers import redis_server

    given = os.environ.get("CMS_TEST_REDIS_URL")
    if given:
        yield given
        return
    with redis_server() as (url, _proc):
        yield url


@pytest.fixture
def fresh_redis(redis_url: str) -> str:
    """The shared Redis, emptied for this test."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    return redis_url


@pytest.fixture
def smtp() -> Iterator[Any]:
    """An SMTP sink on a free port of 127.0.0.1 that keeps what it receives."""
    from servers import SmtpSink

    sink = SmtpSink().start()
    yield sink
    sink.stop()
