"""foundation: accounts, sessions, audit

Revision ID: 0001
Revises:
Create Date: 2026-11-25 18:59:35.949853
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import cms_cli.core.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "app_user",
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum("manager", "facilitator", "student", name="role", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("employee_id", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("student_id", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("locked_until", cms_cli.core.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("email", name=op.f("uq_app_user_email")),
        sa.UniqueConstraint("employee_id", name=op.f("uq_app_user_employee_id")),
        sa.UniqueConstraint("student_id", name=op.f("uq_app_user_student_id")),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("entity", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("entity_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_entity"), ["entity"], unique=False)

    op.create_table(
        "auth_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", cms_cli.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_auth_session_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_session_token_hash")),
    )
    with op.batch_alter_table("auth_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_session_user_id"), ["user_id"], unique=False)

    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", cms_cli.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_login_failure_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failure")),
    )
    with op.batch_alter_table("login_failure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failure_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes (MySQL refuses to drop an index a foreign key needs).
    op.drop_table("login_failure")
    op.drop_table("auth_session")
    op.drop_table("audit_event")
    op.drop_table("app_user")
