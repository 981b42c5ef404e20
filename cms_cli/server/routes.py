"""The API's routes, derived from the declared operations (each capability's
``api.py``): one router per capability, each route typed from its declaration (path,
query or body, ``response_model``, the bearer scheme, its problem responses).

Every route is a ``Guarded`` route: the bearer token is checked before the body is
read or validated, in the request's transaction (deps.Scope), which ends (commit, or
roll back on an error) once the answer is made.
"""

from __future__ import annotations

import inspect
import tempfile
from collections.abc import Callable, Coroutine
from functools import cache
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from pydantic import BaseModel, create_model
from starlette.responses import Response

from cms_cli.api.needs import provide
from cms_cli.core.errors import NotAuthenticated, TooBusy
from cms_cli.core.limits import MAX_INT
from cms_cli.core.operation import Operation, Paged, only_accepted
from cms_cli.core.session import again_on_deadlock
from cms_cli.server.deps import CurrentUser, Scope, ScopeDep, SessionDep, token_of
from cms_cli.server.limits import Limiter, Verdict

API = "/api/v1"
#: The rows a listing answers unless asked for fewer; the most it answers at once.
DEFAULT_PAGE = 100
MAX_PAGE = 1_000


class Problem(BaseModel):
    """An RFC 9457 problem document, as every error of the API is answered."""

    type: str
    title: str
    status: int
    detail: str
    exit_code: int
    hint: str | None = None
    problems: list[str] | None = None


PROBLEM_WORDS = {
    400: "The call is incomplete or contradicts itself (exit 2).",
    401: "Not logged in, session expired or revoked (exit 4).",
    403: "The role or ownership does not allow it (exit 5).",
    404: "Unknown e-mail, code, id or week (exit 3).",
    409: "Duplicate, capacity or load limit (exit 6).",
    413: "The body is over its size limit (exit 1).",
    422: "Invalid input, or a rule of the domain refused it (exit 1).",
    503: "The database or the queue is unavailable or too busy (exit 7); see Retry-After.",
}


def _problems(operation: Operation) -> dict[int | str, dict[str, Any]]:
    """The problem answers an operation may give (their content type is moved to
    application/problem+json in the OpenAPI document: server.app), and the 204 of its
    pre-check."""
    codes = [400, 401, 422, 503]
    if operation.signed:
        codes += [403, 404, 409]
    if operation.writes:
        codes.append(413)
    found: dict[int | str, dict[str, Any]] = {
        code: {"model": Problem, "description": PROBLEM_WORDS[code]} for code in sorted(codes)
    }
    if operation.check is not None or operation.upload is not None:
        found[204] = {"description": "With ?check=true: the checks passed; nothing was done."}
    return found


class Guarded(APIRoute):
    """A route that signs the request in (the bearer token, checked against the
    database) before its body is read, and ends the request's transaction after."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        operation: Operation = self.endpoint.operation  # type: ignore[attr-defined]

        async def guarded(request: Request) -> Response:
            from cms_cli.core import clock
            from cms_cli.core.context import client_address

            scope = Scope(
                request.app.state.config,
                clock.now(),
                client_address.get(),
                read_only=not operation.writes,
            )
            request.state.scope = scope
            try:
                await run_in_threadpool(
                    _admit,
                    scope,
                    request.app.state.limiter,
                    request.headers.get("authorization"),
                    operation,
                    request.state,
                )
                response = await handler(request)
            except BaseException as exc:
                await run_in_threadpool(scope.end, exc)
                answerable = _as_answerable(exc, scope)
                if answerable is exc:
                    raise
                raise answerable from exc
            await run_in_threadpool(scope.end, None)
            return response

        return guarded


def _as_answerable(exc: BaseException, scope: Scope) -> BaseException:
    """What the error handlers answer: cms's errors and the framework's as they are;
    anything else as the CmsError it means (a database that is down: 503), and, when
    that is an internal error, its traceback in the server's log."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    from cms_cli.core.errors import CmsError
    from cms_cli.server.problems import told

    if isinstance(exc, HTTPException) and isinstance(exc.__cause__, CmsError):
        return exc.__cause__  # raised while the framework read the body (too large)
    if not isinstance(exc, Exception) or isinstance(exc, HTTPException | RequestValidationError):
        return exc
    return told(exc, scope.config)


def _admit(
    scope: Scope, limiter: Limiter, authorization: str | None, operation: Operation, state: Any
) -> None:
    """Before the body: the request counted against its client's rate limit, then, for
    a signed operation, the token checked. A signed operation's request counts against
    its token; any other (a login, whatever token it carries) against its address, as
    does a request whose token is refused: a client that makes tokens up meets the
    address's limit. Over a limit: TooBusy (429). ``state.rate``: the verdict, for the
    answer's ``X-RateLimit-*`` headers (server.app.Headed), refused or not."""
    scheme, _, given = (authorization or "").partition(" ")
    token = given.strip() if scheme.lower() == "bearer" and operation.signed else ""
    state.rate = limiter.token(token) if token else limiter.address(scope.source)
    _refuse_over(state.rate)
    if operation.signed:
        try:
            scope.sign_in(token_of(authorization))
        except NotAuthenticated:
            if token:
                state.rate = limiter.address(scope.source) or state.rate
                _refuse_over(state.rate)
            raise
        if operation.writes:  # a body follows: no transaction open while it arrives
            scope.pause()


