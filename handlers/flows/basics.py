"""Help, language and cancel."""

from __future__ import annotations

from handlers import menus
from handlers.context import Context
from handlers.events import Button
from handlers.flows.common import global_button

LANGUAGES = ("vi", "en")


# The help of each role beyond the worker's (whose help is the two pages).
ROLE_HELP = {
    menus.SUPPORT: "help.support",
    menus.COUNCIL: "help.council",
    menus.OFFICIAL: "help.official",
}


async def help_command(ctx: Context) -> None:
    page = 2 if ctx.incoming.command_args.strip() == "2" else 1
    roles = await menus.roles_of(ctx.uow, ctx.person)
    ctx.reply(*_help(ctx, page, roles))
    if len(roles) > 1 and ctx.chat.kind == "private":
        # Someone given a role before menus followed roles gets theirs now.
        menus.set_here(ctx, roles)


async def help_page(ctx: Context, value: str) -> None:
    page = 2 if value == "2" else 1
    ctx.answer()
    ctx.show(*_help(ctx, page, await menus.roles_of(ctx.uow, ctx.person)))


def _help(ctx: Context, page: int, roles: tuple[str, ...]) -> tuple[str, list[list[Button]]]:
    """The worker's help, and on its first page the commands of every other role held."""
    t = ctx.t
    if page == 2:
        return t("help.page2"), [[global_button(t("help.back"), "help", 1)]]
    sections = [t("help.page1"), *(t(ROLE_HELP[r]) for r in roles if r in ROLE_HELP)]
    if ctx.bot.dashboard_url and any(r in roles for r in (menus.OFFICIAL, menus.SUPPORT)):
        sections.append(t("dashboard.help"))
    return "\n\n".join(sections), [[global_button(t("help.next"), "help", 2)]]


async def cancel(ctx: Context) -> None:
    if ctx.state.flow is None:
        ctx.reply(ctx.t("common.nothing_to_cancel"))
        return
    ctx.state.clear()
    ctx.reply(ctx.t("common.cancelled"))


async def language_command(ctx: Context) -> None:
    wanted = ctx.incoming.command_args.strip().lower()
    if wanted in LANGUAGES:
        await _set_language(ctx, wanted)
        return
    ctx.reply(
        ctx.t("lang.choose"),
        [[global_button("Tiếng Việt", "lang", "vi"), global_button("English", "lang", "en")]],
    )


async def choose_language(ctx: Context, value: str) -> None:
    if value not in LANGUAGES:
        ctx.answer(ctx.t("common.stale_button"))
        return
    ctx.answer()
    await _set_language(ctx, value, edit=True)


async def _set_language(ctx: Context, lang: str, *, edit: bool = False) -> None:
    ctx.person.language = lang
    ctx.lang = lang
    text = ctx.t("lang.set")
    if edit:
        ctx.show(text)
    else:
        ctx.reply(text)
    if ctx.chat.kind == "private":  # the menu, in the language just chosen
        await menus.refresh(ctx)
