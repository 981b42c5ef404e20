"""The server's own table: request counts per client and minute (server.limits)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class RateCount(SQLModel, table=True):
    """Requests of one client (a token's digest, or an address) in one minute.

    On MySQL `cms serve` counts here, in one autocommit statement per request; on SQLite
    it counts in a file of its own beside the database (``NAME.limits``), so that the
    table stays empty there. Rows older than the previous minute are deleted as the
    minutes turn.
    """

    __tablename__ = "rate_count"

    rate_key: str = Field(primary_key=True, max_length=64)
    window_start: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True))
    hits: int = Field(default=0)
