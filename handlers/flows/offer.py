"""A message outside any flow: the answer to an open question, a long text offered as an
idea ("send this as an idea?"), else a pointer to what the bot does."""

from __future__ import annotations

from handlers.buttons import FlowPress
from handlers.context import Context
from handlers.events import OtherContent
from handlers.flows import answer, idea_form
from handlers.flows.common import Step, stale
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
    # Any action but yes declines, as it always has.
    await STEPS[STEP].on_button.get(press.action, _no)(ctx, press.value)


async def _yes(ctx: Context, _: str) -> None:
    ctx.answer()
    await idea_form.begin_with_text(ctx, str(ctx.state.data.get("text", "")), edit=True)


async def _no(ctx: Context, _: str) -> None:
    ctx.answer()
    ctx.state.clear()
    ctx.show(ctx.t("offer.declined"))


async def on_message(ctx: Context) -> None:
    """Anything else sent while the question is open drops it and is handled afresh."""
    ctx.state.clear()
    await outside_flow(ctx)


# "Send this as an idea?": yes → the idea form, the text its first part; no → dropped.
STEPS = {STEP: Step(on_message=on_message, on_button={"yes": _yes, "no": _no})}


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
