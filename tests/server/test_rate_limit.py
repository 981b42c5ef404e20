"""`cms serve`'s rate limit (CMS_RATE_LIMIT): per session token, and twice that per
client address for requests without one (or whose token is refused); counted where
every worker and every server process sees the same count (the database, a file
beside SQLite's, or Redis), answered 429 with Retry-After and X-RateLimit-* headers;
the CLI waits once when told how long.

Two real servers (one with 2 workers) over the same database, SQLite and MariaDB.
"""

from __future__ import annotations

import os
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

LIMIT = 4


@pytest.fixture
def two_servers(
    request: pytest.FixtureRequest, cli: Cli, offerings: dict[str, int]
) -> Iterator[list[str]]:
    """Two `cms serve` processes (2 workers and 1) over this test's database, with a
    rate limit of LIMIT requests a minute (or a test's ``rate_limit`` mark's)."""
    procs: list[subprocess.Popen[str]] = []
    urls: list[str] = []
    marked = request.node.get_closest_marker("rate_limit")
    limit = marked.args[0] if marked is not None else LIMIT
    env = {**os.environ, **cli.env, "CMS_RATE_LIMIT": str(limit)}
    env.pop("CMS_SERVER_URL", None)
    try:
        for workers in ("2", "1"):  # both start at once; then both are waited for
            port = free_port()
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cms_cli",
                    "serve",
                    "--port",
                    str(port),
                    "--workers",
                    workers,
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            procs.append(proc)
            urls.append(f"http://127.0.0.1:{port}")
        for proc, url in zip(procs, urls, strict=True):
            wait_until_up(proc, url)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def _get(url: str, token: str | None = None, source: str | None = None) -> httpx.Response:
    """GET /auth/status with ``token``; from ``source`` as the client address (uvicorn
    takes X-Forwarded-For from a loopback peer, as from a proxy on this host)."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if source is not None:
        headers["X-Forwarded-For"] = source
    with httpx.Client() as client:  # a connection each: any worker may take it
        return client.get(url + "/api/v1/auth/status", headers=headers)


def _first_minute_left() -> None:
    """Starts the test with most of a minute ahead (limits are per calendar minute)."""
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)


def test_limits_per_token_and_per_address_hold_across_two_servers(
    cli: Cli, two_servers: list[str]
) -> None:
    """Each part from a client address of its own (X-Forwarded-For), so that their
    counts are apart: a token over its limit is refused by every server while another
    is served; made-up tokens, and logins carrying them, meet the address's limit; a
    refused answer carries its X-RateLimit-* headers."""
    _first_minute_left()
    _address_limits(two_servers)
    token = cli.ok("auth", "token").stdout.strip()
    statuses = [_get(two_servers[i % 2], token).status_code for i in range(LIMIT + 3)]
    assert statuses == [200] * LIMIT + [429] * 3

    refused = _get(two_servers[0], token)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["exit_code"] == 7
    assert problem["detail"].startswith(f"too many requests from this client: at most {LIMIT}")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-limit"] == str(LIMIT)
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert int(refused.headers["x-ratelimit-reset"]) % 60 == 0

    # Another person's token is counted on its own, on both servers.
    login = httpx.post(
        two_servers[1] + "/api/v1/auth/login",
        json={"email": "ana@uni.edu", "password": PASSWORD},
        headers={"X-Forwarded-For": "10.0.0.2"},
    )
    assert login.status_code == 200, login.text
    theirs = login.json()["token"]
    for url in two_servers:
        served = _get(url, theirs)
        assert served.status_code == 200
        assert served.headers["x-ratelimit-limit"] == str(LIMIT)
        assert int(served.headers["x-ratelimit-remaining"]) < LIMIT


def _address_limits(servers: list[str]) -> None:
    import secrets

    # Made-up tokens: each refused (401) and counted against the address.
    made_up = [_get(servers[i % 2], f"made-up-{i}", "10.0.0.3") for i in range(2 * LIMIT)]
    assert [a.status_code for a in made_up] == [401] * 2 * LIMIT
    assert made_up[0].headers["x-ratelimit-limit"] == str(2 * LIMIT)  # refused: headers too
    assert made_up[0].headers["x-ratelimit-remaining"] == str(2 * LIMIT - 1)
    assert _get(servers[0], "one-more", "10.0.0.3").status_code == 429
    answer = _get(servers[1], None, "10.0.0.3")  # without a token: the same address
    assert answer.status_code == 429
    said = f"too many requests from this client: at most {2 * LIMIT}"
    assert answer.json()["detail"].startswith(said)
    assert httpx.get(servers[0] + "/health").status_code == 200  # never counted
    # A login is for anyone: a token sent with it is not who is counted.
    statuses = []
    for i in range(2 * LIMIT + 1):
        login = httpx.post(
            servers[i % 2] + "/api/v1/auth/login",
            json={"email": "ana@uni.edu", "password": PASSWORD},
            headers={
                "Authorization": f"Bearer {secrets.token_hex(16)}",
                "X-Forwarded-For": "10.0.0.4",
            },
        )
        statuses.append(login.status_code)
    assert statuses == [200] * 2 * LIMIT + [429]


def test_the_client_waits_once_when_told_how_long(
    cli: Cli, offerings: dict[str, int], tmp_path: Path
) -> None:
    """A 429 with a short Retry-After: the command says it waits, waits, and sends the
    request once more; a second refusal, or a wait over a minute, fails with exit 7."""
    from cms_cli.api import remote
    from cms_cli.api.remote import Answer

    token = cli.ok("auth", "token").stdout.strip()
    busy = Answer(
        429,
        {"Retry-After": "1", "Content-Type": "application/problem+json"},
        b'{"type": "urn:cms:error:Unavailable", "title": "Unavailable", "status": 429, '
        b'"detail": "too many requests from this client: at most 4 a minute (try again '
        b'in 1 s)", "exit_code": 7}',
    )
    ok = Answer(
        200,
        {},
        b'{"email": "m@uni.edu", "name": "M", "role": "manager", '
        b'"expires_at": "2027-01-01T00:00:00+00:00"}',
    )
    seen: list[Any] = []

    def answers(*given: Answer) -> Any:
        queue = list(given)

        def send(request: Any) -> Answer:
            seen.append(request)
            return queue.pop(0)

        return send

    env = {"CMS_SERVER_URL": "http://127.0.0.1:9", "CMS_DATABASE_URL": None}
    (cli.home / "token-default").write_text(token, encoding="utf-8")
    try:
        remote.sender = answers(busy, ok)
        waited = cli("auth", "status", "--json", env=env)
        assert waited.exit_code == 0, waited
        assert "limiting this client's requests: waiting 1 s" in waited.stderr
        assert len(seen) == 2

        seen.clear()
        remote.sender = answers(busy, busy)
        refused = cli("auth", "status", env=env)
        assert refused.exit_code == 7
        assert "too many requests from this client" in refused.stderr
        assert len(seen) == 2  # once more, never a loop

        seen.clear()
        long_wait = Answer(429, {**busy.headers, "Retry-After": "3600"}, busy.body)
        remote.sender = answers(long_wait)
        refused = cli("auth", "status", env=env)
        assert refused.exit_code == 7
        assert len(seen) == 1  # an hour is not waited for
    finally:
        remote.sender = None


@pytest.fixture(
    params=["sqlite", "memory", pytest.param("mysql", marks=pytest.mark.mysql), "redis"]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    from cms_cli.server import limits

    kind = request.param
    if kind == "sqlite":
        return limits.SqliteStore(tmp_path / "cms.db.limits")
    if kind == "memory":
        return limits.MemoryStore()
    if kind == "redis":
        return limits.RedisStore(request.getfixturevalue("fresh_redis"))
    import sqlalchemy as sa

    url = request.getfixturevalue("mysql_template")
    counted = limits.MysqlStore(url)
    with counted.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM rate_count"))
    return counted


def test_each_store_counts_per_key_and_minute_and_forgets_old_minutes(store: Any) -> None:
    import concurrent.futures

    window = int(time.time() // 60)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        counts = sorted(pool.map(lambda _: store.add("t:one", window), range(40)))
    assert counts == list(range(1, 41))  # each hit its own count: none lost, none twice
    assert store.add("t:two", window) == 1
    assert store.add("t:one", window + 1) == 1
    # Two minutes on, the old minutes are gone (SQL stores prune; Redis expires them).
    assert store.add("t:one", window + 3) == 1
    if hasattr(store, "engine"):
        import sqlalchemy as sa

        with store.engine.connect() as conn:
            left = conn.execute(sa.text("SELECT MIN(window_start) FROM rate_count")).scalar()
        assert left >= window + 2


@pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)], indirect=True
)
@pytest.mark.rate_limit(600)
def test_concurrent_logins_to_one_account_are_answered_200_or_401_only(
    cli: Cli, two_servers: list[str]
) -> None:
    """32 logins to one account at once, right and wrong passwords mixed, across two
    servers (one with 2 workers): each is let in or refused as a login is (wrong
    password, or locked after five failures); none is lost to a lock race (a deadlock on
    the throttle's row is run again, never answered)."""
    import concurrent.futures

    import bcrypt
    from conftest import sql

    # Stored at another cost than the servers': every right login rehashes it, all at
    # once (MariaDB made deadlock victims of some).
    other = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(5)).decode()
    sql(cli.env["CMS_DATABASE_URL"], "UPDATE app_user SET password_hash = :h "
        "WHERE email = 'ana@uni.edu'", {"h": other})  # fmt: skip

    def right(i: int) -> int:
        with httpx.Client(timeout=60) as client:
            return client.post(
                two_servers[i % 2] + "/api/v1/auth/login",
                json={"email": "ana@uni.edu", "password": PASSWORD},
            ).status_code

    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        assert list(pool.map(right, range(32))) == [200] * 32

    def login(i: int) -> int:
        password = PASSWORD if i % 2 else f"wrong-{i}-password"
        with httpx.Client(timeout=60) as client:
            return client.post(
                two_servers[i % 2] + "/api/v1/auth/login",
                json={"email": "ana@uni.edu", "password": password},
            ).status_code

    for _ in range(2):
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            statuses = list(pool.map(login, range(32)))
        assert set(statuses) <= {200, 401}, statuses
        assert 401 in statuses
