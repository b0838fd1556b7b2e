"""Sends each update to the flow that owns it: commands, buttons, then the chat's flow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from handlers.context import Context
from handlers.flows import (
    answer,
    basics,
    group,
    idea_form,
    join,
    link,
    my_ideas,
    offer,
    progress,
    triage,
)


class Flow(Protocol):
    async def on_message(self, ctx: Context) -> None: ...

    async def on_button(self, ctx: Context, args: list[str]) -> None: ...

    async def reprompt(self, ctx: Context) -> None: ...


FLOWS: dict[str, Flow] = {
    idea_form.FLOW: idea_form,
    join.FLOW: join,
    offer.FLOW: offer,
    triage.FLOW: triage,
    answer.FLOW: answer,
}

Command = Callable[[Context], Awaitable[None]]

COMMANDS: dict[str, Command] = {
    "start": join.start_command,
    "join": join.begin,
    "idea": idea_form.begin,
    "myideas": my_ideas.show,
    "cancel": basics.cancel,
    "help": basics.help_command,
    "lang": basics.language_command,
    "queue": triage.queue_command,
    "progress": progress.progress_command,
    "export": progress.export_command,
    "subscribe": progress.subscribe_command,
    "unsubscribe": progress.unsubscribe_command,
    "link": link.command,
}

# Buttons that do not belong to a flow instance: "g:<name>:<arg>".
GLOBAL_BUTTONS: dict[str, Callable[[Context, list[str]], Awaitable[None]]] = {
    "help": basics.help_page,
    "lang": basics.choose_language,
    "my": my_ideas.page,
    "queue": triage.queue_page,
}

# Buttons whose ids are checked against the database on every press.
RECORD_BUTTONS: dict[str, Callable[[Context, list[str]], Awaitable[None]]] = {
    "tr": triage.on_card_button,
    "ans": answer.begin_from_button,
    "pg": progress.on_button,
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
    await basics.outside_flow(ctx)


async def _route_button(ctx: Context, data: str) -> None:
    parts = data.split(":")
    if parts[0] in RECORD_BUTTONS:
        await RECORD_BUTTONS[parts[0]](ctx, parts[1:])
        return
    if parts[0] == "g" and len(parts) >= 2 and parts[1] in GLOBAL_BUTTONS:
        await GLOBAL_BUTTONS[parts[1]](ctx, parts[2:])
        return
    flow = FLOWS.get(parts[0])
    in_this_flow = flow is not None and parts[0] == ctx.state.flow and len(parts) >= 3
    if flow is not None and in_this_flow and parts[1] == ctx.state.nonce:
        await flow.on_button(ctx, parts[2:])
        return
    await stale_button(ctx)


async def stale_button(ctx: Context) -> None:
    """A button from an old message: say so, and show where the chat really is."""
    ctx.answer(ctx.t("common.stale_button"))
    flow = FLOWS.get(ctx.state.flow or "")
    if flow is not None:
        await flow.reprompt(ctx)
