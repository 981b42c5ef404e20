"""`cms serve`: the app factory, its middleware, health and metrics (FastAPI, run by
uvicorn). The routes are derived from the declared operations (server.routes); every
error, the framework's own included, is an RFC 9457 problem document carrying the cms
exit code (server.problems).

Each request is one transaction on the server's database, as one command is locally:
the same service functions, the same rules, the same errors. The server holds the
database and queue credentials; clients hold a session token. Stateless: any number of
processes may serve behind a proxy; each is handed the same configuration.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from cms_cli import __version__
from cms_cli.core.problems import MEDIA_TYPE, problem
from cms_cli.server.routes import API

if TYPE_CHECKING:
    from cms_cli.core.config import Config


def create_app(config: Config | None = None) -> FastAPI:
    """The application for ``config`` (uvicorn's workers call this with none: each then
    reads the configuration `cms serve` resolved and handed down, never its own)."""
    from fastapi_offline import FastAPIOffline

    from cms_cli.core import logs
    from cms_cli.server import limits, metrics, problems, routes
    from cms_cli.server.settings import handed_down, handed_down_logging

    logging = handed_down_logging()
    if logging is not None:  # a worker of `cms serve`: its logs as the operator chose
        logs.setup(logging[0], debug=logging[1])
    config = config or handed_down()
    from cms_cli.core.db import bound_statements

    bound_statements(config.settings.statement_seconds)
    app = FastAPIOffline(
        title="cms",
        version=__version__,
        description="The course platform's API: what `cms` does, for a team's clients.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        static_url="/api/docs/static",
        favicon_url="/api/docs/static/favicon.png",
    )
    app.state.config = config
    app.state.limiter = limits.Limiter.of(config)
    for router in routes.routers():
        app.include_router(router)
    app.openapi = lambda: _documented(app)  # type: ignore[method-assign]
    problems.install(app)

    caps = {API + op.path: op.upload.limit for op in routes.operations() if op.upload}
    app.add_middleware(Capped, caps=caps)
    app.add_middleware(Headed)
    app.add_middleware(Addressed)  # outside Headed: the request's id is set first
    app.add_middleware(Measured)

    @app.get("/health", include_in_schema=False)
    def health(request: Request) -> JSONResponse:
        checks = {"database": _check_database(request.app.state.config)}
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {
                "status": "ok" if ok else "unavailable",
                "version": __version__,
                # The institution's zone: clients show times in it (as the e-mails do).
                "timezone": request.app.state.config.settings.timezone,
                **checks,
            },
            status_code=200 if ok else 503,
        )

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> PlainTextResponse:
        body, media = metrics.exposition()
        return PlainTextResponse(body, media_type=media)

    return app


def _documented(app: FastAPI) -> dict[str, Any]:
    """FastAPI's OpenAPI document, its error answers under the content type they are
    sent with (application/problem+json), built once."""
    if app.openapi_schema is None:
        import warnings

        from fastapi.openapi.utils import get_openapi

        with warnings.catch_warnings():
            # FastAPI documents a query model's aliased field (`class`, `actor`) as a
            # parameter of that name, which is right; pydantic warns about the Field
            # it hands over.
            warnings.filterwarnings("ignore", message=".*'alias' attribute.*")
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
        for entry in document.get("paths", {}).values():
            for operation in entry.values():
                for code, answer in operation.get("responses", {}).items():
                    content = answer.get("content", {})
                    if code.isdigit() and int(code) >= 400 and "application/json" in content:
                        content[MEDIA_TYPE] = content.pop("application/json")
        app.openapi_schema = document
    return app.openapi_schema


#: The largest JSON body a request may carry (uploads have their own, larger caps).
MAX_BODY = 1024 * 1024


class Capped:
    """Bounds every request body however it arrives: one declared larger than its route's
    cap (MAX_BODY, or an upload's own) is refused before a byte is read; one that streams
    past it (chunked) is cut off at the cap. Either way 413, exit 1."""

    def __init__(self, app: Any, caps: dict[str, int]) -> None:
        self.app = app
        self.caps = caps

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from cms_cli.core.errors import TooLarge

        cap = self.caps.get(scope["path"], MAX_BODY)
        too_large = TooLarge(f"the request is too large (over {cap} bytes)")
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > cap:
            _, document = problem(too_large)
            answer = JSONResponse(document, status_code=413, media_type=MEDIA_TYPE)
            await answer(scope, receive, send)
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise too_large
            return message

        await self.app(scope, counted, send)


class Headed:
    """Headers every answer carries: ``X-Content-Type-Options: nosniff``; and, on the
    API (personal data, a login's token), ``Cache-Control: no-store`` and the client's
    rate limit (``X-RateLimit-Limit``, ``-Remaining``, ``-Reset``: server.limits)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = scope["path"].startswith(API + "/")

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                from cms_cli.core.context import request_id

                headers = list(message.get("headers") or [])
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"x-request-id", (request_id.get() or "-").encode()))
                if private:
                    headers.append((b"cache-control", b"no-store"))
                    verdict = scope.get("state", {}).get("rate")
                    if verdict is not None and verdict.allowed:  # a 429 carries its own
                        from cms_cli.core import clock

                        shown = verdict.headers(clock.wall())
                        headers += [(k.lower().encode(), v.encode()) for k, v in shown.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)


class Addressed:
    """Notes each request's client address for the audit trail (core.context): the
    peer's, or behind a proxy that uvicorn trusts (FORWARDED_ALLOW_IPS, loopback by
    default), the address in its X-Forwarded-For. Sync routes run in a thread pool that
    carries the request's context along."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        import secrets

        from cms_cli.core.context import client_address, request_id

        client = scope.get("client")
        # A trusted proxy's X-Forwarded-For is whatever the client put first: bounded.
        marker = client_address.set(str(client[0])[:64] if client else "unknown")
        named = request_id.set(secrets.token_hex(6))
        try:
            await self.app(scope, receive, send)
        finally:
            client_address.reset(marker)
            request_id.reset(named)


class Measured:
    """Counts and times every request for /metrics: plain ASGI (Starlette's
    BaseHTTPMiddleware would cost more than many of the requests it measures)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from cms_cli.server import metrics

        started = time.perf_counter()
        status = 500

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            metrics.observe(
                scope["method"],
                getattr(route, "path", "unmatched"),
                status,
                time.perf_counter() - started,
            )


def _check_database(config: Config) -> str:
    try:
        import sqlalchemy as sa

        from cms_cli.core.session import Transaction

        # A read: on SQLite it takes no lock, so a long write (an import) never makes
        # the health check wait, then fail.
        check = Transaction(config, read_only=True)
        try:
            # A table of cms's, not SELECT 1: an account whose rights were revoked fails
            # here as its requests do.
            check.session.execute(sa.text("SELECT version_num FROM alembic_version"))
        except BaseException as exc:
            check.end(exc)
            raise
        check.end(None)
        return "ok"
    except Exception as exc:  # a health check reports, it does not fail
        from cms_cli.server.problems import told

        # Anyone may ask /health: the details go to the server's log only.
        return told(exc, config).message
