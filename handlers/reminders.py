"""Ideas left waiting: a reminder to the team, then word to the team above.

An idea waiting in a team's queue longer than ``working_days`` working days brings
that team a reminder; if it is still waiting ``working_days`` after the reminder,
the team of the unit above is told. Working days are counted in Vietnam's time: the
configured weekdays, less Vietnam's public holidays (the kept ``holidays`` calendar,
which follows the lunar ones, Tết and the Hùng Kings' day, and the bridge days the
government decides) and the operator's ``reminders.extra_days_off``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import visibility
from handlers.buttons import CardPress
from handlers.cards import VIETNAM, card_message, title_as_seen
from handlers.context import PRIORITY_NOTIFY, Scope
from handlers.events import Button, OutMessage
from handlers.i18n import Catalogue, Translator
from handlers.team import audience, card_purpose, targets, team_for
from handlers.visibility import Sight, Viewer
from storage.models import Idea
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

BATCH = 500
MONDAY_TO_FRIDAY = frozenset(range(5))


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    working_days: int = 3
    weekdays: frozenset[int] = field(default=MONDAY_TO_FRIDAY)  # Monday is 0
    # Days off beyond the public holidays (config: reminders.extra_days_off).
    extra_days_off: frozenset[date] = frozenset()


@dataclass(slots=True)
class ReminderRun:
    reminded: int = 0
    escalated: int = 0
    notifications: int = 0


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
    # Working days are never fewer than calendar days: a cheap first cut.
    cutoff = now - timedelta(days=policy.working_days)
    async with UnitOfWork(sessionmaker) as uow:
        scope = Scope(uow=uow, catalogue=catalogue, now=now, queue_time=queue_time)
        for idea in await uow.ideas.waiting_since_before(cutoff, limit=BATCH):
            if idea.waiting_since is None:
                continue
            if idea.reminded_at is None:
                due = add_working_days(
                    idea.waiting_since, policy.working_days, policy.weekdays, policy.extra_days_off
                )
                if now >= due and await _remind(scope, idea, policy):
                    result.reminded += 1
            else:
                due = add_working_days(
                    idea.reminded_at, policy.working_days, policy.weekdays, policy.extra_days_off
                )
                if now >= due and await _escalate(scope, idea):
                    result.escalated += 1
        result.notifications = scope.notifications
        await uow.commit()
    if result.reminded or result.escalated:
        log.info("reminders: %d reminded, %d escalated", result.reminded, result.escalated)
    return result


async def _remind(scope: Scope, idea: Idea, policy: ReminderPolicy) -> bool:
    holder = await scope.uow.units.get(idea.holder_unit_id)
    team = await team_for(scope, holder) if holder else None
    idea.reminded_at = scope.now
    await scope.uow.ideas.add_event(idea_id=idea.id, kind="reminded", actor_id=None, at=scope.now)
    if team is None:
        return False
    place = await visibility.place_of(scope.uow, idea, deciding_unit_id=team.unit.id)
    days = working_days_between(
        idea.waiting_since or idea.created_at, scope.now, policy.weekdays, policy.extra_days_off
    )
    for target in await targets(scope, team):
        t = scope.catalogue.for_lang(target.lang)
        title = _title(t, idea, place, await audience(scope, target, team.unit))
        if title is None:
            continue
        message = OutMessage(
            text=t("reminder.team", ref=idea.ref_code, title=title, days=days),
            buttons=(
                (
                    Button(
                        t("queue.open", ref=idea.ref_code, title=""),
                        CardPress(idea.id, "open").pack(),
                    ),
                ),
            ),
        )
        await _queue(
            scope, idea, target.channel, target.chat_id, target.person_id, message, "reminder"
        )
    return True


async def _escalate(scope: Scope, idea: Idea) -> bool:
    holder = await scope.uow.units.get(idea.holder_unit_id)
    team = await team_for(scope, holder) if holder else None
    idea.escalated_at = scope.now
    await scope.uow.ideas.add_event(idea_id=idea.id, kind="escalated", actor_id=None, at=scope.now)
    if team is None or team.unit.parent_id is None:
        return False
    parent = await scope.uow.units.get(team.unit.parent_id)
    above = await team_for(scope, parent) if parent else None
    if above is None:
        return False
    place = await visibility.place_of(scope.uow, idea, deciding_unit_id=team.unit.id)
    days = (scope.now - (idea.waiting_since or idea.created_at)).days
    for target in await targets(scope, above):
        viewer = await audience(scope, target, above.unit)
        seen = visibility.sight(viewer, place)
        if seen is Sight.NONE:
            continue
        t = scope.catalogue.for_lang(target.lang)
        note = OutMessage(
            text=t("reminder.escalated", ref=idea.ref_code, unit=team.unit.name, days=days)
        )
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
    await scope.uow.outbox.add(
        channel=channel,
        chat_id=chat_id,
        payload=message.to_json(),
        priority=PRIORITY_NOTIFY,
        now=scope.queue_at,
        person_id=person_id,
        idea_id=idea.id,
        purpose=purpose,
    )
    scope.notifications += 1
