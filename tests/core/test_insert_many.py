"""core.db.insert_many: the bulk INSERT of imports writes exactly what the ORM would, on
SQLite (positional parameters) and MariaDB (named ones)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from cms_cli.catalog.models import ClassGroup, Intake, Module
from cms_cli.core.db import insert_many


def test_rows_read_back_as_written(session: Any) -> None:
    now = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
    rows = [
        {
            "code": f"X{n:03d}",
            "name": "Élan « vital »" if n == 0 else f"Module {n}",
            "credits": 1 + n % 10,
            "description": None if n % 2 else f"about {n}",
            "is_active": n % 3 != 0,
            # Repeated values (processed once) and distinct ones side by side.
            "created_at": now if n < 5 else now + timedelta(seconds=n),
        }
        for n in range(12)
    ]
    insert_many(session, Module.__table__, rows)  # type: ignore[attr-defined]
    session.commit()
    found = session.exec(select(Module).order_by(Module.code)).all()
    assert [{k: getattr(m, k) for k in rows[0]} for m in found] == rows
    assert found[0].created_at.tzinfo is not None


def test_enums_defaults_and_the_empty_list(session: Any) -> None:
    """Without ``is_active`` the column's default must apply: insert_many then takes
    SQLAlchemy's own path, which fills it in."""
    insert_many(session, ClassGroup.__table__, [])  # type: ignore[attr-defined]
    now = datetime(2026, 3, 1, tzinfo=UTC)
    intakes = (Intake.FT, Intake.HT1, Intake.FT)
    rows = [
        {
            "code": f"2026{c}",
            "year": 2026,
            "trimester": 1 + i % 3,
            "intake": intake,
            "created_at": now,
        }
        for i, (c, intake) in enumerate(zip("JKL", intakes, strict=True))
    ]
    insert_many(session, ClassGroup.__table__, rows)  # type: ignore[attr-defined]
    session.commit()
    found = session.exec(select(ClassGroup).order_by(ClassGroup.code)).all()
    assert [(g.code, g.trimester, g.intake, g.is_active) for g in found] == [
        ("2026J", 1, Intake.FT, True),
        ("2026K", 2, Intake.HT1, True),
        ("2026L", 3, Intake.FT, True),
    ]
