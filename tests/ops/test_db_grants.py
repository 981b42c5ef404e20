"""`cms db grants`: a least-privilege MySQL/MariaDB account that runs cms but can only
append to the audit trail. Proven on the private MariaDB by running the product as it."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import ALL_DONE, Cli

APP_USER = "cms_app"
APP_PASSWORD = "app-secret-7"


@pytest.fixture
def embedded(tmp_path: Path) -> Cli:
    """No database configured: the embedded SQLite default."""
    return Cli(tmp_path, {"CMS_HOME": str(tmp_path)})


def test_grants_need_a_mysql_database(embedded: Cli) -> None:
    refused = embedded("db", "grants")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: grants are for a MySQL/MariaDB database")
    assert "hint:" in refused.stderr


def test_grants_name_every_table_and_quote_what_they_are_given(embedded: Cli) -> None:
    # No connection is made: the statements come from the models.
    env = {"CMS_DATABASE_URL": "mysql+pymysql://root@db.invalid/reg`istry"}
    out = embedded.ok("db", "grants", "--user", "o'brien", "--host", "10.0.%", env=env).stdout
    lines = out.splitlines()
    assert "GRANT SELECT, INSERT ON `reg``istry`.`audit_event` TO 'o''brien'@'10.0.%';" in lines
    assert "GRANT SELECT ON `reg``istry`.`alembic_version` TO 'o''brien'@'10.0.%';" in lines
    assert (
        "GRANT SELECT, INSERT, UPDATE, DELETE ON `reg``istry`.`offering` TO 'o''brien'@'10.0.%';"
        in lines
    )
    from sqlmodel import SQLModel

    assert len(lines) == len(SQLModel.metadata.tables) + 1


@pytest.mark.parametrize("db_url", [pytest.param("mysql", marks=pytest.mark.mysql)], indirect=True)
def test_cms_runs_as_the_granted_account_which_cannot_rewrite_the_audit_trail(
    cli: Cli, logged: dict[str, int], db_url: str
) -> None:
    root = sa.create_engine(db_url)
    with root.begin() as conn:
        for host in ("%", "localhost"):
            conn.execute(sa.text(f"DROP USER IF EXISTS '{APP_USER}'@'{host}'"))
            conn.execute(
                sa.text(f"CREATE USER '{APP_USER}'@'{host}' IDENTIFIED BY '{APP_PASSWORD}'")
            )
            grants = cli.ok("db", "grants", "--user", APP_USER, "--host", host).stdout
            for statement in grants.splitlines():
                conn.execute(sa.text(statement))
    try:
        url = sa.make_url(db_url).set(username=APP_USER, password=APP_PASSWORD)
        app_url = url.render_as_string(hide_password=False)
        cli.env["CMS_DATABASE_URL"] = app_url
        a = str(logged["A"])
        # The product works: schema check, sessions, writes, deletes, sweep, reads.
        cli.login("ana@uni.edu")
        cli.ok("tracker", "log", "--offering", a, "--week", "3", "--all-present", *ALL_DONE)
        cli.login("dean@uni.edu")
        cli.ok("offering", "update", a, "--max-students", "40")
        cli.ok("offering", "unenrol", a, "--student", "sue@uni.edu")
        cli.ok("tracker", "delete", "--offering", a, "--week", "3", "--yes")
        assert cli.ok("notify", "sweep", "--json").json()["reminders"] >= 1
        assert cli.ok("audit", "list", "--json").json()
        assert cli.ok("db", "current", "--json").json()["up_to_date"] is True
        # ... but the audit trail cannot be rewritten, nor the schema revision moved.
        app = sa.create_engine(app_url)
        try:
            for statement in (
                "UPDATE audit_event SET actor = 'nobody'",
                "DELETE FROM audit_event",
                "UPDATE alembic_version SET version_num = '0001'",
            ):
                with pytest.raises(sa.exc.OperationalError) as refused, app.begin() as conn:
                    conn.execute(sa.text(statement))
                assert refused.value.orig.args[0] == 1142  # type: ignore[union-attr]
        finally:
            app.dispose()
    finally:
        cli.env["CMS_DATABASE_URL"] = db_url
        with root.begin() as conn:
            for host in ("%", "localhost"):
                conn.execute(sa.text(f"DROP USER IF EXISTS '{APP_USER}'@'{host}'"))
        root.dispose()
