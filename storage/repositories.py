"""Repositories: the only place that knows how rows are queried and written.

Flows receive these through a :class:`storage.uow.UnitOfWork` and never write SQL
or call ``commit`` themselves.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import AsyncGenerator, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Final, NamedTuple

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Attachment,
    Base,
    Campaign,
    ChannelChoices,
    ChannelFile,
    Conversation,
    Counter,
    DigestSubscription,
    Idea,
    IdeaEvent,
    IdeaStatus,
    Identity,
    LinkAttempt,
    LinkCode,
    OutboxMessage,
    OutboxStatus,
    Person,
    ProcessedUpdate,
    ProgressDaily,
    ProgressTotal,
    QuotaTotal,
    ReportJob,
    ReportStatus,
    Role,
    RoleKind,
    TeamChat,
    Unit,
    UnitKind,
)


class ChatState(NamedTuple):
    """A chat's saved conversation: its flow, the step, and the flow's data (the caller's
    own copy, free to change)."""

    flow: str | None
    step: str | None
    data: dict[str, Any]


class Resolved(NamedTuple):
    person: Person
    conversation: ChatState | None


OPEN_STATUSES = (
    IdeaStatus.SUBMITTED.value,
    IdeaStatus.INFO_REQUESTED.value,
    IdeaStatus.FORWARDED.value,
)


# Statements run for every update, built once: values go in as parameters, so
# SQLAlchemy compiles each once and looks it up by a cache key that does not depend
# on the values (a statement with ``.values(...)`` is keyed on them every time).
_OUTBOX: Final[Table] = OutboxMessage.__table__  # type: ignore[assignment]
_CONVERSATIONS: Final[Table] = Conversation.__table__  # type: ignore[assignment]
_PROCESSED: Final[Table] = ProcessedUpdate.__table__  # type: ignore[assignment]
_ADD_OUTBOX: Final = insert(_OUTBOX).returning(_OUTBOX.c.id)
# The person behind an account and the chat's conversation, in one round trip. The
# conversation's row is not locked: only the dispatcher writes it, holding the chat
# (SQLite's single writer; PostgreSQL's advisory lock on the chat, storage.uow).
_RESOLVE: Final = (
    select(
        Person,
        Identity,
        _CONVERSATIONS.c.chat_key,
        _CONVERSATIONS.c.flow,
        _CONVERSATIONS.c.step,
        _CONVERSATIONS.c.data,
    )
    .join(Identity, Identity.person_id == Person.id)
    .outerjoin(_CONVERSATIONS, _CONVERSATIONS.c.chat_key == bindparam("chat_key"))
    .where(
        Identity.channel == bindparam("channel"),
        Identity.external_id == bindparam("external_id"),
    )
)
_GET_CONVERSATION: Final = select(
    _CONVERSATIONS.c.flow, _CONVERSATIONS.c.step, _CONVERSATIONS.c.data
).where(_CONVERSATIONS.c.chat_key == bindparam("chat_key"))
_per_dialect: dict[tuple[str, str], Any] = {}


def _claim_update(dialect: str) -> Any:
    """INSERT a processed update id unless it is there already."""
    statement = _per_dialect.get(("claim", dialect))
    if statement is None:
        insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = _per_dialect[("claim", dialect)] = insert_(_PROCESSED).on_conflict_do_nothing()
    return statement


def _save_conversation(dialect: str) -> Any:
    """INSERT a conversation, or UPDATE the chat's one."""
    statement = _per_dialect.get(("conversation", dialect))
    if statement is None:
        insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
        base = insert_(_CONVERSATIONS)
        columns = ("person_id", "flow", "step", "data", "updated_at")
        statement = _per_dialect[("conversation", dialect)] = base.on_conflict_do_update(
            index_elements=[_CONVERSATIONS.c.chat_key],
            set_={name: base.excluded[name] for name in columns},
        )
    return statement


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
        conversation_key: str,
    ) -> Resolved:
        """The person behind a messenger account (created on first contact), and the
        conversation saved under ``conversation_key``, read together."""
        params = {"channel": channel, "external_id": external_id, "chat_key": conversation_key}
        row = (await self.session.execute(_RESOLVE, params)).first()
        if row is not None:
            person, identity, saved, flow, step, data = row
            if display_name and person.display_name != display_name:
                person.display_name = display_name
            if platform_language and person.platform_language != platform_language:
                person.platform_language = platform_language
            if private_chat_id and identity.private_chat_id != private_chat_id:
                identity.private_chat_id = private_chat_id
            conversation = ChatState(flow, step, data or {}) if saved is not None else None
            return Resolved(person, conversation)
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
        conversations = ConversationRepository(self.session)
        return Resolved(person, await conversations.get(conversation_key))

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
        """Ideas in a team's queue (not waiting for the worker) since before ``cutoff``.

        Locked for this transaction; rows another transaction holds (the same pass in
        another bot instance, a team member deciding right now) are skipped, so no
        idea is reminded twice: they come up again at the next pass.
        """
        query = (
            select(Idea)
            .where(
                Idea.status.in_([IdeaStatus.SUBMITTED.value, IdeaStatus.FORWARDED.value]),
                Idea.waiting_since <= cutoff,
                Idea.escalated_at.is_(None),
            )
            .order_by(Idea.waiting_since)
            .limit(limit)
            .with_for_update(skip_locked=True)
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

    async def set_language(self, channel: str, chat_id: str, language: str) -> bool:
        """The language the bound group's cards speak; False if the group is not bound."""
        existing = await self.by_chat(channel, chat_id)
        if existing is None:
            return False
        existing.language = language
        return True

    async def unbind(self, channel: str, chat_id: str) -> bool:
        existing = await self.by_chat(channel, chat_id)
        if existing is None:
            return False
        await self.session.delete(existing)
        return True


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, chat_key: str) -> ChatState | None:
        """The chat's saved conversation (see ``_RESOLVE`` on why it is not locked)."""
        row = (await self.session.execute(_GET_CONVERSATION, {"chat_key": chat_key})).first()
        return ChatState(row.flow, row.step, row.data or {}) if row is not None else None

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
        # One upsert, not the ORM's read-then-flush (the row the dispatcher read is
        # not changed in the session, so nothing else writes it at commit).
        dialect = self.session.get_bind().dialect.name
        await self.session.execute(
            _save_conversation(dialect),
            {
                "chat_key": chat_key,
                "person_id": person_id,
                "flow": flow,
                "step": step,
                "data": dict(data),
                "updated_at": now,
            },
        )

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
        row = await self.add_row(
            channel=channel,
            chat_id=chat_id,
            payload=payload,
            priority=priority,
            now=now,
            person_id=person_id,
            idea_id=idea_id,
            purpose=purpose,
        )
        return row.id

    async def add_row(
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
        claimed_by: str | None = None,
        claimed_until: datetime | None = None,
    ) -> OutboxMessage:
        """Queue a message; ``claimed_by`` keeps it for that instance until ``claimed_until``.

        The row is inserted with one statement and handed back detached from the session
        (what it holds is what was inserted): the ORM's flush machinery cost more than
        the insert itself on every update.
        """
        values: dict[str, Any] = {
            "channel": channel,
            "chat_id": chat_id,
            "payload": payload,
            "priority": priority,
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "person_id": person_id,
            "idea_id": idea_id,
            "purpose": purpose,
            "claimed_by": claimed_by,
            "claimed_until": claimed_until,
        }
        inserted = await self.session.execute(_ADD_OUTBOX, values)
        return OutboxMessage(id=inserted.scalar_one(), **values)

    async def claim_due(
        self,
        now: datetime,
        *,
        instance: str,
        lease: timedelta,
        limit: int,
        per_chat: int | None = None,
    ) -> list[OutboxMessage]:
        """Take the lease on up to ``limit`` rows due at ``now``, most urgent first.

        A row is due when its time has come and nobody holds a live lease on it. It
        is left alone while an earlier row of the same chat is still outstanding
        (leased elsewhere or waiting to retry), so one chat's messages keep their
        order whichever instance sends them. On PostgreSQL the candidates are locked
        with ``FOR UPDATE SKIP LOCKED``: instances draining at once never take the
        same row; on SQLite the writer lock does the same.

        ``per_chat`` caps the rows of one chat in a claim (the rest are let go at
        once), so a chat's share fits in the lease at its send rate; the chat's later
        rows wait behind those claimed, as above.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            # One claim at a time across instances: a claim running beside another
            # would not see the other's uncommitted leases, and could take a chat's
            # later rows while the other takes its earlier ones.
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended('outbox-claim', 0))")
            )
        row, earlier = OutboxMessage, aliased(OutboxMessage)
        free = or_(row.claimed_until.is_(None), row.claimed_until < now)
        blocked = (
            select(earlier.id)
            .where(
                earlier.channel == row.channel,
                earlier.chat_id == row.chat_id,
                earlier.status == OutboxStatus.PENDING.value,
                earlier.id < row.id,
                or_(earlier.claimed_until >= now, earlier.next_attempt_at > now),
            )
            .exists()
        )
        candidates = (
            select(row.id)
            .where(row.status == OutboxStatus.PENDING.value, row.next_attempt_at <= now, free)
            .where(~blocked)
            .order_by(row.priority, row.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list((await self.session.execute(candidates)).scalars())
        if not ids:
            return []
        claim = (
            update(row)
            .where(row.id.in_(ids), row.status == OutboxStatus.PENDING.value, free)
            .values(claimed_by=instance, claimed_until=now + lease)
            .returning(row)
            .execution_options(synchronize_session=False)
        )
        rows = sorted((await self.session.execute(claim)).scalars(), key=lambda r: r.id)
        if per_chat is not None:
            taken: Tally[tuple[str, str]] = Tally()
            kept: list[OutboxMessage] = []
            surplus: list[int] = []
            for message in rows:
                chat = (message.channel, message.chat_id)
                taken[chat] += 1
                if taken[chat] <= per_chat:
                    kept.append(message)
                else:
                    surplus.append(message.id)
            await self.release(surplus)
            rows = kept
        return sorted(rows, key=lambda r: (r.priority, r.id))

    async def release(self, ids: Sequence[int]) -> None:
        """Give up the leases on rows that will not be sent now after all."""
        if ids:
            await self.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(claimed_by=None, claimed_until=None)
            )

    async def release_claims(self, instance: str, *, created_before: datetime) -> int:
        """Give up the leases ``instance`` took on rows created before ``created_before``
        (the instance restarted then: nothing it held before is in flight)."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.claimed_by == instance,
                OutboxMessage.status == OutboxStatus.PENDING.value,
                OutboxMessage.created_at < created_before,
            )
            .values(claimed_by=None, claimed_until=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

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
            .values(
                status=OutboxStatus.SENT.value,
                message_id=message_id,
                sent_at=now,
                claimed_by=None,
                claimed_until=None,
            )
        )

    async def mark_sent_many(
        self, sent: Sequence[tuple[int, str | None]], *, now: datetime
    ) -> None:
        """:meth:`mark_sent` for many (row id, message id) pairs in one statement."""
        if not sent:
            return
        await self.session.execute(
            update(OutboxMessage),
            [
                {
                    "id": outbox_id,
                    "status": OutboxStatus.SENT.value,
                    "message_id": message_id,
                    "sent_at": now,
                    "claimed_by": None,
                    "claimed_until": None,
                }
                for outbox_id, message_id in sent
            ],
        )

    async def mark_retry(self, outbox_id: int, *, at: datetime, error: str) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outbox_id)
            .values(
                attempts=OutboxMessage.attempts + 1,
                next_attempt_at=at,
                last_error=error[:200],
                claimed_by=None,
                claimed_until=None,
            )
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
                claimed_by=None,
                claimed_until=None,
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

    def record(self, channel: str, update_id: int, now: datetime) -> None:
        self.session.add(ProcessedUpdate(channel=channel, update_id=update_id, processed_at=now))

    async def claim(self, channel: str, update_id: int, now: datetime) -> bool:
        """Record the update as handled in this transaction; False if it already was.

        One statement for what ``seen`` and ``record`` do in two.
        """
        dialect = self.session.get_bind().dialect.name
        result = await self.session.execute(
            _claim_update(dialect),
            {"channel": channel, "update_id": update_id, "processed_at": now},
        )
        return bool(getattr(result, "rowcount", 0))


