"""What the root command parsed (profile, debug), for the commands of this invocation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cms_cli.core.config import Config


@dataclass
class Invocation:
    profile: str | None = None
    debug: bool = False
    _config: Config | None = field(default=None, repr=False)

    def config(self) -> Config:
        """The settings of this invocation, read once."""
        if self._config is None:
            from cms_cli.core.config import load_config

            self._config = load_config(self.profile)
        return self._config


_current = Invocation()


def current() -> Invocation:
    return _current


def begin(profile: str | None, debug: bool) -> Invocation:
    """Start a new invocation (the root callback calls this once per run)."""
    global _current
    _current = Invocation(profile=profile, debug=debug)
    return _current
