"""processed_updates.processed_at indexed: the retention pass deletes the oldest first

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

Handled update ids and inbox rows are pruned past a retention window (issue 15,
storage/retention.py, docs/STORAGE.md); the pass finds the oldest ids a chunk at a
time, which without this index reads the whole table for every chunk. On PostgreSQL
the index is built under a lock that holds back new updates for as long as the build
takes on the rows already there (0.9 s for a million, bench.retention).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_processed_updates_processed_at"),
        "processed_updates",
        ["processed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_processed_updates_processed_at"), table_name="processed_updates")
