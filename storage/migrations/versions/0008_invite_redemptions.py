"""invite_redemptions: who joined through each invite, and when

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

``invites list`` shows the operator who used each invite (issue 15); until now only
the count of uses was kept. Uses counted before this revision have no rows here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invite_redemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invite_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invite_id"], ["invites.id"], name=op.f("fk_invite_redemptions_invite_id_invites")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_invite_redemptions_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite_redemptions")),
    )
    op.create_index(
        op.f("ix_invite_redemptions_invite_id"), "invite_redemptions", ["invite_id"], unique=False
    )
    op.create_index(
        op.f("ix_invite_redemptions_person_id"), "invite_redemptions", ["person_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_invite_redemptions_person_id"), table_name="invite_redemptions")
    op.drop_index(op.f("ix_invite_redemptions_invite_id"), table_name="invite_redemptions")
    op.drop_table("invite_redemptions")
