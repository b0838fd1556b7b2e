"""The periodic passes beside the channels: reminders, reports and digests, retention,
announcements, the weekly nudges.

Each loops until the bot's stop event, sleeping between passes; :func:`stop_periodic`
lets the pass in hand finish at a stop. The command line runs single passes with the
same policies (``python -m bot reminders | digest | nudges | prune``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.runtime.polling import sleep_unless
from bot.runtime.sender import OutboxSender
from handlers.announcements import run_announcements
from handlers.digest import DigestPolicy, run_digest
from handlers.dispatch import utc_now
from handlers.i18n import Catalogue
from handlers.nudges import NudgePolicy, run_nudges
from handlers.reminders import ReminderPolicy, run_reminders
from handlers.reports.jobs import ReportSettings, run_report_jobs
from storage.retention import prune

log = logging.getLogger(__name__)

# How long a reminder, report or digest pass in hand may take to finish at a stop.
PERIODIC_STOP_SECONDS = 10.0
# How often due announcements are looked for (and finished ones reported): an
# announcement sent "now" starts within this; the look is one indexed query.
ANNOUNCE_CHECK_SECONDS = 3.0


def reminder_policy(settings: Settings) -> ReminderPolicy:
    return ReminderPolicy(
        working_days=settings.reminders.working_days,
        apply_working_days=settings.reminders.apply_working_days,
        council_quorum=settings.council.quorum,
        weekdays=settings.reminders.weekday_numbers,
        extra_days_off=settings.reminders.extra_day_dates,
        team_inactive_days=settings.team.inactive_days,
    )


def digest_policy(settings: Settings) -> DigestPolicy:
    return DigestPolicy(weekday=settings.digest.weekday_number, hour=settings.digest.hour)


def nudge_policy(settings: Settings) -> NudgePolicy:
    """The nudge moment from ``nudges:`` in config.yaml (``python -m bot nudges`` too)."""
    return NudgePolicy(weekday=settings.nudges.weekday_number, hour=settings.nudges.hour)


def report_settings(settings: Settings) -> ReportSettings:
    return ReportSettings(
        directory=Path(settings.reports.directory),
        export_max_rows=settings.reports.export_max_rows,
    )


def start_periodic(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    sender: OutboxSender,
    stop: asyncio.Event,
) -> list[asyncio.Task[None]]:
    """Start the loops; :func:`stop_periodic` them once ``stop`` is set."""
    return [
        asyncio.create_task(
            remind_periodically(settings, sessionmaker, catalogue, sender, stop),
            name="reminders",
        ),
        asyncio.create_task(
            report_periodically(settings, sessionmaker, catalogue, sender, stop),
            name="reports",
        ),
        asyncio.create_task(prune_periodically(settings, sessionmaker, stop), name="retention"),
        asyncio.create_task(
            announce_periodically(settings, sessionmaker, catalogue, sender, stop),
            name="announcements",
        ),
        asyncio.create_task(
            nudge_periodically(settings, sessionmaker, catalogue, sender, stop),
            name="nudges",
        ),
    ]


async def nudge_periodically(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    sender: OutboxSender,
    stop: asyncio.Event,
) -> None:
    """Queue each week's nudges once they are due (a pass at any time sends a week's
    nudges once, also after the bot was down at that hour), until ``stop``."""
    if not settings.nudges.enabled:
        return
    policy = nudge_policy(settings)
    while not stop.is_set():
        try:
            result = await run_nudges(sessionmaker, catalogue, utc_now(), policy)
            if result.teams or result.officials:
                sender.wake()
        except Exception:
            log.exception("the nudge pass failed; trying again at the next one")
        if await sleep_unless(stop, settings.nudges.check_minutes * 60):
            return


async def stop_periodic(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Let the periodic passes see the stop and finish the pass in hand (a transaction
    cancelled half-way leaves its connection to be rolled back by nobody); cancel what
    still runs after ``PERIODIC_STOP_SECONDS``."""
    for task in tasks:
        try:
            await asyncio.wait_for(task, PERIODIC_STOP_SECONDS)
        except TimeoutError:
            log.warning("%s did not stop in time; its pass was cut short", task.get_name())
        except Exception:
            log.exception("%s failed while stopping", task.get_name())


async def remind_periodically(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    sender: OutboxSender,
    stop: asyncio.Event,
) -> None:
    """Look for ideas left waiting every few minutes, until ``stop``; the sender delivers
    what is due."""
    policy = reminder_policy(settings)
    while not stop.is_set():
        try:
            result = await run_reminders(sessionmaker, catalogue, utc_now(), policy)
            if result.notifications:
                sender.wake()
        except Exception:
            log.exception("the reminder pass failed; trying again at the next one")
        if await sleep_unless(stop, settings.reminders.check_minutes * 60):
            return


async def report_periodically(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    sender: OutboxSender,
    stop: asyncio.Event,
) -> None:
    """Make the charts and spreadsheets asked for; send the weekly digest when it is due;
    until ``stop``."""
    reports, policy = report_settings(settings), digest_policy(settings)
    next_digest_check = 0.0
    while not stop.is_set():
        try:
            if await run_report_jobs(sessionmaker, catalogue, reports):
                sender.wake()
        except Exception:
            log.exception("the report pass failed; trying again at the next one")
        if time.monotonic() >= next_digest_check:
            next_digest_check = time.monotonic() + settings.digest.check_minutes * 60
            try:
                digest = await run_digest(sessionmaker, catalogue, utc_now(), policy)
                if digest.sent:
                    sender.wake()
            except Exception:
                log.exception("the digest pass failed; trying again at the next one")
        if await sleep_unless(stop, settings.reports.check_seconds):
            return


async def prune_periodically(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], stop: asyncio.Event
) -> None:
    """Delete handled update ids and inbox rows past ``retention.days`` every
    ``retention.check_minutes``, until ``stop`` (storage/retention.py). The first pass
    waits one interval, so that a restarted bot takes in its inbox before any of it can
    be judged too old."""
    keep = timedelta(days=settings.retention.days)
    while not await sleep_unless(stop, settings.retention.check_minutes * 60):
        try:
            result = await prune(
                sessionmaker, utc_now(), keep=keep, keep_going=lambda: not stop.is_set()
            )
        except Exception:
            log.exception("the retention pass failed; trying again at the next one")
            continue
        if result.never_handled:
            log.warning(
                "retention: %d inbox updates older than %d days were never handled; dropped",
                result.never_handled,
                settings.retention.days,
            )
        if result.processed or result.inbox:
            log.info(
                "retention: %d handled update ids and %d inbox rows deleted",
                result.processed,
                result.inbox,
            )


async def announce_periodically(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    sender: OutboxSender,
    stop: asyncio.Event,
) -> None:
    """Queue due announcements' messages and report finished ones, until ``stop``
    (handlers/announcements.py); the sender delivers them behind every reply."""
    paid = settings.send_limits.allow_paid_broadcast
    while not stop.is_set():
        try:
            result = await run_announcements(
                sessionmaker, catalogue, utc_now(), paid=paid, keep_going=lambda: not stop.is_set()
            )
            if result.queued or result.finished:
                sender.wake()
        except Exception:
            log.exception("the announcement pass failed; trying again at the next one")
        if await sleep_unless(stop, ANNOUNCE_CHECK_SECONDS):
            return
