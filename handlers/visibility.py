"""The visibility policy: what anyone may see of an idea, and what they may do with it.

Every place that shows an idea or acts on one asks here and nowhere else: cards,
``/queue``, reminders, escalations, ``/export``, ``/myideas`` and what later views
add. ``docs/SECURITY.md`` states the same rules as a table; the authorisation
matrix test (``tests/flows/test_authorisation.py``) drives every cell of it.

The rules, in short:

- A role covers its unit's whole subtree. A viewer *sees* an idea when a role of
  theirs covers the unit of the idea's author, or when the idea is their own.
- A shareable idea is seen in full by everyone who sees it.
- A confidential idea's text, author and attachments stay inside its author's
  grassroots unit: seen in full only by its author and by people whose covering
  role is on that grassroots unit or inside it. Everyone above sees the summary:
  the reference, unit, category, benefit, status, and the title only if the
  worker typed it (a derived title would carry the text).
- A group chat is an audience of unknown people: it never sees a confidential
  idea in full, whatever the team bound to it may see.
- Only the support team of the unit holding an idea decides it (approve, request
  details, forward, decline): a support role on exactly that unit. When the
  holding unit has no team, the nearest unit above that has one serves it.
- The initiative council of an approved idea is the nearest unit at or above the
  idea's unit that has council members (recorded when approved). Its members, as
  persons, score the idea; its chair records the outcome. Seeing follows the rules
  above: a council on the grassroots unit sees a confidential idea in full, a
  council above it, or the council's group, the summary.
- Application (the idea in use, its benefit) is recorded by the deciding team or
  the idea's council; evidence is added by them or the author; the reward received
  is recorded by the author alone.
- ``/progress`` and ``/export`` of a unit take an official role covering it.
  ``/export`` is a file that leaves the chat: confidential ideas go into it as
  their summary, whoever asks.
- Similar ideas (issue #21): a worker writing an idea is shown those like it that are
  their own or shareable ideas of their unit (reference, title, status); a card's
  reader is told an idea looks like another only when they see both in full.
- An announcement (``/announce``) reaches a unit's subtree. An official may announce
  to any unit their role covers, to its members, its support teams or the officials
  of the units below it; a support team to its own unit's members only. A group
  announces nothing.

The decision functions are pure (no database): :func:`load_viewer` and
:func:`place_of` read what they need first.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from storage.models import Idea, Role, RoleKind, TeamChat, Unit, UnitKind
from storage.outreach_models import Audience
from storage.uow import UnitOfWork

T = TypeVar("T")


class Sight(enum.IntEnum):
    """How much of an idea a viewer may see."""

    NONE = 0
    SUMMARY = 1
    FULL = 2


class Action(enum.StrEnum):
    OPEN = "open"
    APPROVE = "approve"
    ASK = "ask"
    FORWARD = "forward"
    DECLINE = "decline"
    QUEUE = "queue"
    PROGRESS = "progress"
    EXPORT = "export"
    INVITE = "invite"
    SCORE = "score"  # a council member scores an approved idea
    RECORD_OUTCOME = "record_outcome"  # the chair: recognised or not
    RECORD_APPLIED = "record_applied"  # the team or the council: in use, benefit
    ADD_EVIDENCE = "add_evidence"  # the same, or the author
    RECORD_REWARD = "record_reward"  # the author: the reward received
    MANAGE_TEAM = "manage_team"  # /team: a unit's support team, managed in the chat
    ANNOUNCE = "announce"  # /announce to a unit's subtree (may_announce)


#: The roles that make someone a member of a unit's initiative council.
COUNCIL_ROLES = frozenset({RoleKind.COUNCIL.value, RoleKind.CHAIR.value})


#: The triage actions: taken only by the deciding team.
DECISIONS = frozenset({Action.APPROVE, Action.ASK, Action.FORWARD, Action.DECLINE})


@dataclass(frozen=True, slots=True)
class RoleAt:
    """One role of the viewer, with where its unit sits in the tree."""

    role: str
    unit_id: int
    path: str


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: a person with their roles, or a group chat bound to a team."""

    person_id: int | None
    roles: tuple[RoleAt, ...] = ()
    group: bool = False

    @classmethod
    def team_group(cls, team_unit: Unit) -> Viewer:
        """A team's group chat: it sees what its team sees, never a confidential idea in full."""
        return cls(None, (RoleAt(RoleKind.SUPPORT.value, team_unit.id, team_unit.path),), True)

    @classmethod
    def bound_group(cls, body: str, unit: Unit) -> Viewer:
        """A group bound to a unit's team ("team") or council: it sees what that body sees,
        never a confidential idea in full, and decides nothing (a group presses no button)."""
        role = RoleKind.SUPPORT.value if body == "team" else RoleKind.COUNCIL.value
        return cls(None, (RoleAt(role, unit.id, unit.path),), True)

    def roles_of(self, role: str) -> list[RoleAt]:
        return [r for r in self.roles if r.role == role]


