"""Two portable SQL pieces the sweep needs: whole days between two dates, and an INSERT
that skips rows a unique key already holds (ON CONFLICT DO NOTHING / INSERT IGNORE)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class days_between(FunctionElement[int]):
    """Whole days from the first date to the second (second - first)."""

    type = sa.Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between, "sqlite")
def _days_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    first, second = list(element.clauses)
    return (
        f"CAST(julianday({compiler.process(second, **kw)}) - "
        f"julianday({compiler.process(first, **kw)}) AS INTEGER)"
    )


@compiles(days_between, "mysql")
def _days_mysql(element: days_between, compiler: Any, **kw: Any) -> str:
    first, second = list(element.clauses)
    return f"DATEDIFF({compiler.process(second, **kw)}, {compiler.process(first, **kw)})"


def insert_ignoring_duplicates(dialect: str, table: sa.Table) -> Any:
    """INSERT that leaves rows whose unique key exists alone, on SQLite or MySQL."""
    if dialect == "mysql":
        return sa.insert(table).prefix_with("IGNORE")
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()
