"""channels: Zalo choices and files, account linking codes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

For the Zalo channel (docs/ZALO.md): the numbered choices last shown in each chat
(Zalo has no buttons, a reply "1" is read against them), files Zalo hands over
only as URLs, and the one-time codes (hashed) that link a person's Telegram and
Zalo accounts, with the attempts made at them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_choices",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("shown_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "chat_id", name=op.f("pk_channel_choices")),
    )
    op.create_table(
        "channel_files",
        sa.Column("file_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("mime_type", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("file_id", name=op.f("pk_channel_files")),
    )
    op.create_table(
        "link_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_link_codes_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_codes")),
    )
    op.create_index(op.f("ix_link_codes_code_hash"), "link_codes", ["code_hash"], unique=False)
    op.create_index(op.f("ix_link_codes_person_id"), "link_codes", ["person_id"], unique=False)
    op.create_table(
        "link_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_link_attempts_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_attempts")),
    )
    op.create_index(
        op.f("ix_link_attempts_person_id"), "link_attempts", ["person_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_link_attempts_person_id"), table_name="link_attempts")
    op.drop_table("link_attempts")
    op.drop_index(op.f("ix_link_codes_person_id"), table_name="link_codes")
    op.drop_index(op.f("ix_link_codes_code_hash"), table_name="link_codes")
    op.drop_table("link_codes")
    op.drop_table("channel_files")
    op.drop_table("channel_choices")
