"""A long message sent outside any flow: "send this as an idea?"."""

from __future__ import annotations

from handlers.buttons import FlowPress
from handlers.context import Context
from handlers.flows import idea_form
from handlers.flows.common import stale

FLOW = "offer"
STEP = "confirm"


async def begin(ctx: Context, text: str) -> None:
    ctx.state.start(FLOW, STEP, text=text)
    await reprompt(ctx)


async def reprompt(ctx: Context) -> None:
    ctx.reply(
        ctx.t("offer.ask"),
        [[ctx.button(ctx.t("offer.yes"), STEP, "yes"), ctx.button(ctx.t("offer.no"), STEP, "no")]],
    )


async def on_button(ctx: Context, press: FlowPress) -> None:
    if press.step != STEP or not press.action:
        stale(ctx)
        return
    ctx.answer()
    text = str(ctx.state.data.get("text", ""))
    if press.action == "yes":
        await idea_form.begin_with_text(ctx, text, edit=True)
    else:
        ctx.state.clear()
        ctx.show(ctx.t("offer.declined"))


async def on_message(ctx: Context) -> None:
    """Anything else sent while the question is open drops it and is handled afresh."""
    from handlers.flows import basics

    ctx.state.clear()
    await basics.outside_flow(ctx)
