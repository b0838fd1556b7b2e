"""Ideas left waiting: a reminder to those who should act, then word to the unit above.

Three waits, each timed from ``Idea.waiting_since`` (reset by the step that starts it):

- in a team's queue: after ``working_days`` working days the team is reminded; still
  waiting ``working_days`` after that, the team of the unit above is told;
- approved, waiting for the council (issue 18): after ``working_days`` the council
  members who have not scored are reminded (and, once the quorum has scored, the
  chair, to record the outcome); ``working_days`` later the council of the nearest unit
  above that has one is told, else the officials of the unit above. An idea with no
  council anywhere above brings the officials above its grassroots unit word of it,
  once;
- recognised, waiting to be put into use: after ``apply_working_days`` the deciding
  team is reminded, as many again later the team above is told.

Working days are counted in Vietnam's time: the
configured weekdays, less Vietnam's public holidays (the kept ``holidays`` calendar,
which follows the lunar ones, Tết and the Hùng Kings' day, and the bridge days the
government decides) and the operator's ``reminders.extra_days_off``.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import visibility
from handlers.buttons import CardPress, LifecyclePress, Press
from handlers.cards import VIETNAM, card_message, title_as_seen
from handlers.context import Scope
from handlers.council_policy import CouncilPolicy
from handlers.events import Button, OutMessage
from handlers.i18n import Catalogue, Translator
from handlers.team import (
    Target,
    audience,
    card_purpose,
    fallback_note,
    private_targets,
    queue_for,
    targets,
    team_for,
)
from handlers.team_policy import TeamPolicy
from handlers.visibility import COUNCIL_ROLES, Place, Sight, Viewer
from storage.models import Idea, IdeaStatus, RoleKind, Unit, UnitKind
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

BATCH = 500
NOTE_REFS = 5  # references named in one note to officials; the rest counted
MONDAY_TO_FRIDAY = frozenset(range(5))


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    working_days: int = 3
    weekdays: frozenset[int] = field(default=MONDAY_TO_FRIDAY)  # Monday is 0
    # Days off beyond the public holidays (config: reminders.extra_days_off).
    extra_days_off: frozenset[date] = frozenset()
    # A recognised initiative's wait to be put into use (reminders.apply_working_days).
    apply_working_days: int = 20
    # Scores before the chair is reminded to record the outcome (council.quorum).
    council_quorum: int = 3
    # A team idle this long is passed over for the active team above (team.inactive_days).
    team_inactive_days: int = 30


@dataclass(slots=True)
class ReminderRun:
    reminded: int = 0
    escalated: int = 0
    notifications: int = 0
    # Approved ideas whose unit has no council anywhere above (their officials told).
    without_council: int = 0


TEAM_QUEUE = (IdeaStatus.SUBMITTED.value, IdeaStatus.FORWARDED.value)


@functools.cache
def public_holidays(year: int) -> frozenset[date]:
    """Vietnam's public holidays of ``year``, days off given in lieu included.

    Imported on the first count, not at start-up: the ``holidays`` package loads every
    country's rules (docs/BENCHMARKS.md: about 11 MB and 0.2-0.3 s, once).
    """
    import holidays

    return frozenset(holidays.country_holidays("VN", years=year))


def is_working_day(day: date, weekdays: frozenset[int], extra_days_off: frozenset[date]) -> bool:
    return (
        day.weekday() in weekdays
        and day not in extra_days_off
        and day not in public_holidays(day.year)
    )


def add_working_days(
    start: datetime,
    days: int,
    weekdays: frozenset[int],
    extra_days_off: frozenset[date] = frozenset(),
) -> datetime:
    """The moment ``days`` working days after ``start`` (same time of day)."""
    if not weekdays:
        raise ValueError("at least one working weekday is needed")
    moment = start.astimezone(VIETNAM)
    counted = 0
    while counted < days:
        moment += timedelta(days=1)
        if is_working_day(moment.date(), weekdays, extra_days_off):
            counted += 1
    return moment.astimezone(UTC)


def working_days_between(
    start: datetime,
    end: datetime,
    weekdays: frozenset[int],
    extra_days_off: frozenset[date] = frozenset(),
) -> int:
    """How many working days have passed from ``start`` to ``end`` (as
    :func:`add_working_days` counts them: a day counts once its time of day is reached)."""
    moment, last = start.astimezone(VIETNAM), end.astimezone(VIETNAM)
    count = 0
    while (moment := moment + timedelta(days=1)) <= last:
        if is_working_day(moment.date(), weekdays, extra_days_off):
            count += 1
    return count


async def run_reminders(
    sessionmaker: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    now: datetime,
    policy: ReminderPolicy,
    *,
    queue_time: datetime | None = None,
) -> ReminderRun:
    """One pass over the waiting ideas as of ``now``; safe to run as often as you like.

    Messages are queued for ``queue_time`` (default: ``now``), so a pass run as
    if at another time still has them sent at once.
    """
    result = ReminderRun()
    # The holiday calendar's first load (a few hundred ms) in a thread, not on the loop.
    await asyncio.to_thread(public_holidays, now.astimezone(VIETNAM).year)
    async with UnitOfWork(sessionmaker) as uow:
        team = TeamPolicy(inactive_days=policy.team_inactive_days)
        scope = Scope(uow=uow, catalogue=catalogue, now=now, queue_time=queue_time, team=team)
        waits = (
            (TEAM_QUEUE, policy.working_days, _remind, _escalate),
            ((IdeaStatus.APPROVED.value,), policy.working_days, _remind_council, _escalate_council),
            (
                (IdeaStatus.RECOGNISED.value,),
                policy.apply_working_days,
                _remind_apply,
                _escalate_apply,
            ),
        )
        without_council: list[Idea] = []
        for statuses, days, remind, escalate in waits:
            # Working days are never fewer than calendar days: a cheap first cut.
            cutoff = now - timedelta(days=days)
            waiting = await uow.ideas.waiting_since_before(cutoff, limit=BATCH, statuses=statuses)
            for idea in waiting:
                if idea.waiting_since is None:
                    continue
                since = idea.waiting_since if idea.reminded_at is None else idea.reminded_at
                due = add_working_days(since, days, policy.weekdays, policy.extra_days_off)
                if now < due:
                    continue
                if idea.reminded_at is None:
                    outcome = await remind(scope, idea, policy)
                    result.reminded += outcome is Told.YES
                    if outcome is Told.NO_COUNCIL:
                        without_council.append(idea)
                elif await escalate(scope, idea, policy):
                    result.escalated += 1
        result.without_council = await _tell_no_council(scope, without_council, policy)
        result.notifications = scope.notifications
        await uow.commit()
    if result.reminded or result.escalated or result.without_council:
        log.info(
            "reminders: %d reminded, %d escalated, %d without a council",
            result.reminded,
            result.escalated,
            result.without_council,
        )
    return result


class Told(enum.Enum):
    """What a reminder came to (the idea is marked reminded whatever it was)."""

    NOBODY = 0  # no one to remind (no team, no council member reachable)
    YES = 1
    NO_COUNCIL = 2  # approved with no council anywhere above: the officials told after the pass


async def _remind(scope: Scope, idea: Idea, policy: ReminderPolicy) -> Told:
    """An idea in the team's queue: the team is reminded, with its card's button."""
    return await _remind_team(scope, idea, policy, "reminder.team", CardPress(idea.id, "open"))


async def _remind_apply(scope: Scope, idea: Idea, policy: ReminderPolicy) -> Told:
    """A recognised initiative not yet in use: the deciding team, with the button that
    records the application (LifecyclePress "ap")."""
    button = LifecyclePress(idea.id, "ap")
    return await _remind_team(scope, idea, policy, "wait.apply_team", button, wait="apply")


async def _remind_team(
    scope: Scope,
    idea: Idea,
    policy: ReminderPolicy,
    key: str,
    press: Press,
    *,
    wait: str | None = None,
) -> Told:
    holder = await scope.uow.units.get(idea.holder_unit_id)
    team = await team_for(scope, holder) if holder else None
    await _mark(scope, idea, "reminded", wait)
    if team is None:
        return Told.NOBODY
    place = await visibility.place_of(scope.uow, idea, deciding_unit_id=team.unit.id)
    days = _days(idea, scope, policy)
    for target in await targets(scope, team):
        t = scope.catalogue.for_lang(target.lang)
        title = _title(t, idea, place, await audience(scope, target, team.unit))
        if title is None:
            continue
        if team.fallback is not None:  # a team above stands in: it is told why
            await queue_for(scope, target, fallback_note(t, idea, team.fallback), idea, "reminder")
        message = OutMessage(
            text=t(key, ref=idea.ref_code, title=title, days=days),
            buttons=((Button(t("queue.open", ref=idea.ref_code, title=""), press.pack()),),),
        )
        await _queue(
            scope, idea, target.channel, target.chat_id, target.person_id, message, "reminder"
        )
    return Told.YES


async def _mark(scope: Scope, idea: Idea, kind: str, wait: str | None) -> None:
    """The idea reminded (or escalated) now, whoever heard of it; kept in its audit."""
    if kind == "reminded":
        idea.reminded_at = scope.now
    else:
        idea.escalated_at = scope.now
    data = {"wait": wait} if wait else None
    await scope.uow.ideas.add_event(
        idea_id=idea.id, kind=kind, actor_id=None, at=scope.now, data=data
    )


def _days(idea: Idea, scope: Scope, policy: ReminderPolicy) -> int:
    since = idea.waiting_since or idea.created_at
    return working_days_between(since, scope.now, policy.weekdays, policy.extra_days_off)


async def _escalate(scope: Scope, idea: Idea, policy: ReminderPolicy) -> bool:
    """Still in the team's queue: the team above is told, with a read-only card."""
    days = (scope.now - (idea.waiting_since or idea.created_at)).days
    return await _escalate_team(scope, idea, "reminder.escalated", days, None)


