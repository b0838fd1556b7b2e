"""A support member's decision from the page. (being written: issue #20)"""

from __future__ import annotations

from handlers.dashboard.base import JSON, ActRequest, Deps


async def act(deps: Deps, person_id: int, idea_id: int, request: ActRequest) -> JSON:
    raise NotImplementedError