@dataclass(frozen=True, slots=True)
class Place:
    """Where an idea sits: what the policy needs to know about it."""

    author_id: int
    confidential: bool
    title_given: bool
    unit_path: str  # the author's unit
    home_path: str  # the author's grassroots unit: a confidential idea's content stays in it
    deciding_unit_id: int | None  # the unit whose team decides it now
    council_unit_id: int | None = None  # the unit whose council evaluates it (once approved)


def covers(role_path: str, unit_path: str) -> bool:
    """A role on ``role_path`` covers the unit at ``unit_path`` (itself or below)."""
    return unit_path.startswith(role_path)


def sight(viewer: Viewer, place: Place) -> Sight:
    if viewer.person_id is not None and viewer.person_id == place.author_id:
        return Sight.FULL
    covering = [r for r in viewer.roles if covers(r.path, place.unit_path)]
    if not covering:
        return Sight.NONE
    if not place.confidential:
        return Sight.FULL
    if viewer.group:
        return Sight.SUMMARY
    inside = any(covers(place.home_path, r.path) for r in covering)
    return Sight.FULL if inside else Sight.SUMMARY


def may_decide(viewer: Viewer, place: Place) -> bool:
    """Only a member of the deciding team, as a person (a group cannot press a button)."""
    if viewer.person_id is None or place.deciding_unit_id is None:
        return False
    return any(r.unit_id == place.deciding_unit_id for r in viewer.roles_of(RoleKind.SUPPORT))


def in_council(viewer: Viewer, place: Place, roles: frozenset[str] = COUNCIL_ROLES) -> bool:
    """A member of the idea's council, as a person (a group cannot score)."""
    if viewer.person_id is None or place.council_unit_id is None:
        return False
    return any(r.role in roles and r.unit_id == place.council_unit_id for r in viewer.roles)


def may(viewer: Viewer, action: Action, place: Place) -> bool:
    """Whether ``viewer`` may take ``action`` on the idea at ``place``."""
    if action in DECISIONS:
        return may_decide(viewer, place)
    if action is Action.SCORE:
        return in_council(viewer, place)
    if action is Action.RECORD_OUTCOME:
        return in_council(viewer, place, frozenset({RoleKind.CHAIR.value}))
    if action is Action.RECORD_APPLIED:
        return may_decide(viewer, place) or in_council(viewer, place)
    if action is Action.ADD_EVIDENCE:
        return is_author(viewer, place) or may(viewer, Action.RECORD_APPLIED, place)
    if action is Action.RECORD_REWARD:
        return is_author(viewer, place)
    if action is Action.OPEN:
        # The triage card, from /queue, a reminder or a group's summary: the support
        # teams whose role covers the idea; what it shows is sight()'s to say.
        supports = viewer.roles_of(RoleKind.SUPPORT)
        return any(covers(r.path, place.unit_path) for r in supports) or may_decide(viewer, place)
    return False


