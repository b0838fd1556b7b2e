"""Units: the organisation's tree, found by code, name or path."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, func, select

from storage.models import Unit, UnitKind
from storage.repositories.base import Repository


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def unit_ids_on_path(path: str) -> list[int]:
    """The ids of a unit and its ancestors, root first, from its materialised path."""
    return [int(part) for part in path.strip("/").split("/") if part]


class UnitRepository(Repository):
    async def get(self, unit_id: int) -> Unit | None:
        return await self._get(Unit, unit_id)

    async def count(self) -> int:
        return int((await self.session.execute(select(func.count(Unit.id)))).scalar_one())

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
