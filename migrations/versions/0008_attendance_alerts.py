"""attendance notifications: the student and the reason, in the outbox's unique key

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("student_id", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "reason",
                sqlmodel.sql.sqltypes.AutoString(length=8),
                nullable=False,
                server_default="",
            )
        )
        batch_op.drop_constraint(
            "uq_notification_recipient_id_kind_offering_id_week", type_="unique"
        )
        batch_op.create_unique_constraint(
            "uq_notification_once",
            ["recipient_id", "kind", "offering_id", "week", "student_id", "reason"],
        )


def downgrade() -> None:
    op.execute("DELETE FROM notification WHERE kind = 'attendance'")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notification_once", type_="unique")
        batch_op.create_unique_constraint(
            "uq_notification_recipient_id_kind_offering_id_week",
            ["recipient_id", "kind", "offering_id", "week"],
        )
        batch_op.drop_column("reason")
        batch_op.drop_column("student_id")
