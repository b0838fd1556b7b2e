"""The weekly nudges already sent (storage.outreach_models.NudgeSent)."""

from __future__ import annotations

from datetime import date

from storage.outreach_models import NudgeSent
from storage.repositories.base import Repository


class NudgeRepository(Repository):
    """At most one nudge a week per unit and kind."""

    async def sent(self, unit_id: int, week: date, kind: str) -> bool:
        return await self.session.get(NudgeSent, (unit_id, week, kind)) is not None
