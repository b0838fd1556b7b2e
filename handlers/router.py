"""Sends each update to the flow that owns it: commands, buttons, then the chat's flow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers import buttons
from handlers.buttons import (
    AnswerPress,
    CardPress,
    FlowPress,
    GlobalPress,
    LifecyclePress,
    ProgressPress,
)
from handlers.context import Context
from handlers.flows import (
    announce,
    answer,
    applied,
    basics,
    council,
    dashboard,
    duplicate,
    group,
    idea_form,
    join,
    lifecycle,
    link,
    my_ideas,
    offer,
    progress,
    team_admin,
    triage,
)
from handlers.flows.common import stale
from handlers.flows.registry import BEGINS, FLOWS, Command

FLOWS.update(
    {
        idea_form.FLOW: idea_form,
        join.FLOW: join,
        offer.FLOW: offer,
        triage.FLOW: triage,
        answer.FLOW: answer,
        council.FLOW: council,
        applied.FLOW: applied,
        announce.FLOW: announce,
        team_admin.FLOW: team_admin,
    }
)
BEGINS[idea_form.FLOW] = idea_form.begin
# A card's "mark as duplicate" actions, pressed in a private chat or a team's group
# (both reach triage.on_card_button, which authorises every press first).
triage.ACTIONS.update(duplicate.ACTIONS)

COMMANDS: dict[str, Command] = {
    "start": join.start_command,
    "join": join.begin,
    "idea": idea_form.begin,
    "myideas": my_ideas.show,
    "cancel": basics.cancel,
    "help": basics.help_command,
    "lang": basics.language_command,
    "queue": triage.queue_command,
    "council": council.council_command,
    "team": team_admin.team_command,
    "announce": announce.announce_command,
    "mute": announce.mute_command,
    "unmute": announce.unmute_command,
    "progress": progress.progress_command,
    "export": progress.export_command,
    "subscribe": progress.subscribe_command,
    "unsubscribe": progress.unsubscribe_command,
    "link": link.command,
    "dashboard": dashboard.dashboard_command,
}

# Buttons that do not belong to a flow instance, by name; each gets the press's value.
GLOBAL_BUTTONS: dict[str, Callable[[Context, str], Awaitable[None]]] = {
    "help": basics.help_page,
    "lang": basics.choose_language,
    "my": my_ideas.page,
    "queue": triage.queue_page,
    "council": council.council_page,
}


async def route(ctx: Context) -> None:
    incoming = ctx.incoming
    if incoming.chat.kind != "private":
        await group.route(ctx)
        return
    if incoming.button is not None:
        await _route_button(ctx, incoming.button)
        return
    if incoming.command is not None:
        command = COMMANDS.get(incoming.command)
        if command is None:
            ctx.reply(ctx.t("common.unknown_command", command=incoming.command))
            return
        await command(ctx)
        return
    flow = FLOWS.get(ctx.state.flow or "")
    if flow is not None:
        await flow.on_message(ctx)
        return
    await offer.outside_flow(ctx)


async def _route_button(ctx: Context, data: str) -> None:
    """Card, answer and progress buttons carry ids checked against the database on every
    press; a flow's buttons are taken only while that very flow instance is open."""
    kind = buttons.kind_of(data)
    press = kind.unpack(data)
    match press:
        case CardPress():
            await triage.on_card_button(ctx, press)
        case AnswerPress():
            await answer.begin_from_button(ctx, press)
        case ProgressPress():
            await progress.on_button(ctx, press)
        case LifecyclePress():
            await lifecycle.on_press(ctx, press)
        case GlobalPress(name=name) if name in GLOBAL_BUTTONS:
            await GLOBAL_BUTTONS[name](ctx, press.value)
        case FlowPress(flow=name) if name == ctx.state.flow and press.nonce == ctx.state.nonce:
            flow = FLOWS.get(name)
            if flow is None:
                await stale_button(ctx)
                return
            await flow.on_button(ctx, press)
        case None if kind is AnswerPress:
            answer.no_question(ctx)
        case None if kind in (CardPress, ProgressPress, LifecyclePress):
            stale(ctx)
        case _:
            await stale_button(ctx)


async def stale_button(ctx: Context) -> None:
    """A button from an old message: say so, and show where the chat really is."""
    ctx.answer(ctx.t("common.stale_button"))
    flow = FLOWS.get(ctx.state.flow or "")
    if flow is not None:
        await flow.reprompt(ctx)
