"""Similar ideas (issue #21): each idea's matching words, and the ideas found like it.

``similar_texts`` holds an idea's words as matching compares them (the 32-bit hashes of
storage.similar_words.idea_words), keyed by its unit first: a lookup reads one unit's
rows as one range of the primary key (on SQLite a table without rowids, so the rows
themselves lie in that order; on PostgreSQL an index that carries the hashes, so the
rows scattered over the table are not visited), not an index and then each row.

The ideas found like an idea when it was submitted are kept on its own row
(``ideas.similar``: storage.models.Idea).
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class SimilarText(Base):
    """An idea's matching words (their hashes), under its unit (the author's, which never
    changes)."""

    __tablename__ = "similar_texts"
    __table_args__ = (
        Index("ix_similar_texts_idea_id", "idea_id", unique=True),
        Index(
            "ix_similar_texts_unit_hashes", "unit_id", "idea_id", postgresql_include=["hashes"]
        ).ddl_if(dialect="postgresql"),
        {"sqlite_with_rowid": False},
    )

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id"), primary_key=True)
    hashes: Mapped[bytes] = mapped_column(LargeBinary)
