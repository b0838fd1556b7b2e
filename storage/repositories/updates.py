"""Which updates were handled already, per channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import Table, func, select, union_all
from sqlalchemy.dialects import postgresql, sqlite

from storage.models import InboxUpdate, ProcessedUpdate
from storage.repositories.base import Repository

# Statements run for every update, built once: values go in as parameters, so
# SQLAlchemy compiles each once and looks it up by a cache key that does not depend
# on the values (a statement with ``.values(...)`` is keyed on them every time).
_PROCESSED: Final[Table] = ProcessedUpdate.__table__  # type: ignore[assignment]
_per_dialect: dict[tuple[str, str], Any] = {}


def _claim_update(dialect: str) -> Any:
    """INSERT a processed update id unless it is there already."""
    statement = _per_dialect.get(("claim", dialect))
    if statement is None:
        insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = _per_dialect[("claim", dialect)] = insert_(_PROCESSED).on_conflict_do_nothing()
    return statement


class UpdateLog(Repository):
    """Which updates were handled already, per channel."""

    def record(self, channel: str, update_id: int, now: datetime) -> None:
        self.session.add(ProcessedUpdate(channel=channel, update_id=update_id, processed_at=now))

    async def claim(self, channel: str, update_id: int, now: datetime) -> bool:
        """Record the update as handled in this transaction; False if it already was.

        One statement for what ``seen`` and ``record`` do in two.
        """
        dialect = self.session.get_bind().dialect.name
        written = await self._write(
            _claim_update(dialect),
            {"channel": channel, "update_id": update_id, "processed_at": now},
        )
        return bool(written.rowcount)

    async def handled(self, channel: str, update_id: int) -> bool:
        query = select(ProcessedUpdate.update_id).where(
            ProcessedUpdate.channel == channel, ProcessedUpdate.update_id == update_id
        )
        return (await self.session.scalar(query)) is not None

    async def newest(self, channel: str) -> int | None:
        """The newest update id handled, or fetched and waiting in the inbox."""
        ids = union_all(
            select(ProcessedUpdate.update_id).where(ProcessedUpdate.channel == channel),
            select(InboxUpdate.update_id).where(InboxUpdate.channel == channel),
        ).subquery()
        newest: int | None = await self.session.scalar(select(func.max(ids.c.update_id)))
        return newest
