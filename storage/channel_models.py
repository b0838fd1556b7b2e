"""The tables of the messengers without Telegram's features (issue #9): Zalo's numbered
choices and files, and the codes that link one person's accounts (``/link``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class ChannelChoices(Base):
    """The numbered choices a messenger without buttons (Zalo) showed last in a chat.

    One row per chat: the newest message that offered choices. A reply "1" or the
    option's words is read against it, so a restart never loses what was on screen.
    """

    __tablename__ = "channel_choices"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64))
    # [[label, callback data], …] in the order they were numbered.
    choices: Mapped[list[Any]] = mapped_column(JSON)
    shown_at: Mapped[datetime]


class ChannelFile(Base):
    """A file a messenger hands over only as a URL (Zalo's photos), under a short stable id.

    ``Attachment.file_id`` holds ``zalo:<hash>``; the URL, of any length, lives here.
    """

    __tablename__ = "channel_files"

    file_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    mime_type: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]


class LinkCode(Base):
    """A one-time code that attaches a person's account on another messenger to them.

    Only the SHA-256 of the code is stored; it expires after minutes and is used once.
    """

    __tablename__ = "link_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # where the code was given out
    code_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LinkAttempt(Base):
    """A code typed to link accounts, right or wrong: wrong ones are rationed."""

    __tablename__ = "link_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    at: Mapped[datetime]
    ok: Mapped[bool] = mapped_column(Boolean)
