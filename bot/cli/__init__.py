"""The command line: ``python -m bot run | tryit | migrate | units import`` are here; the
other commands live with their group: ``invites`` (``invite``, ``invites list|revoke``),
``progress`` (the officials' progress reports: ``campaigns add|list``, ``quotas import``,
``progress rebuild``), ``passes`` (one pass of ``reminders``, ``digest``, ``nudges``,
``prune``), and what they share in ``common``. A command imports the storage and runtime
modules it needs when it runs: each loads only what it uses.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable, Coroutine
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli.common import console, import_csv, settings_or_exit
from bot.cli.invites import invite, invites_app
from bot.cli.passes import digest, nudges, prune, reminders
from bot.cli.progress import campaigns_app, progress_app, quotas_app
from bot.config import Settings
from bot.logs import configure_logging

app = typer.Typer(
    help="Sáng kiến bot: collects improvement ideas from union members over Telegram.",
    no_args_is_help=True,
    add_completion=False,
)
units_app = typer.Typer(help="Manage the union tree.", no_args_is_help=True)
app.add_typer(units_app, name="units")
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(quotas_app, name="quotas")
app.add_typer(progress_app, name="progress")
app.add_typer(invites_app, name="invites")


@app.command()
def run(
    framework: Annotated[
        str | None, typer.Option(help="aiogram or ptb (overrides telegram.framework)")
    ] = None,
    webhook: Annotated[
        bool,
        typer.Option(
            "--webhook",
            help="Receive Telegram updates by webhook (telegram.webhook_* settings) "
            "instead of long polling",
        ),
    ] = False,
) -> None:
    """Run the bot. Without a token, start the local try-it-out mode instead."""
    started = time.monotonic()
    settings = settings_or_exit()
    configure_logging(settings.logging.level)
    if framework:
        from dataclasses import replace

        settings = replace(settings, telegram=replace(settings.telegram, framework=framework))
    if webhook and (problem := settings.telegram.webhook_problem()) is not None:
        console.print(f"[red]Configuration error:[/red] {problem}")
        raise typer.Exit(2)
    if not settings.telegram.token and not settings.zalo.active:
        console.print(
            "No TELEGRAM_BOT_TOKEN set: starting the local try-it-out mode (no Telegram needed)."
        )
        asyncio.run(_tryit_mode()(settings))
        return
    # Imported here: the runtime (SQLAlchemy, Alembic, a messenger framework) is for this
    # command only, and other commands start faster without it (docs/BENCHMARKS.md).
    from bot.app import SchemaNotReady, run_bot
    from bot.telegram.channel import WebhookNotSet

    try:
        asyncio.run(run_bot(settings, webhook=webhook, started_at=started))
    except (SchemaNotReady, WebhookNotSet) as exc:
        console.print(f"[red]The bot cannot start:[/red] {exc}")
        raise typer.Exit(3) from exc


def _tryit_mode() -> Callable[[Settings], Coroutine[Any, Any, None]]:
    """The try-it-out mode, found by its entry point: it lives beside the product, with the
    stand-ins it runs the bot against (``standins.tryit``), which the product never imports."""
    for entry in entry_points(group="sangkien_bot.modes", name="tryit"):
        mode: Callable[[Settings], Coroutine[Any, Any, None]] = entry.load()
        return mode
    console.print(
        "[red]The try-it-out mode is not installed[/red] (package standins); "
        "install the project with scripts/setup.sh, or set TELEGRAM_BOT_TOKEN."
    )
    raise typer.Exit(2)


@app.command()
def tryit() -> None:
    """Try the bot in this terminal: a local Bot API stand-in and a chat, no Telegram."""
    settings = settings_or_exit()
    asyncio.run(_tryit_mode()(settings))


@app.command()
def migrate() -> None:
    """Create or update the database schema to this version."""
    settings = settings_or_exit()
    from storage.schema import upgrade

    asyncio.run(upgrade(settings.database.url))
    console.print("The database schema is up to date.")


@units_app.command("import")
def units_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Load units from a CSV (code,name,kind,parent_code); nothing loads if any row is bad."""
    from storage.units_import import UnitsImportError, import_units

    import_csv("units", file, import_units, UnitsImportError)


# The commands from the groups' modules, in the order --help lists them.
app.command()(reminders)
app.command()(invite)
app.command()(digest)
app.command()(nudges)
app.command()(prune)


#: Environment set for the libraries before any of them is imported: the bot is one event
#: loop, and numpy (the similar ideas' scoring; the charts through matplotlib) does no
#: linear algebra here. Its OpenBLAS would otherwise start a thread a core at import,
#: spinning for a while after each use: 0.1 s of CPU at the first lookup instead of
#: 0.04 (docs/BENCHMARKS.md, "The fourth round"). An operator's own value is kept.
LIBRARY_ENVIRONMENT = {"OPENBLAS_NUM_THREADS": "1"}


def main() -> None:
    for name, value in LIBRARY_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
