"""How many requests `cms serve` takes from one client: ``rate_limit``
(``CMS_RATE_LIMIT``, default 600) requests a minute per session token, twice that per
client address for requests without a token and for those whose token is refused.
Over it: 429, ``Retry-After`` (the seconds left in the minute) and exit 7 for the CLI,
which waits and tries once more when told how long.

The counts are shared by every worker and every server process, never kept in one
process's memory: in Redis when ``redis_url`` is set (one round trip per request), else
in the database (MySQL: the ``rate_count`` table, one autocommit statement outside the
request's transaction; SQLite: a file of its own beside the database, so that counting
never waits behind the data's write lock). A fixed one-minute window per key.

A counter that cannot be reached lets the request through (logged once a minute):
the limit protects the server, it must never be what takes it down.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cms_cli.core import clock

if TYPE_CHECKING:
    from cms_cli.core.config import Config

#: The window, in seconds: limits are per minute.
WINDOW = 60

log = logging.getLogger("cms.server")


@dataclass(frozen=True)
class Verdict:
    """One request counted: the key's limit, its count so far this window (this request
    included) and when the window ends (epoch seconds)."""

    limit: int
    used: int
    reset: int

    @property
    def allowed(self) -> bool:
        return self.used <= self.limit

    def retry_after(self, now: float) -> int:
        return max(1, self.reset - int(now))

    def headers(self, now: float) -> dict[str, str]:
        """GitHub's ``X-RateLimit-*`` headers (and ``Retry-After`` once over)."""
        shown = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.limit - self.used)),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            shown["Retry-After"] = str(self.retry_after(now))
        return shown


class Store(Protocol):
    def add(self, key: str, window: int) -> int:
        """One more hit on ``key`` in ``window``; its count after it."""
        ...


class RedisStore:
    """Counts in Redis: ``INCR`` and ``EXPIRE`` pipelined (one round trip)."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def add(self, key: str, window: int) -> int:
        name = f"cms:rate:{window}:{key}"
        pipe = self.client.pipeline(transaction=False)
        pipe.incr(name)
        pipe.expire(name, 2 * WINDOW)
        count, _ = pipe.execute()
        return int(count)


class MysqlStore:
    """Counts in the database's ``rate_count`` table: one autocommit upsert that answers
    the count itself (``LAST_INSERT_ID(hits + 1)``), so no lock outlives the statement."""

    ADD = (
        "INSERT INTO rate_count (rate_key, window_start, hits) VALUES (%s, %s, 1) "
        "ON DUPLICATE KEY UPDATE hits = LAST_INSERT_ID(hits + 1)"
    )

    def __init__(self, url: str) -> None:
        from cms_cli.core.db import make_engine

        # A pool of its own: its connections stay in autocommit (set once each), and
        # the requests' own pool never lends one to the count.
        # A second at most for its lock or a connection (a locked rate_count, a backup's
        # global read lock): then the request goes through uncounted, never waits 10 s.
        self.engine = make_engine(url, lock_wait=1)
        self.pruned = 0

    def add(self, key: str, window: int) -> int:
        with self.engine.connect() as conn:
            dbapi: Any = conn.connection.dbapi_connection
            dbapi.autocommit(True)  # a statement the first time only (PyMySQL knows)
            cursor = dbapi.cursor()
            try:
                cursor.execute(self.ADD, (key, window))
                # A new row answers 0 (no AUTO_INCREMENT), an update the new count.
                count = int(cursor.lastrowid or 0) or 1
                if window != self.pruned and count == 1:  # once a minute per process
                    cursor.execute("DELETE FROM rate_count WHERE window_start < %s", (window - 1,))
                    self.pruned = window
            finally:
                cursor.close()
        return count


class SqliteStore:
    """Counts in a SQLite file of their own beside the database (``NAME.limits``): the
    database's write lock, held by an import or a sweep, never delays a request's
    count, and the counts never enter a backup. One connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.local = threading.local()
        self.pruned = 0

    def _connection(self) -> Any:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            import sqlite3

            from cms_cli.core.files import private_file

            private_file(self.path)  # 0600: it holds client addresses
            conn = sqlite3.connect(self.path, timeout=0.25, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")  # counts may be lost in a crash
            conn.execute(
                "CREATE TABLE IF NOT EXISTS rate_count (rate_key TEXT NOT NULL, "
                "window_start INTEGER NOT NULL, hits INTEGER NOT NULL, "
                "PRIMARY KEY (rate_key, window_start)) WITHOUT ROWID"
            )
            self.local.conn = conn
        return conn

    def add(self, key: str, window: int) -> int:
        conn = self._connection()
        row = conn.execute(
            "INSERT INTO rate_count (rate_key, window_start, hits) VALUES (?, ?, 1) "
            "ON CONFLICT (rate_key, window_start) DO UPDATE SET hits = hits + 1 "
            "RETURNING hits",
            (key, window),
        ).fetchone()
        count = int(row[0])
        if window != self.pruned and count == 1:
            conn.execute("DELETE FROM rate_count WHERE window_start < ?", (window - 1,))
            self.pruned = window
        return count


class MemoryStore:
    """Counts in this process (a database in memory: there is one process anyway)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int], int] = {}
        self.lock = threading.Lock()

    def add(self, key: str, window: int) -> int:
        with self.lock:
            for old in [k for k in self.counts if k[1] < window - 1]:
                del self.counts[old]
            self.counts[(key, window)] = self.counts.get((key, window), 0) + 1
            return self.counts[(key, window)]


def store_for(config: Config) -> Store:
    """Where ``config``'s server keeps its counts (see the module's docstring)."""
    settings = config.settings
    if settings.redis_url:
        return RedisStore(settings.redis_url)
    url = config.database_url
    if url.startswith("mysql"):
        return MysqlStore(url)
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:":
        return MemoryStore()
    return SqliteStore(Path(database).with_name(Path(database).name + ".limits"))


class Limiter:
    """Counts requests against ``per_minute`` (0: no limit)."""

    def __init__(self, store: Store | None, per_minute: int) -> None:
        self.store = store
        self.per_minute = per_minute
        self.complained = 0

    @classmethod
    def of(cls, config: Config) -> Limiter:
        per_minute = config.settings.rate_limit
        return cls(store_for(config) if per_minute else None, per_minute)

    def token(self, token: str) -> Verdict | None:
        """A request carrying ``token`` (counted whether or not it is a session's)."""
        digest = hashlib.sha256(token.encode()).hexdigest()[:48]
        return self._hit(f"t:{digest}", self.per_minute)

    def address(self, address: str | None) -> Verdict | None:
        """A request without a token, or whose token was refused, from ``address``."""
        return self._hit(f"a:{(address or 'unknown')[:64]}", 2 * self.per_minute)

    def _hit(self, key: str, limit: int) -> Verdict | None:
        if self.store is None:
            return None
        now = clock.wall()
        window = int(now // WINDOW)
        try:
            used = self.store.add(key, window)
        except Exception as exc:  # never what takes the server down: let it through
            if window != self.complained:
                self.complained = window
                log.warning(
                    "request limits not counted (letting requests through): %s",
                    type(exc).__name__,
                    extra={"event": "rate_limit_unavailable", "reason": str(exc)[:200]},
                )
            return None
        return Verdict(limit=limit, used=used, reset=(window + 1) * WINDOW)
