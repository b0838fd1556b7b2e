"""One pass of the bot's periodic work, run by hand: ``reminders``, ``digest``,
``prune``; the running bot makes them itself (bot/runtime/periodic.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from bot.cli.common import NOW_HELP, moment_of, ready_engine, settings_or_exit


def reminders(
    now: Annotated[str | None, typer.Option(help=NOW_HELP)] = None,
) -> None:
    """Remind teams of ideas left waiting, and tell the units above; the bot sends them."""
    settings = settings_or_exit()
    from bot.runtime.periodic import reminder_policy
    from handlers.i18n import Catalogue
    from handlers.reminders import run_reminders
    from storage.db import create_sessionmaker

    moment = moment_of(now)

    async def go() -> None:
        engine = await ready_engine(settings)
        try:
            result = await run_reminders(
                create_sessionmaker(engine),
                Catalogue.load(),
                moment,
                reminder_policy(settings),
                queue_time=datetime.now(UTC),
            )
        finally:
            await engine.dispose()
        print(f"{result.reminded} reminded, {result.escalated} escalated.")

    asyncio.run(go())


def digest(
    now: Annotated[str | None, typer.Option(help=NOW_HELP)] = None,
) -> None:
    """Queue the weekly progress digest for every subscriber it is due for; the bot sends them."""
    settings = settings_or_exit()
    from bot.runtime.periodic import digest_policy
    from handlers.digest import run_digest
    from handlers.i18n import Catalogue
    from storage.db import create_sessionmaker

    moment = moment_of(now)

    async def go() -> None:
        engine = await ready_engine(settings)
        try:
            result = await run_digest(
                create_sessionmaker(engine),
                Catalogue.load(),
                moment,
                digest_policy(settings),
                queue_time=datetime.now(UTC),
            )
        finally:
            await engine.dispose()
        print(f"{result.sent} digests queued, {result.skipped} skipped.")

    asyncio.run(go())


def prune(
    now: Annotated[str | None, typer.Option(help=NOW_HELP)] = None,
) -> None:
    """Delete handled update ids and inbox rows older than retention.days; the bot does it
    every retention.check_minutes."""
    settings = settings_or_exit()
    from storage.db import create_sessionmaker
    from storage.retention import prune as prune_old

    moment = moment_of(now)

    async def go() -> None:
        engine = await ready_engine(settings)
        try:
            keep = timedelta(days=settings.retention.days)
            result = await prune_old(create_sessionmaker(engine), moment, keep=keep)
        finally:
            await engine.dispose()
        print(
            f"{result.processed} handled update ids and {result.inbox} inbox rows "
            f"({result.never_handled} never handled) deleted."
        )

    asyncio.run(go())
