"""Group chats: a support team's group gets the cards and triages them there; a
council's group gets the council's cards (their ``lc:`` buttons go to
:mod:`handlers.flows.lifecycle`, whose handlers say what a group may do).

Anything else the bot is told in a group is answered with a pointer to the
private chat. With privacy mode on, the bot only sees commands, replies to its
own messages and button presses here.
"""

from __future__ import annotations

import logging

from handlers import buttons, visibility
from handlers.buttons import CardPress, GroupLanguagePress, LifecyclePress
from handlers.context import Context
from handlers.events import Button
from handlers.flows import dashboard, join, lifecycle, triage
from handlers.flows.common import stale
from storage.models import RoleKind

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
        await _route_button(ctx, incoming.button)
        return
    if incoming.command == "start" and incoming.command_args:
        await join.redeem_in_group(ctx, incoming.command_args.strip())
        return
    if incoming.command == "lang":
        ctx.reply(
            ctx.t("group.lang_choose"),
            [[Button(label, GroupLanguagePress(code).pack())] for code, label in LANGUAGES.items()],
        )
        return
    if incoming.command == "queue":
        await triage.queue_command(ctx)
        return
    if incoming.command == "dashboard":  # the link is personal: refused here, politely
        await dashboard.dashboard_command(ctx)
        return
    if incoming.command == "cancel" and ctx.state.flow == triage.FLOW:
        ctx.state.clear()
        ctx.reply(ctx.t("common.cancelled_short"))
        return
    if ctx.state.flow == triage.FLOW and incoming.command is None:
        await triage.on_message(ctx)
        return
    if incoming.command is not None:
        ctx.reply(ctx.t("group.private_only_link", bot=ctx.bot_name))


async def _route_button(ctx: Context, data: str) -> None:
    """Only card buttons (the team's and the council's) and the group's language work here."""
    # A bare "tr" or "glang" is no button of ours: only data with fields is read.
    kind = buttons.kind_of(data) if buttons.SEPARATOR in data else None
    press = kind.unpack(data) if kind is not None else None
    match press:
        case CardPress():
            await triage.on_card_button(ctx, press)
        case LifecyclePress():
            await lifecycle.on_press(ctx, press)
        case GroupLanguagePress():
            await choose_group_language(ctx, press.lang)
        case None if kind in (CardPress, LifecyclePress):
            stale(ctx)
        case None if kind is GroupLanguagePress:
            ctx.answer(ctx.t("group.lang_not_allowed"), alert=True)
        case _:
            ctx.answer(ctx.t("group.private_only"), alert=True)


LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}


async def choose_group_language(ctx: Context, lang: str) -> None:
    """The language of a team group's cards: chosen by a member of that team only."""
    bound = await ctx.uow.teams.by_chat(ctx.incoming.channel, ctx.incoming.chat.external_id)
    viewer = await visibility.load_viewer(ctx.uow, ctx.person.id)
    team_member = (
        bound is not None
        and bound.body == "team"
        and any(role.unit_id == bound.unit_id for role in viewer.roles_of(RoleKind.SUPPORT.value))
    )
    if lang not in LANGUAGES or not team_member:
        ctx.answer(ctx.t("group.lang_not_allowed"), alert=True)
        return
    await ctx.uow.teams.set_language(ctx.incoming.channel, ctx.incoming.chat.external_id, lang)
    log.info("group %s: cards now in %s", ctx.incoming.chat.external_id, lang)
    ctx.answer()
    ctx.show(ctx.catalogue.for_lang(lang)("group.lang_set", language=LANGUAGES[lang]))
