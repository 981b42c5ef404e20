"""e-mails compared byte for byte on MySQL (utf8mb4_bin): the default collation
ignores accents and case, so àna@ matched ana@ (a login, a duplicate check)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "mysql":  # SQLite compares bytes already
        op.execute(
            "ALTER TABLE app_user MODIFY email VARCHAR(254) "
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "mysql":
        op.execute(
            "ALTER TABLE app_user MODIFY email VARCHAR(254) "
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL"
        )
