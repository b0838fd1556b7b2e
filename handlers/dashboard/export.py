"""The unit's spreadsheet, for the page's download: the chat's ``/export`` file.

Authorised as ``/export`` is (an official role covering the unit; no unit: the
highest unit of the person's official roles) and written by the same code
(:func:`handlers.reports.export.write_export`) in the person's language.
"""

from __future__ import annotations

from pathlib import Path

from handlers.dashboard.base import JSON, BadRequest, Deps
from handlers.dashboard.reading import official_unit, reading
from handlers.reports.export import write_export
from handlers.reports.view import default_campaign
from handlers.visibility import Action
from storage.progress import vietnam_day


async def export(deps: Deps, person_id: int, unit_id: int | None, path: Path) -> JSON:
    async with reading(deps, person_id) as r:
        unit, _ = await official_unit(r, unit_id, Action.EXPORT)
        today = vietnam_day(r.now)
        campaign = await default_campaign(r.uow, today)
        t = r.t
    if campaign is None:  # nothing to export yet: the chat's /export says so too
        raise BadRequest("progress.no_campaign")
    made = await write_export(
        deps.reader, unit, campaign, path, t=t, today=today, max_rows=deps.export_max_rows
    )
    return {"file_name": made.file_name, "rows": made.rows, "total": made.total}
