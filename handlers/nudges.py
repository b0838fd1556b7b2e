"""The weekly nudge: a support team behind its pro-rata quota hears so, kindly, once a week.

The moment is ``nudges.weekday`` at ``nudges.hour`` o'clock, Vietnam time. A pass (run
every few minutes by the bot, or ``python -m bot nudges --now …``) finds the latest such
moment not after ``now``, the Monday of its week being the week's key, and for the
campaign running today:

- each unit with a support team of its own whose figures are behind the pro-rata share
  of a quota it has (target × the part of the campaign gone by, for ideas approved and
  initiatives recognised) gets one message to its team (its group, else each member
  privately, in the chat's language): its numbers and one suggestion fitting the
  situation. A team on track gets nothing.
- the officials of the nearest unit above with officials get one message listing its
  lagging units, laggards first.

Each message is recorded in ``nudges_sent`` (unit, week, kind) in the same transaction
that queues it, so however often the pass runs, across restarts and bot instances, a
team and an official's unit hear once a week; a bot down at that hour sends them later
in the week. A nudge carries unit names and numbers only: no idea's text, no person.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import visibility
from handlers.context import PRIORITY_BULK, Scope
from handlers.digest import DigestPolicy, latest_slot
from handlers.events import OutMessage
from handlers.i18n import Catalogue, Translator
from handlers.reports.view import (
    NO_TARGETS,
    WEEK_DAYS,
    ZERO,
    Figures,
    number,
    percent,
)
from handlers.safe_html import html_join
from handlers.team import targets, team_for
from handlers.textnorm import truncate
from handlers.visibility import Action
from storage.models import Campaign, QuotaMeasure, RoleKind, Unit
from storage.progress import VIETNAM, vietnam_day
from storage.repositories.units import unit_ids_on_path
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

BATCH = 50  # units per transaction: a few grouped queries and the messages of the laggards
PURPOSE = "nudge"
TEAM, OFFICIAL = "team", "official"
QUEUE_MANY = 3  # this many ideas waiting for the team: clearing /queue is the suggestion
OFFICIAL_LINES = 20  # units named in an official's list; the rest are counted
NAME_CHARS = 60
MEASURES = (QuotaMeasure.SUBMITTED, QuotaMeasure.RECOGNISED)
# A week's nudges still go this long after their moment (a bot that was down then);
# later, the next week's moment is less than a day away and they wait for it.
LATE_LIMIT = timedelta(days=6)


@dataclass(frozen=True, slots=True)
class NudgePolicy:
    weekday: int = 0  # Monday is 0
    hour: int = 9  # Vietnam time


@dataclass(slots=True)
class NudgeRun:
    week: date  # the Monday of the week whose nudges were due
    teams: int = 0  # teams nudged (each reached in at least one chat)
    officials: int = 0  # officials' lists queued (one per person)
    on_track: int = 0  # units with a team and a quota, not behind


@dataclass(frozen=True, slots=True)
class Measure:
    """One quota of a unit at this point of the campaign."""

    measure: QuotaMeasure
    done: int  # approved ideas, or recognised initiatives, as /progress counts them
    expected: int  # the target's share for the part of the campaign gone by
    target: int

    @property
    def behind(self) -> bool:
        return self.done < self.expected

    @property
    def attainment(self) -> float:
        """Done as a percentage of what was expected by now."""
        return 100.0 * self.done / self.expected if self.expected else 100.0


@dataclass(frozen=True, slots=True)
class Lagging:
    """A unit with a team, behind on at least one quota."""

    unit: Unit
    measures: tuple[Measure, ...]
    week_submitted: int
    waiting: int

    @property
    def worst(self) -> Measure:
        return min((m for m in self.measures if m.behind), key=lambda m: m.attainment)


@dataclass(frozen=True, slots=True)
class Pace:
    """How much of the campaign has gone by: whole days out of its days."""

    campaign: Campaign
    elapsed: int
    total: int

    @classmethod
    def on(cls, campaign: Campaign, today: date) -> Pace:
        total = (campaign.ends_on - campaign.starts_on).days + 1
        elapsed = min(max((today - campaign.starts_on).days, 0), total)
        return cls(campaign, elapsed, total)

    def expected(self, target: int) -> int:
        # Rounded down: early in a campaign nobody is told they are behind on a fraction.
        return target * self.elapsed // self.total

    @property
    def percent(self) -> float:
        return 100.0 * self.elapsed / self.total


def week_of(now: datetime, policy: NudgePolicy) -> date:
    """The Monday (Vietnam) of the week whose nudge moment is the latest at or before ``now``."""
    slot = latest_slot(now, DigestPolicy(weekday=policy.weekday, hour=policy.hour))
    day = slot.astimezone(VIETNAM).date()
    return day - timedelta(days=day.weekday())


def due(now: datetime, policy: NudgePolicy) -> bool:
    """Whether the latest moment's nudges may still go: up to ``LATE_LIMIT`` after it. A bot
    down the whole week sends that week's nudges no more, so a team never gets last week's
    and this week's a minute apart."""
    slot = latest_slot(now, DigestPolicy(weekday=policy.weekday, hour=policy.hour))
    return now - slot < LATE_LIMIT


