"""Alembic environment for cms: works on SQLite (batch mode) and MySQL alike.

cms runs migrations in-process (``cms db upgrade``) and passes its connection in
``config.attributes["connection"]``; run from the alembic CLI, the URL comes from
the cms settings (CMS_DATABASE_URL, profile, embedded default).
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from cms_cli.core.models import import_all_models

import_all_models()
target_metadata = SQLModel.metadata


def _configure_and_run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    from cms_cli.core.config import load_config
    from cms_cli.core.db import make_engine

    engine = make_engine(load_config().database_url)
    with engine.connect() as conn:
        _configure_and_run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("cms migrations run online only (cms db upgrade)")
run_migrations_online()
