"""Campaigns, and the derived progress tables rebuilt from the ideas and the tree.

The counters in ``progress_totals`` / ``progress_daily`` are kept up to date in the
same transaction as every submission and decision (``handlers.progress_counts``);
``quota_totals`` is recomputed by every quota import. Both are derived data: they
hang on the unit tree, so after units are *moved* (``python -m bot units import``
reports "paths recomputed") run :func:`rebuild_progress` (``python -m bot progress
rebuild``), which recomputes all of it from ``ideas``, ``idea_events`` and
``idea_results`` and ``quotas`` in one transaction. See docs/PROGRESS.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any, Final

from sqlalchemy import Date, and_, cast, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from storage.lifecycle_models import IdeaResult
from storage.models import (
    Campaign,
    Idea,
    IdeaEvent,
    IdeaStatus,
    ProgressDaily,
    ProgressTotal,
    Quota,
    QuotaTotal,
    Unit,
)
from storage.repositories.units import unit_ids_on_path

__all__ = [
    "COUNTERS",
    "TEAM_APPROVED",
    "VIETNAM",
    "CampaignError",
    "RebuildResult",
    "add_campaign",
    "effective_targets",
    "rebuild_progress",
    "recompute_quota_totals",
    "vietnam_day",
]

VIETNAM: Final = timezone(timedelta(hours=7), "ICT")  # no daylight saving time
CHUNK_SIZE: Final = 5000
CODE_MAX: Final = 32
NAME_MAX: Final = 200

ProgressCallback = Callable[[int, int], None]

# The counters of progress_totals / progress_daily, in this order everywhere.
COUNTERS: Final = ("submitted", "approved", "recognised", "applied", "benefit")
# Statuses of an idea the support team approved: the council's outcome and the
# application come after the approval and keep it counted.
TEAM_APPROVED: Final = (
    IdeaStatus.APPROVED.value,
    IdeaStatus.RECOGNISED.value,
    IdeaStatus.NOT_RECOGNISED.value,
    IdeaStatus.APPLIED.value,
)


def vietnam_day(moment: datetime) -> date:
    """The calendar day in Vietnam at ``moment`` (campaigns and days are Vietnam days)."""
    return moment.astimezone(VIETNAM).date()


def day_start(day: date) -> datetime:
    """Midnight at the start of a Vietnam calendar day, in UTC."""
    return datetime.combine(day, time(0), VIETNAM).astimezone(UTC)


# ---------------------------------------------------------------------- campaigns


class CampaignError(ValueError):
    """A campaign cannot be added as asked; the message says why."""


async def add_campaign(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    code: str,
    name: str,
    starts_on: date,
    ends_on: date,
    now: datetime | None = None,
) -> tuple[Campaign, int]:
    """Add a campaign; returns it and how many earlier ideas it took in.

    Ideas submitted on its days before it existed (outside every campaign until now)
    are counted toward it, and its counters built, in the same transaction.
    """
    code, name = code.strip(), " ".join(name.split())
    if not code or len(code) > CODE_MAX or any(c.isspace() for c in code):
        raise CampaignError(f"the code must be 1-{CODE_MAX} characters without spaces")
    if not name or len(name) > NAME_MAX:
        raise CampaignError(f"the name must be 1-{NAME_MAX} characters")
    if ends_on < starts_on:
        raise CampaignError("the end date is before the start date")
    now = now or datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        await _lock(session, "campaigns")
        same = await session.execute(
            select(Campaign).where(func.upper(Campaign.code) == code.upper())
        )
        if same.scalar_one_or_none() is not None:
            raise CampaignError(f"a campaign with code {code!r} exists already")
        overlapping = (
            await session.execute(
                select(Campaign).where(Campaign.starts_on <= ends_on, Campaign.ends_on >= starts_on)
            )
        ).scalars()
        clashes = [f"{c.code} ({c.starts_on:%d/%m/%Y}–{c.ends_on:%d/%m/%Y})" for c in overlapping]
        if clashes:
            raise CampaignError(f"the dates overlap with {', '.join(clashes)}")
        campaign = Campaign(
            code=code, name=name, starts_on=starts_on, ends_on=ends_on, created_at=now
        )
        session.add(campaign)
        await session.flush()
        result = await session.execute(
            update(Idea)
            .where(
                Idea.campaign_id.is_(None),
                Idea.created_at >= day_start(starts_on),
                Idea.created_at < day_start(ends_on + timedelta(days=1)),
            )
            .values(campaign_id=campaign.id)
            .execution_options(synchronize_session=False)
        )
        adopted = int(getattr(result, "rowcount", 0) or 0)
        adopted_steps = await _adopt_steps(session, campaign)
        if adopted or adopted_steps:
            await _rebuild_counts(session, [campaign.id], None)
    return campaign, adopted


async def _adopt_steps(session: AsyncSession, campaign: Campaign) -> int:
    """Recognitions and applications on the new campaign's days, made outside every
    campaign until now, count toward it (as submissions do): how many were taken in."""
    first, after = day_start(campaign.starts_on), day_start(campaign.ends_on + timedelta(days=1))
    recognised = await session.execute(
        update(IdeaResult)
        .where(
            IdeaResult.recognised.is_(True),
            IdeaResult.recognised_campaign_id.is_(None),
            IdeaResult.decided_at >= first,
            IdeaResult.decided_at < after,
        )
        .values(recognised_campaign_id=campaign.id)
        .execution_options(synchronize_session=False)
    )
    applied = await session.execute(
        update(IdeaResult)
        .where(
            IdeaResult.applied_on.is_not(None),
            IdeaResult.applied_campaign_id.is_(None),
            IdeaResult.applied_on >= campaign.starts_on,
            IdeaResult.applied_on <= campaign.ends_on,
        )
        .values(applied_campaign_id=campaign.id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(recognised, "rowcount", 0) or 0) + int(getattr(applied, "rowcount", 0) or 0)


# ---------------------------------------------------------------------- quota totals


def effective_targets(
    own: Mapping[int, int], paths: Mapping[int, Sequence[int]]
) -> dict[int, tuple[int, bool]]:
    """The target that counts for every unit that has one: (target, summed).

    ``own`` maps units to their own targets, ``paths`` each of those units to the
    ids from the root down to itself. A unit's own target wins; a unit without one
    sums its children's (only units on the way up from a unit with a target get one).
    """
    parent: dict[int, int | None] = {}
    depth: dict[int, int] = {}
    for ids in paths.values():
        for index, unit_id in enumerate(ids):
            depth[unit_id] = index
            parent[unit_id] = ids[index - 1] if index else None
    sums: dict[int, int] = defaultdict(int)
    result: dict[int, tuple[int, bool]] = {}
    for unit_id in sorted(depth, key=lambda u: -depth[u]):
        if unit_id in own:
            value, summed = own[unit_id], False
        elif unit_id in sums:
            value, summed = sums[unit_id], True
        else:  # pragma: no cover - every unit here is on the way up from a target
            continue
        result[unit_id] = (value, summed)
        up = parent[unit_id]
        if up is not None:
            sums[up] += value
    return result


async def recompute_quota_totals(session: AsyncSession, campaign_ids: Iterable[int]) -> int:
    """Rewrite ``quota_totals`` of these campaigns from ``quotas`` and the tree; rows written.

    Each measure (:class:`~storage.models.QuotaMeasure`) on its own: a parent's summed
    target is the sum of its children's targets of the same measure.
    """
    written = 0
    for campaign_id in sorted(set(campaign_ids)):
        rows = await session.execute(
            select(Quota.unit_id, Quota.measure, Quota.target, Unit.path)
            .join(Unit, Unit.id == Quota.unit_id)
            .where(Quota.campaign_id == campaign_id)
        )
        own: dict[str, dict[int, int]] = defaultdict(dict)
        paths: dict[str, dict[int, list[int]]] = defaultdict(dict)
        for unit_id, measure, target, path in rows:
            own[measure][unit_id] = int(target)
            paths[measure][unit_id] = unit_ids_on_path(path)
        await session.execute(delete(QuotaTotal).where(QuotaTotal.campaign_id == campaign_id))
        values = [
            {"unit_id": u, "campaign_id": campaign_id, "measure": m, "target": t, "summed": s}
            for m in sorted(own)
            for u, (t, s) in sorted(effective_targets(own[m], paths[m]).items())
        ]
        for start in range(0, len(values), CHUNK_SIZE):
            await session.execute(insert(QuotaTotal), values[start : start + CHUNK_SIZE])
        written += len(values)
    return written


# ---------------------------------------------------------------------- rebuilding


@dataclass(frozen=True, slots=True)
class RebuildResult:
    campaigns: int
    ideas: int
    counter_rows: int
    quota_rows: int

    def __str__(self) -> str:
        return (
            f"{self.campaigns} campaigns, {self.ideas} ideas counted: "
            f"{self.counter_rows} counter rows, {self.quota_rows} quota rows written"
        )


async def rebuild_progress(
    sessionmaker: async_sessionmaker[AsyncSession],
    on_progress: ProgressCallback | None = None,
) -> RebuildResult:
    """Recompute every counter and derived quota from the ideas, the events and the tree.

    One transaction. On PostgreSQL the derived tables are locked against writers
    (``EXCLUSIVE``: readers carry on) *before* the ideas are read, so a submission
    racing with the rebuild either is counted by it or waits and adds itself after;
    on SQLite the transaction holds the write lock anyway.
    """
    async with sessionmaker() as session, session.begin():
        await _lock(session, "progress_totals", "progress_daily", "quota_totals")
        campaign_ids = list((await session.execute(select(Campaign.id))).scalars())
        ideas, rows = await _rebuild_counts(session, None, on_progress)
        quota_rows = await recompute_quota_totals(session, campaign_ids)
    return RebuildResult(len(campaign_ids), ideas, rows, quota_rows)


async def _lock(session: AsyncSession, *tables: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"LOCK TABLE {', '.join(tables)} IN EXCLUSIVE MODE"))


def _local_day(session: AsyncSession, column: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("Asia/Ho_Chi_Minh", column), Date)
    return func.date(column, "+7 hours")


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


async def _rebuild_counts(
    session: AsyncSession,
    campaign_ids: Sequence[int] | None,
    on_progress: ProgressCallback | None = None,
) -> tuple[int, int]:
    """Rewrite the counters (of these campaigns, or all); returns (ideas, rows written).

    Each step is counted as ``handlers.progress_counts`` counts it live: a submission
    on its day in ``ideas.campaign_id``, an approval on the day of its (last) event in
    the same campaign, a recognition on the day it was recorded in
    ``recognised_campaign_id``, an application and its benefit on the day it started in
    ``applied_campaign_id``.
    """

    def scoped(column: InstrumentedAttribute[int | None]) -> ColumnElement[bool]:
        if campaign_ids is None:
            return column.is_not(None)
        return column.in_(campaign_ids)

    submitted_day = _local_day(session, Idea.created_at)
    submitted = await session.execute(
        select(Idea.unit_id, Idea.campaign_id, submitted_day, func.count())
        .where(scoped(Idea.campaign_id))
        .group_by(Idea.unit_id, Idea.campaign_id, submitted_day)
    )
    approved_at = (
        select(IdeaEvent.idea_id, func.max(IdeaEvent.at).label("at"))
        .where(IdeaEvent.kind == IdeaStatus.APPROVED.value)
        .group_by(IdeaEvent.idea_id)
        .subquery()
    )
    # The day of the (last) approval; an idea approved without an event: its last update.
    approved_day = _local_day(session, func.coalesce(approved_at.c.at, Idea.updated_at))
    approved = await session.execute(
        select(Idea.unit_id, Idea.campaign_id, approved_day, func.count())
        .outerjoin(approved_at, approved_at.c.idea_id == Idea.id)
        .where(scoped(Idea.campaign_id), Idea.status.in_(TEAM_APPROVED))
        .group_by(Idea.unit_id, Idea.campaign_id, approved_day)
    )
    recognised_day = _local_day(session, IdeaResult.decided_at)
    recognised = await session.execute(
        select(Idea.unit_id, IdeaResult.recognised_campaign_id, recognised_day, func.count())
        .join(Idea, Idea.id == IdeaResult.idea_id)
        .where(scoped(IdeaResult.recognised_campaign_id), IdeaResult.recognised.is_(True))
        .group_by(Idea.unit_id, IdeaResult.recognised_campaign_id, recognised_day)
    )
    applied = await session.execute(
        select(
            Idea.unit_id,
            IdeaResult.applied_campaign_id,
            IdeaResult.applied_on,
            func.count(),
            func.sum(func.coalesce(IdeaResult.benefit_vnd, 0)),
        )
        .join(Idea, Idea.id == IdeaResult.idea_id)
        .where(scoped(IdeaResult.applied_campaign_id), IdeaResult.applied_on.is_not(None))
        .group_by(Idea.unit_id, IdeaResult.applied_campaign_id, IdeaResult.applied_on)
    )
    width = len(COUNTERS)
    leaf: dict[tuple[int, int, date], list[int]] = {}

    def add(unit_id: int, campaign_id: Any, day: Any, kind: int, count: Any) -> None:
        key = (unit_id, int(campaign_id), _as_date(day))
        leaf.setdefault(key, [0] * width)[kind] += int(count or 0)

    ideas = 0
    for unit_id, campaign_id, day, count in submitted:
        add(unit_id, campaign_id, day, 0, count)
        ideas += int(count)
    for unit_id, campaign_id, day, count in approved:
        add(unit_id, campaign_id, day, 1, count)
    for unit_id, campaign_id, day, count in recognised:
        add(unit_id, campaign_id, day, 2, count)
    for unit_id, campaign_id, day, count, benefit in applied:
        add(unit_id, campaign_id, day, 3, count)
        add(unit_id, campaign_id, day, 4, benefit)

    units = {u for u, _, _ in leaf}
    paths: dict[int, list[int]] = {}
    unit_list = sorted(units)
    for start in range(0, len(unit_list), CHUNK_SIZE):
        chunk = unit_list[start : start + CHUNK_SIZE]
        result = await session.execute(select(Unit.id, Unit.path).where(Unit.id.in_(chunk)))
        paths.update((unit_id, unit_ids_on_path(path)) for unit_id, path in result)

    daily: dict[tuple[int, int, date], list[int]] = {}
    totals: dict[tuple[int, int], list[int]] = {}
    for (unit_id, campaign_id, day), counts in leaf.items():
        for ancestor in paths.get(unit_id, [unit_id]):
            on_day = daily.setdefault((ancestor, campaign_id, day), [0] * width)
            in_total = totals.setdefault((ancestor, campaign_id), [0] * width)
            for kind, count in enumerate(counts):
                if count:
                    on_day[kind] += count
                    in_total[kind] += count

    scope_totals = (
        ProgressTotal.campaign_id.in_(campaign_ids) if campaign_ids is not None else and_(True)
    )
    scope_daily = (
        ProgressDaily.campaign_id.in_(campaign_ids) if campaign_ids is not None else and_(True)
    )
    await session.execute(delete(ProgressTotal).where(scope_totals))
    await session.execute(delete(ProgressDaily).where(scope_daily))
    total_rows: list[dict[str, Any]] = [
        {"unit_id": u, "campaign_id": c, **dict(zip(COUNTERS, counts, strict=True))}
        for (u, c), counts in sorted(totals.items())
    ]
    daily_rows: list[dict[str, Any]] = [
        {"unit_id": u, "campaign_id": c, "day": d, **dict(zip(COUNTERS, counts, strict=True))}
        for (u, c, d), counts in sorted(daily.items())
    ]
    todo = len(total_rows) + len(daily_rows)
    done = 0
    if on_progress is not None:
        on_progress(0, todo)
    for table, rows in ((ProgressTotal, total_rows), (ProgressDaily, daily_rows)):
        for start in range(0, len(rows), CHUNK_SIZE):
            batch = rows[start : start + CHUNK_SIZE]
            await session.execute(insert(table), batch)
            done += len(batch)
            if on_progress is not None:
                on_progress(done, todo)
    return ideas, todo
