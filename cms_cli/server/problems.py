"""Every error of the API as an RFC 9457 problem document with the cms exit code: cms's
own errors, the framework's 404, 405 and 422 (a body or query that does not fit its
model: one line naming the field), and anything unforeseen (an internal error, its
details in the server's log only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from cms_cli.core import errors
from cms_cli.core.errors import CmsError
from cms_cli.core.problems import MEDIA_TYPE, problem

if TYPE_CHECKING:
    from cms_cli.core.config import Config

#: The framework's own statuses, as the cms error (and exit code) they mean.
_HTTP_ERRORS: dict[int, type[CmsError]] = {
    400: errors.UsageError,
    401: errors.NotAuthenticated,
    403: errors.PermissionDenied,
    404: errors.NotFound,
    405: errors.UsageError,
    409: errors.Conflict,
    413: errors.ValidationError,
    415: errors.ValidationError,
}


#: Seconds a client is told to wait before trying again after a 503.
RETRY_AFTER = 5


def answer(error: CmsError, status: int | None = None) -> JSONResponse:
    code, document = problem(error)
    if status is not None:
        code = document["status"] = status
    headers: dict[str, str] = {}
    if code == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="cms"'
    if code == 503:
        headers["Retry-After"] = str(RETRY_AFTER)
    if isinstance(error, errors.TooBusy):  # 429: Retry-After and X-RateLimit-*
        headers.update(error.headers)
    return JSONResponse(document, status_code=code, media_type=MEDIA_TYPE, headers=headers)


def invalid(exc: RequestValidationError) -> errors.ValidationError:
    """The first thing wrong with a request's input, in one line naming the field."""
    found = list(exc.errors())
    if not found:
        return errors.ValidationError("the request is not valid")
    first = found[0]
    where = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    kind = first.get("type", "")
    if kind == "json_invalid":
        return errors.ValidationError("the body is not valid JSON")
    if not where and kind in ("model_attributes_type", "dict_type", "model_type"):
        return errors.ValidationError(
            "the body is not a JSON object", hint="send Content-Type: application/json"
        )
    message = str(first.get("msg", "is not valid")).removeprefix("Value error, ")
    if kind == "missing":
        message = "is required"
    field = ".".join(where) or "the body"
    more = f" (and {len(found) - 1} more problem(s))" if len(found) > 1 else ""
    return errors.ValidationError(f"{field}: {message}{more}")


def install(app: FastAPI) -> None:
    """The handlers that turn every error into a problem document."""

    @app.exception_handler(CmsError)
    def _cms(request: Request, exc: CmsError) -> JSONResponse:
        return answer(exc)

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return answer(invalid(exc))

    @app.exception_handler(HTTPException)
    def _http(request: Request, exc: HTTPException) -> JSONResponse:
        kind = _HTTP_ERRORS.get(exc.status_code, CmsError)
        detail = _said(exc, request)
        if exc.status_code == 400 and "parsing the body" in detail:
            # A body the JSON parser gave up on (a number of 5,000 digits, nesting
            # 200,000 deep): invalid input like any malformed JSON, not a usage error.
            return answer(errors.ValidationError("the body is not valid JSON"))
        response = answer(kind(detail), status=exc.status_code)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        if exc.status_code == 405:
            response.headers["Allow"] = ", ".join(_allowed(request))
        return response

    @app.exception_handler(Exception)
    def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return answer(told(exc, request.app.state.config))


#: What a client is told of a backend's failure, by what failed (core.db's messages).
_BACKENDS = (("database", "database"), ("queue", "queue"), ("smtp", "mail server"))


def told(exc: BaseException, config: Config) -> CmsError:
    """The error a client is told: cms's own as it is; a failure of a backend (the
    database, the queue, the mail server: unavailable, refused, an internal error) as
    one line naming what failed and the request's id, its details (user, host, schema,
    table, file path, traceback) in the server's log under that id."""
    import logging

    from cms_cli.core.context import request_id
    from cms_cli.core.failures import as_cms_error

    error = as_cms_error(exc, database_url=config.database_url)
    backend = not isinstance(exc, CmsError) or (
        isinstance(exc, errors.Unavailable | errors.InternalError)
        and not isinstance(exc, errors.TooBusy)  # the client's own rate, not a backend
    )
    if not backend:
        return error
    rid = request_id.get() or "-"
    internal = isinstance(error, errors.InternalError)
    # One line per failed request (one JSON object under --log-format json), naming the
    # id the client was given and where it failed; the traceback only with --debug.
    logging.getLogger("cms.server").error(
        "request %s: %s",
        rid,
        error.message,
        exc_info=exc if internal else None,
        extra={
            "event": "request_failed",
            "request_id": rid,
            "reason": type(exc).__name__,
            "where": _where(exc),
        },
    )
    said = error.message.lower()
    what = next((shown for key, shown in _BACKENDS if key in said), "a backend")
    hint = f"the server's log has the details (request {rid})"
    if internal:
        return errors.InternalError(f"internal error (request {rid})", hint=hint)
    if isinstance(error, errors.Unavailable):
        if "too busy" in said or "is locked" in said:  # a lock waited for past its limit
            return errors.Unavailable(
                f"{what} too busy (request {rid}); nothing was changed",
                hint="try again in a few seconds",
            )
        return errors.Unavailable(f"{what} unavailable (request {rid})", hint=hint)
    if error.message.startswith(("database error", "the database")):
        return type(error)(f"database error (request {rid})", hint=hint)
    return error


def _where(exc: BaseException) -> str:
    """The file and line an error was raised at (its innermost frame)."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "-"
    last = frames[-1]
    from pathlib import Path

    return f"{Path(last.filename).name}:{last.lineno} in {last.name}"


def _allowed(request: Request) -> list[str]:
    """Every method the API answers on the request's path (each operation is a route of
    its own, so the one that refused knows only its own), from the OpenAPI document."""
    import re

    paths: dict[str, Any] = request.app.openapi()["paths"]
    methods: set[str] = set()
    for template, entry in paths.items():
        pattern = re.sub(r"\\{\w+\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {m.upper() for m in entry}
    return sorted(methods)


def _said(exc: HTTPException, request: Request) -> str:
    """The framework's words for its own errors, naming what was asked."""
    if exc.status_code == 404:
        return f"no such path: {request.url.path}"
    if exc.status_code == 405:
        return f"{request.method} is not allowed on {request.url.path}"
    detail: Any = exc.detail
    return str(detail) if detail else f"HTTP {exc.status_code}"
