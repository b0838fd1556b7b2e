"""bots: which of the deployment's Telegram bots each person has written to

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

Issue #22: one deployment may serve several Telegram bot tokens (``telegram.bots``). A
Telegram user is the same person on every bot, but a bot may write only to people who
started it, so ``identities.bots`` keeps the routes ("telegram", "telegram.<name>") the
person has written through, the one used last first. Empty for every account stored so
far: they reach people through the route of their channel, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("bots", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("bots")
