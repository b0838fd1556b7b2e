"""(being written: issue #19)"""

from __future__ import annotations

from handlers.buttons import FlowPress
from handlers.context import Context

FLOW = "announce"


async def on_message(ctx: Context) -> None:
    ctx.state.clear()


async def on_button(ctx: Context, press: FlowPress) -> None:
    ctx.answer(ctx.t("common.stale_button"))


async def reprompt(ctx: Context) -> None:
    ctx.state.clear()


async def announce_command(ctx: Context) -> None:
    ctx.reply(ctx.t("common.unknown_command", command="announce"))


async def mute_command(ctx: Context) -> None:
    ctx.reply(ctx.t("common.unknown_command", command="mute"))


async def unmute_command(ctx: Context) -> None:
    ctx.reply(ctx.t("common.unknown_command", command="unmute"))
