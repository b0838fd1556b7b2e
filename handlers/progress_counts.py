"""Keeping the progress counters exact: called in the transaction of every change.

A submission counts toward the campaign running on its (Vietnam) day, in the
idea's own unit and every unit above it; an approval counts on the day it is
decided, toward the idea's campaign. Undoing an approval takes it away again.
The rows are ``progress_totals`` and ``progress_daily`` (docs/PROGRESS.md).
"""

from __future__ import annotations

from handlers.context import Scope
from storage.models import Idea, IdeaStatus
from storage.progress import vietnam_day
from storage.repositories.units import unit_ids_on_path

APPROVED = IdeaStatus.APPROVED.value


async def record_submitted(scope: Scope, idea: Idea) -> None:
    """Place a new idea in the campaign of its day and count it (idea_form ``_submit``)."""
    day = vietnam_day(idea.created_at)
    campaign = await scope.uow.progress.campaign_on(day)
    idea.campaign_id = campaign.id if campaign is not None else None
    if campaign is None:
        return
    unit = await scope.uow.units.get(idea.unit_id)
    ids = unit_ids_on_path(unit.path) if unit is not None else [idea.unit_id]
    await scope.uow.progress.bump(ids, campaign.id, day, submitted=1)


async def record_status_change(scope: Scope, idea: Idea, old: str, new: str) -> None:
    """Count an approval given or taken back (triage ``_decide``); other changes count nothing."""
    if (old == APPROVED) == (new == APPROVED) or idea.campaign_id is None:
        return
    unit = await scope.uow.units.get(idea.unit_id)
    ids = unit_ids_on_path(unit.path) if unit is not None else [idea.unit_id]
    delta = 1 if new == APPROVED else -1
    await scope.uow.progress.bump(ids, idea.campaign_id, vietnam_day(scope.now), approved=delta)
