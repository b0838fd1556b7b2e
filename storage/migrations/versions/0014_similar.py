"""similar: each idea's matching words, and the ideas found like one when submitted

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

Issue #21: ``similar_texts`` (an idea's words as similar-idea matching compares them,
their 32-bit hashes, keyed by its unit first; on SQLite without rowids, so one unit's
rows lie together; on PostgreSQL with an index that carries the hashes),
filled here for the ideas already stored; ``ideas.similar`` (the ideas found like one
when it was submitted, with how alike, written with the idea's own row).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.similar_words import idea_hashes

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    texts = op.create_table(
        "similar_texts",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_similar_texts_idea_id_ideas")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_similar_texts_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("unit_id", "idea_id", name=op.f("pk_similar_texts")),
        sqlite_with_rowid=False,
    )
    _fill(texts)
    op.create_index("ix_similar_texts_idea_id", "similar_texts", ["idea_id"], unique=True)
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_similar_texts_unit_hashes",
            "similar_texts",
            ["unit_id", "idea_id"],
            postgresql_include=["hashes"],
        )
    op.add_column("ideas", sa.Column("similar", sa.JSON(), nullable=True))


def _fill(texts: sa.Table) -> None:
    """The stored ideas' words, a batch at a time, in id order."""
    bind = op.get_bind()
    ideas = sa.table(
        "ideas",
        sa.column("id"),
        sa.column("unit_id"),
        sa.column("title"),
        sa.column("body"),
        sa.column("language"),
    )
    after = 0
    while True:
        rows = bind.execute(
            sa.select(ideas.c.id, ideas.c.unit_id, ideas.c.title, ideas.c.body, ideas.c.language)
            .where(ideas.c.id > after)
            .order_by(ideas.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            texts.insert(),
            [
                {"idea_id": i, "unit_id": unit, "hashes": idea_hashes(title, body, lang)}
                for i, unit, title, body, lang in rows
            ],
        )
        after = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("ideas") as batch:
        batch.drop_column("similar")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_similar_texts_unit_hashes", table_name="similar_texts")
    op.drop_index("ix_similar_texts_idea_id", table_name="similar_texts")
    op.drop_table("similar_texts")
