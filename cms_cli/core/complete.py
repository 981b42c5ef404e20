"""Shell completion of values that live in the database (offering ids, e-mails).

Static completion (command and option names) never gets here and imports nothing
heavy; these run only when the shell asks for such a value. They never fail: anything
that goes wrong (no database, no schema) completes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _query(run: Callable[[Any], list[tuple[str, str]]]) -> list[tuple[str, str]]:
    try:
        from sqlmodel import Session

        from cms_cli.core.config import load_config
        from cms_cli.core.db import engine_for

        with Session(engine_for(load_config().database_url)) as session:
            return run(session)
    except Exception:
        return []


def offering_ids(incomplete: str) -> list[tuple[str, str]]:
    """Offering ids with their module and class, for `--offering` and `offering show ID`."""

    def run(session: Any) -> list[tuple[str, str]]:
        import sqlalchemy as sa

        from cms_cli.catalog.models import ClassGroup, Module
        from cms_cli.offerings.models import Offering

        rows = session.execute(
            sa.select(Offering.id, Module.code, ClassGroup.code)  # type: ignore[call-overload]
            .join(Module, Module.id == Offering.module_id)
            .join(ClassGroup, ClassGroup.id == Offering.class_id)
            .where(Offering.cancelled_at.is_(None))  # type: ignore[union-attr]
            .order_by(Offering.id)
            .limit(500)
        ).all()
        return [(str(i), f"{m} {c}") for i, m, c in rows if str(i).startswith(incomplete)]

    return _query(run)


def emails(role: str) -> Callable[[str], list[tuple[str, str]]]:
    """Completion of the e-mails of active accounts of ``role``."""

    def complete(incomplete: str) -> list[tuple[str, str]]:
        def run(session: Any) -> list[tuple[str, str]]:
            import sqlalchemy as sa
            from sqlmodel import col

            from cms_cli.auth.models import User

            rows = session.execute(
                sa.select(col(User.email), col(User.name))
                .where(
                    col(User.role) == role,
                    col(User.is_active).is_(True),
                    col(User.email).startswith(incomplete.lower()),
                )
                .order_by(col(User.email))
                .limit(200)
            ).all()
            return [(e, n) for e, n in rows]

        return _query(run)

    return complete
