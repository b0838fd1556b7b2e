"""Which updates were handled already, per channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

from storage.models import ProcessedUpdate
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
        result = await self.session.execute(
            _claim_update(dialect),
            {"channel": channel, "update_id": update_id, "processed_at": now},
        )
        return bool(getattr(result, "rowcount", 0))