async def _escalate_apply(scope: Scope, idea: Idea, policy: ReminderPolicy) -> bool:
    """Still not in use: the team above the deciding team is told, read-only."""
    return await _escalate_team(
        scope, idea, "wait.apply_escalated", _days(idea, scope, policy), "apply"
    )


async def _escalate_team(scope: Scope, idea: Idea, key: str, days: int, wait: str | None) -> bool:
    holder = await scope.uow.units.get(idea.holder_unit_id)
    team = await team_for(scope, holder) if holder else None
    await _mark(scope, idea, "escalated", wait)
    if team is None or team.unit.parent_id is None:
        return False
    parent = await scope.uow.units.get(team.unit.parent_id)
    above = await team_for(scope, parent) if parent else None
    if above is None:
        return False
    place = await visibility.place_of(scope.uow, idea, deciding_unit_id=team.unit.id)
    for target in await targets(scope, above):
        viewer = await audience(scope, target, above.unit)
        seen = visibility.sight(viewer, place)
        if seen is Sight.NONE:
            continue
        t = scope.catalogue.for_lang(target.lang)
        note = OutMessage(text=t(key, ref=idea.ref_code, unit=team.unit.name, days=days))
        await _queue(
            scope, idea, target.channel, target.chat_id, target.person_id, note, "escalation"
        )
        # Read-only: the team above is told, the team holding the idea decides.
        card = await card_message(scope.uow, t, idea, place, seen=seen, buttons=False)
        await _queue(
            scope,
            idea,
            target.channel,
            target.chat_id,
            target.person_id,
            card,
            card_purpose(above.unit, seen),
        )
    return True


