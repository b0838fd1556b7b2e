"""Group chats bound to support teams or initiative councils."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import bindparam, select

from storage.models import TeamChat
from storage.outreach_models import TeamEvent
from storage.repositories.base import Repository, fixed_select

_GROUP_OF: Final = fixed_select(
    lambda *what: (
        select(*what)
        .where(TeamChat.unit_id == bindparam("unit_id"), TeamChat.body == bindparam("body"))
        .order_by(TeamChat.id.desc())
        .limit(1)
    ),
    (TeamChat,),
)


class TeamChatRepository(Repository):
    """Group chats bound to support teams or initiative councils."""

    async def group_of(self, unit_id: int, body: str = "team") -> TeamChat | None:
        """The unit's group for ``body``: its support team's ("team") or its council's."""
        found = await self._load(_GROUP_OF, {"unit_id": unit_id, "body": body})
        return found[0][0] if found else None

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
        body: str = "team",
    ) -> TeamChat:
        """Make the group the chat of the unit's team, or of its council (``body``): a
        group serves one body of one unit at a time."""
        existing = await self.by_chat(channel, chat_id)
        if existing is not None:
            existing.unit_id = unit_id
            existing.body = body
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
            body=body,
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

    async def add_event(
        self,
        *,
        unit_id: int,
        kind: str,
        actor_id: int,
        at: datetime,
        subject_id: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Record a change of the unit's support team (``team_events``: who, whom, when)."""
        self.session.add(
            TeamEvent(
                unit_id=unit_id,
                kind=kind,
                actor_id=actor_id,
                subject_id=subject_id,
                at=at,
                data=data,
            )
        )

    async def events(self, unit_id: int) -> list[TeamEvent]:
        query = select(TeamEvent).where(TeamEvent.unit_id == unit_id).order_by(TeamEvent.id)
        return list((await self.session.execute(query)).scalars())
