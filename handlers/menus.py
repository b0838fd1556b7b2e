"""Which commands a person has, by the roles they hold: for /help and the command menu.

Everyone is a worker; a support role adds the support team's commands and an official
role the officials'. The command menu of a person's private chat is set from the same
lists (a :class:`~handlers.events.CommandMenu` in the outbox), in their language,
whenever their roles or their language change; the messenger's default menu (set at
start-up) is the workers'.
"""

from __future__ import annotations

from collections.abc import Sequence

from handlers.context import Context
from handlers.events import CommandMenu, OutMessage
from handlers.i18n import Translator
from storage.models import Person, RoleKind
from storage.uow import UnitOfWork

WORKER = "worker"
SUPPORT = RoleKind.SUPPORT.value
OFFICIAL = RoleKind.OFFICIAL.value
COUNCIL = RoleKind.COUNCIL.value

#: Each role's commands, in the order the menu shows them (a person's menu: worker's
#: first, then support's, then officials').
COMMANDS: dict[str, tuple[str, ...]] = {
    WORKER: ("idea", "myideas", "help", "lang", "cancel", "join"),
    SUPPORT: ("queue", "team", "announce", "dashboard"),
    COUNCIL: ("council",),
    OFFICIAL: ("progress", "export", "announce", "subscribe", "unsubscribe", "dashboard"),
}
ROLE_ORDER = (WORKER, SUPPORT, COUNCIL, OFFICIAL)


async def roles_of(uow: UnitOfWork, person: Person) -> tuple[str, ...]:
    """The roles whose commands the person has, worker first."""
    held = {role.role for role, _ in await uow.roles.roles_of(person.id)}
    if RoleKind.CHAIR.value in held:  # the chair is a member of the council
        held.add(COUNCIL)
    return tuple(r for r in ROLE_ORDER if r == WORKER or r in held)


def commands_for(roles: Sequence[str]) -> tuple[str, ...]:
    # A command two roles share (announce) once, where the first of them puts it.
    return tuple(
        dict.fromkeys(name for role in ROLE_ORDER if role in roles for name in COMMANDS[role])
    )


def menu_message(t: Translator, roles: Sequence[str]) -> OutMessage:
    """The outbox entry that sets a chat's command menu for these roles, in ``t``'s language;
    an official or a support member's menu button opens the dashboard (where the bot
    has its Mini App: the messenger's adapter knows)."""
    commands = commands_for(roles)
    app_label = t("dashboard.menu_button") if "dashboard" in commands else ""
    menu = CommandMenu(tuple((name, t(f"commands.{name}")) for name in commands), app_label)
    return OutMessage(text="", menu=menu)


async def refresh(ctx: Context) -> None:
    """Set the menu of the person's private chats to their roles' commands, in their language.

    From a private chat the menu goes with the replies; from a group (binding it to a
    team) to the person's private chats, never to the group (whose menu is everyone's).
    """
    roles = await roles_of(ctx.uow, ctx.person)
    if ctx.chat.kind == "private":
        set_here(ctx, roles)
        return
    await ctx.notify([ctx.person.id], lambda t: menu_message(t, roles))


def set_here(ctx: Context, roles: Sequence[str]) -> None:
    """Set this private chat's menu before the replies go (the answer stays the last word)."""
    ctx.replies.insert(0, menu_message(ctx.t, roles))
