"""instances: outbox leases and shared send rates for several bot processes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

Several bot instances may share one PostgreSQL database (docs/DEPLOY.md): an
outbox row is sent by the instance holding its lease (``claimed_by`` until
``claimed_until``), and the send limits are kept for the bot as a whole in
``send_slots`` (one GCRA row for the bot, one per chat).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(
            op.f("ix_outbox_chat"), ["channel", "chat_id", "status", "id"], unique=False
        )
    op.create_table(
        "send_slots",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("tat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_send_slots")),
    )


def downgrade() -> None:
    op.drop_table("send_slots")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index(op.f("ix_outbox_chat"))
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
