"""A unit's figures and its sub-units', laggards first: /progress on the page.

The numbers, the campaign and the ranking are /progress's own
(handlers.reports.view.load_view); the trend adds the ideas submitted per ISO week
over the last weeks, read from the daily counters in one query.
"""

from __future__ import annotations

from datetime import date, timedelta

from handlers import visibility
from handlers.dashboard.base import JSON, Deps
from handlers.dashboard.reading import official_unit, reading
from handlers.reports.view import Figures, default_campaign, load_view, rank_key
from handlers.visibility import Action
from storage.models import Campaign, Unit
from storage.progress import vietnam_day
from storage.uow import UnitOfWork

TREND_WEEKS = 8


def mondays(today: date, weeks: int = TREND_WEEKS) -> list[date]:
    """The Mondays of the last ``weeks`` ISO weeks, this one last."""
    this = today - timedelta(days=today.weekday())
    return [this - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


async def tree(deps: Deps, person_id: int, unit_id: int | None) -> JSON:
    async with reading(deps, person_id) as r:
        uow = r.uow
        unit, tops = await official_unit(r, unit_id, Action.PROGRESS)
        today = vietnam_day(r.now)
        campaign = await default_campaign(uow, today)
        if campaign is not None:
            view = await load_view(uow, unit, campaign, today)
            own, children = view.own, view.children
        else:  # no campaign yet: the tree with nothing counted
            own = Figures(unit)
            children = sorted(
                (Figures(c) for c in await uow.progress.children(unit.id)), key=rank_key
            )
        figures = [own, *children]
        ids = [f.unit.id for f in figures]
        weeks = mondays(today)
        trend = await _trend(uow, campaign, ids, weeks)
        parents = await uow.dashboard.with_children(ids)
        crumbs = await _crumbs(uow, unit, tops)

    def as_json(f: Figures) -> JSON:
        return _figures(f, f.unit.id in parents, trend.get(f.unit.id, [0] * len(weeks)))

    return {
        "unit": {"id": unit.id, "name": unit.name, "kind": unit.kind},
        "crumbs": [{"id": u.id, "name": u.name} for u in crumbs],
        "campaign": None
        if campaign is None
        else {
            "id": campaign.id,
            "name": campaign.name,
            "starts_on": campaign.starts_on.isoformat(),
            "ends_on": campaign.ends_on.isoformat(),
        },
        "own": as_json(own),
        "children": [as_json(f) for f in children],
        "weeks": [w.isoformat() for w in weeks],
    }


async def _crumbs(uow: UnitOfWork, unit: Unit, tops: list[Unit]) -> list[Unit]:
    """From the highest of the person's official units covering ``unit`` down to it."""
    top = next(t for t in tops if visibility.covers(t.path, unit.path))
    above = [a for a in await uow.units.ancestors(unit) if a.depth >= top.depth]
    return [*reversed(above), unit]


async def _trend(
    uow: UnitOfWork, campaign: Campaign | None, unit_ids: list[int], weeks: list[date]
) -> dict[int, list[int]]:
    """Ideas submitted per week (the campaign's, as the figures) for each unit."""
    if campaign is None:
        return {}
    index = {monday: i for i, monday in enumerate(weeks)}
    trend: dict[int, list[int]] = {}
    for unit_id, day, submitted in await uow.dashboard.daily_submitted(
        campaign.id, unit_ids, weeks[0]
    ):
        week = index.get(day - timedelta(days=day.weekday()))
        if week is not None:
            trend.setdefault(unit_id, [0] * len(weeks))[week] += submitted
    return trend


def _figures(f: Figures, has_children: bool, trend: list[int]) -> JSON:
    return {
        "unit_id": f.unit.id,
        "name": f.unit.name,
        "kind": f.unit.kind,
        "has_children": has_children,
        "submitted": f.submitted,
        "approved": f.approved,
        "recognised": f.recognised,
        "applied": f.applied,
        "benefit": f.benefit,
        "week_submitted": f.week_submitted,
        "quotas": [
            {
                "measure": q.measure.value,
                "target": q.target,
                "reached": q.reached,
                "attainment": q.attainment,
            }
            for q in f.quotas
        ],
        "attainment": f.attainment,
        "trend": trend,
    }
