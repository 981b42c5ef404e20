"""notifications, inbox, worker heartbeat

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 19:29:47.504417
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cms_cli.core.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeat",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("started_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.Column("seen_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.Column("scheduler", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_heartbeat")),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("reminder", "escalation", name="kind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("offering_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "queued",
                "sent",
                "failed",
                name="notificationstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.Column("queued_at", cms_cli.core.db.UTCDateTime(), nullable=True),
        sa.Column("sent_at", cms_cli.core.db.UTCDateTime(), nullable=True),
        sa.Column("sweep_token", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("claim_token", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("claimed_at", cms_cli.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["offering_id"],
            ["offering.id"],
            name=op.f("fk_notification_offering_id_offering"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["app_user.id"], name=op.f("fk_notification_recipient_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint(
            "recipient_id",
            "kind",
            "offering_id",
            "week",
            name=op.f("uq_notification_recipient_id_kind_offering_id_week"),
        ),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_offering_id"), ["offering_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notification_recipient_id"), ["recipient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notification_status_queued_at"), ["status", "queued_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notification_sweep_token"), ["sweep_token"], unique=False
        )

    op.create_table(
        "inbox_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.Column("read_at", cms_cli.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
            name=op.f("fk_inbox_item_notification_id_notification"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_inbox_item_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_item")),
        sa.UniqueConstraint("notification_id", name=op.f("uq_inbox_item_notification_id")),
    )
    with op.batch_alter_table("inbox_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_item_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("inbox_item")
    op.drop_table("worker_heartbeat")
    op.drop_table("notification")
