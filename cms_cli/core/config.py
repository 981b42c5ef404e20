"""Settings: ``CMS_*`` environment > TOML profile in ``config.toml`` > defaults.

Paths come from ``CMS_HOME`` (one folder for everything, for tests and containers)
or from platformdirs' user config and data directories.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from cms_cli.core.errors import ValidationError

APP_NAME = "cms"
DEFAULT_PROFILE = "default"
#: Keys a profile of config.toml may set, in the order `config show` prints them.
CONFIG_KEYS = (
    "server_url",
    "database_url",
    "redis_url",
    "smtp_url",
    "mail_from",
    "timezone",
    "grace_hours",
    "escalation_hours",
    "max_load",
    "session_hours",
    "session_max_days",
    "sweep_minutes",
    "delivery_attempts",
    "retry_seconds",
    "digest",
    "attendance_alert_pct",
    "attendance_alert_run",
    "rate_limit",
    "lock_wait_seconds",
)


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"


def paths() -> Paths:
    home = os.environ.get("CMS_HOME")
    if home:
        root = Path(home).expanduser()
        return Paths(config_dir=root, data_dir=root)
    import platformdirs

    return Paths(
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
    )


class Settings(BaseModel):
    """The effective settings of one invocation: made by ``from_sources`` from the
    environment (``CMS_`` + the key, upper-case), which outranks the profile's values.
    Plain pydantic (a client's start-up pays for no settings library)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    #: A `cms serve` to talk to: the CLI is then its client and needs no database.
    server_url: str | None = None
    database_url: str | None = None
    redis_url: str | None = None
    smtp_url: str | None = None
    mail_from: str = "cms@localhost"
    timezone: str = "UTC"
    grace_hours: int = Field(default=48, ge=0, le=24 * 60)
    escalation_hours: int = Field(default=72, ge=0, le=24 * 60)
    max_load: int = Field(default=4, ge=1, le=100)
    session_hours: int = Field(default=24, ge=1, le=24 * 90)
    #: The absolute lifetime of a session: `auth refresh` never extends it past this
    #: many days after the login.
    session_max_days: int = Field(default=30, ge=1, le=365)
    sweep_minutes: int = Field(default=15, ge=1, le=24 * 60)
    #: `cms doctor` fails when no sweep (cron's, or a worker's scheduler) has ended for
    #: this many minutes: reminders would stop in silence.
    sweep_max_age_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    #: The sweep leaves an offering alone this many days after its last day (its last
    #: weeks' reminders and escalations go out meanwhile); `offering close` at once.
    remind_days_after_end: int = Field(default=14, ge=0, le=3650)
    #: Each sweep prunes the outbox rows (sent or failed, of closed
    #: offerings) older than this many days, and their inbox items; 0 keeps them all.
    outbox_retention_days: int = Field(default=0, ge=0, le=36500)
    #: `cms serve`: the address its clients use (https://cms.uni.example), named in the
    #: invitations and resets it e-mails (`cms --server URL auth accept CODE`).
    public_url: str | None = None
    #: How long an invitation or password-reset code stays valid (`cms auth accept`).
    invite_hours: int = Field(default=72, ge=1, le=24 * 60)
    delivery_attempts: int = Field(default=5, ge=1, le=20)
    retry_seconds: float = Field(default=30.0, ge=0, le=3600)
    #: One e-mail per recipient per sweep listing every item (the outbox and the inbox
    #: keep one row per notification); off: one e-mail per notification.
    digest: bool = True
    #: A student is at risk under this attendance rate (over 3 recorded weeks or more)...
    attendance_alert_pct: int = Field(default=75, ge=1, le=100)
    #: ...or after this many recorded weeks missed in a row.
    attendance_alert_run: int = Field(default=3, ge=1, le=104)
    #: `cms serve`: requests a minute per session token (twice that per client address
    #: without one); over it, 429 with Retry-After. 0: no limit (server.limits).
    rate_limit: int = Field(default=600, ge=0, le=1_000_000)
    #: Seconds a statement waits for a lock held by another (a row, a table, SQLite's
    #: write lock) or a request for a pooled connection; then "too busy" (exit 7, 503).
    lock_wait_seconds: int = Field(default=10, ge=1, le=3600)
    #: `cms serve` on MySQL/MariaDB: a statement that runs longer is stopped by the
    #: server (MariaDB's max_statement_time; MySQL's max_execution_time, reads only),
    #: and the request answers "too busy" (503). 0: no limit.
    statement_seconds: int = Field(default=30, ge=0, le=3600)
    # Work factor of password hashes. 12 in production; the test suite lowers it
    # (CMS_BCRYPT_ROUNDS) so that hundreds of logins stay fast. Not a config-file key.
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)

    @field_validator("database_url", "redis_url", "smtp_url", "server_url", "public_url")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        """A URL whose address can be read, or a clear error (never an internal one,
        never a message quoting part of a password)."""
        if value:
            check_url_shape(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @classmethod
    def from_sources(cls, profile: dict[str, Any]) -> Settings:
        """The profile's values, each overridden by its ``CMS_*`` variable when set (a
        variable's text is read as the key's type: "12", "true")."""
        values = dict(profile)
        for key in cls.model_fields:
            given = os.environ.get(f"CMS_{key.upper()}")
            if given is not None:
                values[key] = given
        return cls.model_validate(values)


@dataclass(frozen=True, kw_only=True)
class Config:
    """Settings plus where they came from."""

    settings: Settings
    profile: str
    paths: Paths
    file_found: bool

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    @property
    def embedded(self) -> bool:
        """True on the embedded default (no configured database)."""
        return not self.settings.database_url

    @property
    def database_url(self) -> str:
        if self.settings.database_url:
            return self.settings.database_url
        return f"sqlite:///{self.paths.data_dir / 'cms.db'}"

    @property
    def queue_file(self) -> Path:
        return self.paths.data_dir / "queue.db"

    def public(self) -> dict[str, Any]:
        """The effective settings with every password masked (``cms config show``)."""
        values: dict[str, Any] = {key: getattr(self.settings, key) for key in CONFIG_KEYS}
        # A client holds no database: none is shown (or made) here.
        values["database_url"] = None if self.settings.server_url else self.database_url
        for key in ("database_url", "redis_url", "smtp_url"):
            if values[key]:
                values[key] = mask_url(values[key])
        values["profile"] = self.profile
        values["config_file"] = str(self.paths.config_file)
        return values


def _read_profile(file: Path, profile: str, explicit: bool) -> tuple[dict[str, Any], bool]:
    if not file.exists():
        if explicit and profile != DEFAULT_PROFILE:
            raise ValidationError(
                f"profile {profile!r} not found: there is no config file at {file}",
                hint="create it with a [" + profile + "] table (see docs/configuration.md)",
            )
        return {}, False
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{file} is not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ValidationError(f"cannot read {file}: {exc.strerror}") from exc
    table = data.get(profile)
    if table is None:
        if explicit and profile != DEFAULT_PROFILE:
            known = ", ".join(sorted(k for k, v in data.items() if isinstance(v, dict))) or "none"
            raise ValidationError(f"profile {profile!r} not found in {file} (profiles: {known})")
        return {}, True
    if not isinstance(table, dict):
        raise ValidationError(f"{file}: [{profile}] must be a table")
    unknown = sorted(set(table) - set(CONFIG_KEYS))
    if unknown:
        raise ValidationError(
            f"{file} [{profile}]: unknown key {unknown[0]!r}",
            hint="known keys: " + ", ".join(CONFIG_KEYS),
        )
    return dict(table), True


def load_config(profile: str | None = None) -> Config:
    """Read the environment and the config file; raise ValidationError when they are wrong."""
    explicit = bool(profile or os.environ.get("CMS_PROFILE"))
    name = profile or os.environ.get("CMS_PROFILE") or DEFAULT_PROFILE
    where = paths()
    values, found = _read_profile(where.config_file, name, explicit)
    try:
        settings = Settings.from_sources(values)
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else "setting"
        message = str(err["msg"]).removeprefix("Value error, ")
        raise ValidationError(
            f"setting {key} (CMS_{key.upper()}): {message}",
            hint="check the environment and " + str(where.config_file),
        ) from exc
    return _as_client(Config(settings=settings, profile=name, paths=where, file_found=found))


def check_url_shape(url: str) -> None:
    """ValueError unless ``url``'s host and port can be read: a user or password with
    ``@``, ``:`` or ``/`` in it must be percent-encoded (%40, %3A, %2F)."""
    parts = urlsplit(url)
    if parts.netloc.count("@") > 1:
        raise ValueError(
            "more than one @ in the address: write an @ of the user or password as %40"
        )
    try:
        parts.port  # noqa: B018  (reading it checks it)
    except ValueError:
        raise ValueError(
            "the port is not a number (a : or / in the password must be written %3A, %2F)"
        ) from None


def server_file(config: Config) -> Path:
    """Where `cms --server URL auth login` remembers the server (and its time zone)
    for the profile; `cms auth logout` forgets it."""
    return config.paths.config_dir / f"server-{config.profile}.json"


def remember_server(config: Config, url: str, timezone: str | None, *, remember: bool) -> None:
    """The time zone of the server at ``url``, for the client's times; with
    ``remember`` (a login through ``--server``), the profile talks to ``url`` from now
    on, until `auth logout`."""
    import json

    from cms_cli.core.files import private_file

    file = private_file(server_file(config))
    data = {"url": url, "timezone": timezone, "remembered": remember}
    file.write_text(json.dumps(data) + "\n", encoding="utf-8")


def forget_server(config: Config) -> None:
    server_file(config).unlink(missing_ok=True)


def _as_client(config: Config) -> Config:
    """``config`` with the server its profile logged in to through ``--server`` when
    none is configured, and in client mode the server's time zone when none is set
    here (the institution's, as its e-mails say it)."""
    import json

    file = server_file(config)
    if not file.exists():
        return config
    try:
        remembered = json.loads(file.read_text(encoding="utf-8"))
        url, zone = str(remembered["url"]), remembered.get("timezone")
        sticky = bool(remembered.get("remembered"))
    except (OSError, ValueError, KeyError, TypeError):
        return config
    settings = config.settings
    changes: dict[str, Any] = {}
    if not settings.server_url and sticky:
        changes["server_url"] = url
    if (
        (settings.server_url or (url if sticky else None)) == url
        and zone
        and "timezone" not in settings.model_fields_set
        and _known_zone(zone)
    ):
        changes["timezone"] = zone
    if not changes:
        return config
    from dataclasses import replace

    return replace(config, settings=settings.model_copy(update=changes))


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


#: Query-string parameters that carry a secret (``?password=``, ``?ssl_key=``...).
SECRET_PARAMS = re.compile(r"pass|pwd|secret|token|key|auth|credential", re.IGNORECASE)


def mask_url(url: str) -> str:
    """``scheme://user:***@host/db?password=***``: no password, in the user part or in
    the query string, reaches output or logs."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparseable URL>"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    secret_query = any(SECRET_PARAMS.search(k) for k, _ in pairs)
    base, mark, query = url.partition("?")  # not urlunsplit: it rewrites sqlite:////path
    if password is not None:
        host = parts.netloc.rsplit("@", 1)[1]
        base = base.replace(parts.netloc, f"{parts.username or ''}:***@{host}", 1)
    if secret_query:
        shown = [(k, "***" if SECRET_PARAMS.search(k) else v) for k, v in pairs]
        query = urlencode(shown, safe="*/:")
    return base + mark + query
