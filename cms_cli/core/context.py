"""This invocation: what the root command parsed, and what every command of it shares.

One object per run (hatch's ``app``, gh's ``Factory``), carried on Typer's context
(``ctx.obj``) and reachable as ``current()``: the profile and ``--debug``, the
settings (read once), and one instant, so that "now", "today" and the institution's
time zone of a command agree with each other however long it runs.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cms_cli.core.config import Config


@dataclass(kw_only=True)
class Invocation:
    profile: str | None = None
    debug: bool = False
    #: ``--server``: a `cms serve` to talk to instead of the configured one.
    server: str | None = None
    #: ``--insecure``: allow http:// to a server that is not this machine.
    insecure: bool = False
    #: Whether this invocation may create the embedded database when it is missing:
    #: only `cms demo`, `cms auth bootstrap` and `cms db upgrade --create` say so (a
    #: cron line that finds no database must not sweep a new empty one in silence).
    #: True outside a command (a server's worker process: `cms serve` checked).
    may_create: bool = True
    _config: Config | None = field(default=None, repr=False)
    _now: datetime | None = field(default=None, repr=False)

    def config(self) -> Config:
        """The settings of this invocation, read once."""
        if self._config is None:
            from cms_cli.core.config import load_config

            self._config = load_config(self.profile)
        return self._config

    @property
    def server_url(self) -> str | None:
        """The server this invocation is a client of (``--server``, else the settings'
        ``server_url``), or None: it talks to the database itself."""
        return self.server or self.config().settings.server_url or None

    @property
    def now(self) -> datetime:
        """The instant of this invocation (``CMS_NOW`` when set), read once."""
        if self._now is None:
            from cms_cli.core import clock

            self._now = clock.now()
        return self._now

    @property
    def tz(self) -> Any:
        """The institution's time zone (settings)."""
        return self.config().tz

    @property
    def today(self) -> date:
        """The day of ``now`` in the institution's time zone."""
        return self.now.astimezone(self.tz).date()


_current = Invocation()

#: The network address of the client a request of `cms serve` came from (behind a
#: trusted proxy, the address it forwarded), for the audit trail; None in a command
#: that holds the database itself. Set per request by the server, read by audit.record.
client_address: ContextVar[str | None] = ContextVar("client_address", default=None)
#: The id of the `cms serve` request being answered (X-Request-Id, and in the server's
#: log beside any failure a client was told of only by this id).
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current() -> Invocation:
    return _current


def begin(
    profile: str | None, debug: bool, *, server: str | None = None, insecure: bool = False
) -> Invocation:
    """Start a new invocation (the root callback calls this once per run)."""
    global _current
    _current = Invocation(
        profile=profile, debug=debug, server=server, insecure=insecure, may_create=False
    )
    return _current
