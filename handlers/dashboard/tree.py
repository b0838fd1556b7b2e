"""A unit's figures and its sub-units', laggards first. (being written: issue #20)"""

from __future__ import annotations

from handlers.dashboard.base import JSON, Deps


async def tree(deps: Deps, person_id: int, unit_id: int | None) -> JSON:
    raise NotImplementedError
