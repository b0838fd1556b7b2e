"""ideas.title_given: whether the worker typed the idea's title

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

A confidential idea leaves its grassroots unit only as its title and benefit; a title
derived from the text would carry the text with it, so the title travels only when the
worker typed it (docs/SECURITY.md). Ideas stored before this revision count as untyped.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ideas") as batch:
        batch.add_column(
            sa.Column("title_given", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("ideas") as batch:
        batch.drop_column("title_given")
