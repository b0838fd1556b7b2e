"""What the dashboard reads (issue #20): pages of ideas, their search, the weekly trend.

Every query here only narrows: the visibility policy (handlers.visibility) decides
what of each row a viewer may see, and the view drops a row the policy would not
have let the query find.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, false, or_, select

from storage.models import Idea, ProgressDaily, Unit
from storage.repositories.base import Repository
from storage.web_models import IdeaSearch


def like_pattern(folded: str) -> str:
    """``folded`` as a LIKE pattern that finds it anywhere, its % and _ taken literally."""
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True, slots=True)
class Search:
    """A search of the folded titles and texts, narrowed to what the viewer may see:
    a confidential idea's text only where the viewer may see it in full (their own,
    or under a role inside its grassroots unit), its title also where it was typed."""

    folded: str
    person_id: int
    inner_paths: Sequence[str] = ()  # roles at or below a grassroots unit: see inside
    role_unit_ids: Sequence[int] = ()  # an idea sent straight to a role's own unit

    def where(self) -> ColumnElement[bool]:
        pattern = like_pattern(self.folded)
        full = or_(
            Idea.confidential.is_(False),
            Idea.author_id == self.person_id,
            Idea.unit_id.in_(self.role_unit_ids) if self.role_unit_ids else false(),
            *(Unit.path.startswith(p, autoescape=True) for p in self.inner_paths),
        )
        return or_(
            and_(IdeaSearch.text.like(pattern, escape="\\"), full),
            and_(
                IdeaSearch.title.like(pattern, escape="\\"),
                or_(full, Idea.title_given.is_(True)),
            ),
        )


@dataclass(frozen=True, slots=True)
class IdeaFilter:
    """The list's filters; ``scope``: the subtrees (unit paths) it is drawn from."""

    scope: Sequence[str]
    statuses: Sequence[str] = ()
    category: str | None = None
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before
    search: Search | None = None
    after: tuple[datetime, int] | None = None  # the keyset cursor: (created_at, id)


@dataclass(frozen=True, slots=True)
class IdeaRow:
    idea: Idea
    unit: Unit
    title_found: bool | None = None  # with a search: which of the two matched
    text_found: bool | None = None


class DashboardRepository(Repository):
    async def idea(self, idea_id: int) -> Idea | None:
        return await self.session.get(Idea, idea_id)

    async def ideas(self, wanted: IdeaFilter, *, limit: int) -> list[IdeaRow]:
        """A page of ideas, newest first by (created_at, id), after the cursor."""
        if not wanted.scope:
            return []
        query = (
            select(Idea, Unit)
            .join(Unit, Unit.id == Idea.unit_id)
            .where(or_(*(Unit.path.startswith(p, autoescape=True) for p in wanted.scope)))
        )
        if wanted.statuses:
            query = query.where(Idea.status.in_(wanted.statuses))
        if wanted.category is not None:
            query = query.where(Idea.category == wanted.category)
        if wanted.since is not None:
            query = query.where(Idea.created_at >= wanted.since)
        if wanted.until is not None:
            query = query.where(Idea.created_at < wanted.until)
        if wanted.after is not None:
            at, idea_id = wanted.after
            query = query.where(
                or_(Idea.created_at < at, and_(Idea.created_at == at, Idea.id < idea_id))
            )
        query = query.order_by(Idea.created_at.desc(), Idea.id.desc()).limit(limit)
        if wanted.search is None:
            return [IdeaRow(i, u) for i, u in await self.session.execute(query)]
        pattern = like_pattern(wanted.search.folded)
        searched = (
            query.join(IdeaSearch, IdeaSearch.idea_id == Idea.id)
            .where(wanted.search.where())
            .add_columns(
                IdeaSearch.title.like(pattern, escape="\\"),
                IdeaSearch.text.like(pattern, escape="\\"),
            )
        )
        return [
            IdeaRow(i, u, bool(title), bool(text))
            for i, u, title, text in await self.session.execute(searched)
        ]

    async def with_children(self, unit_ids: Sequence[int]) -> set[int]:
        """Those of these units that have a unit below them."""
        if not unit_ids:
            return set()
        query = select(Unit.parent_id).where(Unit.parent_id.in_(unit_ids)).distinct()
        return {int(u) for u in (await self.session.execute(query)).scalars() if u is not None}

    async def daily_submitted(
        self, campaign_id: int, unit_ids: Sequence[int], first_day: date
    ) -> list[tuple[int, date, int]]:
        """(unit, day, ideas submitted) from ``first_day`` on, days with any only."""
        if not unit_ids:
            return []
        query = select(ProgressDaily.unit_id, ProgressDaily.day, ProgressDaily.submitted).where(
            ProgressDaily.campaign_id == campaign_id,
            ProgressDaily.unit_id.in_(unit_ids),
            ProgressDaily.day >= first_day,
            ProgressDaily.submitted != 0,
        )
        return [(int(u), d, int(n)) for u, d, n in await self.session.execute(query)]
