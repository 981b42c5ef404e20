"""What an operation needs from the invocation that runs it: one function gives each
need the same way to the local call (this command's settings and instant) and to the
server (its own settings, its own clock for each request)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cms_cli.core.config import Config
    from cms_cli.core.operation import Operation


def provide(operation: Operation, config: Config, now: datetime, **given: Any) -> dict[str, Any]:
    """The keyword arguments for ``operation.needs``: ``given`` ones (the caller's
    session row, the client's address, a page, a progress callback) as they are, the
    rest from ``config`` and ``now``."""
    values: dict[str, Any] = {}
    for name in operation.needs:
        if name in given:
            values[name] = given[name]
        elif name == "now":
            values[name] = now
        elif name == "today":
            values[name] = now.astimezone(config.tz).date()
        elif name == "tz":
            values[name] = config.tz
        elif name == "deadlines":
            from cms_cli.tracker.calendar import Deadlines

            values[name] = Deadlines.of(config)
        elif name == "max_load":
            values[name] = config.settings.max_load
        elif name == "rounds":
            values[name] = config.settings.bcrypt_rounds
        elif name == "hours":
            values[name] = config.settings.session_hours
        elif name == "max_days":
            values[name] = config.settings.session_max_days
        elif name == "config":
            values[name] = config
        else:  # auth_session, source, page, progress: the transport's to give
            values[name] = None
    return values
