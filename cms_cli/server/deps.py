"""What every route of `cms serve` depends on, declared once (as the full-stack FastAPI
template's ``deps.py``): the request's scope (the server's settings, one instant, one
transaction), ``SessionDep`` and ``CurrentUser`` with the bearer scheme that OpenAPI
documents.

The token is checked before a request's body is read (routes.Guarded signs the scope
in first); these dependencies hand the route what that found.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cms_cli.core.errors import NotAuthenticated

if TYPE_CHECKING:
    from cms_cli.core.config import Config
    from cms_cli.core.session import Transaction

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="session",
    description="The session token of `cms auth login` (`cms auth token` prints it).",
)


def token_of(authorization: str | None) -> str:
    """The bearer token of an Authorization header; NotAuthenticated (exit 4) without."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("not logged in", hint="run cms auth login --email EMAIL")
    return token.strip()


class Scope:
    """One request's world: the server's settings, the server's clock read once, the
    client's address, and one transaction with the person signed in."""

    def __init__(
        self, config: Config, now: datetime, source: str | None, *, read_only: bool = False
    ) -> None:
        self.config = config
        self.now = now
        self.source = source
        #: A GET: its transaction only reads (on SQLite, no lock: core.db).
        self.read_only = read_only
        self.transaction: Transaction | None = None
        self.user: Any = None
        self.auth_session: Any = None

    @property
    def session(self) -> Any:
        if self.transaction is None:
            from cms_cli.core.session import Transaction

            self.transaction = Transaction(self.config, read_only=self.read_only)
        return self.transaction.session

    def sign_in(self, token: str) -> None:
        """The person the token belongs to (NotAuthenticated, exit 4, if none): the
        session and its person in one statement."""
        from cms_cli.auth import service

        self.user, self.auth_session = service.authenticate(self.session, token)

    def pause(self) -> None:
        """Before a body is read: a slow client must never hold a lock (core.db's
        release_read: the sign-in's transaction ends on SQLite, goes on on MySQL)."""
        if self.transaction is not None:
            from cms_cli.core.db import release_read

            release_read(self.transaction.session)

    def end(self, error: BaseException | None) -> None:
        if self.transaction is not None:
            transaction, self.transaction = self.transaction, None
            transaction.end(error)


def scope_of(request: Request) -> Scope:
    scope: Scope = request.state.scope
    return scope


ScopeDep = Annotated[Scope, Depends(scope_of)]


def session_of(scope: ScopeDep) -> Any:
    return scope.session


#: The request's transaction (sqlmodel.Session).
SessionDep = Annotated[Any, Depends(session_of)]


def current_user(
    scope: ScopeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Any:
    """The signed-in person (auth.models.User)."""
    if scope.user is None:  # a route that did not sign in first: refuse, never guess
        raise NotAuthenticated("not logged in", hint="run cms auth login --email EMAIL")
    return scope.user


CurrentUser = Annotated[Any, Depends(current_user)]
