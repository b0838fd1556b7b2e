"""The command line: ``python -m bot run | migrate | units import | invite | tryit``.

And for the officials' progress reports: ``campaigns add|list``, ``quotas import``,
``progress rebuild``, ``digest``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

app = typer.Typer(
    help="Sáng kiến bot: collects improvement ideas from union members over Telegram.",
    no_args_is_help=True,
    add_completion=False,
)
units_app = typer.Typer(help="Manage the union tree.", no_args_is_help=True)
app.add_typer(units_app, name="units")
campaigns_app = typer.Typer(help="Campaign phases (national).", no_args_is_help=True)
app.add_typer(campaigns_app, name="campaigns")
quotas_app = typer.Typer(help="Quotas per unit and campaign.", no_args_is_help=True)
app.add_typer(quotas_app, name="quotas")
progress_app = typer.Typer(help="The officials' progress figures.", no_args_is_help=True)
app.add_typer(progress_app, name="progress")
invites_app = typer.Typer(help="List and revoke invite links.", no_args_is_help=True)
app.add_typer(invites_app, name="invites")
console = Console(stderr=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        console.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


NOW_HELP = (
    "Act as if it were this time (ISO 8601, e.g. 2026-09-03T08:00 for a test); "
    "without a zone it is Vietnam time (UTC+7)"
)


def _moment(now: str | None) -> datetime:
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


async def _ready_engine(settings: Settings) -> AsyncEngine:
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
    settings = _settings()
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
    settings = _settings()
    asyncio.run(_tryit_mode()(settings))


@app.command()
def migrate() -> None:
    """Create or update the database schema to this version."""
    settings = _settings()
    from storage.schema import upgrade

    asyncio.run(upgrade(settings.database.url))
    console.print("The database schema is up to date.")


@units_app.command("import")
def units_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Load units from a CSV (code,name,kind,parent_code); nothing loads if any row is bad."""
    from storage.units_import import UnitsImportError, import_units

    _import_csv("units", file, import_units, UnitsImportError)


def _import_csv(
    what: str,
    file: Path,
    importer: Callable[..., Awaitable[object]],
    rejected: type[Exception],
) -> None:
    """Run a whole-file CSV import with a progress bar; a rejected file lists its bad rows."""
    settings = _settings()
    from storage.db import create_sessionmaker

    async def go() -> None:
        engine = await _ready_engine(settings)
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


@app.command()
def reminders(
    now: Annotated[str | None, typer.Option(help=NOW_HELP)] = None,
) -> None:
    """Remind teams of ideas left waiting, and tell the units above; the bot sends them."""
    settings = _settings()
    from bot.runtime.periodic import reminder_policy
    from handlers.i18n import Catalogue
    from handlers.reminders import run_reminders
    from storage.db import create_sessionmaker

    moment = _moment(now)

    async def go() -> None:
        engine = await _ready_engine(settings)
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


INVITE_DAYS_HELP = (
    "Days until it expires, 1-365. Default: member invites never expire; support, "
    "official and admin invites expire after invites.role_days (config.yaml, 7)"
)
INVITE_USES_HELP = "How many times it can be used, 1-100,000 (default: unlimited)"
JOINED_SHOWN = 10  # per invite in `invites list`; --all shows every one


def _invite_expiry(
    role: str, days: int | None, never_expires: bool, settings: Settings, now: datetime
) -> datetime | None:
    """When a new invite expires, or None; exits with code 2 on an impossible request."""
    from storage.invites import MAX_DAYS
    from storage.models import RoleKind

    if never_expires and days is not None:
        console.print(
            "[red]--never-expires and --days cannot be used together[/red]: "
            "choose one (--days 1-365, or --never-expires for a link that never expires)."
        )
        raise typer.Exit(2)
    if days is not None and not 1 <= days <= MAX_DAYS:
        console.print(
            f"[red]--days must be 1-{MAX_DAYS}[/red], not {days}. "
            "A link that should last longer is better issued again when it expires; "
            "--never-expires issues one that never does."
        )
        raise typer.Exit(2)
    if never_expires:
        return None
    if days is None:
        if role == RoleKind.MEMBER.value:
            return None  # posters on a factory wall: a member link keeps working
        days = settings.invites.role_days
    return now + timedelta(days=days)


