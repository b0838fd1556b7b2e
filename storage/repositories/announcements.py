"""Announcements and their recipients (storage.outreach_models), for handlers/announce*.

The audience of an announcement is a set of people found from its unit's subtree
(``units.path`` prefix): its members (``people.unit_id``), its support teams, or the
officials of the units below it. The pass walks it in person-id order, a batch at a
time, so ``queued_through`` is where a pass interrupted by a crash resumes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, Table, and_, case, func, insert, or_, select, update

from storage.models import Identity, OutboxMessage, OutboxStatus, Person, Role, RoleKind, Unit
from storage.outreach_models import Announcement, AnnouncementStatus, Audience
from storage.repositories.base import Repository
from storage.repositories.people import route_of
from storage.repositories.units import _like_escape

PURPOSE_PREFIX: Final = "announce:"
# What the sender records as the reason a message could not be delivered (bot/runtime
# errors' PermanentSendError.reason) when the person blocked the bot or left.
BLOCKED_REASONS: Final = ("blocked", "deactivated", "chat_not_found")
# The reason written on a row that was never sent because its person muted meanwhile.
MUTED_REASON: Final = "muted"
# Messengers in the order a person's private chat is chosen: Telegram if they have it.
CHANNEL_ORDER: Final = ("telegram", "zalo")
_OPEN: Final = (AnnouncementStatus.SCHEDULED.value, AnnouncementStatus.SENDING.value)
_OUTBOX: Final[Table] = OutboxMessage.__table__  # type: ignore[assignment]


def purpose_of(announcement_id: int) -> str:
    return f"{PURPOSE_PREFIX}{announcement_id}"


@dataclass(frozen=True, slots=True)
class Recipient:
    """One person of an audience, with the private chat an announcement would go to."""

    person: Person
    channel: str | None
    chat_id: str | None


@dataclass(frozen=True, slots=True)
class AudienceCount:
    recipients: int  # people who would receive it (not muted)
    muted: int  # people left out because they muted announcements


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    """What became of an announcement's messages, counted from its outbox rows."""

    delivered: int
    blocked: int
    failed: int
    muted: int  # muted before queuing (the announcement's count) or after (rows cancelled)
    pending: int