def _refuse_over(verdict: Verdict | None) -> None:
    if verdict is None or verdict.allowed:
        return
    from cms_cli.core import clock

    instant = clock.wall()  # the wall clock, not the domain's (CMS_NOW may move that)
    wait = verdict.retry_after(instant)
    raise TooBusy(
        f"too many requests from this client: at most {verdict.limit} a minute "
        f"(try again in {wait} s)",
        hint="slow down, or ask the operator about rate_limit (CMS_RATE_LIMIT)",
        headers=verdict.headers(instant),
    )


def router(capability: str, operations: list[Operation]) -> APIRouter:
    """The routes of one capability's operations."""
    routes = APIRouter(prefix=API, tags=[capability], route_class=Guarded)
    for operation in operations:
        routes.add_api_route(
            operation.path,
            _endpoint(operation),
            methods=[operation.method],
            name=operation.name,
            summary=operation.summary,
            response_model=operation.output,
            status_code=operation.status_code,
            responses=_problems(operation),
            openapi_extra=_upload_body(operation),
        )
    return routes


def _upload_body(operation: Operation) -> dict[str, Any] | None:
    if operation.upload is None:
        return None
    schema = {"type": "string", "format": "binary"}
    return {
        "requestBody": {
            "required": True,
            "content": {operation.upload.media_type: {"schema": schema}},
            "description": f"The file, at most {operation.upload.limit} bytes.",
        }
    }


@cache
def _part(model: type[BaseModel], fields: tuple[str, ...], kind: str) -> type[BaseModel]:
    """The model of some of ``model``'s fields (the query or the body besides the
    path); the whole input is validated again with its own rules once assembled."""
    if fields == tuple(model.model_fields):
        return model
    chosen = {
        name: (model.model_fields[name].annotation, model.model_fields[name]) for name in fields
    }
    made: type[BaseModel] = create_model(  # type: ignore[call-overload]
        f"{model.__name__}{kind}", __config__=model.model_config, **chosen
    )
    return made


