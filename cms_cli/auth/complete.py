"""Shell completion of account e-mails (``--facilitator <TAB>``, ``--student <TAB>``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cms_cli.core.complete import query


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

        return query(run)

    return complete