def is_author(viewer: Viewer, place: Place) -> bool:
    return viewer.person_id is not None and not viewer.group and viewer.person_id == place.author_id


def may_see_unit(viewer: Viewer, action: Action, unit: Unit | None) -> bool:
    """Unit-level actions: ``/progress`` and ``/export`` take an official role covering
    the unit; ``/queue`` (no unit: the person's own teams) a support role."""
    if action in (Action.PROGRESS, Action.EXPORT):
        officials = viewer.roles_of(RoleKind.OFFICIAL)
        return unit is not None and any(covers(r.path, unit.path) for r in officials)
    if action is Action.QUEUE:
        return bool(viewer.roles_of(RoleKind.SUPPORT))
    if action is Action.MANAGE_TEAM:
        # A member of the unit's own team (not of a team above or below it), or an
        # official whose role covers the unit; a group chat manages nothing.
        if unit is None or viewer.group or viewer.person_id is None:
            return False
        own = any(r.unit_id == unit.id for r in viewer.roles_of(RoleKind.SUPPORT))
        officials = viewer.roles_of(RoleKind.OFFICIAL)
        return own or any(covers(r.path, unit.path) for r in officials)
    # Other invites are issued from the command line by the operator; in the chat only
    # /team makes one: a support invite to the presser's own team (MANAGE_TEAM above).
    return False


#: Who an official may announce to; a support team announces to members only.
OFFICIAL_AUDIENCES = frozenset(Audience)
SUPPORT_AUDIENCES = frozenset({Audience.MEMBERS})


def may_announce(viewer: Viewer, unit: Unit | None, audience: str) -> bool:
    """``/announce`` to ``unit``'s subtree for ``audience`` (members, support, officials):
    an official role covering the unit, any of the three audiences; a support role on
    exactly that unit, its members only. A group announces nothing."""
    if unit is None or viewer.person_id is None or viewer.group:
        return False
    officials = viewer.roles_of(RoleKind.OFFICIAL)
    if audience in OFFICIAL_AUDIENCES and any(covers(r.path, unit.path) for r in officials):
        return True
    supports = viewer.roles_of(RoleKind.SUPPORT)
    return audience in SUPPORT_AUDIENCES and any(r.unit_id == unit.id for r in supports)


def may_list_similar(viewer: Viewer, member_path: str, other: Place) -> bool:
    """A worker writing an idea may be shown an idea like it (its reference, title and
    status): their own, or a shareable one of the unit they belong to (``member_path``).
    Never a confidential idea of anyone else, whatever roles the worker holds."""
    if viewer.group:
        return False
    return is_author(viewer, other) or (not other.confidential and other.unit_path == member_path)


def may_compare(viewer: Viewer, place: Place, other: Place) -> bool:
    """A card's reader may be told that the idea at ``place`` looks like the one at
    ``other`` (and decline it as its duplicate, if they decide it) only when they see
    both in full: a likeness computed from a text they may not read would tell of it."""
    return sight(viewer, place) is Sight.FULL and sight(viewer, other) is Sight.FULL


def summary_title(place: Place, title: str) -> str | None:
    """The title as the summary may show it; None when only a placeholder may."""
    if place.confidential and not place.title_given:
        return None
    return title


# ---------------------------------------------------------------- reading the facts


async def load_viewer(uow: UnitOfWork, person_id: int) -> Viewer:
    return _viewer(person_id, await uow.roles.roles_of(person_id))


async def load_viewers(uow: UnitOfWork, person_ids: Sequence[int]) -> dict[int, Viewer]:
    """:func:`load_viewer` of each of ``person_ids``, by person id, their roles read in one
    statement (a card sent to each member of a team, a reminder to each official)."""
    held = await uow.roles.roles_of_people(person_ids)
    return {
        person_id: _viewer(person_id, held.get(person_id, []))
        for person_id in dict.fromkeys(person_ids)
    }


