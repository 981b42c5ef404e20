"""The exception tree. Each class carries its exit code (docs/exit-codes.md).

Services raise these; the one error boundary in ``cms_cli.main`` turns them into
``error: ...`` (and ``hint: ...``) on stderr and the exit code. Nothing else exits.
"""

from __future__ import annotations


class CmsError(Exception):
    """Base of every error a user may see. Exit 1 unless a subclass says otherwise."""

    exit_code = 1
    #: The HTTP status through `cms serve` when it is not the exit code's (core.problems).
    http_status: int | None = None

    def __init__(
        self, message: str, *, hint: str | None = None, keep_changes: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        #: Commit what the transaction did before the error (a failed login's record).
        self.keep_changes = keep_changes


class ValidationError(CmsError):
    """Invalid input, or a rule of the domain refused it (exit 1)."""

    exit_code = 1


class Cancelled(ValidationError):
    """The person stopped at a question (Ctrl-D, or "no" at a confirmation): nothing
    was written (exit 1). Said without ``error:``: it is their choice, not a failure."""


class Interrupted(Cancelled):
    """Ctrl-C at a question: as ``Cancelled``, with the exit code of an interrupt (130)."""

    exit_code = 130


class FileProblems(ValidationError):
    """A file with one or more bad lines; each problem is reported as ``line N: ...``."""

    def __init__(self, message: str, problems: list[str], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems


class TooLarge(ValidationError):
    """A request or file over its size limit (exit 1; HTTP 413)."""

    http_status = 413


class UsageError(CmsError):
    """The call itself is incomplete: a missing option, a prompt needed off a TTY (exit 2)."""

    exit_code = 2


class NotFound(CmsError):
    """Unknown e-mail, code, id or week (exit 3)."""

    exit_code = 3


class NotAuthenticated(CmsError):
    """No session, expired or revoked, bad credentials, locked or deactivated (exit 4)."""

    exit_code = 4


class PermissionDenied(CmsError):
    """Logged in, but the role or ownership does not allow it (exit 5)."""

    exit_code = 5


class Conflict(CmsError):
    """Duplicate, already exists, capacity or load limit reached (exit 6)."""

    exit_code = 6


class Unavailable(CmsError):
    """A backend (database, queue, SMTP) cannot be reached (exit 7)."""

    exit_code = 7


class TooBusy(Unavailable):
    """`cms serve` refused a request over the client's rate limit (exit 7; HTTP 429,
    with ``Retry-After`` and the ``X-RateLimit-*`` headers in ``headers``)."""

    http_status = 429

    def __init__(self, message: str, *, headers: dict[str, str], hint: str | None = None):
        super().__init__(message, hint=hint)
        self.headers = headers


class InternalError(CmsError):
    """Something cms did not foresee: a defect to report (exit 1; HTTP 500 through
    `cms serve`, its traceback in the server's log)."""


class SchemaBehind(ValidationError):
    """The configured database's schema is older than this version of cms."""

    def __init__(self, current: str | None, head: str) -> None:
        shown = current or "empty"
        super().__init__(
            f"the database schema is behind (at {shown}, this cms needs {head})",
            hint="run cms db upgrade",
        )
