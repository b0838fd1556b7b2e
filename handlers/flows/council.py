"""(being written: issue #18)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers.buttons import FlowPress, LifecyclePress
from handlers.context import Context

FLOW = "council"

PRESSES: dict[str, Callable[[Context, LifecyclePress], Awaitable[None]]] = {}


async def on_message(ctx: Context) -> None:
    ctx.state.clear()


async def on_button(ctx: Context, press: FlowPress) -> None:
    ctx.answer(ctx.t("common.stale_button"))


async def reprompt(ctx: Context) -> None:
    ctx.state.clear()


async def council_command(ctx: Context) -> None:
    """/council: the ideas waiting for the person's council (being written)."""
    ctx.reply(ctx.t("common.unknown_command", command="council"))
