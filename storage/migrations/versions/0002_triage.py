"""triage: team group chats, queue timestamps, card lookups

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

For the support team's triage: a group chat bound to a unit's team, when an idea
entered its team's queue (and was reminded or escalated), and an index to find
the cards sent for an idea.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "team_chats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("bound_by", sa.Integer(), nullable=True),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bound_by"], ["people.id"], name=op.f("fk_team_chats_bound_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_team_chats_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_chats")),
        sa.UniqueConstraint("channel", "chat_id", name=op.f("uq_team_chats_channel")),
    )
    op.create_index(op.f("ix_team_chats_unit_id"), "team_chats", ["unit_id"], unique=False)
    with op.batch_alter_table("ideas") as batch:
        batch.add_column(sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f("ix_ideas_waiting_since"), ["waiting_since"], unique=False)
    op.create_index("ix_outbox_idea_purpose", "outbox", ["idea_id", "purpose"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_idea_purpose", table_name="outbox")
    with op.batch_alter_table("ideas") as batch:
        batch.drop_index(batch.f("ix_ideas_waiting_since"))
        batch.drop_column("escalated_at")
        batch.drop_column("reminded_at")
        batch.drop_column("waiting_since")
    op.drop_index(op.f("ix_team_chats_unit_id"), table_name="team_chats")
    op.drop_table("team_chats")
