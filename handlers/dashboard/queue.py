"""The ideas waiting for the person's team(s), oldest first: the chat's /queue."""

from __future__ import annotations

from handlers import visibility
from handlers.cards import since_text
from handlers.dashboard.base import JSON, Denied, Deps
from handlers.dashboard.reading import idea_row, reading, utc
from handlers.flows.triage import waiting_for
from handlers.reports.view import plain
from handlers.visibility import Action, Sight


async def queue(deps: Deps, person_id: int) -> JSON:
    """What /queue lists for the person (their teams' ideas and those of the units
    below that their teams serve), each as the person may see it; no support role:
    Denied."""
    async with reading(deps, person_id) as r:
        if not visibility.may_see_unit(r.viewer, Action.QUEUE, None):
            raise Denied
        shown = []
        for idea in await waiting_for(r.uow, r.viewer):
            unit = await r.uow.units.get(idea.unit_id)
            place = await visibility.place_of(r.uow, idea)
            seen = visibility.sight(r.viewer, place)
            if unit is None or seen is Sight.NONE:
                continue
            since = idea.waiting_since or idea.created_at
            row = idea_row(r, idea, unit, place, seen)
            row["waiting_since"] = utc(since)
            row["waiting_text"] = plain(since_text(r.t, since, r.now))
            shown.append(row)
    return {"ideas": shown}
