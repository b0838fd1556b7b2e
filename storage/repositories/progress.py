"""Campaigns, quotas, progress counters, digest subscriptions, report jobs and exports."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import date, datetime
from typing import Any, Final, NamedTuple

from sqlalchemy import and_, bindparam, case, func, or_, select, update
from sqlalchemy.orm import aliased

from storage.lifecycle_models import IdeaResult
from storage.models import (
    Campaign,
    DigestSubscription,
    Idea,
    Person,
    ProgressDaily,
    ProgressTotal,
    QuotaMeasure,
    QuotaTotal,
    ReportJob,
    ReportStatus,
    Role,
    RoleKind,
    Unit,
)
from storage.repositories.base import Repository, fixed_select


class Counts(NamedTuple):
    """A unit's counters in its whole subtree (or over some days): ideas submitted and
    approved by the team, initiatives recognised by the council and applied, and the
    summed measured benefit of the applied ones (VND a year)."""

    submitted: int = 0
    approved: int = 0
    recognised: int = 0
    applied: int = 0
    benefit: int = 0


class Target(NamedTuple):
    """The target that counts for a unit and measure: its own, or its children's sum."""

    target: int
    summed: bool


class ExportedIdea(NamedTuple):
    """One idea as an export shows it, with the names of its unit and the unit above
    (the names higher up are few: the export looks them up by ``grandparent_id`` once).
    ``author`` and ``body`` are None when confidential, and
    ``title`` None too when the worker did not type it (handlers/visibility.py). The
    council's outcome and the application come from ``idea_results`` (None: no such step)."""

    ref_code: str
    unit_name: str  # the idea's own unit,
    parent_id: int | None  # the unit above it,
    parent_name: str | None
    grandparent_id: int | None  # and the one above that
    title: str | None
    category: str
    status: str
    created_at: datetime
    updated_at: datetime
    benefit: str
    benefit_amount: int | None
    confidential: bool
    author: str | None
    body: str | None
    recognised: bool | None = None
    decision_no: str | None = None
    decision_date: date | None = None
    applied_on: date | None = None
    benefit_vnd: int | None = None


_CAMPAIGN_ON: Final = fixed_select(
    lambda *what: (
        select(*what)
        .where(Campaign.starts_on <= bindparam("day"), Campaign.ends_on >= bindparam("day"))
        .order_by(Campaign.starts_on)
        .limit(1)
    ),
    (Campaign,),
)
_COUNTERS = ("submitted", "approved", "recognised", "applied", "benefit")


