"""Group chats: a support team's group gets the cards and triages them there.

Anything else the bot is told in a group is answered with a pointer to the
private chat. With privacy mode on, the bot only sees commands, replies to its
own messages and button presses here.
"""

from __future__ import annotations

import logging

from handlers.context import Context
from handlers.flows import join, triage

log = logging.getLogger(__name__)


async def route(ctx: Context) -> None:
    incoming = ctx.incoming
    if incoming.bot_removed_from_group:
        if await ctx.uow.teams.unbind(incoming.channel, incoming.chat.external_id):
            log.info("group %s unbound: the bot was removed", incoming.chat.external_id)
        return
    if incoming.bot_added_to_group:
        return  # the startgroup link's "/start TOKEN" follows; nothing to say yet
    if incoming.button is not None:
        if incoming.button.startswith("tr:"):
            await triage.on_card_button(ctx, incoming.button.split(":")[1:])
        else:
            ctx.answer(ctx.t("group.private_only"), alert=True)
        return
    if incoming.command == "start" and incoming.command_args:
        await join.redeem_in_group(ctx, incoming.command_args.strip())
        return
    if incoming.command == "queue":
        await triage.queue_command(ctx)
        return
    if incoming.command == "cancel" and ctx.state.flow == triage.FLOW:
        ctx.state.clear()
        ctx.reply(ctx.t("common.cancelled_short"))
        return
    if ctx.state.flow == triage.FLOW and incoming.command is None:
        await triage.on_message(ctx)
        return
    if incoming.command is not None:
        ctx.reply(ctx.t("group.private_only_link", bot=ctx.bot.username))