class AnnouncementRepository(Repository):
    """Announcements: written by the flow, queued and reported by the announcement pass."""

    async def get(self, announcement_id: int) -> Announcement | None:
        return await self.session.get(Announcement, announcement_id)

    async def add(self, announcement: Announcement) -> Announcement:
        self.session.add(announcement)
        await self.session.flush()
        return announcement

    # ------------------------------------------------------------------ the audience

    def _audience(self, unit: Unit, audience: str, *, exclude: int | None) -> Select[Any]:
        subtree = select(Unit.id).where(Unit.path.like(f"{_like_escape(unit.path)}%", escape="\\"))
        if audience == Audience.MEMBERS:
            query = select(Person).where(Person.unit_id.in_(subtree))
        else:
            role = RoleKind.SUPPORT if audience == Audience.SUPPORT else RoleKind.OFFICIAL
            units = subtree if audience == Audience.SUPPORT else subtree.where(Unit.id != unit.id)
            holders = select(Role.person_id).where(
                Role.role == role.value, Role.revoked_at.is_(None), Role.unit_id.in_(units)
            )
            query = select(Person).where(Person.id.in_(holders))
        if exclude is not None:
            query = query.where(Person.id != exclude)
        return query

    async def count_audience(
        self, unit: Unit, audience: str, *, exclude: int | None
    ) -> AudienceCount:
        people = self._audience(unit, audience, exclude=exclude).subquery()
        query = select(
            func.count(),
            func.coalesce(func.sum(case((people.c.muted.is_(True), 1), else_=0)), 0),
        ).select_from(people)
        total, muted = (await self.session.execute(query)).one()
        return AudienceCount(recipients=int(total) - int(muted), muted=int(muted))

    async def recipients(
        self, announcement: Announcement, unit: Unit, *, limit: int
    ) -> list[Recipient]:
        """The next ``limit`` people of the audience after ``queued_through``, each with
        their private chat (Telegram first, else Zalo; None if the bot has none)."""
        query = (
            self._audience(unit, announcement.audience, exclude=announcement.sender_id)
            .where(Person.id > announcement.queued_through)
            .order_by(Person.id)
            .limit(limit)
        )
        people: list[Person] = list((await self.session.execute(query)).scalars())
        if not people:
            return []
        chats = select(
            Identity.person_id, Identity.channel, Identity.private_chat_id, Identity.bots
        ).where(
            Identity.person_id.in_([p.id for p in people]),
            Identity.private_chat_id.is_not(None),
            Identity.channel.in_(CHANNEL_ORDER),
        )
        best: dict[int, tuple[str, str]] = {}
        rank: dict[int, int] = {}
        for person_id, channel, chat_id, bots in await self.session.execute(chats):
            order = CHANNEL_ORDER.index(channel)
            if person_id not in rank or order < rank[person_id]:
                rank[person_id] = order
                # Through the bot of the channel the person wrote to last.
                best[person_id] = (route_of(channel, bots), str(chat_id))
        found = []
        for person in people:
            chat = best.get(person.id)
            found.append(Recipient(person, *(chat or (None, None))))
        return found

    async def units_below(
        self, paths: Sequence[str], folded_words: Sequence[str], *, limit: int
    ) -> list[Unit]:
        """Units inside any of these subtrees whose folded name has every word, highest first."""
        inside = or_(*(Unit.path.like(f"{_like_escape(p)}%", escape="\\") for p in paths))
        named = and_(
            *(Unit.name_folded.like(f"%{_like_escape(w)}%", escape="\\") for w in folded_words)
        )
        query = select(Unit).where(inside, named).order_by(Unit.depth, Unit.code).limit(limit)
        return list((await self.session.execute(query)).scalars())

    # ------------------------------------------------------------------ the pass

    async def due_ids(self, now: datetime) -> list[int]:
        """Announcements whose time has come and that are not finished, oldest first."""
        query = (
            select(Announcement.id)
            .where(Announcement.status.in_(_OPEN), Announcement.scheduled_at <= now)
            .order_by(Announcement.scheduled_at, Announcement.id)
        )
        return list((await self.session.execute(query)).scalars())

    async def lock(self, announcement_id: int) -> Announcement | None:
        """The announcement if it is still open, locked for this transaction; None when it
        is finished or another instance's pass holds it (``SKIP LOCKED``)."""
        query = (
            select(Announcement)
            .where(Announcement.id == announcement_id, Announcement.status.in_(_OPEN))
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def queue_messages(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert many outbox rows in one statement (``rows`` carry every column's value)."""
        if rows:
            await self.session.execute(insert(_OUTBOX), list(rows))

    async def pending(self, announcement_id: int, *, priority: int) -> int:
        """Messages of the announcement not yet sent nor given up on."""
        query = select(func.count()).where(
            OutboxMessage.status == OutboxStatus.PENDING.value,
            OutboxMessage.priority == priority,
            OutboxMessage.purpose == purpose_of(announcement_id),
        )
        return int((await self.session.execute(query)).scalar_one())

    async def delivery(self, announcement: Announcement) -> DeliveryCounts:
        query = (
            select(OutboxMessage.status, OutboxMessage.last_error, func.count())
            .where(OutboxMessage.purpose == purpose_of(announcement.id))
            .group_by(OutboxMessage.status, OutboxMessage.last_error)
        )
        delivered = blocked = failed = muted = pending = 0
        for status, error, count in await self.session.execute(query):
            if status == OutboxStatus.SENT.value:
                delivered += count
            elif status == OutboxStatus.PENDING.value:
                pending += count
            elif error in BLOCKED_REASONS:
                blocked += count
            elif error == MUTED_REASON:
                muted += count
            else:
                failed += count
        return DeliveryCounts(delivered, blocked, failed, muted + announcement.muted, pending)

    async def cancel_for(self, person_id: int, now: datetime) -> int:
        """A person muted: their announcement messages not yet sent are never sent (a row
        leased by a sender right now may still go)."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.person_id == person_id,
                OutboxMessage.status == OutboxStatus.PENDING.value,
                OutboxMessage.purpose.startswith(PURPOSE_PREFIX),
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
            )
            .values(status=OutboxStatus.FAILED.value, last_error=MUTED_REASON, sent_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)