def _parameters(operation: Operation) -> list[inspect.Parameter]:
    """The endpoint's parameters, for FastAPI to read the request and document it."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    fields = operation.input.model_fields
    found = [
        inspect.Parameter("request", keyword, annotation=Request),
        inspect.Parameter("scope", keyword, annotation=ScopeDep),
    ]
    if operation.signed:
        found.append(inspect.Parameter("me", keyword, annotation=CurrentUser))
    if operation.upload is None:
        found.append(inspect.Parameter("session", keyword, annotation=SessionDep))
    for name in operation.path_fields:
        # A whole number in a path is bounded as on the command line (core.limits):
        # the same 422 on every database, not an overflow on one and a 404 on another.
        whole = fields[name].annotation is int
        where = Path(ge=-MAX_INT, le=MAX_INT) if whole else Path()
        kind: Any = Annotated[fields[name].annotation, where]
        found.append(inspect.Parameter(name, keyword, annotation=kind))
    rest = operation.rest_fields
    if rest:
        in_body = operation.writes and operation.upload is None
        reads = Body() if in_body else Query()
        if operation.body is not None and operation.upload is None:
            part: Any = fields[operation.body].annotation
            named = operation.body
        else:
            part, named = _part(operation.input, rest, "Body" if in_body else "Query"), "values"
        found.append(inspect.Parameter(named, keyword, annotation=Annotated[part, reads]))
    if operation.check is not None or operation.upload is not None:
        flag = Query(description="Only the permission and existence checks; nothing is done.")
        found.append(
            inspect.Parameter("check", keyword, annotation=Annotated[bool, flag], default=False)
        )
    if operation.paged:
        limit = Query(ge=1, le=MAX_PAGE, description="Rows in this page.")
        offset = Query(ge=0, description="Rows to skip.")
        found.append(
            inspect.Parameter(
                "limit", keyword, annotation=Annotated[int, limit], default=DEFAULT_PAGE
            )
        )
        found.append(
            inspect.Parameter("offset", keyword, annotation=Annotated[int, offset], default=0)
        )
    return found


def _input(operation: Operation, given: dict[str, Any], **more: Any) -> BaseModel:
    """The operation's input from the request's parts, validated by its own model."""
    values: dict[str, Any] = {name: given[name] for name in operation.path_fields}
    part = given.get("values")
    if part is not None:
        values.update({name: getattr(part, name) for name in type(part).model_fields})
    if operation.body is not None and operation.body in given:
        values[operation.body] = given[operation.body]
    values.update(more)
    return operation.input.model_validate(values)


def _endpoint(operation: Operation) -> Callable[..., Any]:
    if operation.upload is not None:
        return _upload_endpoint(operation)

    def endpoint(**given: Any) -> Response:
        scope: Scope = given["scope"]
        session = given["session"]
        me = given.get("me")
        data = _input(operation, given)
        if given.get("check"):
            _check(operation, session, me, data)
            return Response(status_code=204)
        page = None
        if operation.paged:
            page = (given["limit"], given["offset"])
        result = _run(operation, scope, session, me, data, page)
        return _answer(operation, result, given["request"], page)

    _sign(endpoint, operation)
    return endpoint


def _upload_endpoint(operation: Operation) -> Callable[..., Any]:
    upload = operation.upload
    assert upload is not None

    async def endpoint(**given: Any) -> Response:
        scope: Scope = given["scope"]
        me = given.get("me")
        from cms_cli.core.text import neutralise, shorten

        given_name = getattr(given.get("values"), "name", None)
        name = shorten(neutralise(given_name), 120) if given_name else "the uploaded file"
        named = {"name": name} if "name" in operation.input.model_fields else {}
        placeholder = b"" if upload.as_bytes else FilePath(name)
        data = _input(operation, given, **{upload.field: placeholder}, **named)
        # The permission first, before a byte of the file is read.
        await run_in_threadpool(_check_then_pause, operation, scope, me, data)
        if given.get("check"):
            return Response(status_code=204)
        # Bounded at the upload's cap by server.app.Capped, declared or streamed.
        request: Request = given["request"]
        with tempfile.TemporaryDirectory(prefix="cms-upload-") as folder:
            if upload.as_bytes:
                value: Any = await request.body()
            else:  # to disk as it arrives: never the whole file in memory, nor one write
                value = FilePath(folder) / "upload"
                with value.open("wb") as sink:
                    async for chunk in request.stream():  # uvicorn's: 64 KB at most
                        sink.write(chunk)
            data = _input(operation, given, **{upload.field: value}, **named)
            result = await run_in_threadpool(_run, operation, scope, scope.session, me, data, None)
        return _answer(operation, result, given["request"], None)

    _sign(endpoint, operation)
    return endpoint


def _sign(endpoint: Callable[..., Any], operation: Operation) -> None:
    endpoint.__signature__ = inspect.Signature(_parameters(operation))  # type: ignore[attr-defined]
    endpoint.__name__ = operation.name.replace(".", "_").replace("-", "_")
    endpoint.operation = operation  # type: ignore[attr-defined]


def _check(operation: Operation, session: Any, me: Any, data: BaseModel) -> None:
    checker = operation.checker()
    if checker is not None:
        checker(session, me, **only_accepted(checker, operation.arguments(data)))


def _check_then_pause(operation: Operation, scope: Scope, me: Any, data: BaseModel) -> None:
    _check(operation, scope.session, me, data)
    scope.pause()


def _run(
    operation: Operation,
    scope: Scope,
    session: Any,
    me: Any,
    data: BaseModel,
    page: tuple[int, int] | None,
) -> Any:
    from cms_cli.core.operation import Page

    asked = Page(limit=page[0], offset=page[1]) if page is not None else None
    needs = provide(
        operation,
        scope.config,
        scope.now,
        auth_session=scope.auth_session,
        source=scope.source,
        page=asked,
    )
    function = operation.function()
    arguments = {**operation.arguments(data), **needs}
    signed = (me,) if operation.signed else ()

    def work() -> Any:
        shaped = operation.shape(function(session, *signed, **arguments))
        session.flush()  # a lock race shows here, where it can be run again
        return shaped

    # MySQL broke a deadlock with this request as its victim: rolled back, run again
    # from the start; never answered as an error while retries remain.
    return again_on_deadlock(session, work)


def _answer(
    operation: Operation, result: Any, request: Request, page: tuple[int, int] | None
) -> Response:
    """The result as JSON, serialised by its declared type in one call; a listing's page
    with ``X-Total-Count`` and, while more rows remain, ``Link: <...>; rel="next"``."""
    if operation.output is None:
        return Response(status_code=204)
    headers: dict[str, str] = {}
    if page is not None:
        limit, offset = page
        if isinstance(result, Paged):
            rows, total = result.rows, result.total
        else:
            rows, total = list(result), len(result)
            rows = rows[offset : offset + limit]
        result = rows
        headers["X-Total-Count"] = str(total)
        if offset + len(rows) < total:
            following = request.url.include_query_params(limit=limit, offset=offset + len(rows))
            # A reference relative to the request (RFC 8288): never built from the Host
            # header a client sent, which a proxy may pass through as it came.
            headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    body = operation.results().dump_json(result, by_alias=True)
    return Response(
        body, status_code=operation.status_code, media_type="application/json", headers=headers
    )


def routers() -> list[APIRouter]:
    """One router per capability, from every declared operation."""
    from cms_cli.core.operation import declared

    return [router(capability, found) for capability, found in declared().items()]


def operations() -> list[Operation]:
    """Every declared operation."""
    from cms_cli.core.operation import declared

    return [op for found in declared().values() for op in found]
