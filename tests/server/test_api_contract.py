"""The API as a contract: every declared operation typed and documented in OpenAPI,
every error (the framework's own included) a problem document with the cms exit code,
the token checked before the body, lists paged, and a schemathesis run as a manager and
as a student with no server error and no answer outside its schema.

The app runs in this process (Starlette's test client) over the test's database."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Cli

from cms_cli.core.operation import declared


@pytest.fixture
def api(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A test client of the app over this test's database, on the test's clock."""
    from fastapi.testclient import TestClient

    from cms_cli.server.app import create_app

    if "CMS_NOW" in cli.env:
        monkeypatch.setenv("CMS_NOW", cli.env["CMS_NOW"])
    return TestClient(create_app(cli.config()), raise_server_exceptions=False)


def _bearer(cli: Cli) -> dict[str, str]:
    return {"Authorization": "Bearer " + cli.ok("auth", "token").stdout.strip()}


def _operations() -> list[Any]:
    return [op for found in declared().values() for op in found]


def test_every_operation_is_typed_and_documented(api: Any) -> None:
    spec = api.get("/api/openapi.json").json()
    assert spec["components"]["securitySchemes"]["session"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["session"]["description"],
    }
    seen = set()
    for op in _operations():
        entry = spec["paths"]["/api/v1" + op.path][op.method.lower()]
        assert entry["operationId"] not in seen, op.name
        seen.add(entry["operationId"])
        assert entry["summary"], op.name
        answers = entry["responses"]
        good = answers[str(op.status_code)]
        if op.output is None:
            assert op.status_code == 204, op.name
        else:
            schema = good["content"]["application/json"]["schema"]
            assert schema.get("$ref") or schema.get("type") in ("array", "object"), op.name
            assert schema != {}, op.name
        problems = ["400", "401", "422", "503"] + (["403", "404", "409"] if op.signed else [])
        problems += ["413"] if op.writes else []
        for code in problems:
            content = answers[code]["content"]
            assert list(content) == ["application/problem+json"], (op.name, code)
            schema = content["application/problem+json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}, (op.name, code)
        names = {p["name"] for p in entry.get("parameters", [])}
        asks_first = op.check is not None or op.upload is not None
        assert ("check" in names) == asks_first, op.name
        assert ("204" in answers) == (asks_first or op.status_code == 204), op.name
        assert ("security" in entry) == op.signed, op.name
        if op.signed:
            assert entry["security"] == [{"session": []}], op.name
        if op.paged:
            names = {p["name"] for p in entry["parameters"]}
            assert {"limit", "offset"} <= names, op.name
    assert len(seen) == len(_operations()) >= 40


def test_swagger_ui_needs_no_internet(api: Any) -> None:
    page = api.get("/api/docs").text
    assert "/api/docs/static/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert "https://" not in page
    assert api.get("/api/docs/static/swagger-ui-bundle.js").status_code == 200
    assert api.get("/api/docs/static/swagger-ui.css").status_code == 200


def _problem(answer: Any, status: int, exit_code: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    document: dict[str, Any] = answer.json()
    assert (document["status"], document["exit_code"]) == (status, exit_code)
    assert document["detail"]
    assert "\n" not in document["detail"]
    return document


def test_the_frameworks_own_errors_are_problem_documents(cli: Cli, manager: str, api: Any) -> None:
    assert "no such path" in _problem(api.get("/api/v1/nowhere"), 404, 3)["detail"]
    assert "no such path" in _problem(api.get("/nowhere"), 404, 3)["detail"]
    wrong = api.put("/api/v1/offerings", headers=_bearer(cli))
    assert _problem(wrong, 405, 2)["detail"] == "PUT is not allowed on /api/v1/offerings"
    assert "GET" in wrong.headers["allow"]
    assert "POST" in wrong.headers["allow"]
    # A body or query that does not fit its model: one line naming the field (exit 1).
    me = _bearer(cli)
    credits = api.post(
        "/api/v1/catalog/modules", json={"code": "CS999", "name": "X", "credits": "abc"}, headers=me
    )
    assert _problem(credits, 422, 1)["detail"].startswith("credits: ")
    role = api.get("/api/v1/users?role=bogus", headers=me)
    assert _problem(role, 422, 1)["detail"].startswith("role: ")
    as_json = {**me, "Content-Type": "application/json"}
    junk = api.post("/api/v1/offerings", content=b"{not json", headers=as_json)
    assert _problem(junk, 422, 1)["detail"] == "the body is not valid JSON"
    text = api.post("/api/v1/offerings", content=b"module=CS101", headers=me)
    assert _problem(text, 422, 1)["detail"] == "the body is not a JSON object"
    listed = api.post("/api/v1/offerings", json=[1, 2], headers=me)
    assert _problem(listed, 422, 1)["detail"] == "the body is not a JSON object"
    missing = api.post("/api/v1/offerings", json={}, headers=me)
    assert _problem(missing, 422, 1)["detail"].startswith("module: is required")
    page = api.get("/api/v1/offerings?limit=5000", headers=me)
    assert _problem(page, 422, 1)["detail"].startswith("limit: ")
    # An unknown activity in a log sets nothing: refused by name.
    stray = api.post(
        "/api/v1/logs",
        json={"offering_id": 1, "week": 1, "changes": {"statuses": {"password_hash": "x"}}},
        headers=me,
    )
    assert "'password_hash' is not an activity" in _problem(stray, 422, 1)["detail"]


@pytest.mark.parametrize(
    "path",
    ["/offerings", "/logs", "/users", "/catalog/modules", "/offerings/1/enrol", "/auth/passwd"],
)
def test_the_token_is_checked_before_the_body(api: Any, path: str) -> None:
    """An anonymous caller gets 401, whatever its body: malformed, of the wrong shape or
    fine (the body is never read or validated for someone unknown)."""
    for body in (b"{not json", b'{"module": 12}', b"[]"):
        anonymous = api.post("/api/v1" + path, content=body)
        _problem(anonymous, 401, 4)
        forged = api.post("/api/v1" + path, content=body, headers={"Authorization": "Bearer x"})
        _problem(forged, 401, 4)


def test_lists_are_paged_with_links(cli: Cli, offerings: dict[str, int], api: Any) -> None:
    me = _bearer(cli)
    whole = api.get("/api/v1/offerings", headers=me)
    assert whole.headers["x-total-count"] == str(len(whole.json())) == "2"
    assert "link" not in whole.headers
    first = api.get("/api/v1/offerings?limit=1", headers=me)
    assert first.headers["x-total-count"] == "2"
    assert [o["id"] for o in first.json()] == [offerings["A"]]
    link = first.headers["link"]
    assert link.startswith("</api/v1/offerings?")  # relative: never the client's Host
    assert link.endswith('>; rel="next"')
    assert "offset=1" in link
    assert "limit=1" in link
    following = api.get(link[1 : link.index(">")], headers=me)
    assert [o["id"] for o in following.json()] == [offerings["B"]]
    assert following.headers["x-total-count"] == "2"
    assert "link" not in following.headers
    beyond = api.get("/api/v1/offerings?limit=1&offset=5", headers=me)
    assert beyond.json() == []
    assert beyond.headers["x-total-count"] == "2"
    # A listing whose service pages in Python answers the same way.
    users = api.get("/api/v1/users?limit=2&offset=1", headers=me)
    assert len(users.json()) == 2
    assert 'rel="next"' in users.headers["link"]


@pytest.mark.parametrize("transport", ["served"], indirect=True)
def test_the_client_asks_for_the_rows_it_shows(
    cli: Cli, offerings: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--limit N` asks the server for N rows; --json and --csv follow the links until
    every row is there (here, a page of one row at a time)."""
    from cms_cli.api import remote

    asked: list[str] = []
    real = remote.sender
    assert real is not None

    def spy(request: Any) -> Any:
        asked.append(request.url)
        return real(request)

    monkeypatch.setattr(remote, "sender", spy)
    shown = cli.ok("offering", "list", "--limit", "1")
    assert [u for u in asked if "/offerings?" in u] == [
        "http://127.0.0.1:9/api/v1/offerings?include_cancelled=false&limit=1&offset=0"
    ]
    assert "showing 1 of 2 offerings" in shown.stderr
    monkeypatch.setattr(remote, "PAGE", 1)
    for flag in ("--json", "--csv"):
        asked.clear()
        every = cli.ok("offering", "list", flag)
        assert len([u for u in asked if "/offerings?" in u]) == 2, flag
        assert str(offerings["B"]) in every.stdout
    assert len(cli.ok("offering", "list", "--json").json()) == 2


MUTATING_SESSIONS = ("auth.logout", "auth.passwd", "user.set-password", "user.set-active")


@pytest.mark.parametrize("who", ["dean@uni.edu", "sam@uni.edu"])
def test_schemathesis_finds_no_server_error_and_nothing_outside_the_schema(
    cli: Cli,
    logged: dict[str, int],
    people: dict[str, str],
    who: str,
    monkeypatch: pytest.MonkeyPatch,
    smtp: Any,
) -> None:
    """Generated requests to every operation, as a manager and as a student (bounded):
    no 5xx, and every answer within its documented schema (problem documents included).
    The operations that end the caller's own session are left to their own tests. The
    server has a mail server (invitations and resets send e-mail)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    from cms_cli.server.app import create_app

    cli.login(who)
    token = cli.ok("auth", "token").stdout.strip()
    monkeypatch.setenv("CMS_NOW", cli.env["CMS_NOW"])
    app = create_app(cli.config(CMS_SMTP_URL=smtp.url))
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    checks = [not_a_server_error, response_schema_conformance]
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        name = operation.definition.raw.get("operationId", "")
        if any(name.startswith(n.replace(".", "_").replace("-", "_")) for n in MUTATING_SESSIONS):
            continue

        @settings(
            max_examples=8,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            case.validate_response(response, checks=checks)

        try:
            run()
        except Exception as exc:  # one line per operation that failed, all reported
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:600]}")
    assert not failures, "\n".join(failures)


def _chunks(size: int, piece: int = 64 * 1024) -> Any:
    sent = 0
    while sent < size:
        yield b" " * piece
        sent += piece


def test_a_body_is_bounded_however_it_arrives(cli: Cli, manager: str, api: Any) -> None:
    """A chunked body (no Content-Length) is cut off at its route's cap (413, exit 1);
    without a token it is not read at all (401 first)."""
    me = {**_bearer(cli), "Content-Type": "application/json"}
    streamed = api.post("/api/v1/offerings", content=_chunks(3_000_000), headers=me)
    assert "too large" in _problem(streamed, 413, 1)["detail"]
    anonymous = api.post("/api/v1/logs", content=_chunks(3_000_000))
    _problem(anonymous, 401, 4)
    upload = api.post("/api/v1/reflections?name=big.json", content=_chunks(3_000_000), headers=me)
    assert "too large" in _problem(upload, 413, 1)["detail"]


def test_answers_carry_their_safety_headers(cli: Cli, manager: str, api: Any) -> None:
    me = _bearer(cli)
    for answer in (
        api.get("/api/v1/auth/status", headers=me),
        api.get("/api/v1/offerings", headers=me),
        api.get("/api/v1/nowhere", headers=me),
    ):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"
    assert api.get("/health").headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "url",
    [
        "mysql+pymysql://secretuser:pw@127.0.0.1:1/secretschema",
        "sqlite:////proc/secret-path/cms.db",
    ],
)
def test_nothing_about_the_backend_reaches_a_client(
    cli: Cli, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """With the database down, /health and a login say "database unavailable" and a
    request id; the user, host, port, schema and file path go to the server's log only,
    under that id."""
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from cms_cli.server.app import create_app

    config = cli.config()
    settings = config.settings.model_copy(update={"database_url": url})
    api = TestClient(create_app(replace(config, settings=settings)))
    health = api.get("/health")
    login = api.post("/api/v1/auth/login", json={"email": "a@b.cd", "password": "x" * 9})
    for answer in (health, login):
        text = answer.text
        for secret in ("secretuser", "secretschema", "127.0.0.1", ":1/", "secret-path"):
            assert secret not in text, (secret, text)
    assert health.status_code == 503
    assert health.json()["database"].startswith("database unavailable (request ")
    document = _problem(login, 503, 7)
    rid = login.headers["x-request-id"]
    assert document["detail"] == f"database unavailable (request {rid})"
    assert any(rid in r.getMessage() and "secret" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_reads_never_wait_on_a_writer(cli: Cli, offerings: dict[str, int], api: Any) -> None:
    """On SQLite a GET's transaction takes no lock: it answers from its snapshot while
    another process holds the write lock (with the lock taken, it would wait, then 503)."""
    import sqlite3

    me = _bearer(cli)
    writer = sqlite3.connect(cli.env["CMS_DATABASE_URL"].removeprefix("sqlite:///"))
    writer.isolation_level = None
    writer.execute("BEGIN IMMEDIATE")
    try:
        for path in ("/api/v1/offerings", f"/api/v1/offerings/{offerings['A']}"):
            answer = api.get(path, headers=me)
            assert answer.status_code == 200, answer.text
        # The CLI on the database itself reads the same way, in a process of its own.
        for args in (("offering", "list"), ("offering", "show", str(offerings["A"]))):
            read = cli.subprocess(*args, env={"CMS_LOCK_WAIT_SECONDS": "2"})
            assert read.exit_code == 0, read
        # A write waits its lock_wait_seconds, then says the database was too busy.
        busy = cli.subprocess("cohort", "add", "Busy", env={"CMS_LOCK_WAIT_SECONDS": "1"})
        assert busy.exit_code == 7
        assert busy.stderr.startswith("error: the database was too busy to finish")
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_pre_check_checks_what_the_operation_would_refuse(
    cli: Cli, logged: dict[str, int], api: Any
) -> None:
    """`?check=true` answers 204 only when the operation itself would be let through:
    an operation without a pre-check takes no `check` (it would not check anything)."""
    a = logged["A"]
    me = _bearer(cli)
    _problem(api.delete(f"/api/v1/logs/{a}/99?check=true", headers=me), 404, 3)
    assert api.delete(f"/api/v1/logs/{a}/1?check=true", headers=me).status_code == 204
    myself = {"email": "dean@uni.edu", "active": False}
    _problem(api.post("/api/v1/users/active?check=true", json=myself, headers=me), 422, 1)
    cli.login("sam@uni.edu")
    student = _bearer(cli)
    body = {"module": "CS101", "class_code": "2026J", "cohort": "Cohort A", "mode": "online",
            "start_date": "2026-09-07", "end_date": "2026-11-27"}  # fmt: skip
    _problem(api.post("/api/v1/offerings?check=true", json=body, headers=student), 403, 5)
    _problem(api.post(f"/api/v1/offerings/{a}/cancel?check=true", headers=student), 403, 5)
    _problem(api.delete(f"/api/v1/logs/{a}/1?check=true", headers=student), 403, 5)


def test_errors_say_how_to_go_on(api: Any) -> None:
    """401 names the scheme (WWW-Authenticate); a 503 says when to try again."""
    anonymous = api.get("/api/v1/offerings")
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="cms"'


def test_text_that_is_not_text_is_a_422_never_a_500(cli: Cli, manager: str, api: Any) -> None:
    """A lone surrogate ("\\ud800" in JSON) in a password, a name or an e-mail: a wrong
    password (401) or an invalid value (422, exit 1) naming the field; nothing stored."""
    me = _bearer(cli)
    login = api.post(
        "/api/v1/auth/login",
        content=b'{"email": "dean@uni.edu", "password": "pw\\ud800-long-enough"}',
        headers={"Content-Type": "application/json"},
    )
    assert login.status_code == 401
    for body in (
        b'{"email": "s1@uni.edu", "name": "Ana \\ud800 x", "role": "student", '
        b'"password": "correct-horse-9"}',
        b'{"email": "s\\udc80@uni.edu", "name": "Ana", "role": "student", '
        b'"password": "correct-horse-9"}',
        b'{"email": "s2@uni.edu", "name": "Ana", "role": "student", '
        b'"password": "correct-\\ud800-horse"}',
    ):
        made = api.post(
            "/api/v1/users", content=body, headers={**me, "Content-Type": "application/json"}
        )
        assert made.status_code == 422, made.text
        assert made.json()["exit_code"] == 1
    assert "s1@uni.edu" not in api.get("/api/v1/users", headers=me).text


@pytest.mark.parametrize(
    "body", [b'{"credits": ' + b"9" * 5000 + b"}", b"[" * 200_000], ids=["digits", "deep"]
)
def test_a_body_the_parser_gives_up_on_is_invalid_json(
    cli: Cli, manager: str, api: Any, body: bytes
) -> None:
    answer = api.post(
        "/api/v1/catalog/modules",
        content=body,
        headers={**_bearer(cli), "Content-Type": "application/json"},
    )
    assert (answer.status_code, answer.json()["exit_code"]) == (422, 1)
    assert answer.json()["detail"] == "the body is not valid JSON"
