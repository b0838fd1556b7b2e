"""The inbox: updates taken from long polling, kept until they are handled.

:func:`bot.runtime.polling.poll` stores each fetched batch here in one transaction and
only then moves the getUpdates offset past it, which confirms the batch to Telegram.
Handling an update records its id in ``processed_updates`` as before; the inbox rows
of handled updates are deleted in the transaction that stores the next batch (or when
the loop stops). After a crash, :meth:`Inbox.pending` hands back what was stored but
not handled, oldest first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import UpdateBase

from storage.models import InboxUpdate, ProcessedUpdate
from storage.repositories.base import Repository
from storage.uow import UnitOfWork

#: Ids per DELETE statement (SQLite allows 32,766 parameters, older builds 999).
CHUNK = 500

# The statements of every poll, built once (Repository._write and _write_many: straight to
# sqlite3 on the bot's inline SQLite, where SQLAlchemy's execution cost several times them).
_INBOX: Table = InboxUpdate.__table__  # type: ignore[assignment]
_STORE: dict[str, UpdateBase] = {
    "postgresql": postgresql.insert(_INBOX).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(_INBOX).on_conflict_do_nothing(),
}
_FORGET = delete(_INBOX).where(
    _INBOX.c.channel == bindparam("channel"),
    _INBOX.c.update_id.in_(bindparam("ids", expanding=True)),
)


def encode(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class Inbox:
    """One channel's stored updates."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], channel: str) -> None:
        self._sessionmaker = sessionmaker
        self.channel = channel

    async def store(
        self,
        updates: Sequence[tuple[int, Any]],
        *,
        now: datetime,
        forget: Iterable[int] = (),
    ) -> None:
        """Keep ``updates`` (id, JSON) and drop the handled ids ``forget``, in one transaction.

        An update stored already is left as it is (a batch fetched again after a failed
        store, say).
        """
        done = list(forget)
        async with UnitOfWork(self._sessionmaker) as uow:
            rows = _Rows(uow.session)
            await rows.delete(self.channel, done)
            await rows.insert(
                [
                    {
                        "channel": self.channel,
                        "update_id": update_id,
                        "payload": encode(data),
                        "received_at": now,
                    }
                    for update_id, data in updates
                ]
            )
            await uow.commit()

    async def forget(self, update_ids: Iterable[int]) -> None:
        """Drop the rows of handled updates."""
        done = list(update_ids)
        if not done:
            return
        async with UnitOfWork(self._sessionmaker) as uow:
            await _Rows(uow.session).delete(self.channel, done)
            await uow.commit()

    async def pending(self) -> tuple[list[tuple[int, Any]], int | None]:
        """Stored updates not handled yet (id, JSON), oldest first, and the highest id
        stored (handled or not: polling goes on past it). Rows of handled ones go."""
        handled = exists().where(
            ProcessedUpdate.channel == InboxUpdate.channel,
            ProcessedUpdate.update_id == InboxUpdate.update_id,
        )
        mine = InboxUpdate.channel == self.channel
        async with UnitOfWork(self._sessionmaker) as uow:
            session = uow.session
            highest = await session.scalar(select(func.max(InboxUpdate.update_id)).where(mine))
            await session.execute(
                delete(InboxUpdate)
                .where(mine, handled)
                .execution_options(synchronize_session=False)
            )
            rows = (
                await session.execute(
                    select(InboxUpdate.update_id, InboxUpdate.payload)
                    .where(mine)
                    .order_by(InboxUpdate.update_id)
                )
            ).all()
            await uow.commit()
        return [(update_id, json.loads(payload)) for update_id, payload in rows], highest


class _Rows(Repository):
    """The inbox's rows in one transaction."""

    async def insert(self, rows: list[dict[str, Any]]) -> None:
        """Keep these rows; one already there (the same channel and update id) stays."""
        dialect = self.session.get_bind().dialect.name
        await self._write_many(_STORE["postgresql" if dialect == "postgresql" else "sqlite"], rows)

    async def delete(self, channel: str, update_ids: list[int]) -> None:
        """Delete the rows of these update ids, a chunk of ids per statement."""
        for start in range(0, len(update_ids), CHUNK):
            chunk = update_ids[start : start + CHUNK]
            await self._write(_FORGET, {"channel": channel, "ids": chunk})
