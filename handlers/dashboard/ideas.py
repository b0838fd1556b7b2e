"""The ideas in a person's scope, and one idea's card. (being written: issue #20)"""

from __future__ import annotations

from handlers.dashboard.base import JSON, Deps, IdeaQuery


async def ideas(deps: Deps, person_id: int, query: IdeaQuery) -> JSON:
    raise NotImplementedError


async def idea(deps: Deps, person_id: int, idea_id: int) -> JSON:
    raise NotImplementedError
