"""Where each chat is in a conversation: its flow, step and data."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, NamedTuple

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from storage.models import Conversation
from storage.repositories.base import Repository


class ChatState(NamedTuple):
    """A chat's saved conversation: its flow, the step, and the flow's data (the caller's
    own copy, free to change)."""

    flow: str | None
    step: str | None
    data: dict[str, Any]


# Statements run for every update, built once: values go in as parameters, so
# SQLAlchemy compiles each once and looks it up by a cache key that does not depend
# on the values (a statement with ``.values(...)`` is keyed on them every time).
_CONVERSATIONS: Final[Table] = Conversation.__table__  # type: ignore[assignment]
_GET_CONVERSATION: Final = select(
    _CONVERSATIONS.c.flow, _CONVERSATIONS.c.step, _CONVERSATIONS.c.data
).where(_CONVERSATIONS.c.chat_key == bindparam("chat_key"))
_per_dialect: dict[tuple[str, str], Any] = {}


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


class ConversationRepository(Repository):
    async def get(self, chat_key: str) -> ChatState | None:
        """The chat's saved conversation (see ``people._RESOLVE`` on why it is not locked)."""
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
        await self._write(
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
