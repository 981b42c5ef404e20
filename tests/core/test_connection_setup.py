"""What a connection to MySQL/MariaDB is set up with, in one statement (core.mysql), and
the schema checked with one statement in the command's own transaction."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import create_mysql_database

from cms_cli.core import mysql
from cms_cli.core.db import engine_for, schema_revision
from cms_cli.core.migrate import SCHEMA_HEAD


@pytest.mark.parametrize(
    ("version", "variable"),
    [
        ("10.11.6-MariaDB-0+deb12u1", "tx_isolation"),
        ("5.5.5-10.6.12-MariaDB", "tx_isolation"),
        ("11.4.2-MariaDB", "transaction_isolation"),
        ("8.0.36", "transaction_isolation"),
        ("5.7.44-log", "transaction_isolation"),
    ],
)
def test_the_isolation_variable_follows_the_server(version: str, variable: str) -> None:
    assert mysql.isolation_variable(version) == variable


@pytest.mark.mysql
@pytest.mark.parametrize("db_url", ["mysql"], indirect=True)
def test_a_connection_is_strict_utc_read_committed_and_transactional(db_url: str) -> None:
    engine = engine_for(db_url)
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT @@session.sql_mode, @@session.time_zone, @@session.autocommit,"
                " @@character_set_client, @@character_set_results"
            )
        ).one()
        isolation = conn.execute(sa.text("SELECT @@session.tx_isolation")).scalar()
    sql_mode, time_zone, autocommit, client, results = row
    assert "STRICT_TRANS_TABLES" in sql_mode
    assert time_zone == "+00:00"
    assert autocommit == 0
    assert (client, results) == ("utf8mb4", "utf8mb4")
    assert isolation == "READ-COMMITTED"
    assert engine.dialect.server_version_info >= (10,)  # told, from the handshake
    assert engine.dialect.default_schema_name == sa.make_url(db_url).database


@pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)], indirect=True
)
def test_the_revision_is_read_in_one_statement(db_url: str) -> None:
    with engine_for(db_url).connect() as conn:
        assert schema_revision(conn) == SCHEMA_HEAD


def test_an_empty_sqlite_database_has_no_revision(tmp_path: Path) -> None:
    with engine_for(f"sqlite:///{tmp_path / 'empty.db'}").connect() as conn:
        assert schema_revision(conn) is None  # the missing table is no error
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1  # and ends nothing


@pytest.mark.mysql
def test_an_empty_mysql_database_has_no_revision(mysql_root_url: str) -> None:
    url = create_mysql_database(mysql_root_url, "cms_no_schema")
    with engine_for(url).connect() as conn:
        assert schema_revision(conn) is None
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
