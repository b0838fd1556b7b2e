"""Invite links: ``invite`` issues one, ``invites list`` and ``invites revoke``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.cli.common import console, local_time, ready_engine, settings_or_exit
from bot.config import Settings
from handlers.bots import MAIN_ROUTE, serving_route

invites_app = typer.Typer(help="List and revoke invite links.", no_args_is_help=True)

ROLES_TEXT = "member, support, official, admin, council or council_chair"
INVITE_DAYS_HELP = (
    "Days until it expires, 1-365. Default: member invites never expire; every role "
    "invite (support, official, admin, council, council_chair) expires after "
    "invites.role_days (config.yaml, 7)"
)
# Roles whose invite can also bind a group chat (?startgroup=): the support team's
# group, or the initiative council's.
GROUP_ROLES = ("support", "council", "council_chair")
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


def invite(
    unit: Annotated[str, typer.Option(help="The unit's code")],
    role: Annotated[
        str,
        typer.Option(
            help=f"{ROLES_TEXT}: council makes a member of the unit's initiative council "
            "(Hội đồng sáng kiến), council_chair its chair, who records the outcome"
        ),
    ] = "member",
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
    settings = settings_or_exit()
    from storage.db import create_sessionmaker
    from storage.invites import MAX_USES
    from storage.models import RoleKind
    from storage.repositories.invites import InviteRepository
    from storage.repositories.units import UnitRepository

    try:
        role_kind = RoleKind(role)
    except ValueError as exc:
        console.print(f"[red]Unknown role {role!r}[/red]: use {ROLES_TEXT}.")
        raise typer.Exit(2) from exc
    if uses is not None and not 1 <= uses <= MAX_USES:
        console.print(
            f"[red]--uses must be 1-{MAX_USES:,}[/red], not {uses}. "
            "Leave it out for a link anyone in the unit can use."
        )
        raise typer.Exit(2)
    expires = _invite_expiry(role_kind.value, days, never_expires, settings, datetime.now(UTC))

    async def go() -> tuple[str, str]:
        engine = await ready_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session:
                units = UnitRepository(session)
                found = await units.by_code(unit)
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
                # The bot that serves the unit (several bots in a deployment: handlers.bots).
                return token, await serving_route(units, settings.telegram.unit_routes, found)
        finally:
            await engine.dispose()

    token, route = asyncio.run(go())
    username = bot_username or _bot_username(settings, route) or "<your_bot>"
    link = f"https://t.me/{username}?start={token}"
    print(link)
    if role_kind is RoleKind.SUPPORT:
        print(f"For the team's group chat: https://t.me/{username}?startgroup={token}")
    elif role_kind.value in GROUP_ROLES:
        print(f"For the council's group chat: https://t.me/{username}?startgroup={token}")
    console.print(
        f"Expires {local_time(expires)} (Vietnam time)."
        if expires
        else "This link never expires; `invites revoke` stops it."
    )
    if qr is not None:
        import segno

        segno.make(link, error="m").save(str(qr), scale=8, border=2)
        console.print(f"QR code written to {qr}")


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
    settings = settings_or_exit()
    from rich.table import Table

    from storage.db import create_sessionmaker
    from storage.invites import invite_problem
    from storage.models import Invite, Unit
    from storage.repositories.invites import InviteRepository

    async def go() -> tuple[list[tuple[Invite, Unit]], dict[int, list[tuple[str, datetime]]]]:
        engine = await ready_engine(settings)
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
        lines = [f"{name} · {local_time(when)}" for name, when in shown]
        if len(shown) < len(who):
            lines.insert(0, f"… {len(who) - len(shown)} earlier (--all)")
        table.add_row(
            str(found.id),
            found_unit.code,
            found.role,
            f"{found.uses}/{found.max_uses or '∞'}",
            local_time(found.expires_at) if found.expires_at else "never",
            problem.value if problem else "usable",
            found.note or "",
            "\n".join(lines),
            end_section=True,
        )
    Console().print(table)


@invites_app.command("revoke")
def invites_revoke(invite_id: Annotated[int, typer.Argument(help="The invite's id")]) -> None:
    """Revoke an invite: its link stops working at once; who joined with it stays."""
    settings = settings_or_exit()
    from storage.db import create_sessionmaker
    from storage.repositories.invites import InviteRepository

    async def go() -> bool:
        engine = await ready_engine(settings)
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


def _bot_username(settings: Settings, route: str = MAIN_ROUTE) -> str | None:
    """The username of the bot of ``route`` (asked of Telegram with its token)."""
    if not settings.telegram.token:
        return None
    bot = next((b for b in settings.telegram.bots if b.route == route), None)
    from bot.telegram.channel import make_telegram

    async def ignore(_incoming: object) -> None:
        return None

    async def ask() -> str:
        telegram = make_telegram(settings, bot)
        try:
            return await telegram.start(ignore)
        finally:
            await telegram.close()

    try:
        return asyncio.run(ask())
    except Exception as exc:  # the link is still printed, with a placeholder to fill in
        console.print(f"[yellow]Could not ask Telegram for the bot's name ({exc!r:.200}).[/yellow]")
        return None
