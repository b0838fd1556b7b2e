"""The officials' progress figures (issue #4): ``campaigns add|list``, ``quotas import``,
``progress rebuild``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bot.cli.common import console, day, import_csv, ready_engine, settings_or_exit

campaigns_app = typer.Typer(help="Campaign phases (national).", no_args_is_help=True)
quotas_app = typer.Typer(help="Quotas per unit and campaign.", no_args_is_help=True)
progress_app = typer.Typer(help="The officials' progress figures.", no_args_is_help=True)


@campaigns_app.command("add")
def campaigns_add(
    code: Annotated[str, typer.Argument(help="A short code, e.g. 2026-P1")],
    name: Annotated[str, typer.Option(help="The name officials see")],
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD (Vietnam)")],
    end: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD (Vietnam), included")],
) -> None:
    """Add a campaign phase; ideas count toward the phase they were submitted in."""
    settings = settings_or_exit()
    from storage.db import create_sessionmaker
    from storage.progress import CampaignError, add_campaign

    starts_on, ends_on = day(start, "--start"), day(end, "--end")

    async def go() -> None:
        engine = await ready_engine(settings)
        try:
            campaign, adopted = await add_campaign(
                create_sessionmaker(engine),
                code=code,
                name=name,
                starts_on=starts_on,
                ends_on=ends_on,
            )
        except CampaignError as exc:
            console.print(f"[red]The campaign was not added:[/red] {exc}")
            raise typer.Exit(1) from exc
        finally:
            await engine.dispose()
        print(
            f"Campaign {campaign.code} added: {campaign.starts_on:%d/%m/%Y}–"
            f"{campaign.ends_on:%d/%m/%Y}; {adopted} earlier ideas counted toward it."
        )

    asyncio.run(go())


@campaigns_app.command("list")
def campaigns_list() -> None:
    """List the campaign phases, earliest first."""
    settings = settings_or_exit()
    from storage.db import create_sessionmaker
    from storage.uow import UnitOfWork

    async def go() -> None:
        engine = await ready_engine(settings)
        try:
            async with UnitOfWork(create_sessionmaker(engine)) as uow:
                for c in await uow.progress.campaigns():
                    print(f"{c.code}\t{c.starts_on:%Y-%m-%d}\t{c.ends_on:%Y-%m-%d}\t{c.name}")
        finally:
            await engine.dispose()

    asyncio.run(go())


@quotas_app.command("import")
def quotas_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Load quotas from a CSV (unit_code,campaign,target[,measure]); a bad row loads nothing."""
    from storage.quotas_import import QuotasImportError, import_quotas

    import_csv("quotas", file, import_quotas, QuotasImportError)


@progress_app.command("rebuild")
def progress_rebuild() -> None:
    """Recompute every progress counter and quota total (after units were moved)."""
    settings = settings_or_exit()
    from storage.db import create_sessionmaker
    from storage.progress import rebuild_progress

    async def go() -> None:
        engine = await ready_engine(settings)
        try:
            with Progress(
                TextColumn("Rebuilding"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
            ) as progress:
                task = progress.add_task("rebuild", total=None)

                def on_progress(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                result = await rebuild_progress(create_sessionmaker(engine), on_progress)
            print(f"Rebuilt: {result}.")
        finally:
            await engine.dispose()

    asyncio.run(go())