@app.command()
def invite(
    unit: Annotated[str, typer.Option(help="The unit's code")],
    role: Annotated[str, typer.Option(help="member, support, official or admin")] = "member",
    uses: Annotated[int | None, typer.Option(help=INVITE_USES_HELP)] = None,
    days: Annotated[int | None, typer.Option(help=INVITE_DAYS_HELP)] = None,
    never_expires: Annotated[
        bool,
        typer.Option(
            "--never-expires",
            help="The link never expires (not with --days); for member posters it is "
            "the default already",
        ),
    ] = False,
    bot_username: Annotated[
        str | None, typer.Option(help="The bot's @username, for the link")
    ] = None,
    qr: Annotated[Path | None, typer.Option(help="Also write a QR code (PNG or SVG)")] = None,
    note: Annotated[str | None, typer.Option(help="A note for the records")] = None,
) -> None:
    """Issue an invite link: a worker joins the unit, or a person takes a role there."""
    settings = _settings()
    from storage.db import create_sessionmaker
    from storage.invites import MAX_USES
    from storage.models import RoleKind
    from storage.repositories.invites import InviteRepository
    from storage.repositories.units import UnitRepository

    try:
        role_kind = RoleKind(role)
    except ValueError as exc:
        console.print(f"[red]Unknown role {role!r}[/red]: use member, support, official or admin.")
        raise typer.Exit(2) from exc
    if uses is not None and not 1 <= uses <= MAX_USES:
        console.print(
            f"[red]--uses must be 1-{MAX_USES:,}[/red], not {uses}. "
            "Leave it out for a link anyone in the unit can use."
        )
        raise typer.Exit(2)
    expires = _invite_expiry(role_kind.value, days, never_expires, settings, datetime.now(UTC))

    async def go() -> str:
        engine = await _ready_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session:
                found = await UnitRepository(session).by_code(unit)
                if found is None:
                    console.print(f"[red]No unit with code {unit!r}.[/red]")
                    raise typer.Exit(1)
                token, _ = await InviteRepository(session).create(
                    unit_id=found.id,
                    role=role_kind,
                    max_uses=uses,
                    expires_at=expires,
                    note=note,
                )
                await session.commit()
                return token
        finally:
            await engine.dispose()

    token = asyncio.run(go())
    username = bot_username or _bot_username(settings) or "<your_bot>"
    link = f"https://t.me/{username}?start={token}"
    print(link)
    if role_kind is RoleKind.SUPPORT:
        print(f"For the team's group chat: https://t.me/{username}?startgroup={token}")
    console.print(
        f"Expires {_local_time(expires)} (Vietnam time)."
        if expires
        else "This link never expires; `invites revoke` stops it."
    )
    if qr is not None:
        import segno

        segno.make(link, error="m").save(str(qr), scale=8, border=2)
        console.print(f"QR code written to {qr}")


def _local_time(moment: datetime) -> str:
    from storage.progress import VIETNAM

    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


@invites_app.command("list")
def invites_list(
    unit: Annotated[str | None, typer.Option(help="Only this unit's invites")] = None,
    show_all: Annotated[
        bool,
        typer.Option("--all", help=f"Everyone who joined, not only the latest {JOINED_SHOWN}"),
    ] = False,
) -> None:
    """Invites with their unit, role, uses, state and who joined through them (Vietnam time).

    The tokens themselves are not stored.
    """
    settings = _settings()
    from rich.table import Table

    from storage.db import create_sessionmaker
    from storage.invites import invite_problem
    from storage.models import Invite, Unit
    from storage.repositories.invites import InviteRepository

    async def go() -> tuple[list[tuple[Invite, Unit]], dict[int, list[tuple[str, datetime]]]]:
        engine = await _ready_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session:
                invites = InviteRepository(session)
                rows = await invites.with_units(unit)
                return rows, await invites.redemptions([i.id for i, _ in rows])
        finally:
            await engine.dispose()

    now = datetime.now(UTC)
    table = Table("id", "unit", "role", "uses", "expires", "state", "note", "joined")
    rows, joined = asyncio.run(go())
    for found, found_unit in rows:
        problem = invite_problem(found, now)
        who = joined[found.id]
        shown = who if show_all else who[-JOINED_SHOWN:]
        lines = [f"{name} · {_local_time(when)}" for name, when in shown]
        if len(shown) < len(who):
            lines.insert(0, f"… {len(who) - len(shown)} earlier (--all)")
        table.add_row(
            str(found.id),
            found_unit.code,
            found.role,
            f"{found.uses}/{found.max_uses or '∞'}",
            _local_time(found.expires_at) if found.expires_at else "never",
            problem.value if problem else "usable",
            found.note or "",
            "\n".join(lines),
            end_section=True,
        )
    Console().print(table)


