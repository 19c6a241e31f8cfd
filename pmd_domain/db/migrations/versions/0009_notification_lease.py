"""notification_lease: a notification is taken for a while, and marked sent once it went

Revision ID: 0009_notification_lease
Revises: 0005_staff_web
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_notification_lease"
down_revision: str | None = "0005_staff_web"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows already marked were sent (or given up); the rest wait, untaken.
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("claimed_until")
