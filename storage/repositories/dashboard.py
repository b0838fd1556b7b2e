"""What the dashboard reads (issue #20): pages of ideas, their search, the weekly trend.

Every query here only narrows: the visibility policy (handlers.visibility) decides
what of each row a viewer may see, and the view drops a row the policy would not
have let the query find.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, column, false, func, literal_column, or_, select, table
from sqlalchemy.orm import aliased

from storage.models import Idea, ProgressDaily, Unit
from storage.repositories.base import Repository
from storage.web_models import IdeaSearch

#: SQLite's full-text index over idea_search (web_models.SQLITE_SEARCH_INDEX).
_FTS = table("idea_fts", column("rowid"), column("idea_fts"))
_SIMPLE: Any = literal_column("'simple'::regconfig")  # PostgreSQL: words as they are


def _in_word(char: str) -> bool:
    """A letter or digit that every full-text index takes as part of a word: one
    already in Unicode 3.2 (SQLite's ``unicode61`` knows no letter newer than its own
    tables, and would split the word where FTS5 with detail='column' takes no phrase)."""
    if char.isascii():
        return char.isalnum()
    return char.isalnum() and unicodedata.ucd_3_2_0.category(char)[0] in "LN"


def search_words(folded: str) -> tuple[str, ...]:
    """The words of a folded search, each to match the start of a word: letters and
    digits, anything else only separating them (so neither database's full-text syntax
    is ever read from the input). A word that starts a longer one of the search is
    left out (the longer implies it)."""
    found = "".join(c if _in_word(c) else " " for c in folded).split()
    words = sorted(set(found), key=lambda w: (-len(w), w))
    kept: list[str] = []
    for word in words:
        if not any(k.startswith(word) for k in kept):
            kept.append(word)
    return tuple(sorted(kept))


def _fts_query(words: Sequence[str], *, title_only: bool) -> str:
    """An FTS5 query: every word a quoted prefix (no operator of the input survives)."""
    every = " AND ".join('"' + w.replace('"', '""') + '"*' for w in words)
    return f"{{title}} : ({every})" if title_only else every


def _ts_word(word: str) -> Any:
    """A PostgreSQL prefix tsquery of one word, the word passed as a quoted literal."""
    return func.to_tsquery(_SIMPLE, func.quote_literal(word).concat(":*"))


def _all_of(queries: Sequence[Any]) -> Any:
    """The tsqueries joined by && (every one must match)."""
    joined = queries[0]
    for query in queries[1:]:
        joined = joined.op("&&")(query)
    return joined


def _fts_ids(query: str, ids: tuple[int, int] | None) -> Any:
    """The ids of idea_search rows the FTS5 ``query`` matches (from ``ids[0]`` to
    ``ids[1]``: FTS5 reads only that part of each word's list, where looking ids up
    one by one would cost a search of the index each)."""
    matches = select(_FTS.c.rowid).where(_FTS.c.idea_fts.op("MATCH")(query))
    if ids is not None:
        matches = matches.where(_FTS.c.rowid.between(*ids))
    return matches


def _pg_every(search: Any, words: Sequence[str]) -> ColumnElement[bool]:
    """PostgreSQL: every word starts a word of the title or of the text (the two GIN
    indexes: a BitmapOr per word, a BitmapAnd of the words)."""
    return and_(
        *(
            or_(_tsv(search.title).op("@@")(_ts_word(w)), _tsv(search.text).op("@@")(_ts_word(w)))
            for w in words
        )
    )


def _tsv(column_: Any) -> Any:
    """The expression of the GIN index on ``column_`` (web_models.IdeaSearch)."""
    return func.to_tsvector(_SIMPLE, column_)


@dataclass(frozen=True, slots=True)
class Search:
    """A search of the folded titles and texts, narrowed to what the viewer may see:
    a confidential idea's text only where the viewer may see it in full (their own,
    or under a role inside its grassroots unit), its title also where it was typed.

    Every word must start a word of the idea ("cai tie" finds "cải tiến"), in the
    title or the text where the text may be searched, in the title otherwise."""

    folded: str
    person_id: int
    inner_paths: Sequence[str] = ()  # roles at or below a grassroots unit: see inside
    role_unit_ids: Sequence[int] = ()  # an idea sent straight to a role's own unit

    @property
    def words(self) -> tuple[str, ...]:
        return search_words(self.folded)

    def full(self) -> ColumnElement[bool]:
        """The idea's text may be searched: the viewer sees it in full."""
        return or_(
            Idea.confidential.is_(False),
            Idea.author_id == self.person_id,
            Idea.unit_id.in_(self.role_unit_ids) if self.role_unit_ids else false(),
            *(Unit.path.startswith(p, autoescape=True) for p in self.inner_paths),
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
    # With a search: every word in the title (else in the title and text together).
    title_found: bool | None = None


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
SEARCH_WINDOWS = (2_000, 20_000)
#: A district's search (or a smaller scope's) first walks this many of its newest ideas.
FEW_WINDOWS = (500, 5_000)
# PostgreSQL: a search with at most this many matches in all goes straight to them (a
# window checks each of its ideas' texts; the GIN index answers a rare word at once).
PG_FEW_MATCHES = 2_000


class DashboardRepository(Repository):
    async def idea(self, idea_id: int) -> Idea | None:
        return await self.session.get(Idea, idea_id)

    async def ideas(self, wanted: IdeaFilter, *, limit: int) -> list[IdeaRow]:
        """A page of ideas, newest first by (created_at, id), after the cursor.

        A search walks the newest ideas first, in growing windows (a common word fills
        the page at once); what it has not found in them it finds from the matches
        (a rare word: a few entries of the full-text index, then only those sorted).
        A country's or a province's windows are the newest ideas of all, a district's
        (or a smaller scope's) its own. On SQLite a window asks the index for the
        matches among its ids only (from the window's lowest to its highest: ideas are
        numbered as they come, so that is about the window).
        """
        if not wanted.scope:
            return []
        if wanted.search is None:
            query = self._page(wanted, wanted.after).limit(limit)
            return [IdeaRow(i, u) for i, u in await self.session.execute(query)]
        if not wanted.search.words:  # nothing but signs: no idea has them as a word
            return []
        shallow = _shallow(wanted.scope)
        found: list[IdeaRow] = []
        after = wanted.after
        windows: tuple[int, ...] = SEARCH_WINDOWS if shallow else FEW_WINDOWS
        if await self._pg_few_matches(wanted.search.words):
            windows = ()
        for size in windows:
            if shallow:  # the newest ideas of all: most are in the scope
                bound = await self._nth_newest(after, size)
                ids = await self._id_range(after, bound)
            else:  # the scope's own newest ideas
                bound, ids = await self._scope_window(wanted, after, size)
            query = self._searched(wanted, after, ids)
            if bound is not None:  # this window: the ideas from the bound on
                query = query.where(_from(bound))
            found += await self._rows(query.limit(limit - len(found)))
            if len(found) >= limit or bound is None:
                return found
            after = bound
        query = self._searched(wanted, after, None)
        return found + await self._rows(query.limit(limit - len(found)))

    async def _pg_few_matches(self, words: Sequence[str]) -> bool:
        """PostgreSQL: whether the words match at most PG_FEW_MATCHES ideas in all (the
        GIN indexes count them, stopping past the limit). Always False on SQLite, whose
        windows ask the full-text index for their own ids' range."""
        if self.session.get_bind().dialect.name != "postgresql":
            return False
        matches = (
            select(IdeaSearch.idea_id).where(_pg_every(IdeaSearch, words)).limit(PG_FEW_MATCHES + 1)
        )
        count = select(func.count()).select_from(matches.subquery())
        return int((await self.session.execute(count)).scalar_one()) <= PG_FEW_MATCHES

    async def _scope_window(
        self, wanted: IdeaFilter, after: tuple[datetime, int] | None, size: int
    ) -> tuple[tuple[datetime, int] | None, tuple[int, int] | None]:
        """The key of the scope's ``size``-th newest idea after ``after`` (None: fewer)
        and the range of the ids of those ideas (None: no idea)."""
        keys = self._filtered(
            select(Idea.created_at, Idea.id).where(_in(wanted.scope)), wanted, after
        )
        window = [(at, int(i)) for at, i in await self.session.execute(keys.limit(size))]
        if not window:
            return None, None
        ids = [i for _, i in window]
        return (window[-1] if len(window) == size else None), (min(ids), max(ids))

    def _page(self, wanted: IdeaFilter, after: tuple[datetime, int] | None) -> Any:
        query = select(Idea, Unit).join(Unit, Unit.id == Idea.unit_id).where(_in(wanted.scope))
        return self._filtered(query, wanted, after)

    @staticmethod
    def _filtered(query: Any, wanted: IdeaFilter, after: tuple[datetime, int] | None) -> Any:
        """``query`` narrowed by the filters, after the cursor, newest first."""
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

    def _searched(
        self, wanted: IdeaFilter, after: tuple[datetime, int] | None, ids: tuple[int, int] | None
    ) -> Any:
        """The page's query narrowed to the search's matches (on SQLite the index is
        asked only for ids from ``ids[0]`` to ``ids[1]``, when given), with whether
        every word was in the title."""
        search = wanted.search
        assert search is not None
        query = self._page(wanted, after)
        words = search.words
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.join(IdeaSearch, IdeaSearch.idea_id == Idea.id)
            title_words = _tsv(IdeaSearch.title).op("@@")(_all_of([_ts_word(w) for w in words]))
            every = _pg_every(IdeaSearch, words)
            if ids is not None:
                # A window: its few thousand rows by the primary key, each checked.
                every = and_(Idea.id.between(*ids), every)
            else:
                # The matches first, through the GIN indexes (materialised: the planner
                # would otherwise walk every idea newest first, checking each one's
                # text, because it guesses that any prefix matches thousands).
                matches = select(IdeaSearch.idea_id).where(_pg_every(IdeaSearch, words))
                found = matches.cte("matches").prefix_with("MATERIALIZED")
                every = Idea.id.in_(select(found.c.idea_id))
        else:
            title_words = Idea.id.in_(_fts_ids(_fts_query(words, title_only=True), ids))
            every = Idea.id.in_(_fts_ids(_fts_query(words, title_only=False), ids))
        return query.where(
            every, or_(search.full(), and_(Idea.title_given.is_(True), title_words))
        ).add_columns(title_words)

    async def _rows(self, query: Any) -> list[IdeaRow]:
        return [IdeaRow(i, u, bool(title)) for i, u, title in await self.session.execute(query)]

    async def _id_range(
        self, after: tuple[datetime, int] | None, bound: tuple[datetime, int] | None
    ) -> tuple[int, int] | None:
        """The lowest and highest id of the ideas after ``after`` from ``bound`` on."""
        query = select(func.min(Idea.id), func.max(Idea.id))
        if after is not None:
            query = query.where(_before(after))
        if bound is not None:
            query = query.where(_from(bound))
        low, high = (await self.session.execute(query)).one()
        return None if low is None else (int(low), int(high))

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
