"""What the command groups share: the console, the settings, ``--now``, a database at this
version's schema, whole-file CSV imports, dates and times as people write them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bot.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

console = Console(stderr=True)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        console.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


NOW_HELP = (
    "Act as if it were this time (ISO 8601, e.g. 2026-09-03T08:00 for a test); "
    "without a zone it is Vietnam time (UTC+7)"
)


def moment_of(now: str | None) -> datetime:
    """``--now`` as a moment: a time without a zone is Vietnam time, as the docs say."""
    try:
        moment = datetime.fromisoformat(now) if now else datetime.now(UTC)
    except ValueError as exc:
        console.print(f"[red]--now must be an ISO 8601 time[/red], not {now!r}")
        raise typer.Exit(2) from exc
    if moment.tzinfo is None:
        from storage.progress import VIETNAM

        moment = moment.replace(tzinfo=VIETNAM)
    return moment.astimezone(UTC)


async def ready_engine(settings: Settings) -> AsyncEngine:
    """An engine on the configured database, once its schema is this version's; if it
    is not (never migrated, out of date), say what to run and exit 2."""
    from storage.db import create_engine
    from storage.schema import check_schema

    engine = create_engine(settings.database.url)
    try:
        status = await check_schema(engine)
    except BaseException:
        await engine.dispose()
        raise
    if not status.ok:
        await engine.dispose()
        console.print(f"[red]The database is not ready.[/red] {status.message}", highlight=False)
        raise typer.Exit(2)
    return engine


def import_csv(
    what: str,
    file: Path,
    importer: Callable[..., Awaitable[object]],
    rejected: type[Exception],
) -> None:
    """Run a whole-file CSV import with a progress bar; a rejected file lists its bad rows."""
    settings = settings_or_exit()
    from storage.db import create_sessionmaker

    async def go() -> None:
        engine = await ready_engine(settings)
        try:
            with Progress(
                TextColumn(f"Importing {what}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
            ) as progress:
                task = progress.add_task("import", total=None)

                def on_progress(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                result = await importer(create_sessionmaker(engine), file, on_progress=on_progress)
            console.print(f"[green]{result}[/green]")
        except rejected as exc:
            errors = list(getattr(exc, "errors", []))
            console.print(f"[red]Nothing was imported.[/red] {len(errors)} bad row(s):")
            for error in errors:
                console.print(f"  {error}", markup=False)
            raise typer.Exit(1) from exc
        finally:
            await engine.dispose()

    asyncio.run(go())


def local_time(moment: datetime) -> str:
    from storage.progress import VIETNAM

    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


def day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        console.print(f"[red]{option} must be a date YYYY-MM-DD[/red], not {value!r}")
        raise typer.Exit(2) from exc
