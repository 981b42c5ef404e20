"""Client mode without traps: `cms --server URL auth login` remembers the server for the
profile (and its institution's time zone); a client never opens, makes or shows a local
database; `cms auth logout` forgets the server again."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PASSWORD, Cli
from test_serve import _serving

PARIS = "Europe/Paris"


@pytest.fixture
def paris(cli: Cli, offerings: dict[str, int]) -> Iterator[str]:
    """A `cms serve` of an institution in Paris."""
    yield from _serving(cli, CMS_TIMEZONE=PARIS)


def laptop(tmp_path: Path, cli: Cli) -> Cli:
    """A fresh laptop: no database, no server configured, no time zone of its own."""
    home = tmp_path / "laptop"
    home.mkdir()
    env: dict[str, str] = {"CMS_HOME": str(home)}
    if cli.env.get("CMS_NOW"):
        env["CMS_NOW"] = cli.env["CMS_NOW"]
    for key in ("CMS_DATABASE_URL", "CMS_SERVER_URL", "CMS_TIMEZONE"):
        env[key] = None  # type: ignore[assignment]  # unset for the runner
    return Cli(home, env)


def test_login_through_a_server_is_remembered_with_its_time_zone(
    cli: Cli, paris: str, tmp_path: Path
) -> None:
    far = laptop(tmp_path, cli)
    login = far.ok(
        "--server", paris, "auth", "login", "--email", "dean@uni.edu", "--password-stdin",
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert "CET" in login.stdout  # "until ..." in the institution's zone, not UTC
    # The next plain commands go to the same server: no --server, no local database.
    assert (
        far.ok("offering", "list", "--json").json() == cli.ok("offering", "list", "--json").json()
    )
    status = far.ok("auth", "status").stdout
    assert "CET" in status
    shown = far.ok("config", "show", "--json").json()
    assert (shown["server_url"], shown["database_url"], shown["timezone"]) == (paris, None, PARIS)
    assert "cms.db" not in far.ok("config", "show").stdout
    remembered = json.loads((far.home / "server-default.json").read_text())
    assert remembered == {"url": paris, "timezone": PARIS, "remembered": True}
    assert (far.home / "server-default.json").stat().st_mode & 0o777 == 0o600
    # A time zone of the laptop's own wins.
    own = far.ok("config", "show", "--json", env={"CMS_TIMEZONE": "Asia/Tokyo"}).json()
    assert own["timezone"] == "Asia/Tokyo"
    # Completion asks no local database (and makes none).
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in far.env.items() if v is not None})
    for key in ("CMS_DATABASE_URL", "CMS_SERVER_URL", "CMS_TIMEZONE"):
        os.environ.pop(key, None)
    try:
        from cms_cli.core.complete import query

        assert query(lambda session: [("1", "x")]) == []
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert not list(far.home.rglob("*.db"))
    # Logging out forgets the server: the laptop is a laptop again.
    far.ok("auth", "logout")
    assert not (far.home / "server-default.json").exists()
    alone = far("offering", "list")
    assert alone.exit_code == 7  # no database here, and none is made
    assert "no database" in alone.stderr
    assert not list(far.home.rglob("*.db"))


def test_the_health_check_says_the_time_zone(cli: Cli, paris: str) -> None:
    import urllib.parse

    import httpx

    assert urllib.parse.urlsplit(paris).scheme == "http"
    health = httpx.get(paris + "/health", timeout=10).json()
    assert health["timezone"] == PARIS


def test_logout_forgets_here_when_the_server_is_gone(
    cli: Cli, manager: str, tmp_path: Path
) -> None:
    from servers import free_port

    far = laptop(tmp_path, cli)
    gone = f"http://127.0.0.1:{free_port()}"
    (far.home / "server-default.json").write_text(
        json.dumps({"url": gone, "timezone": None, "remembered": True})
    )
    (far.home / "token-default").write_text("a-token-of-a-session\n")
    out = far("auth", "logout")
    assert out.exit_code == 7
    assert "forgotten here but not revoked on the server" in out.stderr
    assert not (far.home / "server-default.json").exists()
    assert not (far.home / "token-default").exists()
