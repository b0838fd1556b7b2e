"""Keeping the progress counters exact: called in the transaction of every change.

A submission counts toward the campaign running on its (Vietnam) day, in the
idea's own unit and every unit above it; an approval counts on the day it is
decided, toward the idea's campaign. Undoing an approval takes it away again.

Recognition and application count toward the campaign running on the day of
that step (a quota on recognised initiatives counts them when recognised,
whenever submitted); the measured benefit counts where its application did, and a
revised figure adds only the difference.
The rows are ``progress_totals`` and ``progress_daily`` (docs/PROGRESS.md).
"""

from __future__ import annotations

from datetime import date, datetime

from handlers.context import Scope
from storage.lifecycle_models import IdeaResult
from storage.models import Idea, IdeaStatus
from storage.progress import vietnam_day
from storage.repositories.units import unit_ids_on_path

APPROVED = IdeaStatus.APPROVED.value


async def campaign_of(scope: Scope, at: datetime) -> int | None:
    """The campaign a new idea made at ``at`` belongs to: the one running on its day.

    Given to the idea when it is made, so that its row is written once (idea_form
    ``_submit``), then counted by :func:`record_submitted`."""
    campaign = await scope.uow.progress.campaign_on(vietnam_day(at))
    return campaign.id if campaign is not None else None


async def record_submitted(scope: Scope, idea: Idea) -> None:
    """Count a new idea in its campaign (:func:`campaign_of`, set when it was made)."""
    if idea.campaign_id is None:
        return
    unit = await scope.uow.units.get(idea.unit_id)
    ids = unit_ids_on_path(unit.path) if unit is not None else [idea.unit_id]
    await scope.uow.progress.bump(ids, idea.campaign_id, vietnam_day(idea.created_at), submitted=1)


async def record_status_change(scope: Scope, idea: Idea, old: str, new: str) -> None:
    """Count an approval given or taken back (triage ``_decide``); other changes count nothing."""
    if (old == APPROVED) == (new == APPROVED) or idea.campaign_id is None:
        return
    unit = await scope.uow.units.get(idea.unit_id)
    ids = unit_ids_on_path(unit.path) if unit is not None else [idea.unit_id]
    delta = 1 if new == APPROVED else -1
    await scope.uow.progress.bump(ids, idea.campaign_id, vietnam_day(scope.now), approved=delta)


async def _subtree_ids(scope: Scope, idea: Idea) -> list[int]:
    unit = await scope.uow.units.get(idea.unit_id)
    return unit_ids_on_path(unit.path) if unit is not None else [idea.unit_id]


async def record_recognised(scope: Scope, idea: Idea, result: IdeaResult) -> None:
    """Count a recognition in the campaign running today; remember which (the chair's step)."""
    day = vietnam_day(scope.now)
    campaign = await scope.uow.progress.campaign_on(day)
    result.recognised_campaign_id = campaign.id if campaign is not None else None
    if campaign is not None:
        await scope.uow.progress.bump(
            await _subtree_ids(scope, idea), campaign.id, day, recognised=1
        )


async def record_applied(scope: Scope, idea: Idea, result: IdeaResult, on: date) -> None:
    """Count an application (and its benefit, if measured) in the campaign of the day it
    started; remember which, so a revised benefit counts there too."""
    campaign = await scope.uow.progress.campaign_on(on)
    result.applied_campaign_id = campaign.id if campaign is not None else None
    if campaign is not None:
        await scope.uow.progress.bump(
            await _subtree_ids(scope, idea),
            campaign.id,
            on,
            applied=1,
            benefit=result.benefit_vnd or 0,
        )


async def record_benefit_change(scope: Scope, idea: Idea, result: IdeaResult, old: int) -> None:
    """A revised benefit (``result.benefit_vnd`` already set): count the difference today,
    in the campaign its application counted in."""
    delta = (result.benefit_vnd or 0) - old
    if delta == 0 or result.applied_campaign_id is None:
        return
    await scope.uow.progress.bump(
        await _subtree_ids(scope, idea),
        result.applied_campaign_id,
        vietnam_day(scope.now),
        benefit=delta,
    )
