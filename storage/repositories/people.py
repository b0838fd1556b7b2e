"""People, and the messenger accounts (identities) behind them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, NamedTuple, cast

from sqlalchemy import Select, Table, bindparam, select

from storage.models import Conversation, Identity, Person
from storage.repositories.base import Repository, fixed_select
from storage.repositories.conversations import ChatState, ConversationRepository


class Resolved(NamedTuple):
    person: Person
    conversation: ChatState | None


_CONVERSATIONS: Final[Table] = Conversation.__table__  # type: ignore[assignment]
# The person behind an account and the chat's conversation, in one round trip. The
# conversation's row is not locked: only the dispatcher writes it, holding the chat
# (SQLite's single writer; PostgreSQL's advisory lock on the chat, storage.uow).
_RESOLVE: Final = fixed_select(
    lambda *what: (
        select(*what)
        .join(Identity, Identity.person_id == Person.id)
        .outerjoin(_CONVERSATIONS, _CONVERSATIONS.c.chat_key == bindparam("chat_key"))
        .where(
            Identity.channel == bindparam("channel"),
            Identity.external_id == bindparam("external_id"),
        )
    ),
    (Person, Identity),
    _CONVERSATIONS.c.chat_key,
    _CONVERSATIONS.c.flow,
    _CONVERSATIONS.c.step,
    _CONVERSATIONS.c.data,
)


# The person, their account, and the chat's conversation (key, flow, step, data).
_ResolveRow = tuple[Person, Identity, str | None, str | None, str | None, Any]


def _reachable(*what: Any) -> Select[*tuple[Any, ...]]:
    """The reachable private chats of the people ``ids``, each person's in order."""
    return (
        select(*what)
        .select_from(Identity)
        .join(Person, Person.id == Identity.person_id)
        .where(Identity.person_id.in_(bindparam("ids", expanding=True)))
        .where(Identity.private_chat_id.is_not(None))
        .where(Person.unreachable.is_(False))
        .order_by(Identity.person_id, Identity.id)
    )


_CHATS: Final = (Identity.channel, Identity.private_chat_id, Identity.bots)
_PRIVATE_CHATS: Final = _reachable(Identity.person_id, *_CHATS)
_PRIVATE_CHATS_OF: Final = fixed_select(_reachable, (Person,), *_CHATS)


BOTS_CHARS: Final = 200  # identities.bots' width


def used_last(bots: str | None, route: str, channel: str) -> str | None:
    """An account's ``bots`` after a message through ``route``: the routes it has used,
    that one first; None while it has only ever used its channel's own route."""
    routes = bots.split() if bots else [channel]
    if routes[0] == route:
        return bots
    routes = [route, *(r for r in routes if r != route)]
    while len(" ".join(routes)) > BOTS_CHARS:  # the oldest go first
        routes.pop()
    return None if routes == [channel] else " ".join(routes)


def route_of(channel: str, bots: str | None) -> str:
    """The bot to reach an account through: the one it used last, else its channel's."""
    return bots.split(" ", 1)[0] if bots else channel


class PersonRepository(Repository):
    async def get(self, person_id: int) -> Person | None:
        return await self._get(Person, person_id)

    async def by_private_chat(self, channel: str, chat_id: str) -> Person | None:
        """Who talks in this private chat, if the bot knows them."""
        query = (
            select(Person)
            .join(Identity, Identity.person_id == Person.id)
            .where(Identity.channel == channel, Identity.private_chat_id == chat_id)
            .limit(1)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def resolve(
        self,
        *,
        channel: str,
        external_id: str,
        route: str | None = None,
        display_name: str,
        platform_language: str | None,
        private_chat_id: str | None,
        now: datetime,
        conversation_key: str,
    ) -> Resolved:
        """The person behind a messenger account (created on first contact), and the
        conversation saved under ``conversation_key``, read together."""
        params = {"channel": channel, "external_id": external_id, "chat_key": conversation_key}
        row = await self._resolve_row(params)
        if row is not None:
            person, identity, saved, flow, step, data = row
            if display_name and person.display_name != display_name:
                person.display_name = display_name
            if platform_language and person.platform_language != platform_language:
                person.platform_language = platform_language
            if private_chat_id and identity.private_chat_id != private_chat_id:
                identity.private_chat_id = private_chat_id
            if route is not None:
                bots = used_last(identity.bots, route, channel)
                if bots != identity.bots:
                    identity.bots = bots
                if person.unreachable:  # writing to the bot privately: reachable again
                    person.unreachable = False
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
                bots=route if route is not None and route != channel else None,
            )
        )
        conversations = ConversationRepository(self.session)
        return Resolved(person, await conversations.get(conversation_key))

    async def _resolve_row(
        self, params: dict[str, str]
    ) -> tuple[Person, Identity, str | None, str | None, str | None, Any] | None:
        rows = await self._load(_RESOLVE, params)
        return (
            cast(tuple[Person, Identity, str | None, str | None, str | None, Any], rows[0])
            if rows
            else None
        )

    async def forget_route(self, channel: str, chat_id: str, route: str) -> str | None:
        """The account behind ``chat_id`` on ``channel`` can no longer be reached through
        ``route`` (it blocked that bot): drop it from the account's bots; the route to
        use instead, or None when no other bot reaches it."""
        query = select(Identity).where(
            Identity.channel == channel, Identity.private_chat_id == chat_id
        )
        identity = (await self.session.execute(query.limit(1))).scalar_one_or_none()
        if identity is None or not identity.bots:
            return None
        left = [r for r in identity.bots.split() if r != route]
        if not left or left == identity.bots.split():
            return None
        identity.bots = None if left == [channel] else " ".join(left)
        return left[0]

    async def private_chats(self, person_ids: Sequence[int]) -> list[tuple[int, str, str]]:
        """(person id, route, chat id) for every reachable private chat of these people.

        The route is the bot of the channel the person wrote through last (a bot may write
        only to people who started it), else the channel's own."""
        if not person_ids:
            return []
        rows = await self._load(_PRIVATE_CHATS, {"ids": list(dict.fromkeys(person_ids))})
        return [(pid, route_of(ch, bots), str(chat)) for pid, ch, chat, bots in rows]

    async def private_chats_of(self, person_ids: Sequence[int]) -> list[tuple[Person, str, str]]:
        """:meth:`private_chats` with each chat's person instead of their id, read in the
        same statement (a team's cards, reminders: no read of each member after it)."""
        if not person_ids:
            return []
        rows = await self._load(_PRIVATE_CHATS_OF, {"ids": list(dict.fromkeys(person_ids))})
        return [(person, route_of(ch, bots), str(chat)) for person, ch, chat, bots in rows]