def _viewer(person_id: int, held: Sequence[tuple[Role, Unit]]) -> Viewer:
    return Viewer(person_id, tuple(RoleAt(role.role, unit.id, unit.path) for role, unit in held))


async def home_path(uow: UnitOfWork, unit: Unit) -> str:
    """The path of the unit's grassroots unit: the nearest at or above it of that kind.

    A unit above every grassroots unit (an idea sent straight to a district) is its
    own home: its confidential content stays with that unit.
    """
    if unit.kind == UnitKind.GRASSROOTS.value:
        return unit.path
    for ancestor in await ancestors(uow, unit):
        if ancestor.kind == UnitKind.GRASSROOTS.value:
            return ancestor.path
    return unit.path


async def place_of(
    uow: UnitOfWork,
    idea: Idea,
    *,
    deciding_unit_id: int | None = None,
    council_unit_id: int | None = None,
) -> Place:
    """The idea's place; the deciding unit is looked up unless given. The council unit is
    what the idea's result recorded when approved (``IdeaResult.council_unit_id``), given
    by callers that act for the council; None otherwise."""
    unit = await uow.units.get(idea.unit_id)
    if unit is None:  # cannot happen with the foreign key; nothing may be seen then
        return Place(idea.author_id, True, False, "\0", "\0", None)
    if deciding_unit_id is None:
        deciding_unit_id = await deciding_unit(uow, idea)
    return Place(
        author_id=idea.author_id,
        confidential=idea.confidential,
        title_given=idea.title_given,
        unit_path=unit.path,
        home_path=await home_path(uow, unit),
        deciding_unit_id=deciding_unit_id,
        council_unit_id=council_unit_id,
    )


async def places_of(uow: UnitOfWork, ideas: Sequence[Idea]) -> dict[int, Place]:
    """:func:`place_of` of each of ``ideas``, by idea id: the same places, with what they
    share looked up once: each distinct unit and its home path, and the deciding unit
    once for each distinct holding unit (the similar-ideas lists, cards naming others)."""
    facts = await _places(uow, ideas)
    deciders: dict[int | None, int | None] = {}
    return {idea.id: await _decided(uow, idea, facts[idea.id], deciders) for idea in ideas}


async def _places(uow: UnitOfWork, ideas: Sequence[Idea]) -> dict[int, Place]:
    """The places of ``ideas``, by idea id, each with ``deciding_unit_id`` None (the rest
    as :func:`place_of` says): what :func:`may_list_similar` and :func:`may_compare` read,
    before the deciding unit is looked up (a lookup of the serving team, several
    statements: :func:`_decided`)."""
    units: dict[int, Unit | None] = {}
    homes: dict[int, str] = {}
    places: dict[int, Place] = {}
    for idea in ideas:
        if idea.unit_id not in units:
            units[idea.unit_id] = unit = await uow.units.get(idea.unit_id)
            if unit is not None:
                homes[unit.id] = await home_path(uow, unit)
        unit = units[idea.unit_id]
        if unit is None:  # as place_of: cannot happen with the foreign key
            places[idea.id] = Place(idea.author_id, True, False, "\0", "\0", None)
            continue
        places[idea.id] = Place(
            author_id=idea.author_id,
            confidential=idea.confidential,
            title_given=idea.title_given,
            unit_path=unit.path,
            home_path=homes[unit.id],
            deciding_unit_id=None,
        )
    return places


async def _decided(
    uow: UnitOfWork, idea: Idea, place: Place, deciders: dict[int | None, int | None]
) -> Place:
    """``place`` (from :func:`_places`) with the idea's deciding unit, looked up once for
    each holding unit (``deciders`` keeps them)."""
    if place.unit_path == "\0":  # place_of looks no deciding unit up then
        return place
    if idea.holder_unit_id not in deciders:
        deciders[idea.holder_unit_id] = await deciding_unit(uow, idea)
    return dataclasses.replace(place, deciding_unit_id=deciders[idea.holder_unit_id])


