"""The dashboard (issue #20): its sign-in links and sessions, and the ideas' search text.

A sign-in link (``/dashboard``, for Zalo and desktop users) works once and expires in
minutes; a session is what redeeming one gives the browser (a cookie). Both are kept
only as the SHA-256 of their token, so the database never holds a usable credential.
Telegram Mini App requests carry ``initData`` on every request and need no session.

``idea_search`` holds each idea's title and text folded (lower case, no diacritics:
"Cải tiến" -> "cai tien"), so the dashboard's search ignores diacritics the way
workers type. Title and text are apart: a viewer who sees a confidential idea only as
its summary is searched on its typed title alone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
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


class IdeaSearch(Base):
    """An idea's title and text, folded for search that ignores diacritics."""

    __tablename__ = "idea_search"

    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id"), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
