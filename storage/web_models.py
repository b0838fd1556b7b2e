"""The dashboard (issue #20): its sign-in links and sessions, and the ideas' search text.

A sign-in link (``/dashboard``, for Zalo and desktop users) works once and expires in
minutes; a session is what redeeming one gives the browser (a cookie). Both are kept
only as the SHA-256 of their token, so the database never holds a usable credential.
Telegram Mini App requests carry ``initData`` on every request and need no session.

``idea_search`` holds each idea's title and text folded (lower case, no diacritics:
"Cải tiến" -> "cai tien"), so the dashboard's search ignores diacritics the way
workers type. Title and text are apart: a viewer who sees a confidential idea only as
its summary is searched on its typed title alone. Each database's full-text index
finds the ideas whose words begin with the searched ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    DDL,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    event,
    func,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class WebSignIn(Base):
    """A one-time sign-in link: its token's hash, for whom, until when, and when used."""

    __tablename__ = "web_sign_ins"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class WebSession(Base):
    """A browser's session after a sign-in link: its token's hash, whose, until when."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


#: PostgreSQL's full-text form of a folded column: its words as they are ('simple').
def _words(column: str) -> Any:
    return func.to_tsvector(literal_column("'simple'::regconfig"), literal_column(column))


class IdeaSearch(Base):
    """An idea's title and text, folded for search that ignores diacritics.

    Searched by their words' beginnings through full-text indexes (migration 0013):
    on PostgreSQL a GIN index on each column's words (below); on SQLite an FTS5 table,
    ``idea_fts`` (external content: this table's rows, kept in step by triggers),
    made with the table (``SQLITE_SEARCH_INDEX``) and not a model itself
    (storage.schema.UNMODELLED_TABLES).
    """

    __tablename__ = "idea_search"
    __table_args__ = (
        Index("ix_idea_search_title_words", _words("title"), postgresql_using="gin").ddl_if(
            dialect="postgresql"
        ),
        Index("ix_idea_search_text_words", _words("text"), postgresql_using="gin").ddl_if(
            dialect="postgresql"
        ),
    )

    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id"), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)


#: SQLite's full-text index over idea_search (migration 0013 makes the same): FTS5 with
#: external content (the folded text is not stored twice), the ``unicode61`` words of
#: the folded text, prefix indexes of 1-3 characters (a short prefix is then one entry,
#: not a merge of every word it begins), and triggers that keep it in step.
SQLITE_SEARCH_INDEX: Final = (
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

for _statement in SQLITE_SEARCH_INDEX:
    _ddl = DDL(_statement)  # type: ignore[no-untyped-call]
    event.listen(IdeaSearch.__table__, "after_create", _ddl.execute_if(dialect="sqlite"))
_drop = DDL("DROP TABLE IF EXISTS idea_fts")  # type: ignore[no-untyped-call]
event.listen(IdeaSearch.__table__, "before_drop", _drop.execute_if(dialect="sqlite"))
