"""What the dashboard's views share: a read-only transaction, the viewer, an idea's row.

Views read with ``deps.reader`` in a read-only unit of work: on SQLite it neither
queues behind the bot's writers nor holds them up (storage.uow).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from handlers import visibility
from handlers.context import language_of
from handlers.dashboard.base import JSON, Denied, Deps
from handlers.i18n import Translator
from handlers.reports.view import plain
from handlers.visibility import Place, Sight, Viewer
from storage.models import Idea, Person, RoleKind, Unit
from storage.uow import UnitOfWork

OFFICIAL, SUPPORT = RoleKind.OFFICIAL.value, RoleKind.SUPPORT.value


@dataclass(slots=True)
class Reading:
    """One view's transaction: who asks, in which language, and when."""

    uow: UnitOfWork
    person: Person
    viewer: Viewer
    t: Translator
    now: datetime

    def text(self, key: str, **params: object) -> str:
        """A catalogue text as plain words (the catalogue's texts are Telegram HTML)."""
        return plain(self.t(key, **params))


@asynccontextmanager
async def reading(deps: Deps, person_id: int) -> AsyncIterator[Reading]:
    """A read-only transaction for a person with an official or a support role;
    anyone else (no such person, a worker, a council member, a revoked role): Denied."""
    now = deps.clock()
    async with UnitOfWork(deps.reader, read_only=True) as uow:
        # Who serves which unit is decided as in the chat (team.inactive_days, Scope).
        visibility.TEAMS_ACTIVE_SINCE.set(deps.team.active_since(now))
        person = await uow.people.get(person_id)
        if person is None:
            raise Denied
        viewer = await visibility.load_viewer(uow, person_id)
        if not viewer.roles_of(OFFICIAL) and not viewer.roles_of(SUPPORT):
            raise Denied
        yield Reading(uow, person, viewer, deps.catalogue.for_lang(language_of(person)), now)


async def official_unit(
    r: Reading, unit_id: int | None, action: visibility.Action
) -> tuple[Unit, list[Unit]]:
    """The unit an official asks for (None: the highest of their official units), if
    the policy lets them take ``action`` on it, with their official units, highest
    first; else Denied (the same for a unit that does not exist)."""
    tops = await r.uow.progress.official_units(r.person.id)  # highest first
    if not tops:
        raise Denied
    unit = tops[0] if unit_id is None else await r.uow.units.get(unit_id)
    if unit is None or not visibility.may_see_unit(r.viewer, action, unit):
        raise Denied
    return unit, tops


def utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def idea_row(r: Reading, idea: Idea, unit: Unit, place: Place, seen: Sight) -> JSON:
    """IDEA of docs/DASHBOARD.md: what the list, the card and the queue show of one idea."""
    if seen is Sight.NONE:
        raise ValueError("a row for a reader who may not see the idea")
    title = idea.title if seen is Sight.FULL else visibility.summary_title(place, idea.title)
    return {
        "id": idea.id,
        "ref": idea.ref_code,
        "title": title,
        "unit": {"id": unit.id, "name": unit.name},
        "status": idea.status,
        "status_text": r.text(f"status.{idea.status}"),
        "category": idea.category,
        "category_text": r.text(f"category.{idea.category}"),
        "created_at": utc(idea.created_at),
        "confidential": idea.confidential,
        "sight": "full" if seen is Sight.FULL else "summary",
    }
