"""The unit's spreadsheet, for the page's download. (being written: issue #20)"""

from __future__ import annotations

from pathlib import Path

from handlers.dashboard.base import JSON, Deps


async def export(deps: Deps, person_id: int, unit_id: int | None, path: Path) -> JSON:
    raise NotImplementedError