# ---------------------------------------------------------------- waiting for the council


async def _council_of(scope: Scope, idea: Idea) -> Unit | None:
    """The idea's council: as recorded when approved, else the nearest one now (a
    council formed since then takes up the ideas approved before it; the record is
    completed, so its members' buttons find the idea theirs)."""
    result = await scope.uow.council.result(idea.id)
    if result is not None and result.council_unit_id is not None:
        return await scope.uow.units.get(result.council_unit_id)
    unit = await scope.uow.units.get(idea.unit_id)
    found = await visibility.council_unit(scope.uow, unit) if unit is not None else None
    if found is not None:
        (await scope.uow.council.result_for_update(idea.id)).council_unit_id = found.id
    return found


async def _remind_council(scope: Scope, idea: Idea, policy: ReminderPolicy) -> Told:
    """Approved, not evaluated: the members who have not scored, and once the quorum
    has scored, the chair (to record the outcome); each in their private chat, where
    scoring happens. No member reachable: the council's group, if it has one."""
    council = await _council_of(scope, idea)
    await _mark(scope, idea, "reminded", "council")
    if council is None:
        # Told once, never each pass; the officials hear of it after the pass, one
        # note per unit for all its ideas (run_reminders: _tell_no_council).
        await _mark(scope, idea, "escalated", "council")
        return Told.NO_COUNCIL
    place = await visibility.place_of(scope.uow, idea, council_unit_id=council.id)
    days = _days(idea, scope, policy)
    members = await _council_members(scope, council)
    chairs = set(await scope.uow.roles.members_with_role(council.id, RoleKind.CHAIR.value))
    scored = {score.person_id for score in await scope.uow.council.scores(idea.id)}
    quorum = CouncilPolicy(quorum=policy.council_quorum).quorum_for(len(members))
    told = {m: "wait.council_score" for m in members if m not in scored}
    if len(scored) >= quorum:
        told |= {chair: "wait.council_outcome" for chair in chairs}
    reached = 0
    for target in await private_targets(scope, sorted(told)):
        assert target.person_id is not None
        viewer = await visibility.load_viewer(scope.uow, target.person_id)
        reached += await _tell_council(
            scope, idea, place, target, viewer, told[target.person_id], days, len(scored)
        )
    group = await scope.uow.teams.group_of(council.id, body="council")
    if not reached and group is not None:
        lang = group.language or "vi"
        target = Target(group.channel, group.chat_id, None, lang)
        viewer = Viewer.bound_group("council", council)
        reached += await _tell_council(
            scope, idea, place, target, viewer, "wait.council_group", days, len(scored)
        )
    return Told.YES if reached else Told.NOBODY


