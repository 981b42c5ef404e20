"""Settings: environment > profile of config.toml > defaults; secrets masked."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Cli

from cms_cli.core.config import CONFIG_KEYS, mask_url

CONFIG = """
[default]
timezone = "Europe/Paris"
grace_hours = 24
smtp_url = "smtp://mailer:mail-secret@smtp.uni.edu:587?starttls=1"

[staging]
database_url = "mysql+pymysql://cms:db-secret@db.staging/cms"
max_load = 6
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "cfg"
    home.mkdir()
    (home / "config.toml").write_text(CONFIG)
    return home


def show(cli: Cli, home: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    result = cli(
        *args,
        "config",
        "show",
        "--json",
        env={"CMS_HOME": str(home), "CMS_DATABASE_URL": None, **(env or {})},
    )  # type: ignore[dict-item]
    assert result.exit_code == 0, result
    data: dict[str, object] = result.json()
    return data


def test_defaults_profile_and_environment(cli: Cli, home: Path) -> None:
    data = show(cli, home)
    assert list(data) == [*CONFIG_KEYS, "profile", "config_file"]
    assert data["timezone"] == "Europe/Paris"
    assert data["grace_hours"] == 24
    assert data["escalation_hours"] == 72
    assert data["max_load"] == 4
    assert data["session_hours"] == 24
    assert data["sweep_minutes"] == 15
    assert data["mail_from"] == "cms@localhost"
    assert data["database_url"] == f"sqlite:///{home / 'cms.db'}"
    assert data["redis_url"] is None
    assert data["profile"] == "default"
    assert data["config_file"] == str(home / "config.toml")
    staging = show(cli, home, "--profile", "staging")
    assert staging["max_load"] == 6
    assert staging["timezone"] == "UTC"  # profiles do not inherit from [default]
    env = show(cli, home, "--profile", "staging", env={"CMS_MAX_LOAD": "9"})
    assert env["max_load"] == 9  # environment over the profile
    by_env = show(cli, home, env={"CMS_PROFILE": "staging"})
    assert by_env["profile"] == "staging"
    option = show(cli, home, "--profile", "default", env={"CMS_PROFILE": "staging"})
    assert option["profile"] == "default"  # the option over the environment


def test_passwords_are_masked(cli: Cli, home: Path) -> None:
    data = show(
        cli, home, "--profile", "staging", env={"CMS_REDIS_URL": "redis://:redis-secret@r:6379/0"}
    )
    text = str(data)
    for secret in ("db-secret", "redis-secret"):
        assert secret not in text
    assert data["database_url"] == "mysql+pymysql://cms:***@db.staging/cms"
    human = cli("config", "show", env={"CMS_HOME": str(home), "CMS_DATABASE_URL": None})  # type: ignore[dict-item]
    assert "mail-secret" not in human.stdout
    assert "smtp://mailer:***@smtp.uni.edu:587?starttls=1" in human.stdout


@pytest.mark.parametrize(
    ("content", "args", "env", "text"),
    [
        ("[default]\ntimezone = 'Mars/Olympus'\n", (), {}, "unknown IANA time zone"),
        ("[default]\ngrace_hours = 'x'\n", (), {}, "grace_hours"),
        ("[default]\ndatabse_url = 'x'\n", (), {}, "unknown key 'databse_url'"),
        ("[default\n", (), {}, "not valid TOML"),
        ("[default]\n", ("--profile", "nope"), {}, "profile 'nope' not found"),
        ("[default]\n", (), {"CMS_MAX_LOAD": "0"}, "max_load"),
        ("[default]\n", (), {"CMS_NOW": "yesterday"}, "CMS_NOW is not an ISO 8601 date-time"),
        (  # a date-time with an offset that puts it before the first instant there is
            "[default]\n",
            (),
            {"CMS_NOW": "0001-01-01T00:00:00+14:00"},
            "CMS_NOW is not an ISO 8601 date-time",
        ),
    ],
)
def test_bad_configuration_is_one_clear_error(
    cli: Cli, tmp_path: Path, content: str, args: tuple[str, ...], env: dict[str, str], text: str
) -> None:
    (tmp_path / "config.toml").write_text(content)
    result = cli(*args, "config", "show", env={"CMS_HOME": str(tmp_path), **env})
    assert result.exit_code == 1, result
    assert text in result.stderr
    assert result.stderr.startswith("error: ")


def test_config_path(cli: Cli, home: Path) -> None:
    result = cli.ok("config", "path", env={"CMS_HOME": str(home)})
    assert result.stdout == f"{home / 'config.toml'}\n"


def test_mask_url() -> None:
    assert mask_url("mysql+pymysql://u:p%40ss@h:3306/db") == "mysql+pymysql://u:***@h:3306/db"
    assert mask_url("redis://localhost:6379/0") == "redis://localhost:6379/0"
    assert mask_url("smtps://:pw@host") == "smtps://:***@host"
    assert mask_url("sqlite:////var/lib/cms/cms.db") == "sqlite:////var/lib/cms/cms.db"


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("mysql+pymysql://cms@db/cms?password=hunter2&charset=utf8mb4", "hunter2"),
        ("redis://q:6379/0?password=hunter2", "hunter2"),
        ("smtp://h:587?starttls=1&auth_token=hunter2", "hunter2"),
        ("mysql+pymysql://cms:pw1@db/cms?ssl_key=/k&PASSWD=hunter2", "hunter2"),
    ],
)
def test_query_string_secrets_are_masked(cli: Cli, home: Path, url: str, secret: str) -> None:
    assert secret not in mask_url(url)
    assert "***" in mask_url(url)
    env = {"CMS_HOME": str(home), "CMS_REDIS_URL": url}
    shown = cli.ok("config", "show", "--json", env=env).stdout
    assert secret not in shown
    assert secret not in cli.ok("config", "show", env=env).stdout
