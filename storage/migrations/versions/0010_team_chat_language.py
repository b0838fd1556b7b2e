"""team_chats.language: the language a team's group chose for its cards

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

A group's cards were always in Vietnamese, whoever bound it; `/lang` in the group now
chooses. Groups bound before this revision keep Vietnamese (NULL).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("team_chats") as batch:
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("team_chats") as batch:
        batch.drop_column("language")