async def _tell_council(
    scope: Scope,
    idea: Idea,
    place: Place,
    target: Target,
    viewer: Viewer,
    key: str,
    days: int,
    scored: int,
) -> int:
    t = scope.catalogue.for_lang(target.lang)
    title = _title(t, idea, place, viewer)
    if title is None:
        return 0
    message = OutMessage(
        text=t(key, ref=idea.ref_code, title=title, days=days, scored=scored),
        buttons=(
            (
                Button(
                    t("queue.open", ref=idea.ref_code, title=""),
                    LifecyclePress(idea.id, "op").pack(),
                ),
            ),
        ),
    )
    await _queue(scope, idea, target.channel, target.chat_id, target.person_id, message, "reminder")
    return 1


async def _escalate_council(scope: Scope, idea: Idea, policy: ReminderPolicy) -> bool:
    """Still not evaluated: the council of the nearest unit above that has one, with a
    read-only card as each chat may see it; no council above: the officials above."""
    council = await _council_of(scope, idea)
    await _mark(scope, idea, "escalated", "council")
    if council is None or council.parent_id is None:
        return False
    parent = await scope.uow.units.get(council.parent_id)
    above = await visibility.council_unit(scope.uow, parent) if parent is not None else None
    days = _days(idea, scope, policy)
    if above is None:
        return bool(parent and await _tell_officials(scope, [idea], parent, council, days))
    place = await visibility.place_of(scope.uow, idea, council_unit_id=council.id)
    group = await scope.uow.teams.group_of(above.id, body="council")
    chats: list[tuple[Target, Viewer]] = []
    if group is not None:
        target = Target(group.channel, group.chat_id, None, group.language or "vi")
        chats.append((target, Viewer.bound_group("council", above)))
    else:
        for target in await private_targets(scope, await _council_members(scope, above)):
            assert target.person_id is not None
            chats.append((target, await visibility.load_viewer(scope.uow, target.person_id)))
    told = 0
    for target, viewer in chats:
        seen = visibility.sight(viewer, place)
        if seen is Sight.NONE:
            continue
        t = scope.catalogue.for_lang(target.lang)
        text = t("wait.council_escalated", ref=idea.ref_code, unit=council.name, days=days)
        # Read-only: the idea's own council evaluates it; the council above is told.
        card = await card_message(scope.uow, t, idea, place, seen=seen, buttons=False)
        for message, purpose in ((OutMessage(text=text), "escalation"), (card, "escalation_card")):
            await _queue(
                scope, idea, target.channel, target.chat_id, target.person_id, message, purpose
            )
        told += 1
    return told > 0


