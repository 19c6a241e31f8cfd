"""whatsapp: the chats of the WhatsApp channel (sealed number, last inbound message)

Revision ID: 0007_whatsapp
Revises: 0004_outbox
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_whatsapp"
down_revision: str | None = "0004_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_contacts",
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("sealed_wa_id", sa.Text(), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("external_id", name=op.f("pk_whatsapp_contacts")),
    )


def downgrade() -> None:
    op.drop_table("whatsapp_contacts")
