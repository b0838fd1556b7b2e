"""Who is signed in: name, language, roles, views, the page's texts. (being written: issue #20)"""

from __future__ import annotations

from handlers.dashboard.base import JSON, Deps


async def me(deps: Deps, person_id: int) -> JSON:
    raise NotImplementedError
