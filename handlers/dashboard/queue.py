"""The ideas waiting for the person's team(s), oldest first. (being written: issue #20)"""

from __future__ import annotations

from handlers.dashboard.base import JSON, Deps


async def queue(deps: Deps, person_id: int) -> JSON:
    raise NotImplementedError
