"""The dashboard's one entry: who is asking, and what they may see or do.

Every method takes the person already authenticated by ``bot/web/auth.py`` (by a
Telegram Mini App's signed initData, or a session from a one-time sign-in link),
opens its own unit of work, asks the visibility policy, and returns plain data
(JSON-ready dicts and lists). :class:`Denied` is the one refusal (HTTP 403): the same
whether the thing asked for does not exist or may not be seen, so a refusal never
tells an outsider what exists. :class:`BadRequest` (HTTP 400) is a malformed request.
The HTTP side is docs/DASHBOARD.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from handlers.dashboard import act, export, ideas, me, queue, tree
from handlers.dashboard.base import JSON, ActRequest, BadRequest, Decided, Denied, Deps, IdeaQuery

__all__ = ["JSON", "ActRequest", "BadRequest", "Dashboard", "Decided", "Denied", "IdeaQuery"]


@dataclass(kw_only=True)
class Dashboard(Deps):
    """What the page may show and do."""

    async def me(self, person_id: int) -> JSON:
        """Who is signed in and which views they have (GET /api/me)."""
        return await me.me(self, person_id)

    async def tree(self, person_id: int, unit_id: int | None) -> JSON:
        """A unit's figures and its sub-units', laggards first (GET /api/tree)."""
        return await tree.tree(self, person_id, unit_id)

    async def ideas(self, person_id: int, query: IdeaQuery) -> JSON:
        """A page of the ideas in the person's scope, newest first (GET /api/ideas)."""
        return await ideas.ideas(self, person_id, query)

    async def idea(self, person_id: int, idea_id: int) -> JSON:
        """One idea's card as the person may see it, with their actions (GET /api/ideas/N)."""
        return await ideas.idea(self, person_id, idea_id)

    async def queue(self, person_id: int) -> JSON:
        """The ideas waiting for the person's team(s), oldest first (GET /api/queue)."""
        return await queue.queue(self, person_id)

    async def act(self, person_id: int, idea_id: int, request: ActRequest) -> JSON:
        """A decision, through the chat's own triage code (POST /api/ideas/N/action)."""
        return await act.act(self, person_id, idea_id, request)

    async def export(self, person_id: int, unit_id: int | None, path: Path) -> JSON:
        """Write the unit's spreadsheet to ``path`` (GET /api/export); its file name."""
        return await export.export(self, person_id, unit_id, path)
