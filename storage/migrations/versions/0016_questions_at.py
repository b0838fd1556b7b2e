"""people.questions_at: when a support team last asked this person about one of their ideas

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

Issue #22 (cost per update): each message a worker types into the idea form looked for a
question of the team asked since the form was opened (``idea_held``), one statement on
nearly every text. The person row, read with every update, now says when a question was
last asked, so that only those asked since look. Filled for the questions open now.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("questions_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE people SET questions_at = (SELECT max(ideas.updated_at) FROM ideas"
        " WHERE ideas.author_id = people.id AND ideas.status = 'info_requested')"
    )


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_column("questions_at")
