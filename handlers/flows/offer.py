"""A message outside any flow: the answer to an open question, a long text offered as an
idea ("send this as an idea?"), else a pointer to what the bot does."""

from __future__ import annotations

from handlers.buttons import FlowPress
from handlers.context import Context
from handlers.events import OtherContent
from handlers.flows import answer, idea_form
from handlers.flows.common import stale
from handlers.limits import LONG_MESSAGE_CHARS
from handlers.textnorm import clean_user_text

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
    ctx.state.clear()
    await outside_flow(ctx)


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
    if await answer.begin_with_message(ctx):
        return
    if len(text) >= LONG_MESSAGE_CHARS:
        await begin(ctx, text)
        return
    if not text:
        ctx.reply(ctx.t("common.empty_message"))
        return
    ctx.reply(ctx.t("common.hint"))
