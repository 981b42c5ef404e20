"""Shell completion of offering ids (``--offering <TAB>``, ``offering show <TAB>``)."""

from __future__ import annotations

from typing import Any

from cms_cli.core.complete import query


def offering_ids(incomplete: str) -> list[tuple[str, str]]:
    """Offering ids with their module and class, for `--offering` and `offering show ID`."""

    def run(session: Any) -> list[tuple[str, str]]:
        import sqlalchemy as sa
        from sqlmodel import col

        from cms_cli.catalog.models import ClassGroup, Module
        from cms_cli.offerings.models import Offering

        rows = session.execute(
            sa.select(col(Offering.id), col(Module.code), col(ClassGroup.code))
            .join(Module, col(Module.id) == Offering.module_id)
            .join(ClassGroup, col(ClassGroup.id) == Offering.class_id)
            .where(col(Offering.cancelled_at).is_(None))
            .order_by(col(Offering.id))
            .limit(500)
        ).all()
        return [(str(i), f"{m} {c}") for i, m, c in rows if str(i).startswith(incomplete)]

    return query(run)
