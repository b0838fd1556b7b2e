"""outreach: announcements, muting them, weekly nudges, the support team's lead

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

Issue #19: announcements to the shop floor (``announcements``; their messages are
outbox rows), ``people.muted`` for /mute, ``nudges_sent`` (at most one nudge a week
per unit), ``roles.lead`` (the team's lead, handed over in /team) and ``team_events``
(who changed a team in /team, whom, when), and an index on a person's idea events by
time (a team's last activity). Nobody is muted and nobody is a lead after the upgrade.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("sender_channel", sa.String(length=16), nullable=False),
        sa.Column("sender_chat_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("file", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scheduled_at", UTC_DATETIME, nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("queued_through", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("muted", sa.Integer(), nullable=False),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["people.id"], name=op.f("fk_announcements_sender_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_announcements_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    op.create_index("ix_announcements_status", "announcements", ["status", "scheduled_at"])
    op.create_table(
        "nudges_sent",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sent_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_nudges_sent_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("unit_id", "week", "kind", name=op.f("pk_nudges_sent")),
    )
    op.create_table(
        "team_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_team_events_unit_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["people.id"], name=op.f("fk_team_events_actor_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["people.id"], name=op.f("fk_team_events_subject_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_events")),
    )
    op.create_index(op.f("ix_team_events_unit_id"), "team_events", ["unit_id"])
    op.create_index("ix_idea_events_actor_at", "idea_events", ["actor_id", "at"])
    with op.batch_alter_table("people") as batch:
        batch.add_column(
            sa.Column("muted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("roles") as batch:
        batch.add_column(sa.Column("lead", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("roles") as batch:
        batch.drop_column("lead")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("muted")
    op.drop_index("ix_idea_events_actor_at", table_name="idea_events")
    op.drop_index(op.f("ix_team_events_unit_id"), table_name="team_events")
    op.drop_table("team_events")
    op.drop_table("nudges_sent")
    op.drop_index("ix_announcements_status", table_name="announcements")
    op.drop_table("announcements")
