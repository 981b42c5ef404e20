"""the last sweep of each origin (cron's `cms notify sweep` on a host, a worker's
scheduler), for cms doctor's check of the sweep's age

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cms_cli.core.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sweep_mark",
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("finished_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("origin", name=op.f("pk_sweep_mark")),
    )


def downgrade() -> None:
    op.drop_table("sweep_mark")
