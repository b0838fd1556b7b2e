"""web: the dashboard's sign-in links and sessions, the ideas' folded search text

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

Issue #20: ``web_sign_ins`` (one-time links from /dashboard, kept hashed),
``web_sessions`` (a browser's session, kept hashed), ``idea_search`` (each idea's title
and text folded, filled here for the ideas already stored) with its full-text index,
and an index on ideas by time (the dashboard lists the newest first).

The full-text index finds the ideas whose words begin with the searched ones. On
SQLite: ``idea_fts``, an FTS5 table over idea_search's title and text (external
content, so the text is not stored twice; the ``unicode61`` words of the folded text,
with prefix indexes of 1-3 characters, so that a short prefix is one entry, not a
merge of every word it begins), kept in step with idea_search by triggers. On
PostgreSQL: a GIN index on each column's words (``to_tsvector('simple', …)``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.folding import fold_name

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
BATCH = 5000
#: SQLite's full-text index over idea_search and the triggers that keep it in step.
SQLITE_SEARCH_INDEX = (
    "CREATE VIRTUAL TABLE idea_fts USING fts5(title, text, content='idea_search',"
    " content_rowid='idea_id', prefix='1 2 3 4 5 6', detail='column')",
    "CREATE TRIGGER idea_fts_insert AFTER INSERT ON idea_search BEGIN"
    " INSERT INTO idea_fts (rowid, title, text) VALUES (new.idea_id, new.title, new.text); END",
    "CREATE TRIGGER idea_fts_delete AFTER DELETE ON idea_search BEGIN"
    " INSERT INTO idea_fts (idea_fts, rowid, title, text)"
    " VALUES ('delete', old.idea_id, old.title, old.text); END",
    "CREATE TRIGGER idea_fts_update AFTER UPDATE ON idea_search BEGIN"
    " INSERT INTO idea_fts (idea_fts, rowid, title, text)"
    " VALUES ('delete', old.idea_id, old.title, old.text);"
    " INSERT INTO idea_fts (rowid, title, text) VALUES (new.idea_id, new.title, new.text); END",
)


def upgrade() -> None:
    op.create_table(
        "web_sign_ins",
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("used_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_web_sign_ins_person_id_people")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_web_sign_ins")),
    )
    op.create_index(op.f("ix_web_sign_ins_person_id"), "web_sign_ins", ["person_id"])
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_web_sessions_person_id_people")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_web_sessions")),
    )
    op.create_index(op.f("ix_web_sessions_person_id"), "web_sessions", ["person_id"])
    op.create_index(op.f("ix_web_sessions_expires_at"), "web_sessions", ["expires_at"])
    search = op.create_table(
        "idea_search",
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_idea_search_idea_id_ideas")
        ),
        sa.PrimaryKeyConstraint("idea_id", name=op.f("pk_idea_search")),
    )
    op.create_index("ix_ideas_created", "ideas", ["created_at", "id"])
    _fill(search)
    if op.get_bind().dialect.name == "postgresql":
        for column in ("title", "text"):
            op.create_index(
                f"ix_idea_search_{column}_words",
                "idea_search",
                [sa.text(f"to_tsvector('simple'::regconfig, {column})")],
                postgresql_using="gin",
            )
    else:
        for statement in SQLITE_SEARCH_INDEX:
            op.execute(statement)
        op.execute("INSERT INTO idea_fts (idea_fts) VALUES ('rebuild')")


def _fill(search: sa.Table) -> None:
    """Fold the stored ideas' titles and texts, a batch at a time, in id order."""
    bind = op.get_bind()
    ideas = sa.table("ideas", sa.column("id"), sa.column("title"), sa.column("body"))
    after = 0
    while True:
        rows = bind.execute(
            sa.select(ideas.c.id, ideas.c.title, ideas.c.body)
            .where(ideas.c.id > after)
            .order_by(ideas.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            search.insert(),
            [
                {"idea_id": i, "title": fold_name(title)[:200], "text": fold_name(body)}
                for i, title, body in rows
            ],
        )
        after = rows[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_idea_search_text_words", table_name="idea_search")
        op.drop_index("ix_idea_search_title_words", table_name="idea_search")
    else:
        for trigger in ("idea_fts_update", "idea_fts_delete", "idea_fts_insert"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE idea_fts")  # and its shadow tables
    op.drop_index("ix_ideas_created", table_name="ideas")
    op.drop_table("idea_search")
    op.drop_index(op.f("ix_web_sessions_expires_at"), table_name="web_sessions")
    op.drop_index(op.f("ix_web_sessions_person_id"), table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_index(op.f("ix_web_sign_ins_person_id"), table_name="web_sign_ins")
    op.drop_table("web_sign_ins")
