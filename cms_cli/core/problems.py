"""cms's errors on the wire: RFC 9457 ``application/problem+json``, both ways.

The server turns a CmsError into a problem document that carries its class and exit
code; the client turns the document back into the same CmsError, so that a command
prints the same ``error:``/``hint:`` lines and exits with the same code whichever
transport it used. Plain Python: the client imports it without the server's libraries.
"""

from __future__ import annotations

from typing import Any

from cms_cli.core import errors
from cms_cli.core.errors import CmsError

MEDIA_TYPE = "application/problem+json"

#: HTTP status of each exit code (docs/exit-codes.md).
STATUS = {1: 422, 2: 400, 3: 404, 4: 401, 5: 403, 6: 409, 7: 503}
#: The error classes a problem may name (anything else comes back as its exit code's).
CLASSES: dict[str, type[CmsError]] = {
    cls.__name__: cls
    for cls in (
        errors.CmsError,
        errors.InternalError,
        errors.ValidationError,
        errors.UsageError,
        errors.NotFound,
        errors.NotAuthenticated,
        errors.PermissionDenied,
        errors.Conflict,
        errors.Unavailable,
    )
}
BY_EXIT = {cls.exit_code: cls for cls in reversed(list(CLASSES.values()))}


def problem(error: CmsError) -> tuple[int, dict[str, Any]]:
    """(HTTP status, problem document) of ``error``."""
    if isinstance(error, errors.InternalError):
        status = 500
    else:
        status = error.http_status or STATUS.get(error.exit_code, 500)
    kind = next(
        (name for name, cls in CLASSES.items() if type(error) is cls),
        next(c.__name__ for c in type(error).__mro__ if c.__name__ in CLASSES),
    )
    document: dict[str, Any] = {
        "type": f"urn:cms:error:{kind}",
        "title": kind,
        "status": status,
        "detail": error.message,
        "exit_code": error.exit_code,
    }
    if error.hint:
        document["hint"] = error.hint
    if isinstance(error, errors.FileProblems):
        document["problems"] = list(error.problems)
    return status, document


def error_of(document: Any, status: int) -> CmsError:
    """The CmsError a problem document describes (or a plain one for anything else)."""
    if not isinstance(document, dict) or "detail" not in document:
        return errors.CmsError(
            f"the server answered {status} without saying why",
            hint="see the server's log",
        )
    message = str(document["detail"])
    hint = document.get("hint")
    problems = document.get("problems")
    if isinstance(problems, list):
        return errors.FileProblems(message, [str(p) for p in problems], hint=hint)
    cls = CLASSES.get(str(document.get("title")))
    if cls is None:
        cls = BY_EXIT.get(int(document.get("exit_code") or 1), errors.CmsError)
    return cls(message, hint=hint)