class ProgressRepository(Repository):
    """Campaigns, quotas, the progress counters, digest subscriptions and report jobs.

    Counters (``progress_totals``, ``progress_daily``) hold one row per unit for the
    idea's own unit and every unit above it, so reading a unit's figures is a
    primary-key lookup whatever the size of its subtree (docs/PROGRESS.md).
    """

    # ------------------------------------------------------------ campaigns

    async def campaign(self, campaign_id: int) -> Campaign | None:
        return await self.session.get(Campaign, campaign_id)

    async def campaign_by_code(self, code: str) -> Campaign | None:
        query = select(Campaign).where(func.upper(Campaign.code) == code.upper()).limit(1)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def campaign_on(self, day: date) -> Campaign | None:
        """The campaign running on this (Vietnam) calendar day, if any."""
        found = await self._load(_CAMPAIGN_ON, {"day": day})
        return found[0][0] if found else None

    async def campaigns(self) -> list[Campaign]:
        """Every campaign, earliest first."""
        query = select(Campaign).order_by(Campaign.starts_on, Campaign.id)
        return list((await self.session.execute(query)).scalars())

    # ------------------------------------------------------------ counters

    async def bump(
        self,
        unit_ids: Sequence[int],
        campaign_id: int,
        day: date,
        *,
        submitted: int = 0,
        approved: int = 0,
        recognised: int = 0,
        applied: int = 0,
        benefit: int = 0,
    ) -> None:
        """Add to the counters of these units (an idea's unit and its ancestors).

        ``UPDATE … SET n = n + k`` through an upsert, in the caller's transaction: exact
        under concurrent writers. Rows are written in unit id order, so two
        transactions always lock them in the same order (no deadlock on PostgreSQL).
        """
        deltas = {
            "submitted": submitted,
            "approved": approved,
            "recognised": recognised,
            "applied": applied,
            "benefit": benefit,
        }
        if not unit_ids or not any(deltas.values()):
            return
        insert = self._insert()
        ids = sorted(set(unit_ids))
        base = {"campaign_id": campaign_id, **deltas}
        totals = insert(ProgressTotal).values([{"unit_id": u, **base} for u in ids])
        totals = totals.on_conflict_do_update(
            index_elements=[ProgressTotal.unit_id, ProgressTotal.campaign_id],
            set_={
                name: getattr(ProgressTotal, name) + getattr(totals.excluded, name)
                for name, delta in deltas.items()
                if delta
            },
        )
        await self.session.execute(totals)
        daily = insert(ProgressDaily).values([{"unit_id": u, "day": day, **base} for u in ids])
        daily = daily.on_conflict_do_update(
            index_elements=[ProgressDaily.unit_id, ProgressDaily.campaign_id, ProgressDaily.day],
            set_={
                name: getattr(ProgressDaily, name) + getattr(daily.excluded, name)
                for name, delta in deltas.items()
                if delta
            },
        )
        await self.session.execute(daily)

    async def totals(self, campaign_id: int, unit_ids: Sequence[int]) -> dict[int, Counts]:
        """The counts in each unit's subtree; units with none are left out."""
        if not unit_ids:
            return {}
        query = select(
            ProgressTotal.unit_id, *(getattr(ProgressTotal, name) for name in _COUNTERS)
        ).where(ProgressTotal.campaign_id == campaign_id, ProgressTotal.unit_id.in_(unit_ids))
        return {
            int(row[0]): Counts(*(int(v or 0) for v in row[1:]))
            for row in await self.session.execute(query)
        }

    async def since(
        self, campaign_id: int, unit_ids: Sequence[int], first_day: date
    ) -> dict[int, Counts]:
        """The counts from ``first_day`` on, per unit (net of any reversals)."""
        if not unit_ids:
            return {}
        query = (
            select(
                ProgressDaily.unit_id,
                *(func.sum(getattr(ProgressDaily, name)) for name in _COUNTERS),
            )
            .where(
                ProgressDaily.campaign_id == campaign_id,
                ProgressDaily.unit_id.in_(unit_ids),
                ProgressDaily.day >= first_day,
            )
            .group_by(ProgressDaily.unit_id)
        )
        return {
            int(row[0]): Counts(*(int(v or 0) for v in row[1:]))
            for row in await self.session.execute(query)
        }

    async def targets(
        self, campaign_id: int, unit_ids: Sequence[int]
    ) -> dict[int, dict[QuotaMeasure, Target]]:
        """The targets of each unit that has one, per measure (submitted, recognised)."""
        if not unit_ids:
            return {}
        query = select(
            QuotaTotal.unit_id, QuotaTotal.measure, QuotaTotal.target, QuotaTotal.summed
        ).where(QuotaTotal.campaign_id == campaign_id, QuotaTotal.unit_id.in_(unit_ids))
        found: dict[int, dict[QuotaMeasure, Target]] = {}
        for unit_id, measure, target, summed in await self.session.execute(query):
            found.setdefault(int(unit_id), {})[QuotaMeasure(measure)] = Target(
                int(target), bool(summed)
            )
        return found

    async def children(self, unit_id: int) -> list[Unit]:
        query = select(Unit).where(Unit.parent_id == unit_id).order_by(Unit.code)
        return list((await self.session.execute(query)).scalars())

    async def official_units(self, person_id: int) -> list[Unit]:
        """The units this person is an official of, highest first."""
        query = (
            select(Unit)
            .join(Role, Role.unit_id == Unit.id)
            .where(
                Role.person_id == person_id,
                Role.role == RoleKind.OFFICIAL.value,
                Role.revoked_at.is_(None),
            )
            .order_by(Unit.depth, Unit.code)
        )
        return list((await self.session.execute(query)).scalars())

    # ------------------------------------------------------------ digests

    async def subscription(self, person_id: int) -> DigestSubscription | None:
        return await self.session.get(DigestSubscription, person_id)

    async def subscribe(
        self, person_id: int, unit_id: int, *, now: datetime, last_slot: datetime
    ) -> bool:
        """Subscribe (or move the subscription to another unit); False if it was so already."""
        row = await self.session.get(DigestSubscription, person_id)
        if row is None:
            self.session.add(
                DigestSubscription(
                    person_id=person_id, unit_id=unit_id, subscribed_at=now, last_slot=last_slot
                )
            )
            return True
        if row.unit_id == unit_id:
            return False
        row.unit_id = unit_id
        return True

    async def unsubscribe(self, person_id: int) -> bool:
        row = await self.session.get(DigestSubscription, person_id)
        if row is None:
            return False
        await self.session.delete(row)
        return True

    async def digests_due(self, slot: datetime, *, limit: int) -> list[DigestSubscription]:
        query = (
            select(DigestSubscription)
            .where(or_(DigestSubscription.last_slot.is_(None), DigestSubscription.last_slot < slot))
            .order_by(DigestSubscription.person_id)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def claim_digest(self, person_id: int, slot: datetime) -> bool:
        """Mark this week's digest as taken; False if another pass took it first."""
        result = await self.session.execute(
            update(DigestSubscription)
            .where(
                DigestSubscription.person_id == person_id,
                or_(DigestSubscription.last_slot.is_(None), DigestSubscription.last_slot < slot),
            )
            .values(last_slot=slot)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    # ------------------------------------------------------------ report jobs

    async def add_job(self, job: ReportJob) -> ReportJob:
        self.session.add(job)
        await self.session.flush()
        return job

    async def pending_jobs(self, *, stale_before: datetime, limit: int) -> list[ReportJob]:
        """Jobs to do: pending ones, and ones a crashed worker started long ago."""
        query = (
            select(ReportJob)
            .where(
                or_(
                    ReportJob.status == ReportStatus.PENDING.value,
                    and_(
                        ReportJob.status == ReportStatus.WORKING.value,
                        ReportJob.started_at < stale_before,
                    ),
                )
            )
            .order_by(ReportJob.id)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def claim_job(self, job: ReportJob, *, now: datetime) -> bool:
        result = await self.session.execute(
            update(ReportJob)
            .where(
                ReportJob.id == job.id,
                ReportJob.status == job.status,
                or_(ReportJob.started_at.is_(None), ReportJob.started_at == job.started_at),
            )
            .values(status=ReportStatus.WORKING.value, started_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def job_waiting(self, person_id: int, kind: str, unit_id: int, campaign_id: int) -> bool:
        """Whether the same report for the same person is still being made."""
        query = select(func.count(ReportJob.id)).where(
            ReportJob.person_id == person_id,
            ReportJob.kind == kind,
            ReportJob.unit_id == unit_id,
            ReportJob.campaign_id == campaign_id,
            ReportJob.status.in_([ReportStatus.PENDING.value, ReportStatus.WORKING.value]),
        )
        return bool((await self.session.execute(query)).scalar_one())

    # ------------------------------------------------------------ exports

    def _in_subtree(self, path: str) -> Any:
        # The indexed range form of "path starts with" (docs/STORAGE.md).
        return and_(Unit.path >= path, Unit.path < path[:-1] + "0")

    async def count_in_subtree(self, path: str, campaign_id: int) -> int:
        query = (
            select(func.count(Idea.id))
            .join(Unit, Unit.id == Idea.unit_id)
            .where(self._in_subtree(path), Idea.campaign_id == campaign_id)
        )
        return int((await self.session.execute(query)).scalar_one())

    async def stream_ideas_in_subtree(
        self, path: str, campaign_id: int, *, limit: int, body_chars: int = 2000, page: int = 2000
    ) -> AsyncGenerator[list[ExportedIdea], None]:
        """The ideas of a subtree and campaign, newest first, as plain rows for an export,
        a page at a time.

        Only the columns an export shows are read, the text cut at ``body_chars``; a
        confidential idea's text and author are not read at all. One query, whose rows
        are fetched as they are taken (a server-side cursor): the whole export is never
        in memory at once. Other statements may run on the session between pages.
        """
        newest_first = await self._walk_newest_first(path, campaign_id, limit)
        query = self._export_query(
            path, campaign_id, limit=limit, body_chars=body_chars, newest_first=newest_first
        )
        result = await self.session.stream(query, execution_options={"yield_per": page})
        try:
            async for rows in result.partitions():
                yield [ExportedIdea._make(row) for row in rows]
        finally:
            await result.close()

    async def _walk_newest_first(self, path: str, campaign_id: int, limit: int) -> bool:
        """Whether SQLite should read the export along the ideas' time index, newest first,
        and stop at ``limit``, rather than find the subtree's ideas by unit and sort them.

        Along the time index it passes every idea of every campaign newer than the last
        one kept (about ``kept × everyone / subtree``); by unit it reads each idea of the
        subtree and sorts them (about ``subtree``). A national export of 100,000 of
        750,000 ideas takes 1.8 s the first way and 11 s the second; a province's 9,000
        ideas 3.1 s and 0.1 s. SQLite's planner cannot weigh this (it has no statistics
        of path ranges), so the counters decide. PostgreSQL's planner, which has, decides
        for itself.
        """
        if self.session.get_bind().dialect.name != "sqlite":
            return False
        unit_id = int(path.strip("/").split("/")[-1])
        subtree = (
            await self.session.execute(
                select(ProgressTotal.submitted).where(
                    ProgressTotal.unit_id == unit_id, ProgressTotal.campaign_id == campaign_id
                )
            )
        ).scalar()
        everyone = (
            await self.session.execute(
                select(func.sum(ProgressTotal.submitted))
                .join(Unit, Unit.id == ProgressTotal.unit_id)
                .where(Unit.parent_id.is_(None))
            )
        ).scalar()
        if not subtree or not everyone:
            return False
        return min(limit, subtree) * everyone <= subtree * subtree

    def _export_query(
        self, path: str, campaign_id: int, *, limit: int, body_chars: int, newest_first: bool
    ) -> Any:
        if newest_first:
            # "|| ''" keeps SQLite from reading the subtree by ix_units_path, so it walks
            # ix_ideas_created (created_at, id) from the newest idea and stops at the limit.
            unit_path = Unit.path + ""
            in_subtree = and_(unit_path >= path, unit_path < path[:-1] + "0")
        else:
            in_subtree = self._in_subtree(path)
        secret = Idea.confidential.is_(True)
        derived_title = and_(secret, Idea.title_given.is_(False))
        parent = aliased(Unit)
        return (
            select(
                Idea.ref_code,
                Unit.name,
                Unit.parent_id,
                parent.name,
                parent.parent_id,
                case((derived_title, None), else_=Idea.title),
                Idea.category,
                Idea.status,
                Idea.created_at,
                Idea.updated_at,
                Idea.benefit,
                Idea.benefit_amount,
                Idea.confidential,
                case((secret, None), else_=Person.display_name),
                case((secret, None), else_=func.substr(Idea.body, 1, body_chars)),
                IdeaResult.recognised,
                IdeaResult.decision_no,
                IdeaResult.decision_date,
                IdeaResult.applied_on,
                IdeaResult.benefit_vnd,
            )
            .join(Unit, Unit.id == Idea.unit_id)
            .outerjoin(parent, parent.id == Unit.parent_id)
            .outerjoin(Person, Person.id == Idea.author_id)
            .outerjoin(IdeaResult, IdeaResult.idea_id == Idea.id)
            .where(in_subtree, Idea.campaign_id == campaign_id)
            .order_by(Idea.created_at.desc(), Idea.id.desc())
            .limit(limit)
        )

    async def unit_paths(self, unit_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """Each unit's path and name."""
        found: dict[int, tuple[str, str]] = {}
        ids = sorted(set(unit_ids))
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            result = await self.session.execute(
                select(Unit.id, Unit.path, Unit.name).where(Unit.id.in_(chunk))
            )
            found.update((int(i), (p, n)) for i, p, n in result)
        return found

    async def finish_job(self, job_id: int, *, now: datetime, error: str | None = None) -> None:
        status = ReportStatus.FAILED if error else ReportStatus.DONE
        await self.session.execute(
            update(ReportJob)
            .where(ReportJob.id == job_id)
            .values(status=status.value, finished_at=now, error=error[:200] if error else None)
            .execution_options(synchronize_session=False)
        )