def similar_writer(person_id: int) -> Viewer:
    """A worker writing an idea, as :func:`may_list_similar` decides for them: rule 7
    (docs/SECURITY.md) lists the same ideas whatever roles they hold, so their roles are
    not read (tests/flows/test_similar_places.py holds the decider to that)."""
    return Viewer(person_id)


async def similar_listed(
    uow: UnitOfWork, viewer: Viewer, member_path: str, ideas: Sequence[Idea], most: int
) -> list[int]:
    """The indices into ``ideas`` of the first ``most`` a worker writing an idea may be
    shown (:func:`may_list_similar`), in order. The list shows an idea's reference, title
    and status, nothing of who decides it: each is decided on its place without the
    deciding unit, which :func:`may_list_similar` does not read
    (tests/flows/test_similar_places.py holds it to that, and to listing what
    :func:`place_of` per idea would), and which would take a lookup of the serving team."""
    facts = await _places(uow, ideas)
    allowed = [
        i for i, idea in enumerate(ideas) if may_list_similar(viewer, member_path, facts[idea.id])
    ]
    return allowed[:most]


async def comparable(
    uow: UnitOfWork, viewer: Viewer, place: Place, others: Sequence[Idea], most: int
) -> list[tuple[int, Place]]:
    """(index into ``others``, place as :func:`place_of` gives it) of the first ``most``
    a card's reader may be told the idea at ``place`` looks like (:func:`may_compare`), in
    order. Each is asked of first on its place without the deciding unit, which
    :func:`may_compare` does not read (tests/flows/test_similar_places.py holds it to
    that), so that the deciding unit is looked up only for the ideas admitted; then again
    on the whole place, and only that answer lets an idea through."""

    def allowed(other: Place) -> bool:
        return may_compare(viewer, place, other)

    facts = await _places(uow, others)
    pending = [i for i, other in enumerate(others) if allowed(facts[other.id])]
    deciders: dict[int | None, int | None] = {}
    chosen: list[tuple[int, Place]] = []
    for i in pending:
        place_of_other = await _decided(uow, others[i], facts[others[i].id], deciders)
        if allowed(place_of_other):
            chosen.append((i, place_of_other))
            if len(chosen) >= most:
                break
    return chosen


async def deciding_unit(uow: UnitOfWork, idea: Idea) -> int | None:
    """The unit whose support team decides the idea now."""
    holder = await uow.units.get(idea.holder_unit_id)
    serving = await serving_unit(uow, holder) if holder is not None else None
    return serving.id if serving is not None else None


async def council_unit(uow: UnitOfWork, unit: Unit) -> Unit | None:
    """The unit whose initiative council evaluates ideas of ``unit``: the nearest at or
    above it with a council member or a bound council group; None if there is none."""
    async for candidate in _upwards(uow, unit):
        if await group_of(uow, candidate.id, body="council") is not None:
            return candidate
        for role in sorted(COUNCIL_ROLES):
            if await members_with_role(uow, candidate.id, role):
                return candidate
    return None


#: A team none of whose members joined or acted on one of its unit's ideas since this
#: moment is inactive, and the nearest active team above serves its unit (issue #19).
#: Set for each transaction by :class:`handlers.context.Scope` from ``team.inactive_days``,
#: so that cards, reminders and every press's authorisation agree; None: no such rule.
TEAMS_ACTIVE_SINCE: ContextVar[datetime | None] = ContextVar("teams_active_since", default=None)


async def serving_unit(uow: UnitOfWork, unit: Unit) -> Unit | None:
    """The unit whose team handles ideas held by ``unit``: its own, else the nearest above.

    A unit has a team when someone holds its support role or a group chat is bound to it.
    A team whose members have all been idle since :data:`TEAMS_ACTIVE_SINCE` is passed
    over for the nearest active one above; if none above is active, the nearest team
    serves as before (an idle team is better than none).
    """
    since = TEAMS_ACTIVE_SINCE.get()
    # Asked for many times in one update (each idea's place, each card): kept for the
    # transaction until it writes what the answer is read from.
    return await uow.memo(
        ("serving_unit", unit.id, since), _SERVING_TABLES, lambda: _serving(uow, unit, since)
    )


