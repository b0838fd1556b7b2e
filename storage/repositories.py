"""Repositories: the only place that knows how rows are queried and written.

Flows receive these through a :class:`storage.uow.UnitOfWork` and never write SQL
or call ``commit`` themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Attachment,
    Conversation,
    Counter,
    Idea,
    IdeaEvent,
    IdeaStatus,
    Identity,
    OutboxMessage,
    OutboxStatus,
    Person,
    ProcessedUpdate,
    Role,
    TeamChat,
    Unit,
    UnitKind,
)

OPEN_STATUSES = (
    IdeaStatus.SUBMITTED.value,
    IdeaStatus.INFO_REQUESTED.value,
    IdeaStatus.FORWARDED.value,
)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def unit_ids_on_path(path: str) -> list[int]:
    """The ids of a unit and its ancestors, root first, from its materialised path."""
    return [int(part) for part in path.strip("/").split("/") if part]


class UnitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, unit_id: int) -> Unit | None:
        return await self.session.get(Unit, unit_id)

    async def by_code(self, code: str) -> Unit | None:
        result = await self.session.execute(select(Unit).where(Unit.code == code))
        return result.scalar_one_or_none()

    async def by_code_folded(self, code: str) -> Unit | None:
        """Codes are matched case-insensitively: workers type them from posters."""
        result = await self.session.execute(
            select(Unit).where(func.upper(Unit.code) == code.upper()).limit(1)
        )
        return result.scalar_one_or_none()

    async def search(self, folded_words: Sequence[str], *, limit: int) -> list[Unit]:
        """Units a worker can join whose folded name contains every word, shortest first."""
        conditions = [
            Unit.name_folded.like(f"%{_like_escape(word)}%", escape="\\") for word in folded_words
        ]
        query = (
            select(Unit)
            .where(Unit.kind.in_([UnitKind.GRASSROOTS.value, UnitKind.TEAM.value]))
            .where(and_(*conditions))
            .order_by(func.length(Unit.name), Unit.code)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def ancestors(self, unit: Unit) -> list[Unit]:
        """The unit's ancestors, nearest first (the unit itself excluded)."""
        ids = unit_ids_on_path(unit.path)[:-1]
        if not ids:
            return []
        rows = (await self.session.execute(select(Unit).where(Unit.id.in_(ids)))).scalars()
        by_id = {u.id: u for u in rows}
        return [by_id[i] for i in reversed(ids) if i in by_id]


class PersonRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, person_id: int) -> Person | None:
        return await self.session.get(Person, person_id)

    async def resolve(
        self,
        *,
        channel: str,
        external_id: str,
        display_name: str,
        platform_language: str | None,
        private_chat_id: str | None,
        now: datetime,
    ) -> Person:
        """The person behind a messenger account, created on first contact."""
        query = (
            select(Person, Identity)
            .join(Identity, Identity.person_id == Person.id)
            .where(Identity.channel == channel, Identity.external_id == external_id)
        )
        row = (await self.session.execute(query)).first()
        if row is not None:
            person, identity = row
            if display_name and person.display_name != display_name:
                person.display_name = display_name
            if platform_language and person.platform_language != platform_language:
                person.platform_language = platform_language
            if private_chat_id and identity.private_chat_id != private_chat_id:
                identity.private_chat_id = private_chat_id
            return person
        person = Person(
            display_name=display_name or "?",
            platform_language=platform_language,
            unreachable=False,
            created_at=now,
        )
        self.session.add(person)
        await self.session.flush()
        self.session.add(
            Identity(
                person_id=person.id,
                channel=channel,
                external_id=external_id,
                private_chat_id=private_chat_id,
            )
        )
        return person

    async def private_chats(self, person_ids: Sequence[int]) -> list[tuple[int, str, str]]:
        """(person id, channel, chat id) for every reachable private chat of these people."""
        if not person_ids:
            return []
        query = (
            select(Identity.person_id, Identity.channel, Identity.private_chat_id)
            .join(Person, Person.id == Identity.person_id)
            .where(Identity.person_id.in_(person_ids))
            .where(Identity.private_chat_id.is_not(None))
            .where(Person.unreachable.is_(False))
            .order_by(Identity.person_id, Identity.id)
        )
        return [(pid, ch, str(chat)) for pid, ch, chat in (await self.session.execute(query))]


class RoleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def grant(self, *, person_id: int, unit_id: int, role: str, now: datetime) -> bool:
        """Give a role; False if the person already had it (a revoked one is restored)."""
        query = select(Role).where(
            Role.person_id == person_id, Role.unit_id == unit_id, Role.role == role
        )
        existing = (await self.session.execute(query)).scalar_one_or_none()
        if existing is not None:
            if existing.revoked_at is None:
                return False
            existing.revoked_at = None
            existing.granted_at = now
            return True
        self.session.add(Role(person_id=person_id, unit_id=unit_id, role=role, granted_at=now))
        return True

    async def roles_of(self, person_id: int) -> list[tuple[Role, Unit]]:
        query = (
            select(Role, Unit)
            .join(Unit, Unit.id == Role.unit_id)
            .where(Role.person_id == person_id, Role.revoked_at.is_(None))
            .order_by(Unit.depth, Unit.code)
        )
        return [(r, u) for r, u in (await self.session.execute(query))]

    async def holds(self, *, person_id: int, unit: Unit, role: str) -> bool:
        """Whether the person has the role on this unit or on one of its ancestors."""
        ids = unit_ids_on_path(unit.path)
        query = select(func.count(Role.id)).where(
            Role.person_id == person_id,
            Role.role == role,
            Role.revoked_at.is_(None),
            Role.unit_id.in_(ids),
        )
        return bool((await self.session.execute(query)).scalar_one())

    async def members_with_role(self, unit_id: int, role: str) -> list[int]:
        query = (
            select(Role.person_id)
            .where(Role.unit_id == unit_id, Role.role == role, Role.revoked_at.is_(None))
            .order_by(Role.person_id)
        )
        return list((await self.session.execute(query)).scalars())


class IdeaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next_number(self, counter: str) -> int:
        """The next value of a named counter, safe under concurrent writers."""
        dialect = self.session.get_bind().dialect.name
        insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(Counter)
            .values(name=counter, value=1)
            .on_conflict_do_update(index_elements=[Counter.name], set_={"value": Counter.value + 1})
            .returning(Counter.value)
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def add(self, idea: Idea) -> Idea:
        self.session.add(idea)
        await self.session.flush()
        return idea

    async def add_event(
        self,
        *,
        idea_id: int,
        kind: str,
        actor_id: int | None,
        at: datetime,
        note: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> IdeaEvent:
        event = IdeaEvent(
            idea_id=idea_id, kind=kind, actor_id=actor_id, at=at, note=note, data=data
        )
        self.session.add(event)
        await self.session.flush()
        return event

    def add_attachment(self, attachment: Attachment) -> None:
        self.session.add(attachment)

    async def by_ref(self, ref_code: str) -> Idea | None:
        result = await self.session.execute(select(Idea).where(Idea.ref_code == ref_code))
        return result.scalar_one_or_none()

    async def of_author(self, author_id: int, *, limit: int, offset: int) -> list[Idea]:
        query = (
            select(Idea)
            .where(Idea.author_id == author_id)
            .order_by(Idea.created_at.desc(), Idea.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list((await self.session.execute(query)).scalars())

    async def count_of_author(self, author_id: int) -> int:
        query = select(func.count(Idea.id)).where(Idea.author_id == author_id)
        return int((await self.session.execute(query)).scalar_one())

    async def get_for_update(self, idea_id: int) -> Idea | None:
        """The idea, locked until the transaction ends: one decision at a time.

        On PostgreSQL this is ``SELECT … FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE``
        already serialises every writing transaction.
        """
        query = (
            select(Idea)
            .where(Idea.id == idea_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def events(self, idea_id: int) -> list[IdeaEvent]:
        query = select(IdeaEvent).where(IdeaEvent.idea_id == idea_id).order_by(IdeaEvent.id)
        return list((await self.session.execute(query)).scalars())

    async def awaiting_answer(self, author_id: int) -> list[Idea]:
        """The author's ideas on which the support team asked a question, newest first."""
        query = (
            select(Idea)
            .where(Idea.author_id == author_id, Idea.status == IdeaStatus.INFO_REQUESTED.value)
            .order_by(Idea.updated_at.desc(), Idea.id.desc())
        )
        return list((await self.session.execute(query)).scalars())

    async def open_in_units(self, unit_ids: Sequence[int], *, limit: int) -> list[Idea]:
        """Ideas still waiting for a decision, held by these units, longest waiting first."""
        if not unit_ids:
            return []
        query = (
            select(Idea)
            .where(Idea.holder_unit_id.in_(unit_ids), Idea.status.in_(OPEN_STATUSES))
            .order_by(Idea.waiting_since, Idea.id)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def waiting_since_before(self, cutoff: datetime, *, limit: int) -> list[Idea]:
        """Ideas in a team's queue (not waiting for the worker) since before ``cutoff``."""
        query = (
            select(Idea)
            .where(
                Idea.status.in_([IdeaStatus.SUBMITTED.value, IdeaStatus.FORWARDED.value]),
                Idea.waiting_since <= cutoff,
                Idea.escalated_at.is_(None),
            )
            .order_by(Idea.waiting_since)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def attachments(self, idea_id: int) -> list[Attachment]:
        query = select(Attachment).where(Attachment.idea_id == idea_id).order_by(Attachment.id)
        return list((await self.session.execute(query)).scalars())


class TeamChatRepository:
    """Group chats bound to support teams."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def group_of(self, unit_id: int) -> TeamChat | None:
        query = select(TeamChat).where(TeamChat.unit_id == unit_id).order_by(TeamChat.id.desc())
        return (await self.session.execute(query.limit(1))).scalar_one_or_none()

    async def by_chat(self, channel: str, chat_id: str) -> TeamChat | None:
        query = select(TeamChat).where(TeamChat.channel == channel, TeamChat.chat_id == chat_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def bind(
        self,
        *,
        unit_id: int,
        channel: str,
        chat_id: str,
        title: str | None,
        person_id: int,
        now: datetime,
    ) -> TeamChat:
        """Make the group the unit's team chat (a group serves one team at a time)."""
        existing = await self.by_chat(channel, chat_id)
        if existing is not None:
            existing.unit_id = unit_id
            existing.title = title
            existing.bound_by = person_id
            existing.bound_at = now
            return existing
        chat = TeamChat(
            unit_id=unit_id,
            channel=channel,
            chat_id=chat_id,
            title=title,
            bound_by=person_id,
            bound_at=now,
        )
        self.session.add(chat)
        await self.session.flush()
        return chat

    async def unbind(self, channel: str, chat_id: str) -> bool:
        existing = await self.by_chat(channel, chat_id)
        if existing is None:
            return False
        await self.session.delete(existing)
        return True


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, chat_key: str) -> Conversation | None:
        """The chat's conversation, locked for this transaction on PostgreSQL."""
        return await self.session.get(Conversation, chat_key, with_for_update=True)

    async def save(
        self,
        chat_key: str,
        *,
        person_id: int | None,
        flow: str | None,
        step: str | None,
        data: dict[str, Any],
        now: datetime,
    ) -> None:
        row = await self.session.get(Conversation, chat_key)
        if row is None:
            self.session.add(
                Conversation(
                    chat_key=chat_key,
                    person_id=person_id,
                    flow=flow,
                    step=step,
                    data=data,
                    updated_at=now,
                )
            )
            return
        row.person_id = person_id
        row.flow = flow
        row.step = step
        row.data = dict(data)  # a new object, so the JSON column sees the change
        row.updated_at = now

    async def count_in_flow(self) -> int:
        query = select(func.count()).select_from(Conversation).where(Conversation.flow.is_not(None))
        return int((await self.session.execute(query)).scalar_one())


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        channel: str,
        chat_id: str,
        payload: dict[str, Any],
        priority: int,
        now: datetime,
        person_id: int | None = None,
        idea_id: int | None = None,
        purpose: str | None = None,
    ) -> int:
        row = OutboxMessage(
            channel=channel,
            chat_id=chat_id,
            payload=payload,
            priority=priority,
            status=OutboxStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            person_id=person_id,
            idea_id=idea_id,
            purpose=purpose,
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    def _pending(self) -> Select[OutboxMessage]:
        return select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING.value)

    async def by_ids(self, ids: Sequence[int]) -> list[OutboxMessage]:
        query = self._pending().where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)
        return list((await self.session.execute(query)).scalars())

    async def due(
        self, now: datetime, *, limit: int, replies_created_before: datetime | None = None
    ) -> list[OutboxMessage]:
        """Pending rows whose time has come, most urgent first.

        Replies (priority 0) belong to the update that queued them until
        ``replies_created_before``, unless their first try already failed.
        """
        query = self._pending().where(OutboxMessage.next_attempt_at <= now)
        if replies_created_before is not None:
            query = query.where(
                or_(
                    OutboxMessage.priority > 0,
                    OutboxMessage.attempts > 0,
                    OutboxMessage.created_at <= replies_created_before,
                )
            )
        query = query.order_by(OutboxMessage.priority, OutboxMessage.id).limit(limit)
        return list((await self.session.execute(query)).scalars())

    async def next_due_at(self) -> datetime | None:
        query = select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.status == OutboxStatus.PENDING.value
        )
        value: datetime | None = (await self.session.execute(query)).scalar_one_or_none()
        return value

    async def mark_sent(self, outbox_id: int, *, message_id: str | None, now: datetime) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(status=OutboxStatus.SENT.value, message_id=message_id, sent_at=now)
        )

    async def mark_retry(self, outbox_id: int, *, at: datetime, error: str) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(attempts=OutboxMessage.attempts + 1, next_attempt_at=at, last_error=error[:200])
        )

    async def mark_failed(self, outbox_id: int, *, error: str, now: datetime) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(
                status=OutboxStatus.FAILED.value,
                attempts=OutboxMessage.attempts + 1,
                last_error=error[:200],
                sent_at=now,
            )
        )

    async def sent_cards(self, idea_id: int, prefixes: Sequence[str]) -> list[OutboxMessage]:
        """Cards of an idea that reached a chat, whose purpose starts with one of ``prefixes``."""
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.idea_id == idea_id,
                OutboxMessage.status == OutboxStatus.SENT.value,
                OutboxMessage.message_id.is_not(None),
                or_(*(OutboxMessage.purpose.startswith(p) for p in prefixes)),
            )
            .order_by(OutboxMessage.id)
        )
        return list((await self.session.execute(query)).scalars())

    async def sent_message_id(self, outbox_id: int) -> str | None:
        query = select(OutboxMessage.message_id).where(OutboxMessage.id == outbox_id)
        return (await self.session.execute(query)).scalar_one_or_none()


class UpdateLog:
    """Which updates were handled already, per channel."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def seen(self, channel: str, update_id: int) -> bool:
        row = await self.session.get(ProcessedUpdate, (channel, update_id))
        return row is not None

    def record(self, channel: str, update_id: int, now: datetime) -> None:
        self.session.add(ProcessedUpdate(channel=channel, update_id=update_id, processed_at=now))


__all__ = [
    "ConversationRepository",
    "IdeaRepository",
    "OutboxRepository",
    "PersonRepository",
    "RoleRepository",
    "UnitRepository",
    "UpdateLog",
    "unit_ids_on_path",
]
