"""One pass of the bot's periodic work, run by hand: ``reminders``, ``digest``,
``nudges``, ``prune``; the running bot makes them itself (bot/runtime/periodic.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import NOW_HELP, moment_of, ready_engine, settings_or_exit
from bot.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    Pass = Callable[[async_sessionmaker[AsyncSession]], Awaitable[str]]


def _run_once(settings: Settings, work: Pass) -> None:
    """Run one pass on a schema-checked engine and print the line it returns."""

    async def go() -> str:
        from storage.db import create_sessionmaker

        engine = await ready_engine(settings)
        try:
            return await work(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    print(asyncio.run(go()))


def reminders(
    now: Annotated[str | None, typer.Option(help=NOW_HELP)] = None,
) -> None:
    """Remind teams of ideas left waiting, and tell the units above; the bot sends them."""
    settings = settings_or_exit()
    from bot.runtime.periodic import reminder_policy
    from handlers.i18n import Catalogue
    from handlers.reminders import run_reminders

    moment = moment_of(now)

    async def work(sessions: async_sessionmaker[AsyncSession]) -> str:
        result = await run_reminders(
            sessions,
            Catalogue.load(),
            moment,
            reminder_policy(settings),
            queue_time=datetime.now(UTC),
        )
        return f"{result.reminded} reminded, {result.escalated} escalated."

    _run_once(settings, work)


def digest(
    now: Annotated[str | None, typer.Option(help=NOW_HELP)] = None,
) -> None:
    """Queue the weekly progress digest for every subscriber it is due for; the bot sends them."""
    settings = settings_or_exit()
    from bot.runtime.periodic import digest_policy
    from handlers.digest import run_digest
    from handlers.i18n import Catalogue

    moment = moment_of(now)

    async def work(sessions: async_sessionmaker[AsyncSession]) -> str:
        result = await run_digest(
            sessions,
            Catalogue.load(),
            moment,
            digest_policy(settings),
            queue_time=datetime.now(UTC),
        )
        return f"{result.sent} digests queued, {result.skipped} skipped."

    _run_once(settings, work)


def nudges(
    now: Annotated[str | None, typer.Option(help=NOW_HELP)] = None,
) -> None:
    """Queue this week's nudges for support teams behind their pro-rata quota, and their
    officials' lists, if not sent yet; the bot sends them."""
    settings = settings_or_exit()
    from bot.runtime.periodic import nudge_policy
    from handlers.i18n import Catalogue
    from handlers.nudges import run_nudges

    moment = moment_of(now)

    async def work(sessions: async_sessionmaker[AsyncSession]) -> str:
        result = await run_nudges(
            sessions,
            Catalogue.load(),
            moment,
            nudge_policy(settings),
            queue_time=datetime.now(UTC),
        )
        return (
            f"{result.teams} teams nudged, {result.officials} officials told, "
            f"{result.on_track} units on track (week of {result.week.isoformat()})."
        )

    _run_once(settings, work)


def prune(
    now: Annotated[str | None, typer.Option(help=NOW_HELP)] = None,
) -> None:
    """Delete handled update ids and inbox rows older than retention.days; the bot does it
    every retention.check_minutes."""
    settings = settings_or_exit()
    from storage.retention import prune as prune_old

    moment = moment_of(now)

    async def work(sessions: async_sessionmaker[AsyncSession]) -> str:
        keep = timedelta(days=settings.retention.days)
        result = await prune_old(sessions, moment, keep=keep)
        return (
            f"{result.processed} handled update ids and {result.inbox} inbox rows "
            f"({result.never_handled} never handled) deleted."
        )

    _run_once(settings, work)
