"""Any exception as the CmsError a person (or a client of `cms serve`) is shown: the
database's, Redis's and the driver's failures become "unavailable" (exit 7) or a
conflict, anything unforeseen an internal error. The CLI's error boundary and the
server's problem documents both map through here."""

from __future__ import annotations

import sys

from cms_cli.core import context
from cms_cli.core.errors import CmsError, Unavailable


def as_cms_error(exc: BaseException, *, database_url: str | None = None) -> CmsError:
    """Map any exception to the CmsError the user sees (connection failures: exit 7).
    ``database_url`` names the database in the message (default: this invocation's)."""
    if isinstance(exc, CmsError):
        return exc
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None and isinstance(exc, sa_exc.DBAPIError):
        from cms_cli.core.db import database_error

        if isinstance(exc, sa_exc.IntegrityError):
            from cms_cli.core.errors import Conflict

            return Conflict("that conflicts with an existing record")
        url = database_url
        if url is None:
            try:
                url = context.current().config().database_url
            except CmsError:
                url = "the database"
        return database_error(url, exc)
    if isinstance(exc, OverflowError):  # a number the database driver cannot bind
        from cms_cli.core.errors import ValidationError

        return ValidationError(
            f"a value is out of range ({exc}); nothing was changed",
            hint="see docs/limits.md for the limit of each field",
        )
    redis_exc = sys.modules.get("redis.exceptions")
    if redis_exc is not None and isinstance(exc, redis_exc.ConnectionError):
        return Unavailable(f"queue unavailable (Redis): {exc}", hint="check CMS_REDIS_URL")
    if redis_exc is not None and isinstance(exc, redis_exc.RedisError):
        # Redis refused a command (full under noeviction: "OOM command not allowed"). A
        # pipeline's error names the command and its arguments, a task's pickled bytes:
        # only Redis's own words are shown.
        said = (str(exc).rpartition("caused error: ")[2].splitlines() or [""])[0][:200]
        full = "maxmemory" in said
        return Unavailable(
            f"queue refused the write (Redis): {said}",
            hint="Redis is full: raise maxmemory, or start workers to drain it"
            if full
            else "check Redis (cms doctor)",
        )
    from cms_cli.core.errors import InternalError

    return InternalError(
        f"internal error: {type(exc).__name__}: {exc}",
        hint="run again with --debug for the traceback, and report it",
    )
