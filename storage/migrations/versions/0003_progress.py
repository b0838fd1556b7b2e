"""progress: campaigns, quotas, progress counters, weekly digests, report jobs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

For the officials' progress reports (docs/PROGRESS.md): national campaigns
(phases) and the campaign each idea counts toward, quotas per unit and campaign
(as imported, and the derived target that counts), exact counters of submitted
and approved ideas per unit (its whole subtree), campaign and day, weekly digest
subscriptions, and the queue of charts and spreadsheets to make.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("code", name=op.f("uq_campaigns_code")),
    )
    op.create_table(
        "progress_daily",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("submitted", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_progress_daily_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_progress_daily_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("unit_id", "campaign_id", "day", name=op.f("pk_progress_daily")),
    )
    op.create_table(
        "progress_totals",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("submitted", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_progress_totals_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_progress_totals_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("unit_id", "campaign_id", name=op.f("pk_progress_totals")),
    )
    op.create_table(
        "quota_totals",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.BigInteger(), nullable=False),
        sa.Column("summed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_quota_totals_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_quota_totals_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("unit_id", "campaign_id", name=op.f("pk_quota_totals")),
    )
    op.create_table(
        "quotas",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_quotas_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_quotas_unit_id_units")),
        sa.PrimaryKeyConstraint("unit_id", "campaign_id", name=op.f("pk_quotas")),
    )
    op.create_table(
        "digest_subscriptions",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("subscribed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_slot", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_digest_subscriptions_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_digest_subscriptions_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_digest_subscriptions")),
    )
    op.create_table(
        "report_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_report_jobs_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_report_jobs_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_report_jobs_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_jobs")),
    )
    op.create_index("ix_report_jobs_status", "report_jobs", ["status", "id"], unique=False)

    with op.batch_alter_table("ideas") as batch_op:
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_ideas_campaign_id_campaigns"), "campaigns", ["campaign_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("ideas") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_ideas_campaign_id_campaigns"), type_="foreignkey")
        batch_op.drop_column("campaign_id")

    op.drop_index("ix_report_jobs_status", table_name="report_jobs")

    op.drop_table("report_jobs")
    op.drop_table("digest_subscriptions")
    op.drop_table("quotas")
    op.drop_table("quota_totals")
    op.drop_table("progress_totals")
    op.drop_table("progress_daily")
    op.drop_table("campaigns")