async def run_nudges(
    sessionmaker: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    now: datetime,
    policy: NudgePolicy,
    *,
    queue_time: datetime | None = None,
) -> NudgeRun:
    """Send the nudges due at ``now``; messages are queued for ``queue_time`` (default now)."""
    run = NudgeRun(week_of(now, policy))
    if not due(now, policy):
        return run
    today = vietnam_day(now)
    async with UnitOfWork(sessionmaker) as uow:
        campaign = await uow.progress.campaign_on(today)
    if campaign is None:
        return run
    pace = Pace.on(campaign, today)
    laggards: list[Lagging] = []
    after = 0
    while True:
        async with UnitOfWork(sessionmaker) as uow:
            units = await uow.nudges.units_with_team(after_id=after, limit=BATCH)
            if not units:
                break
            after = units[-1].id
            scope = Scope(uow=uow, catalogue=catalogue, now=now, queue_time=queue_time)
            found, on_track = await _behind(uow, pace, units, today)
            run.on_track += on_track
            laggards.extend(found)
            nudged = await uow.nudges.already_sent([lag.unit.id for lag in found], run.week, TEAM)
            for lagging in found:
                if lagging.unit.id in nudged:
                    continue  # an earlier pass this week
                if await uow.nudges.claim(lagging.unit.id, run.week, TEAM, now=now):
                    run.teams += await _nudge_team(scope, pace, lagging)
            await uow.commit()
    run.officials = await _tell_officials(
        sessionmaker, catalogue, now, queue_time, run, pace, laggards
    )
    if run.teams or run.officials:
        log.info(
            "nudges for the week of %s: %d teams, %d officials, %d units on track",
            run.week,
            run.teams,
            run.officials,
            run.on_track,
        )
    return run


async def _behind(
    uow: UnitOfWork, pace: Pace, units: Sequence[Unit], today: date
) -> tuple[list[Lagging], int]:
    """The units of this page behind a quota, and how many with a quota are not."""
    ids = [u.id for u in units]
    campaign_id = pace.campaign.id
    totals = await uow.progress.totals(campaign_id, ids)
    week = await uow.progress.since(campaign_id, ids, today - timedelta(days=WEEK_DAYS - 1))
    quota_targets = await uow.progress.targets(campaign_id, ids)
    waiting = await uow.nudges.waiting(ids)
    lagging: list[Lagging] = []
    on_track = 0
    for unit in units:
        figures = Figures(
            unit,
            totals.get(unit.id, ZERO),
            week.get(unit.id, ZERO),
            quota_targets.get(unit.id, NO_TARGETS),
        )
        measures = tuple(
            Measure(q.measure, q.reached, pace.expected(q.target), q.target)
            for q in (figures.quota(m) for m in MEASURES)
            if q is not None and q.target > 0
        )
        if not measures:
            continue  # no quota: nothing to be behind on
        if not any(m.behind for m in measures):
            on_track += 1
            continue
        lagging.append(Lagging(unit, measures, figures.week.submitted, waiting.get(unit.id, 0)))
    return lagging, on_track


# ---------------------------------------------------------------- the team's nudge


def suggestion(lagging: Lagging) -> str:
    """The one suggestion that fits the team's situation best (a catalogue key)."""
    behind = {m.measure for m in lagging.measures if m.behind}
    if QuotaMeasure.SUBMITTED in behind:
        if lagging.waiting >= QUEUE_MANY:
            return "nudges.tip_queue"  # the quickest gain: approvals are what counts
        if lagging.week_submitted == 0:
            return "nudges.tip_poster"
        return "nudges.tip_encourage"
    return "nudges.tip_council"


def team_message(t: Translator, pace: Pace, lagging: Lagging) -> OutMessage:
    lang = t.lang
    lines = [
        t(
            f"nudges.line_{m.measure.value}",
            done=number(m.done, lang),
            expected=number(m.expected, lang),
            target=number(m.target, lang),
            mark="🔸" if m.behind else "✅",
        )
        for m in lagging.measures
    ]
    text = t(
        "nudges.team",
        unit=truncate(lagging.unit.name, NAME_CHARS),
        campaign=pace.campaign.name,
        elapsed=percent(pace.percent, lang),
        lines=html_join(lines, sep="\n"),
        tip=t(suggestion(lagging), waiting=number(lagging.waiting, lang)),
    )
    return OutMessage(text)


