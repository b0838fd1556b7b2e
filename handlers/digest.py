"""The weekly digest: each subscribed official gets their /progress once a week.

The moment is ``digest.weekday`` at ``digest.hour`` o'clock, Vietnam time. A pass
(run every few minutes by the bot, or ``python -m bot digest --now …``) finds the
latest such moment not after ``now`` (the *slot*) and sends the digest to every
subscription whose ``last_slot`` is older, recording the slot in the same
transaction as the queued message: however often the pass runs, and across
restarts, a subscriber gets one digest per slot. A subscription starts with
``last_slot`` = the moment of subscribing, so the first digest is the next slot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.context import PRIORITY_BULK, Scope
from handlers.events import OutMessage
from handlers.i18n import Catalogue, Translator
from handlers.reports.view import default_campaign, load_view, render
from storage.models import DigestSubscription, RoleKind
from storage.progress import VIETNAM, vietnam_day
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

BATCH = 25  # subscriptions per transaction: each is a handful of key lookups
PURPOSE = "digest"


@dataclass(frozen=True, slots=True)
class DigestPolicy:
    weekday: int = 0  # Monday is 0
    hour: int = 8  # Vietnam time


@dataclass(slots=True)
class DigestRun:
    slot: datetime
    sent: int = 0
    skipped: int = 0  # no longer an official of the unit, or no campaign


def latest_slot(now: datetime, policy: DigestPolicy) -> datetime:
    """The latest scheduled digest moment at or before ``now``."""
    local = now.astimezone(VIETNAM)
    days_back = (local.weekday() - policy.weekday) % 7
    slot = datetime.combine(local.date() - timedelta(days=days_back), time(policy.hour), VIETNAM)
    if slot > local:
        slot -= timedelta(days=7)
    return slot.astimezone(now.tzinfo)


async def run_digest(
    sessionmaker: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    now: datetime,
    policy: DigestPolicy,
    *,
    queue_time: datetime | None = None,
) -> DigestRun:
    """Send the digests due at ``now``; messages are queued for ``queue_time`` (default now)."""
    run = DigestRun(latest_slot(now, policy))
    while True:
        async with UnitOfWork(sessionmaker) as uow:
            due = await uow.progress.digests_due(run.slot, limit=BATCH)
            if not due:
                break
            scope = Scope(uow=uow, catalogue=catalogue, now=now, queue_time=queue_time)
            for subscription in due:
                # The claim is a conditional UPDATE: a second pass (or process) gets 0 rows.
                if not await uow.progress.claim_digest(subscription.person_id, run.slot):
                    continue
                if await _send(scope, subscription):
                    run.sent += 1
                else:
                    run.skipped += 1
            await uow.commit()
    if run.sent or run.skipped:
        log.info("digest for %s: %d sent, %d skipped", run.slot, run.sent, run.skipped)
    return run


async def _send(scope: Scope, subscription: DigestSubscription) -> bool:
    uow = scope.uow
    person = await uow.people.get(subscription.person_id)
    unit = await uow.units.get(subscription.unit_id)
    if person is None or unit is None:
        return False
    official = RoleKind.OFFICIAL.value
    if not await uow.roles.holds(person_id=person.id, unit=unit, role=official):
        log.info("digest skipped: person %s is no longer an official of %s", person.id, unit.id)
        return False
    today = vietnam_day(scope.now)
    campaign = await default_campaign(uow, today)
    if campaign is None:
        return False
    view = await load_view(uow, unit, campaign, today)
    parent = await uow.units.get(unit.parent_id) if unit.parent_id is not None else None
    if parent is not None and not await uow.roles.holds(
        person_id=person.id, unit=parent, role=official
    ):
        parent = None

    def message(t: Translator) -> OutMessage:
        text, buttons = render(t, view, up=parent)
        return OutMessage(t("digest.header") + "\n\n" + text, buttons=tuple(map(tuple, buttons)))

    return bool(await scope.notify([person.id], message, purpose=PURPOSE, priority=PRIORITY_BULK))
