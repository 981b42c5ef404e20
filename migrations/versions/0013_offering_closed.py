"""offering.closed_at: a term ended by `cms offering close` (never swept again)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cms_cli.core.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("offering", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", cms_cli.core.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("offering", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
