"""processed_clustered: on SQLite, the handled updates stored by their key alone

A handled update is one row per inbound message, written in every conversation step.
As an ordinary SQLite table its key lived twice, in the table and in the index of
the primary key, and each step wrote a page of both. WITHOUT ROWID keeps the rows in
the key's own B-tree: one page a step, the same lookups. PostgreSQL is unchanged.

Revision ID: 0010_processed_clustered
Revises: 0009_notification_lease
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_processed_clustered"
down_revision: str | None = "0009_notification_lease"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild(rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TABLE processed_updates_new ("
        "channel VARCHAR(16) NOT NULL, "
        "update_id VARCHAR(64) NOT NULL, "
        "processed_at DATETIME NOT NULL, "
        "CONSTRAINT pk_processed_updates PRIMARY KEY (channel, update_id))"
        + ("" if rowid else " WITHOUT ROWID")
    )
    op.execute(
        "INSERT INTO processed_updates_new (channel, update_id, processed_at) "
        "SELECT channel, update_id, processed_at FROM processed_updates"
    )
    op.execute("DROP TABLE processed_updates")
    op.execute("ALTER TABLE processed_updates_new RENAME TO processed_updates")


def upgrade() -> None:
    _rebuild(rowid=False)


def downgrade() -> None:
    _rebuild(rowid=True)
