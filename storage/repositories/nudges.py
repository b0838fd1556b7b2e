"""The weekly nudges: the units with a team of their own, what waits in their queues, and
the nudges already sent (storage.outreach_models.NudgeSent)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, or_, select

from storage.models import Idea, IdeaStatus, Role, RoleKind, TeamChat, Unit
from storage.outreach_models import NudgeSent
from storage.repositories.base import Repository

# Ideas waiting for the team itself (not for the worker's answer): what /queue clears.
WAITING_FOR_TEAM = (IdeaStatus.SUBMITTED.value, IdeaStatus.FORWARDED.value)


class NudgeRepository(Repository):
    """At most one nudge a week per unit and kind."""

    async def sent(self, unit_id: int, week: date, kind: str) -> bool:
        return await self.session.get(NudgeSent, (unit_id, week, kind)) is not None

    async def already_sent(self, unit_ids: Sequence[int], week: date, kind: str) -> set[int]:
        """Which of these units had this week's nudge of ``kind``: one query for a page."""
        if not unit_ids:
            return set()
        query = select(NudgeSent.unit_id).where(
            NudgeSent.unit_id.in_(unit_ids), NudgeSent.week == week, NudgeSent.kind == kind
        )
        return set((await self.session.execute(query)).scalars())

    async def claim(self, unit_id: int, week: date, kind: str, *, now: datetime) -> bool:
        """Record this week's nudge of ``kind`` for the unit; False if it was sent already.

        ``INSERT … ON CONFLICT DO NOTHING``: of two passes (or two bot instances) at
        once, one gets the row and the other False, in the caller's transaction.
        """
        insert = self._insert()
        statement = (
            insert(NudgeSent)
            .values(unit_id=unit_id, week=week, kind=kind, sent_at=now)
            .on_conflict_do_nothing(
                index_elements=[NudgeSent.unit_id, NudgeSent.week, NudgeSent.kind]
            )
        )
        result = await self.session.execute(statement)
        return bool(getattr(result, "rowcount", 0))

    async def units_with_team(self, *, after_id: int, limit: int) -> list[Unit]:
        """Units with a support team of their own (a member holding the support role, or
        a team group bound to it), by id after ``after_id``: a page of a pass."""
        supported = select(Role.unit_id).where(
            Role.role == RoleKind.SUPPORT.value, Role.revoked_at.is_(None)
        )
        grouped = select(TeamChat.unit_id).where(TeamChat.body == "team")
        query = (
            select(Unit)
            .where(Unit.id > after_id, or_(Unit.id.in_(supported), Unit.id.in_(grouped)))
            .order_by(Unit.id)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def waiting(self, unit_ids: Sequence[int]) -> dict[int, int]:
        """How many ideas wait for each unit's team to decide (units with none left out)."""
        if not unit_ids:
            return {}
        query = (
            select(Idea.holder_unit_id, func.count(Idea.id))
            .where(Idea.holder_unit_id.in_(unit_ids), Idea.status.in_(WAITING_FOR_TEAM))
            .group_by(Idea.holder_unit_id)
        )
        return {int(unit): int(n) for unit, n in await self.session.execute(query)}
