"""Shell completion of values that live in the database, safely.

Static completion (command and option names) never gets here and imports nothing
heavy; the completers (offering ids: offerings.complete; e-mails: auth.complete) run
only when the shell asks for such a value, through ``query``, so they never fail:
anything that goes wrong (no database, no schema) completes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def query(run: Callable[[Any], list[tuple[str, str]]]) -> list[tuple[str, str]]:
    """``run(session)`` on the configured database; nothing when anything fails."""
    try:
        from pathlib import Path

        import sqlalchemy as sa
        from sqlmodel import Session

        from cms_cli.core.config import load_config
        from cms_cli.core.db import engine_for

        config = load_config()
        if config.settings.server_url:
            return []  # a client holds no database: none is opened (or made) here
        if config.embedded and not Path(sa.make_url(config.database_url).database or "").exists():
            return []  # completing never creates the embedded database
        with Session(engine_for(config.database_url)) as session:
            return run(session)
    except Exception:
        return []
