"""What the dashboard reads (issue #20): pages of ideas, their search, the weekly trend.

Every query here only narrows: the visibility policy (handlers.visibility) decides
what of each row a viewer may see, and the view drops a row the policy would not
have let the query find.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import aliased

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


def _before(key: tuple[datetime, int]) -> ColumnElement[bool]:
    """Ideas older than ``key`` in the list's order (created_at, then id)."""
    at, idea_id = key
    # The first term alone bounds the index range (an OR of the two would not).
    return and_(Idea.created_at <= at, or_(Idea.created_at < at, Idea.id < idea_id))


def _from(key: tuple[datetime, int]) -> ColumnElement[bool]:
    """Ideas at ``key`` or newer: what :func:`_before` leaves out."""
    at, idea_id = key
    return and_(Idea.created_at >= at, or_(Idea.created_at > at, Idea.id >= idea_id))


def _subtree(path: Any, top: str) -> ColumnElement[bool]:
    """``path`` at ``top`` or below it: the indexed range form (docs/STORAGE.md)."""
    return and_(path >= top, path < top[:-1] + "0")


#: The country and a province hold many ideas: their newest are found by walking the
#: ideas newest first. A district or below holds few: found through its units.
SHALLOW_DEPTH = 1


def _shallow(scope: Sequence[str]) -> bool:
    return any(path.count("/") - 2 <= SHALLOW_DEPTH for path in scope)


def _in(scope: Sequence[str]) -> ColumnElement[bool]:
    """The ideas of units in these subtrees, in the form that suits their size."""
    if _shallow(scope):
        # Each idea's unit looked up as the walk goes: a join's filter on units would
        # make SQLite first build a Bloom filter over every unit in the subtree.
        unit = aliased(Unit)
        path = select(unit.path).where(unit.id == Idea.unit_id).scalar_subquery()
        return or_(*(_subtree(path, top) for top in scope))
    units = select(Unit.id).where(or_(*(_subtree(Unit.path, top) for top in scope)))
    return Idea.unit_id.in_(units)


#: A search first walks this many of the newest ideas (a common word fills the page).
SEARCH_WINDOWS = (2_000,)


class DashboardRepository(Repository):
    async def idea(self, idea_id: int) -> Idea | None:
        return await self.session.get(Idea, idea_id)

    async def ideas(self, wanted: IdeaFilter, *, limit: int) -> list[IdeaRow]:
        """A page of ideas, newest first by (created_at, id), after the cursor.

        A search walks the newest ideas first, in growing windows (a common word fills
        the page at once); what it has not found in them it finds from the matches
        (a rare word: one pass over ``idea_search``, then only the few matches sorted).
        """
        if not wanted.scope:
            return []
        if wanted.search is None:
            query = self._page(wanted, wanted.after).limit(limit)
            return [IdeaRow(i, u) for i, u in await self.session.execute(query)]
        found: list[IdeaRow] = []
        after = wanted.after
        if not _shallow(wanted.scope):  # a district or below: its few ideas, searched
            return await self._rows(self._searched(wanted, after).limit(limit))
        for size in SEARCH_WINDOWS:
            bound = await self._nth_newest(after, size)
            query = self._searched(wanted, after)
            if bound is not None:  # this window: the ideas from the bound on
                query = query.where(_from(bound))
            found += await self._rows(query.limit(limit - len(found)))
            if len(found) >= limit or bound is None:
                return found
            after = bound
        pattern = like_pattern(wanted.search.folded)
        matches = select(IdeaSearch.idea_id).where(
            or_(
                IdeaSearch.title.like(pattern, escape="\\"),
                IdeaSearch.text.like(pattern, escape="\\"),
            )
        )
        query = self._searched(wanted, after).where(Idea.id.in_(matches))
        return found + await self._rows(query.limit(limit - len(found)))

    def _page(self, wanted: IdeaFilter, after: tuple[datetime, int] | None) -> Any:
        query = select(Idea, Unit).join(Unit, Unit.id == Idea.unit_id).where(_in(wanted.scope))
        if wanted.statuses:
            query = query.where(Idea.status.in_(wanted.statuses))
        if wanted.category is not None:
            query = query.where(Idea.category == wanted.category)
        if wanted.since is not None:
            query = query.where(Idea.created_at >= wanted.since)
        if wanted.until is not None:
            query = query.where(Idea.created_at < wanted.until)
        if after is not None:
            query = query.where(_before(after))
        return query.order_by(Idea.created_at.desc(), Idea.id.desc())

    def _searched(self, wanted: IdeaFilter, after: tuple[datetime, int] | None) -> Any:
        assert wanted.search is not None
        pattern = like_pattern(wanted.search.folded)
        return (
            self._page(wanted, after)
            .join(IdeaSearch, IdeaSearch.idea_id == Idea.id)
            .where(wanted.search.where())
            .add_columns(
                IdeaSearch.title.like(pattern, escape="\\"),
                IdeaSearch.text.like(pattern, escape="\\"),
            )
        )

    async def _rows(self, query: Any) -> list[IdeaRow]:
        return [
            IdeaRow(i, u, bool(title), bool(text))
            for i, u, title, text in await self.session.execute(query)
        ]

    async def _nth_newest(
        self, after: tuple[datetime, int] | None, n: int
    ) -> tuple[datetime, int] | None:
        """The key of the ``n``-th newest idea after ``after`` (None: fewer than ``n``),
        read from the index on (created_at, id) alone."""
        query = select(Idea.created_at, Idea.id)
        if after is not None:
            query = query.where(_before(after))
        query = query.order_by(Idea.created_at.desc(), Idea.id.desc()).offset(n - 1).limit(1)
        row = (await self.session.execute(query)).first()
        return None if row is None else (row[0], int(row[1]))

    async def units(self, unit_ids: Sequence[int]) -> dict[int, Unit]:
        """These units by id, in one query (those that exist)."""
        if not unit_ids:
            return {}
        query = select(Unit).where(Unit.id.in_(sorted(set(unit_ids))))
        return {u.id: u for u in (await self.session.execute(query)).scalars()}

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
