"""Reaching the shop floor (issue #19): announcements and the weekly nudges.

An announcement is written by an official (for their subtree) or a support team (for
its unit), for one audience, now or at a set time. Its recipients' messages are
outbox rows (purpose ``announce:<id>``, the lowest priority), written in batches by
the announcement pass when it is due, so a 10,000-recipient announcement never
holds one transaction long; the sender's delivery report is counted from those rows.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class Audience(enum.StrEnum):
    MEMBERS = "members"  # every member of the units in scope
    SUPPORT = "support"  # the support teams of the units in scope
    OFFICIALS = "officials"  # the officials of the units below the sender's


class AnnouncementStatus(enum.StrEnum):
    SCHEDULED = "scheduled"  # confirmed, waiting for its time
    SENDING = "sending"  # recipients being queued, or their messages going out
    DONE = "done"  # every message sent or failed; the report went to the sender
    CANCELLED = "cancelled"


class Announcement(Base):
    __tablename__ = "announcements"
    __table_args__ = (Index("ix_announcements_status", "status", "scheduled_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    # Where the report goes: the sender's chat the announcement was written in.
    sender_channel: Mapped[str] = mapped_column(String(16))
    sender_chat_id: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))  # the subtree it reaches
    audience: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    file: Mapped[dict[str, Any] | None]  # a FileRef's JSON: a photo or document
    status: Mapped[str] = mapped_column(String(16))
    scheduled_at: Mapped[datetime]
    created_at: Mapped[datetime]
    # Queuing progress: the last person id queued, so a pass resumes after a crash.
    queued_through: Mapped[int] = mapped_column(Integer, default=0)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    muted: Mapped[int] = mapped_column(Integer, default=0)  # left out: they muted
    finished_at: Mapped[datetime | None]


class NudgeSent(Base):
    """A weekly nudge sent to a unit's team (or its official's list): at most one a week."""

    __tablename__ = "nudges_sent"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    week: Mapped[date] = mapped_column(primary_key=True)  # the Monday of the week
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # "team" | "official"
    sent_at: Mapped[datetime]


class TeamEvent(Base):
    """Append-only audit of a support team's changes made in /team: who, whom, when."""

    __tablename__ = "team_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # invited, removed, left, lead, handed_up
    actor_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # whom it was about
    at: Mapped[datetime]
    data: Mapped[dict[str, Any] | None]
