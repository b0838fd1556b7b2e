"""lifecycle: the council's scores, an idea's result, counters and quotas of recognition

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

An idea's life goes on past the support team's approval (issue #18): the unit's
initiative council scores it and records it recognised or not, then it is put into
use with a measured benefit. New tables ``council_scores`` and ``idea_results``;
the progress counters gain recognised, applied and benefit (0 for every existing
row: nothing was recognised before); quotas gain what they measure ("submitted" for
every existing quota); report jobs may carry an idea (a certificate); a bound group
says whose it is ("team" for every existing one). Every idea keeps its status.

Ideas approved before this revision were approved when approval ended an idea's
life: they do not enter the council's wait (their ``waiting_since`` is cleared), so
the first reminder pass after the upgrade does not remind every council, or tell
officials of every unit without one, about each of them at once. A council lists
them with ``/council`` all the same.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute(
        "UPDATE ideas SET waiting_since = NULL, reminded_at = NULL, escalated_at = NULL"
        " WHERE status = 'approved'"
    )
    op.create_table(
        "council_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("council_unit_id", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_council_scores_idea_id_ideas")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_council_scores_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["council_unit_id"], ["units.id"], name=op.f("fk_council_scores_council_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_council_scores")),
        sa.UniqueConstraint("idea_id", "person_id", name=op.f("uq_council_scores_idea_id")),
    )
    op.create_index(op.f("ix_council_scores_idea_id"), "council_scores", ["idea_id"])
    op.create_table(
        "idea_results",
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("council_unit_id", sa.Integer(), nullable=True),
        sa.Column("recognised", sa.Boolean(), nullable=True),
        sa.Column("decision_no", sa.String(length=64), nullable=True),
        sa.Column("decision_date", sa.Date(), nullable=True),
        sa.Column("decided_at", UTC_DATETIME, nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("recognised_campaign_id", sa.Integer(), nullable=True),
        sa.Column("applied_on", sa.Date(), nullable=True),
        sa.Column("applied_where", sa.String(length=200), nullable=True),
        sa.Column("applied_at", UTC_DATETIME, nullable=True),
        sa.Column("applied_by", sa.Integer(), nullable=True),
        sa.Column("applied_campaign_id", sa.Integer(), nullable=True),
        sa.Column("benefit_vnd", sa.BigInteger(), nullable=True),
        sa.Column("reward_vnd", sa.BigInteger(), nullable=True),
        sa.Column("rewarded_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_idea_results_idea_id_ideas")
        ),
        sa.ForeignKeyConstraint(
            ["council_unit_id"], ["units.id"], name=op.f("fk_idea_results_council_unit_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["people.id"], name=op.f("fk_idea_results_decided_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["applied_by"], ["people.id"], name=op.f("fk_idea_results_applied_by_people")
        ),
        sa.ForeignKeyConstraint(
            ["recognised_campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_idea_results_recognised_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["applied_campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_idea_results_applied_campaign_id_campaigns"),
        ),
        sa.PrimaryKeyConstraint("idea_id", name=op.f("pk_idea_results")),
    )
    op.create_index(op.f("ix_idea_results_council_unit_id"), "idea_results", ["council_unit_id"])
    for table in ("progress_totals", "progress_daily"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("recognised", sa.Integer(), nullable=False, server_default="0")
            )
            batch.add_column(sa.Column("applied", sa.Integer(), nullable=False, server_default="0"))
            batch.add_column(
                sa.Column("benefit", sa.BigInteger(), nullable=False, server_default="0")
            )
    for table in ("quotas", "quota_totals"):
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.add_column(
                sa.Column(
                    "measure", sa.String(length=16), nullable=False, server_default="submitted"
                )
            )
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", ["unit_id", "campaign_id", "measure"])
    with op.batch_alter_table("report_jobs") as batch:
        batch.alter_column("campaign_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("idea_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_report_jobs_idea_id_ideas"), "ideas", ["idea_id"], ["id"])
    with op.batch_alter_table("team_chats") as batch:
        batch.add_column(
            sa.Column("body", sa.String(length=16), nullable=False, server_default="team")
        )


def downgrade() -> None:
    # Before 0011 every bound group was a support team's: a council's group kept would
    # turn into one (the team's cards and buttons in the council's chat).
    op.execute("DELETE FROM team_chats WHERE body <> 'team'")
    with op.batch_alter_table("team_chats") as batch:
        batch.drop_column("body")
    op.execute("DELETE FROM report_jobs WHERE campaign_id IS NULL")
    with op.batch_alter_table("report_jobs") as batch:
        batch.drop_constraint(op.f("fk_report_jobs_idea_id_ideas"), type_="foreignkey")
        batch.drop_column("idea_id")
        batch.alter_column("campaign_id", existing_type=sa.Integer(), nullable=False)
    for table in ("quotas", "quota_totals"):
        op.execute(f"DELETE FROM {table} WHERE measure <> 'submitted'")
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", ["unit_id", "campaign_id"])
            batch.drop_column("measure")
    for table in ("progress_totals", "progress_daily"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("benefit")
            batch.drop_column("applied")
            batch.drop_column("recognised")
    op.drop_index(op.f("ix_idea_results_council_unit_id"), table_name="idea_results")
    op.drop_table("idea_results")
    op.drop_index(op.f("ix_council_scores_idea_id"), table_name="council_scores")
    op.drop_table("council_scores")