async def _nudge_team(scope: Scope, pace: Pace, lagging: Lagging) -> int:
    """Queue the nudge for the unit's own team; 1 if any chat of it was reached."""
    team = await team_for(scope, lagging.unit)
    if team is None or team.unit.id != lagging.unit.id:
        return 0  # the team left since the page was read
    reached = 0
    for target in await targets(scope, team):
        message = team_message(scope.catalogue.for_lang(target.lang), pace, lagging)
        await scope.uow.outbox.add(
            channel=target.channel,
            chat_id=target.chat_id,
            payload=message.to_json(),
            priority=PRIORITY_BULK,
            now=scope.queue_at,
            person_id=target.person_id,
            purpose=PURPOSE,
        )
        scope.notifications += 1
        reached = 1
    if not reached:
        log.info("nudge for unit %s: its team has no chat to reach", lagging.unit.id)
    return reached


# ---------------------------------------------------------------- the officials' list


@dataclass(slots=True)
class _Above:
    unit: Unit
    officials: list[int]
    below: list[Lagging] = field(default_factory=list)


async def _officials_above(uow: UnitOfWork, unit: Unit, cache: dict[int, list[int]]) -> int | None:
    """The id of the nearest unit strictly above ``unit`` with officials (read from the
    unit's path; each unit's officials are looked up once a pass)."""
    for ancestor_id in reversed(unit_ids_on_path(unit.path)[:-1]):
        if ancestor_id not in cache:
            cache[ancestor_id] = await uow.roles.members_with_role(
                ancestor_id, RoleKind.OFFICIAL.value
            )
        if cache[ancestor_id]:
            return ancestor_id
    return None


def official_message(
    t: Translator, pace: Pace, above: Unit, below: Sequence[Lagging]
) -> OutMessage:
    lang = t.lang
    ranked = sorted(below, key=lambda lag: (lag.worst.attainment, lag.unit.code))
    lines = []
    for rank, lagging in enumerate(ranked[:OFFICIAL_LINES], start=1):
        worst = lagging.worst
        lines.append(
            t(
                "nudges.official_line",
                rank=rank,
                name=truncate(lagging.unit.name, NAME_CHARS),
                measure=t(f"nudges.measure_{worst.measure.value}"),
                done=number(worst.done, lang),
                expected=number(worst.expected, lang),
                attainment=percent(worst.attainment, lang),
            )
        )
    if len(ranked) > OFFICIAL_LINES:
        lines.append(t("nudges.official_more", more=number(len(ranked) - OFFICIAL_LINES, lang)))
    text = t(
        "nudges.official",
        unit=truncate(above.name, NAME_CHARS),
        campaign=pace.campaign.name,
        elapsed=percent(pace.percent, lang),
        count=number(len(ranked), lang),
        lines=html_join(lines, sep="\n"),
    )
    return OutMessage(text)


async def _tell_officials(
    sessionmaker: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    now: datetime,
    queue_time: datetime | None,
    run: NudgeRun,
    pace: Pace,
    laggards: Sequence[Lagging],
) -> int:
    """Each official unit above a laggard: one list to its officials, once a week."""
    if not laggards:
        return 0
    aboves: dict[int, _Above] = {}
    async with UnitOfWork(sessionmaker) as uow:
        cache: dict[int, list[int]] = {}
        below: dict[int, list[Lagging]] = {}
        for lagging in laggards:
            above_id = await _officials_above(uow, lagging.unit, cache)
            if above_id is not None:
                below.setdefault(above_id, []).append(lagging)
        listed = await uow.nudges.already_sent(list(below), run.week, OFFICIAL)
        for above_id, lagging_below in below.items():
            unit = await uow.units.get(above_id) if above_id not in listed else None
            if unit is not None:
                aboves[above_id] = _Above(unit, cache[above_id], lagging_below)
    told = 0
    ordered = sorted(aboves.values(), key=lambda a: a.unit.id)
    for start in range(0, len(ordered), BATCH):
        async with UnitOfWork(sessionmaker) as uow:
            scope = Scope(uow=uow, catalogue=catalogue, now=now, queue_time=queue_time)
            for above in ordered[start : start + BATCH]:
                if not await uow.nudges.claim(above.unit.id, run.week, OFFICIAL, now=now):
                    continue
                for person_id in above.officials:
                    told += await _tell_official(scope, pace, above, person_id)
            await uow.commit()
    return told


async def _tell_official(scope: Scope, pace: Pace, above: _Above, person_id: int) -> int:
    # Each official hears only of units their own roles cover (docs/SECURITY.md).
    viewer = await visibility.load_viewer(scope.uow, person_id)
    below = [
        lag for lag in above.below if visibility.may_see_unit(viewer, Action.PROGRESS, lag.unit)
    ]
    if not below:
        return 0

    def message(t: Translator) -> OutMessage:
        return official_message(t, pace, above.unit, below)

    return await scope.notify([person_id], message, purpose=PURPOSE, priority=PRIORITY_BULK)


__all__ = [
    "NudgePolicy",
    "NudgeRun",
    "due",
    "run_nudges",
    "suggestion",
    "week_of",
]