@invites_app.command("revoke")
def invites_revoke(invite_id: Annotated[int, typer.Argument(help="The invite's id")]) -> None:
    """Revoke an invite: its link stops working at once; who joined with it stays."""
    settings = _settings()
    from storage.db import create_sessionmaker
    from storage.repositories.invites import InviteRepository

    async def go() -> bool:
        engine = await _ready_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session:
                found = await InviteRepository(session).revoke(invite_id, datetime.now(UTC))
                await session.commit()
                return found is not None
        finally:
            await engine.dispose()

    if not asyncio.run(go()):
        console.print(f"[red]No invite with id {invite_id}.[/red]")
        raise typer.Exit(1)
    print(f"Invite {invite_id} revoked.")


# ---------------------------------------------------------------- progress (issue #4)


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        console.print(f"[red]{option} must be a date YYYY-MM-DD[/red], not {value!r}")
        raise typer.Exit(2) from exc


@campaigns_app.command("add")
def campaigns_add(
    code: Annotated[str, typer.Argument(help="A short code, e.g. 2026-P1")],
    name: Annotated[str, typer.Option(help="The name officials see")],
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD (Vietnam)")],
    end: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD (Vietnam), included")],
) -> None:
    """Add a campaign phase; ideas count toward the phase they were submitted in."""
    settings = _settings()
    from storage.db import create_sessionmaker
    from storage.progress import CampaignError, add_campaign

    starts_on, ends_on = _day(start, "--start"), _day(end, "--end")

    async def go() -> None:
        engine = await _ready_engine(settings)
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
    settings = _settings()
    from storage.db import create_sessionmaker
    from storage.uow import UnitOfWork

    async def go() -> None:
        engine = await _ready_engine(settings)
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
    """Load quotas from a CSV (unit_code,campaign,target); nothing loads if any row is bad."""
    from storage.quotas_import import QuotasImportError, import_quotas

    _import_csv("quotas", file, import_quotas, QuotasImportError)


@progress_app.command("rebuild")
def progress_rebuild() -> None:
    """Recompute every progress counter and quota total (after units were moved)."""
    settings = _settings()
    from storage.db import create_sessionmaker
    from storage.progress import rebuild_progress

    async def go() -> None:
        engine = await _ready_engine(settings)
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


@app.command()
def digest(
    now: Annotated[str | None, typer.Option(help=NOW_HELP)] = None,
) -> None:
    """Queue the weekly progress digest for every subscriber it is due for; the bot sends them."""
    settings = _settings()
    from bot.runtime.periodic import digest_policy
    from handlers.digest import run_digest
    from handlers.i18n import Catalogue
    from storage.db import create_sessionmaker

    moment = _moment(now)

    async def go() -> None:
        engine = await _ready_engine(settings)
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


@app.command()
def prune(
    now: Annotated[str | None, typer.Option(help=NOW_HELP)] = None,
) -> None:
    """Delete handled update ids and inbox rows older than retention.days; the bot does it
    every retention.check_minutes."""
    settings = _settings()
    from storage.db import create_sessionmaker
    from storage.retention import prune as prune_old

    moment = _moment(now)

    async def go() -> None:
        engine = await _ready_engine(settings)
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


def _bot_username(settings: Settings) -> str | None:
    if not settings.telegram.token:
        return None
    from bot.telegram.channel import make_telegram

    async def ignore(_incoming: object) -> None:
        return None

    async def ask() -> str:
        telegram = make_telegram(settings)
        try:
            return await telegram.start(ignore)
        finally:
            await telegram.close()

    try:
        return asyncio.run(ask())
    except Exception:
        return None


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