async def _tell_no_council(scope: Scope, ideas: list[Idea], policy: ReminderPolicy) -> int:
    """No council at or above these ideas' units: the officials above each grassroots
    unit hear it once per pass for all of its ideas (they can have a council invited),
    with no more of them than their references. Returns the ideas told of."""
    by_home: dict[int, tuple[Unit, list[Idea]]] = {}
    for idea in ideas:
        unit = await scope.uow.units.get(idea.unit_id)
        home = await _grassroots(scope, unit) if unit is not None else None
        if home is not None:
            by_home.setdefault(home.id, (home, []))[1].append(idea)
    told = 0
    for home, waiting in by_home.values():
        parent = await scope.uow.units.get(home.parent_id) if home.parent_id else None
        if parent is None:
            continue
        days = max(_days(idea, scope, policy) for idea in waiting)
        if await _tell_officials(scope, waiting, parent, home, days, none=True):
            told += len(waiting)
    return told


async def _tell_officials(
    scope: Scope, ideas: list[Idea], start: Unit, unit: Unit, days: int, *, none: bool = False
) -> bool:
    """A note (references, unit, days: counts, never content) to the officials of the
    nearest unit at or above ``start`` that has any, each as the policy lets them see:
    an official sees none of these ideas, no note."""
    places = [await visibility.place_of(scope.uow, idea) for idea in ideas]
    for candidate in [start, *await scope.uow.units.ancestors(start)]:
        officials = await scope.uow.roles.members_with_role(candidate.id, RoleKind.OFFICIAL.value)
        if officials:
            break
    else:
        return False
    key = "wait.no_council" if none else "wait.council_escalated_officials"
    told = 0
    for target in await private_targets(scope, officials):
        assert target.person_id is not None
        viewer = await visibility.load_viewer(scope.uow, target.person_id)
        seen = [i for i, p in zip(ideas, places, strict=True) if visibility.sight(viewer, p)]
        if not seen:
            continue
        refs = ", ".join(i.ref_code for i in seen[:NOTE_REFS])
        if len(seen) > NOTE_REFS:
            refs += f" (+{len(seen) - NOTE_REFS})"
        t = scope.catalogue.for_lang(target.lang)
        note = OutMessage(text=t(key, ref=refs, unit=unit.name, days=days))
        purpose = "no_council" if none else "escalation"
        await _queue(
            scope, seen[0], target.channel, target.chat_id, target.person_id, note, purpose
        )
        told += 1
    return told > 0


async def _council_members(scope: Scope, unit: Unit) -> list[int]:
    members: set[int] = set()
    for role in COUNCIL_ROLES:
        members.update(await scope.uow.roles.members_with_role(unit.id, role))
    return sorted(members)


async def _grassroots(scope: Scope, unit: Unit) -> Unit:
    """The idea's home: the nearest grassroots unit at or above ``unit`` (else itself)."""
    for candidate in [unit, *await scope.uow.units.ancestors(unit)]:
        if candidate.kind == UnitKind.GRASSROOTS.value:
            return candidate
    return unit


def _title(t: Translator, idea: Idea, place: visibility.Place, viewer: Viewer) -> str | None:
    """The idea's title as ``viewer`` may see it; None if they may not see the idea."""
    seen = visibility.sight(viewer, place)
    return None if seen is Sight.NONE else title_as_seen(t, idea, place, seen)


async def _queue(
    scope: Scope,
    idea: Idea,
    channel: str,
    chat_id: str,
    person_id: int | None,
    message: OutMessage,
    purpose: str,
) -> None:
    await queue_for(scope, Target(channel, chat_id, person_id, ""), message, idea, purpose)
