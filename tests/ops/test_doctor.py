"""cms doctor: exit 0 when healthy, 7 when a backend is down, 1 otherwise."""

from __future__ import annotations

from pathlib import Path

from conftest import Cli
from servers import free_port

NAMES = ["config", "database", "schema", "worker", "outbox", "queue", "smtp", "keyring", "timezone"]


def test_healthy(cli: Cli, manager: str) -> None:
    result = cli("doctor", "--json")
    assert result.exit_code == 0, result
    report = result.json()
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == NAMES
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert statuses["keyring"] == "warn"  # the test environment has no keyring
    assert statuses["worker"] == "warn"  # no worker has run yet
    assert all(statuses[n] == "ok" for n in NAMES if n not in ("keyring", "worker"))
    human = cli.ok("doctor")
    assert "database" in human.stdout


def test_embedded_default_before_first_use(cli: Cli, tmp_path: Path) -> None:
    env = {"CMS_HOME": str(tmp_path / "new"), "CMS_DATABASE_URL": None}
    result = cli("doctor", "--json", env=env)  # type: ignore[arg-type]
    assert result.exit_code == 0, result
    assert not (tmp_path / "new" / "cms.db").exists()  # doctor creates nothing
    assert "worker" not in [c["name"] for c in result.json()["checks"]]


def test_database_down_is_7(cli: Cli) -> None:
    url = f"mysql+pymysql://cms:pw-not-shown@127.0.0.1:{free_port()}/cms"
    result = cli("doctor", "--json", env={"CMS_DATABASE_URL": url})
    assert result.exit_code == 7
    checks = {c["name"]: c for c in result.json()["checks"]}
    assert checks["database"]["status"] == "down"
    assert "pw-not-shown" not in result.stdout + result.stderr
    assert result.stderr.startswith("error: not healthy: database")


def test_redis_and_smtp_down_are_7(cli: Cli) -> None:
    env = {
        "CMS_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "CMS_SMTP_URL": f"smtp://u:smtp-pw@127.0.0.1:{free_port()}",
    }
    result = cli("doctor", "--json", env=env)
    assert result.exit_code == 7
    checks = {c["name"]: c["status"] for c in result.json()["checks"]}
    assert checks["queue"] == "down"
    assert checks["smtp"] == "down"
    assert "smtp-pw" not in result.stdout


def test_schema_behind_and_bad_smtp_url_are_1(cli: Cli, tmp_path: Path) -> None:
    behind = cli("doctor", "--json", env={"CMS_DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}"})
    assert behind.exit_code == 1
    assert {c["name"]: c["status"] for c in behind.json()["checks"]}["schema"] == "fail"
    bad = cli("doctor", "--json", env={"CMS_SMTP_URL": "http://mail"})
    assert bad.exit_code == 1


def test_bad_config_is_reported(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[default]\ntimezone = 'Nowhere/City'\n")
    result = cli("doctor", "--json", env={"CMS_HOME": str(tmp_path)})
    assert result.exit_code == 1
    assert result.json()["checks"][0]["status"] == "fail"
