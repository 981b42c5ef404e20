"""Who is running this command: the stored token, checked against the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlmodel import Session

from cms_cli.auth import credentials, service
from cms_cli.auth.models import AuthSession, User
from cms_cli.core.config import Config
from cms_cli.core.errors import NotAuthenticated


@dataclass(frozen=True)
class Current:
    user: User
    auth_session: AuthSession
    store: credentials.Store


def _first_step(session: Session) -> str:
    """What to do first: log in, or, on a database with no account yet, create one."""
    from sqlmodel import func, select

    if session.exec(select(func.count()).select_from(User)).one() == 0:
        return (
            "this database has no account yet: cms auth bootstrap --email EMAIL --name NAME "
            "creates the first (a manager); or try cms demo"
        )
    return "run cms auth login --email EMAIL"


def current(session: Session, config: Config) -> Current:
    """NotAuthenticated (exit 4) without a valid session."""
    stored = credentials.load(config)
    if stored is None:
        raise NotAuthenticated("not logged in", hint=_first_step(session))
    user, row = service.authenticate(session, stored.token)
    return Current(user=user, auth_session=row, store=stored.store)


def actor(session: Session, config: Config) -> User:
    return current(session, config).user


@contextmanager
def signed_in() -> Iterator[tuple[Session, User]]:
    """One transaction on the configured database, with the logged-in user (exit 4 if none)."""
    from cms_cli.core.context import current as invocation
    from cms_cli.core.session import transaction

    with transaction() as session:
        yield session, actor(session, invocation().config())