#: What :func:`serving_unit` reads: the units above, the roles, the bound groups, and
#: (for an idle team) the steps on the ideas its unit holds.
_SERVING_TABLES = frozenset({"units", "roles", "team_chats", "ideas", "idea_events"})


async def _serving(uow: UnitOfWork, unit: Unit, since: datetime | None) -> Unit | None:
    nearest: Unit | None = None
    support = RoleKind.SUPPORT.value
    async for candidate in _upwards(uow, unit):
        members = await _holders(uow, candidate.id, support)
        if not members and await group_of(uow, candidate.id) is None:
            continue
        if since is None or not members:  # a bound group alone keeps serving, as before
            return candidate
        # Active: a member joined since the cut-off (their role's grant, read with the
        # members), else one of them acted on the unit's ideas since then.
        if any(granted >= since for _, granted in members):
            return candidate
        if await uow.roles.team_acted_on_ideas_since(candidate.id, support, since):
            return candidate
        nearest = nearest or candidate
    return nearest


async def ancestors(uow: UnitOfWork, unit: Unit) -> list[Unit]:
    """The unit's ancestors, nearest first, read once a transaction while it writes no unit."""
    found = await uow.memo(("ancestors", unit.id), ("units",), lambda: uow.units.ancestors(unit))
    return list(found)


async def _upwards(uow: UnitOfWork, unit: Unit) -> AsyncIterator[Unit]:
    """The unit, then its ancestors nearest first: read only when the unit itself is not
    the answer (a unit with a team of its own serves itself, the common case)."""
    yield unit
    for ancestor in await ancestors(uow, unit):
        yield ancestor


async def members_with_role(uow: UnitOfWork, unit_id: int, role: str) -> list[int]:
    """Who holds ``role`` on exactly the unit now, by person id, as
    ``uow.roles.members_with_role`` says: read once a transaction while it writes no role
    (the serving team's members are asked for by :func:`serving_unit` and again by the
    card's sending, ``handlers.team.team_for``)."""
    return [person_id for person_id, _ in await _holders(uow, unit_id, role)]


async def _holders(uow: UnitOfWork, unit_id: int, role: str) -> tuple[tuple[int, datetime], ...]:
    """(person id, granted at) of the role's holders on the unit, by person id; a tuple,
    so that no caller's change reaches the memo."""
    return await uow.memo(
        ("holders", unit_id, role), ("roles",), lambda: _as_tuple(uow.roles.holders(unit_id, role))
    )


async def group_of(uow: UnitOfWork, unit_id: int, body: str = "team") -> TeamChat | None:
    """The group chat bound to the unit's team ("team") or council: read once a
    transaction while it binds, unbinds or changes no group."""
    return await uow.memo(
        ("group_of", unit_id, body), ("team_chats",), lambda: uow.teams.group_of(unit_id, body)
    )


async def _as_tuple(rows: Awaitable[list[T]]) -> tuple[T, ...]:
    return tuple(await rows)


__all__ = [
    "COUNCIL_ROLES",
    "DECISIONS",
    "TEAMS_ACTIVE_SINCE",
    "Action",
    "Place",
    "RoleAt",
    "Sight",
    "Viewer",
    "ancestors",
    "comparable",
    "council_unit",
    "covers",
    "deciding_unit",
    "group_of",
    "home_path",
    "in_council",
    "is_author",
    "load_viewer",
    "load_viewers",
    "may",
    "may_announce",
    "may_decide",
    "may_see_unit",
    "members_with_role",
    "place_of",
    "places_of",
    "serving_unit",
    "sight",
    "similar_listed",
    "similar_writer",
    "summary_title",
]
