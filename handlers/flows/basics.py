"""Help, language, cancel, and what to say to a message outside any flow."""

from __future__ import annotations

from handlers import menus
from handlers.context import Context
from handlers.events import Button, OtherContent
from handlers.flows import offer
from handlers.flows.common import global_button
from handlers.limits import LONG_MESSAGE_CHARS
from handlers.textnorm import clean_user_text

LANGUAGES = ("vi", "en")


# The help of each role beyond the worker's (whose help is the two pages).
ROLE_HELP = {menus.SUPPORT: "help.support", menus.OFFICIAL: "help.official"}


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


async def outside_flow(ctx: Context) -> None:
    """A message with no flow to go to: offer a long text as an idea, else point the way."""
    incoming = ctx.incoming
    text = clean_user_text(incoming.text or "")
    if incoming.files:
        ctx.reply(ctx.t("common.files_outside_flow"))
        return
    if incoming.other is not None:
        key = "common.sticker" if incoming.other is OtherContent.STICKER else "common.unsupported"
        ctx.reply(ctx.t(key))
        return
    from handlers.flows import answer

    if await answer.begin_with_message(ctx):
        return
    if len(text) >= LONG_MESSAGE_CHARS:
        await offer.begin(ctx, text)
        return
    if not text:
        ctx.reply(ctx.t("common.empty_message"))
        return
    ctx.reply(ctx.t("common.hint"))
