"""Group chats: the bot works with people in private chats; in groups it only points the way."""

from __future__ import annotations

from handlers.context import Context


async def route(ctx: Context) -> None:
    incoming = ctx.incoming
    if incoming.button is not None:
        ctx.answer(ctx.t("group.private_only"), alert=True)
        return
    if incoming.command in ("start", "help", "idea", "myideas"):
        ctx.reply(ctx.t("group.private_only_link", bot=ctx.bot.username))