# ---------------------------------------------------------------- progress (issue #4)


class ExportedIdea(NamedTuple):
    """One idea as an export shows it: ``author`` and ``body`` None when confidential, and
    ``title`` None too when the worker did not type it (handlers/visibility.py)."""

    ref_code: str
    unit_path: str
    title: str | None
    category: str
    status: str
    created_at: datetime
    updated_at: datetime
    benefit: str
    benefit_amount: int | None
    confidential: bool
    author: str | None
    body: str | None


class ProgressRepository:
    """Campaigns, quotas, the progress counters, digest subscriptions and report jobs.

    Counters (``progress_totals``, ``progress_daily``) hold one row per unit for the
    idea's own unit and every unit above it, so reading a unit's figures is a
    primary-key lookup whatever the size of its subtree (docs/PROGRESS.md).
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self) -> Any:
        dialect = self.session.get_bind().dialect.name
        return postgresql.insert if dialect == "postgresql" else sqlite.insert

    # ------------------------------------------------------------ campaigns

    async def campaign(self, campaign_id: int) -> Campaign | None:
        return await self.session.get(Campaign, campaign_id)

    async def campaign_by_code(self, code: str) -> Campaign | None:
        query = select(Campaign).where(func.upper(Campaign.code) == code.upper()).limit(1)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def campaign_on(self, day: date) -> Campaign | None:
        """The campaign running on this (Vietnam) calendar day, if any."""
        query = (
            select(Campaign)
            .where(Campaign.starts_on <= day, Campaign.ends_on >= day)
            .order_by(Campaign.starts_on)
            .limit(1)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def campaigns(self) -> list[Campaign]:
        """Every campaign, earliest first."""
        query = select(Campaign).order_by(Campaign.starts_on, Campaign.id)
        return list((await self.session.execute(query)).scalars())

    # ------------------------------------------------------------ counters

    async def bump(
        self,
        unit_ids: Sequence[int],
        campaign_id: int,
        day: date,
        *,
        submitted: int = 0,
        approved: int = 0,
    ) -> None:
        """Add to the counters of these units (an idea's unit and its ancestors).

        ``UPDATE … SET n = n + k`` through an upsert, in the caller's transaction: exact
        under concurrent writers. Rows are written in unit id order, so two
        transactions always lock them in the same order (no deadlock on PostgreSQL).
        """
        if not unit_ids or (submitted == 0 and approved == 0):
            return
        insert = self._insert()
        ids = sorted(set(unit_ids))
        base = {"campaign_id": campaign_id, "submitted": submitted, "approved": approved}
        totals = insert(ProgressTotal).values([{"unit_id": u, **base} for u in ids])
        totals = totals.on_conflict_do_update(
            index_elements=[ProgressTotal.unit_id, ProgressTotal.campaign_id],
            set_={
                "submitted": ProgressTotal.submitted + totals.excluded.submitted,
                "approved": ProgressTotal.approved + totals.excluded.approved,
            },
        )
        await self.session.execute(totals)
        daily = insert(ProgressDaily).values([{"unit_id": u, "day": day, **base} for u in ids])
        daily = daily.on_conflict_do_update(
            index_elements=[ProgressDaily.unit_id, ProgressDaily.campaign_id, ProgressDaily.day],
            set_={
                "submitted": ProgressDaily.submitted + daily.excluded.submitted,
                "approved": ProgressDaily.approved + daily.excluded.approved,
            },
        )
        await self.session.execute(daily)

    async def totals(self, campaign_id: int, unit_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """(submitted, approved) in each unit's subtree; units with none are left out."""
        if not unit_ids:
            return {}
        query = select(
            ProgressTotal.unit_id, ProgressTotal.submitted, ProgressTotal.approved
        ).where(ProgressTotal.campaign_id == campaign_id, ProgressTotal.unit_id.in_(unit_ids))
        return {u: (int(s), int(a)) for u, s, a in await self.session.execute(query)}

    async def since(
        self, campaign_id: int, unit_ids: Sequence[int], first_day: date
    ) -> dict[int, tuple[int, int]]:
        """(submitted, approved) from ``first_day`` on, per unit (net of any reversals)."""
        if not unit_ids:
            return {}
        query = (
            select(
                ProgressDaily.unit_id,
                func.sum(ProgressDaily.submitted),
                func.sum(ProgressDaily.approved),
            )
            .where(
                ProgressDaily.campaign_id == campaign_id,
                ProgressDaily.unit_id.in_(unit_ids),
                ProgressDaily.day >= first_day,
            )
            .group_by(ProgressDaily.unit_id)
        )
        return {u: (int(s or 0), int(a or 0)) for u, s, a in await self.session.execute(query)}

    async def targets(
        self, campaign_id: int, unit_ids: Sequence[int]
    ) -> dict[int, tuple[int, bool]]:
        """(target, summed from the children) for each unit that has one."""
        if not unit_ids:
            return {}
        query = select(QuotaTotal.unit_id, QuotaTotal.target, QuotaTotal.summed).where(
            QuotaTotal.campaign_id == campaign_id, QuotaTotal.unit_id.in_(unit_ids)
        )
        return {u: (int(t), bool(s)) for u, t, s in await self.session.execute(query)}

    async def children(self, unit_id: int) -> list[Unit]:
        query = select(Unit).where(Unit.parent_id == unit_id).order_by(Unit.code)
        return list((await self.session.execute(query)).scalars())

    async def official_units(self, person_id: int) -> list[Unit]:
        """The units this person is an official of, highest first."""
        query = (
            select(Unit)
            .join(Role, Role.unit_id == Unit.id)
            .where(
                Role.person_id == person_id,
                Role.role == RoleKind.OFFICIAL.value,
                Role.revoked_at.is_(None),
            )
            .order_by(Unit.depth, Unit.code)
        )
        return list((await self.session.execute(query)).scalars())

    # ------------------------------------------------------------ digests

    async def subscription(self, person_id: int) -> DigestSubscription | None:
        return await self.session.get(DigestSubscription, person_id)

    async def subscribe(
        self, person_id: int, unit_id: int, *, now: datetime, last_slot: datetime
    ) -> bool:
        """Subscribe (or move the subscription to another unit); False if it was so already."""
        row = await self.session.get(DigestSubscription, person_id)
        if row is None:
            self.session.add(
                DigestSubscription(
                    person_id=person_id, unit_id=unit_id, subscribed_at=now, last_slot=last_slot
                )
            )
            return True
        if row.unit_id == unit_id:
            return False
        row.unit_id = unit_id
        return True

    async def unsubscribe(self, person_id: int) -> bool:
        row = await self.session.get(DigestSubscription, person_id)
        if row is None:
            return False
        await self.session.delete(row)
        return True

    async def digests_due(self, slot: datetime, *, limit: int) -> list[DigestSubscription]:
        query = (
            select(DigestSubscription)
            .where(or_(DigestSubscription.last_slot.is_(None), DigestSubscription.last_slot < slot))
            .order_by(DigestSubscription.person_id)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def claim_digest(self, person_id: int, slot: datetime) -> bool:
        """Mark this week's digest as taken; False if another pass took it first."""
        result = await self.session.execute(
            update(DigestSubscription)
            .where(
                DigestSubscription.person_id == person_id,
                or_(DigestSubscription.last_slot.is_(None), DigestSubscription.last_slot < slot),
            )
            .values(last_slot=slot)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    # ------------------------------------------------------------ report jobs

    async def add_job(self, job: ReportJob) -> ReportJob:
        self.session.add(job)
        await self.session.flush()
        return job

    async def pending_jobs(self, *, stale_before: datetime, limit: int) -> list[ReportJob]:
        """Jobs to do: pending ones, and ones a crashed worker started long ago."""
        query = (
            select(ReportJob)
            .where(
                or_(
                    ReportJob.status == ReportStatus.PENDING.value,
                    and_(
                        ReportJob.status == ReportStatus.WORKING.value,
                        ReportJob.started_at < stale_before,
                    ),
                )
            )
            .order_by(ReportJob.id)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def claim_job(self, job: ReportJob, *, now: datetime) -> bool:
        result = await self.session.execute(
            update(ReportJob)
            .where(
                ReportJob.id == job.id,
                ReportJob.status == job.status,
                or_(ReportJob.started_at.is_(None), ReportJob.started_at == job.started_at),
            )
            .values(status=ReportStatus.WORKING.value, started_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def job_waiting(self, person_id: int, kind: str, unit_id: int, campaign_id: int) -> bool:
        """Whether the same report for the same person is still being made."""
        query = select(func.count(ReportJob.id)).where(
            ReportJob.person_id == person_id,
            ReportJob.kind == kind,
            ReportJob.unit_id == unit_id,
            ReportJob.campaign_id == campaign_id,
            ReportJob.status.in_([ReportStatus.PENDING.value, ReportStatus.WORKING.value]),
        )
        return bool((await self.session.execute(query)).scalar_one())

    # ------------------------------------------------------------ exports

    def _in_subtree(self, path: str) -> Any:
        # The indexed range form of "path starts with" (docs/STORAGE.md).
        return and_(Unit.path >= path, Unit.path < path[:-1] + "0")

    async def count_in_subtree(self, path: str, campaign_id: int) -> int:
        query = (
            select(func.count(Idea.id))
            .join(Unit, Unit.id == Idea.unit_id)
            .where(self._in_subtree(path), Idea.campaign_id == campaign_id)
        )
        return int((await self.session.execute(query)).scalar_one())

    async def stream_ideas_in_subtree(
        self, path: str, campaign_id: int, *, limit: int, body_chars: int = 2000, page: int = 2000
    ) -> AsyncGenerator[list[ExportedIdea], None]:
        """The ideas of a subtree and campaign, newest first, as plain rows for an export,
        a page at a time.

        Only the columns an export shows are read, the text cut at ``body_chars``; a
        confidential idea's text and author are not read at all. One query, whose rows
        are fetched as they are taken (a server-side cursor): the whole export is never
        in memory at once. Other statements may run on the session between pages.
        """
        query = self._export_query(path, campaign_id, limit=limit, body_chars=body_chars)
        result = await self.session.stream(query, execution_options={"yield_per": page})
        try:
            async for rows in result.partitions():
                yield [ExportedIdea._make(row) for row in rows]
        finally:
            await result.close()

    def _export_query(self, path: str, campaign_id: int, *, limit: int, body_chars: int) -> Any:
        secret = Idea.confidential.is_(True)
        derived_title = and_(secret, Idea.title_given.is_(False))
        return (
            select(
                Idea.ref_code,
                Unit.path,
                case((derived_title, None), else_=Idea.title),
                Idea.category,
                Idea.status,
                Idea.created_at,
                Idea.updated_at,
                Idea.benefit,
                Idea.benefit_amount,
                Idea.confidential,
                case((secret, None), else_=Person.display_name),
                case((secret, None), else_=func.substr(Idea.body, 1, body_chars)),
            )
            .join(Unit, Unit.id == Idea.unit_id)
            .outerjoin(Person, Person.id == Idea.author_id)
            .where(self._in_subtree(path), Idea.campaign_id == campaign_id)
            .order_by(Idea.created_at.desc(), Idea.id.desc())
            .limit(limit)
        )

    async def unit_names(self, unit_ids: Sequence[int]) -> dict[int, str]:
        names: dict[int, str] = {}
        ids = sorted(set(unit_ids))
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            result = await self.session.execute(
                select(Unit.id, Unit.name).where(Unit.id.in_(chunk))
            )
            names.update((int(i), n) for i, n in result)
        return names

    async def finish_job(self, job_id: int, *, now: datetime, error: str | None = None) -> None:
        status = ReportStatus.FAILED if error else ReportStatus.DONE
        await self.session.execute(
            update(ReportJob)
            .where(ReportJob.id == job_id)
            .values(status=status.value, finished_at=now, error=error[:200] if error else None)
            .execution_options(synchronize_session=False)
        )


__all__ = [
    "ConversationRepository",
    "IdeaRepository",
    "OutboxRepository",
    "PersonRepository",
    "ProgressRepository",
    "RoleRepository",
    "UnitRepository",
    "UpdateLog",
    "unit_ids_on_path",
]


# ---------------------------------------------------------------- channels (issue #9)


class ChannelRepository:
    """What a messenger without buttons needs remembered: the choices shown, URL files."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self) -> Any:
        dialect = self.session.get_bind().dialect.name
        return postgresql.insert if dialect == "postgresql" else sqlite.insert

    async def choices(self, channel: str, chat_id: str) -> ChannelChoices | None:
        """The newest choices shown in the chat, if any are still on offer."""
        return await self.session.get(ChannelChoices, (channel, chat_id))

    async def show_choices(
        self,
        channel: str,
        chat_id: str,
        *,
        message_id: str,
        choices: Sequence[tuple[str, str]],
        now: datetime,
    ) -> None:
        """Remember the choices a message offered; they replace the chat's earlier ones."""
        values = {
            "channel": channel,
            "chat_id": chat_id,
            "message_id": message_id,
            "choices": [[label, data] for label, data in choices],
            "shown_at": now,
        }
        statement = self._insert()(ChannelChoices).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[ChannelChoices.channel, ChannelChoices.chat_id],
            set_={k: v for k, v in values.items() if k not in ("channel", "chat_id")},
        )
        await self.session.execute(statement)

    async def forget_choices(
        self, channel: str, chat_id: str, message_id: str | None = None
    ) -> None:
        """The choices are off: the message that offered them was replaced (``message_id``),
        or the chat now waits for something typed (None: whatever was on offer)."""
        query = delete(ChannelChoices).where(
            ChannelChoices.channel == channel, ChannelChoices.chat_id == chat_id
        )
        if message_id is not None:
            query = query.where(ChannelChoices.message_id == message_id)
        await self.session.execute(query.execution_options(synchronize_session=False))

    async def add_file(
        self, *, file_id: str, channel: str, url: str, mime_type: str | None, now: datetime
    ) -> None:
        statement = self._insert()(ChannelFile).values(
            file_id=file_id, channel=channel, url=url, mime_type=mime_type, created_at=now
        )
        await self.session.execute(statement.on_conflict_do_nothing())

    async def file(self, file_id: str) -> ChannelFile | None:
        return await self.session.get(ChannelFile, file_id)


class LinkRepository:
    """One-time codes that link a person's accounts, and merging two people into one."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def code_in_use(self, code_hash: str, now: datetime) -> bool:
        query = select(func.count(LinkCode.id)).where(
            LinkCode.code_hash == code_hash, LinkCode.used_at.is_(None), LinkCode.expires_at > now
        )
        return bool((await self.session.execute(query)).scalar_one())

    async def add_code(
        self, *, person_id: int, channel: str, code_hash: str, now: datetime, expires_at: datetime
    ) -> LinkCode:
        """A new code for the person; any earlier code of theirs stops working."""
        await self.session.execute(
            update(LinkCode)
            .where(
                LinkCode.person_id == person_id,
                LinkCode.used_at.is_(None),
                LinkCode.expires_at > now,
            )
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        )
        code = LinkCode(
            person_id=person_id,
            channel=channel,
            code_hash=code_hash,
            created_at=now,
            expires_at=expires_at,
        )
        self.session.add(code)
        await self.session.flush()
        return code

    async def usable_code(self, code_hash: str, now: datetime) -> LinkCode | None:
        """The unused, unexpired code with this hash, locked until the transaction ends."""
        query = (
            select(LinkCode)
            .where(
                LinkCode.code_hash == code_hash,
                LinkCode.used_at.is_(None),
                LinkCode.expires_at > now,
            )
            .order_by(LinkCode.id.desc())
            .limit(1)
            .with_for_update()
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    def record_attempt(self, person_id: int, now: datetime, *, ok: bool) -> None:
        self.session.add(LinkAttempt(person_id=person_id, at=now, ok=ok))

    async def failures_since(self, person_id: int, since: datetime) -> int:
        query = select(func.count(LinkAttempt.id)).where(
            LinkAttempt.person_id == person_id,
            LinkAttempt.ok.is_(False),
            LinkAttempt.at >= since,
        )
        return int((await self.session.execute(query)).scalar_one())

    async def channels_of(self, person_id: int) -> set[str]:
        query = select(Identity.channel).where(Identity.person_id == person_id)
        return set((await self.session.execute(query)).scalars())

    async def merge(self, keep: Person, gone: Person, *, delete_gone: bool) -> None:
        """Move everything of ``gone`` to ``keep``, in the caller's transaction.

        Every row that points at a person (found through the schema's foreign keys, so
        tables added later are covered too) moves to ``keep``; where ``keep`` already has
        the same row (a role on the same unit, a digest subscription) ``keep``'s stays.
        ``keep`` takes ``gone``'s unit and language where it has none. ``gone`` is deleted,
        unless the caller still writes rows for it in this transaction (the person whose
        update is being handled): then it is left without identities, an empty shell that
        :meth:`purge_shells` removes later.
        """
        if keep.id == gone.id:
            raise ValueError("a person cannot be merged into themselves")
        await self.purge_shells(except_ids=(keep.id, gone.id))
        await self._merge_roles(keep.id, gone.id)
        models = {mapper.local_table: mapper.class_ for mapper in Base.registry.mappers}
        people = Person.__table__
        for table in Base.metadata.sorted_tables:
            model = models.get(table)
            if model is None:
                continue
            for fk in table.foreign_keys:
                if fk.column is not people.c.id:
                    continue
                await self._move(model, table, fk.parent.key, keep.id, gone.id)
        if keep.unit_id is None:
            keep.unit_id = gone.unit_id
        if keep.language is None:
            keep.language = gone.language
        if keep.platform_language is None:
            keep.platform_language = gone.platform_language
        keep.unreachable = False  # an account that just typed a code is reachable
        await self.session.flush()
        if delete_gone:
            await self.session.delete(gone)
            await self.session.flush()

    async def _merge_roles(self, keep_id: int, gone_id: int) -> None:
        """Where both hold a role on a unit, ``keep``'s stays, restored if only ``gone``'s
        was still in force."""
        keep_roles = {
            (r.unit_id, r.role): r
            for r in (
                await self.session.execute(select(Role).where(Role.person_id == keep_id))
            ).scalars()
        }
        gone_roles = await self.session.execute(select(Role).where(Role.person_id == gone_id))
        for role in list(gone_roles.scalars()):
            twin = keep_roles.get((role.unit_id, role.role))
            if twin is None:
                continue
            if twin.revoked_at is not None and role.revoked_at is None:
                twin.revoked_at = None
                twin.granted_at = role.granted_at
            await self.session.delete(role)
        await self.session.flush()

    async def _move(self, model: Any, table: Any, key: str, keep_id: int, gone_id: int) -> None:
        column = getattr(model, key)
        for unique in _unique_column_sets(table, key):
            twin = aliased(model)
            same = [getattr(twin, key) == keep_id]
            same += [getattr(twin, other) == getattr(model, other) for other in unique - {key}]
            await self.session.execute(
                delete(model)
                .where(column == gone_id, exists().where(*same))
                .execution_options(synchronize_session="fetch")
            )
        await self.session.execute(
            update(model)
            .where(column == gone_id)
            .values({key: keep_id})
            .execution_options(synchronize_session="fetch")
        )

    async def purge_shells(self, *, except_ids: Sequence[int] = ()) -> int:
        """Delete people left without any identity by earlier merges; returns how many."""
        query = select(Person).where(
            ~exists().where(Identity.person_id == Person.id), Person.id.not_in(except_ids)
        )
        shells = list((await self.session.execute(query)).scalars())
        removed = 0
        models = {mapper.local_table: mapper.class_ for mapper in Base.registry.mappers}
        for shell in shells:
            blocking = False
            for table in Base.metadata.sorted_tables:
                model = models.get(table)
                for fk in table.foreign_keys:
                    if model is None or fk.column is not Person.__table__.c.id:
                        continue
                    column = getattr(model, fk.parent.key)
                    if fk.parent.nullable:
                        await self.session.execute(
                            update(model)
                            .where(column == shell.id)
                            .values({fk.parent.key: None})
                            .execution_options(synchronize_session="fetch")
                        )
                        continue
                    count = select(func.count()).select_from(model).where(column == shell.id)
                    if (await self.session.execute(count)).scalar_one():
                        blocking = True
            if not blocking:
                await self.session.delete(shell)
                removed += 1
        await self.session.flush()
        return removed


def _unique_column_sets(table: Any, key: str) -> list[set[str]]:
    """Every set of columns that is unique in ``table`` and includes the column ``key``."""
    from sqlalchemy import Index, PrimaryKeyConstraint, UniqueConstraint

    sets: list[set[str]] = []
    for candidate in [*table.constraints, *table.indexes]:
        unique = isinstance(candidate, PrimaryKeyConstraint | UniqueConstraint) or (
            isinstance(candidate, Index) and bool(candidate.unique)
        )
        if not unique:
            continue
        columns = {c.key for c in candidate.columns}
        if key in columns and columns not in sets:
            sets.append(columns)
    return sets
