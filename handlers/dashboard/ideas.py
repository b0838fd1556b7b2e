"""The ideas in a person's official scope, page by page, and one idea's card.

The query only narrows (scope, filters, search over what the viewer may see); every
row is then shown as the visibility policy says (``visibility.sight``), and a row
the search found only in what the viewer may not see is dropped.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Final

from handlers import visibility
from handlers.cards import OPEN, benefit_text, history_lines
from handlers.dashboard.base import JSON, BadRequest, Denied, Deps, IdeaQuery
from handlers.dashboard.reading import OFFICIAL, Reading, idea_row, reading, utc
from handlers.flows.triage import DECLINE_REASONS, FORWARD_LEVELS
from handlers.reports.view import plain
from handlers.visibility import Action, Place, Sight
from storage.folding import fold_name
from storage.models import Category, Idea, IdeaStatus, Unit, UnitKind
from storage.progress import day_start
from storage.repositories.dashboard import IdeaFilter, IdeaRow, Search
from storage.repositories.units import unit_ids_on_path
from storage.uow import UnitOfWork

PAGE: Final = 50
SEARCH_CHARS: Final = 100
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_CURSOR = re.compile(r"(\d{1,18})\.(\d{1,12})")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
STATUSES: Final = frozenset(IdeaStatus)
CATEGORIES: Final = frozenset(Category)
DECISIONS: Final = (Action.APPROVE, Action.ASK, Action.FORWARD, Action.DECLINE)


# ---------------------------------------------------------------- the request


def _statuses(value: str | None) -> list[str]:
    """One status or several, comma-separated; each known, none twice."""
    if value is None or value == "":
        return []
    wanted = value.split(",")
    if len(wanted) > len(STATUSES) or len(set(wanted)) != len(wanted):
        raise BadRequest("dashboard_views.bad_status")
    if any(s not in STATUSES for s in wanted):
        raise BadRequest("dashboard_views.bad_status")
    return wanted


def _day(value: str | None) -> date | None:
    if value is None or value == "":
        return None
    try:
        if not _DAY.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest("dashboard_views.bad_date") from None


def cursor_of(idea: Idea) -> str:
    """The keyset cursor after ``idea``: its creation (µs since 1970) and its id."""
    return f"{(idea.created_at - _EPOCH) // _MICROSECOND}.{idea.id}"


def _cursor(value: str | None) -> tuple[datetime, int] | None:
    if value is None or value == "":
        return None
    found = _CURSOR.fullmatch(value)
    if found is None:
        raise BadRequest("dashboard_views.bad_cursor")
    try:
        return _EPOCH + int(found[1]) * _MICROSECOND, int(found[2])
    except OverflowError:
        raise BadRequest("dashboard_views.bad_cursor") from None


def _search_text(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > SEARCH_CHARS:
        raise BadRequest("dashboard_views.bad_search")
    return fold_name(value) or None


async def _search(r: Reading, folded: str) -> Search:
    """Where the viewer may search a confidential idea's text: under a role of theirs
    at or inside a grassroots unit (and ideas sent straight to a role's own unit)."""
    inner = []
    for role in r.viewer.roles:
        unit = await r.uow.units.get(role.unit_id)
        if unit is None:
            continue
        home = await visibility.home_path(r.uow, unit)
        if unit.kind == UnitKind.GRASSROOTS.value or home != unit.path:
            inner.append(role.path)
    return Search(
        folded,
        r.person.id,
        inner_paths=inner,
        role_unit_ids=[role.unit_id for role in r.viewer.roles],
    )


async def _scope(r: Reading, unit_id: int | None) -> list[str]:
    """The subtrees listed: the given unit's (inside the official scope), else every
    official role's."""
    if unit_id is not None:
        unit = await r.uow.units.get(unit_id)
        if unit is None or not visibility.may_see_unit(r.viewer, Action.PROGRESS, unit):
            raise Denied
        return [unit.path]
    paths = sorted(role.path for role in r.viewer.roles_of(OFFICIAL))
    if not paths:
        raise Denied
    return [p for p in paths if not any(p != q and p.startswith(q) for q in paths)]


# ---------------------------------------------------------------- the list


async def ideas(deps: Deps, person_id: int, query: IdeaQuery) -> JSON:
    statuses = _statuses(query.status)
    if query.category not in (None, "") and query.category not in CATEGORIES:
        raise BadRequest("dashboard_views.bad_category")
    since, until = _day(query.since), _day(query.until)
    if since is not None and until is not None and since > until:
        raise BadRequest("dashboard_views.bad_date")
    after = _cursor(query.cursor)
    folded = _search_text(query.text)
    async with reading(deps, person_id) as r:
        wanted = IdeaFilter(
            scope=await _scope(r, query.unit_id),
            statuses=statuses,
            category=query.category or None,
            since=day_start(since) if since is not None else None,
            until=day_start(until + timedelta(days=1)) if until is not None else None,
            search=await _search(r, folded) if folded is not None else None,
            after=after,
        )
        rows = await r.uow.dashboard.ideas(wanted, limit=PAGE)
        homes = await home_paths(r.uow, [row.unit for row in rows])
        shown = []
        for row in rows:
            place = _place(row.idea, row.unit, homes[row.unit.id])
            seen = visibility.sight(r.viewer, place)
            if _found(row, place, seen):
                shown.append(idea_row(r, row.idea, row.unit, place, seen))
    more = len(rows) == PAGE
    return {"ideas": shown, "next": cursor_of(rows[-1].idea) if more else None}


async def home_paths(uow: UnitOfWork, units: list[Unit]) -> dict[int, str]:
    """Each unit's grassroots home path as ``visibility.home_path`` finds it (the
    nearest grassroots unit at or above it, else itself), for a page of units in one
    query instead of one per unit."""
    on_paths = {i for unit in units for i in unit_ids_on_path(unit.path)}
    known = await uow.dashboard.units(sorted(on_paths))
    homes: dict[int, str] = {}
    for unit in units:
        line = [known[i] for i in reversed(unit_ids_on_path(unit.path)) if i in known]
        home = next((u for u in line if u.kind == UnitKind.GRASSROOTS.value), unit)
        homes[unit.id] = home.path
    return homes


def _place(idea: Idea, unit: Unit, home: str) -> Place:
    """The idea's place for seeing it (the list decides nothing, so no deciding unit)."""
    return Place(
        author_id=idea.author_id,
        confidential=idea.confidential,
        title_given=idea.title_given,
        unit_path=unit.path,
        home_path=home,
        deciding_unit_id=None,
    )


def _found(row: IdeaRow, place: Place, seen: Sight) -> bool:
    """Seen at all, and (when searched) found in what the viewer may see of it."""
    if seen is Sight.NONE:
        return False
    if row.title_found is None or seen is Sight.FULL:  # no search, or found in all of it
        return True
    return row.title_found and visibility.summary_title(place, row.idea.title) is not None


# ---------------------------------------------------------------- one idea


async def idea(deps: Deps, person_id: int, idea_id: int) -> JSON:
    """The card as the person may see it, the decisions they may take now, where it may
    be forwarded and why it may be declined. Not seen or not there: Denied, the same."""
    async with reading(deps, person_id) as r:
        uow = r.uow
        found = await uow.dashboard.idea(idea_id)
        unit = await uow.units.get(found.unit_id) if found is not None else None
        if found is None or unit is None:
            raise Denied
        place = await visibility.place_of(uow, found)
        seen = visibility.sight(r.viewer, place)
        if seen is Sight.NONE:
            raise Denied
        card = idea_row(r, found, unit, place, seen)
        card["benefit_text"] = plain(benefit_text(r.t, found))
        card["history"] = []
        if seen is Sight.FULL:
            card["body"] = found.body
            events = await uow.ideas.events(found.id)
            card["history"] = [
                {"at": utc(event.at), "text": plain(line)}
                for event, line in await history_lines(uow, r.t, events)
            ]
        actions: list[str] = []
        forward_to: list[Unit] = []
        if found.status in OPEN:
            holder = await uow.units.get(found.holder_unit_id)
            above = (await uow.units.ancestors(holder))[:FORWARD_LEVELS] if holder else []
            for action in DECISIONS:
                if not visibility.may(r.viewer, action, place):
                    continue
                if action is Action.FORWARD:
                    if not above:  # as triage: nowhere to forward
                        continue
                    forward_to = above
                actions.append(action.value)
        reasons = [
            {"key": key, "text": r.text(f"decline.{key}")}
            for key in DECLINE_REASONS
            if Action.DECLINE.value in actions
        ]
    return {
        "idea": card,
        "actions": actions,
        "forward_to": [{"id": u.id, "name": u.name} for u in forward_to],
        "decline_reasons": reasons,
    }
