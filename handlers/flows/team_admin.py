"""(being written: issue #19)"""

from __future__ import annotations

from handlers.buttons import FlowPress
from handlers.context import Context

FLOW = "team"


async def on_message(ctx: Context) -> None:
    ctx.state.clear()


async def on_button(ctx: Context, press: FlowPress) -> None:
    ctx.answer(ctx.t("common.stale_button"))


async def reprompt(ctx: Context) -> None:
    ctx.state.clear()


async def team_command(ctx: Context) -> None:
    ctx.reply(ctx.t("common.unknown_command", command="team"))
