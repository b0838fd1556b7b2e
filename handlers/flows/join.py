"""Joining a union unit: by invite deep link in one tap, or by searching code or name."""

from __future__ import annotations

import logging
import re

from handlers import menus
from handlers.buttons import FlowPress
from handlers.context import Context
from handlers.flows.common import Step, parse_id, press_in, stale, unit_label
from handlers.flows.registry import BEGINS, FLOWS
from handlers.limits import MAX_DEEP_LINK_PAYLOAD, MAX_SEARCH_QUERY_CHARS, UNIT_SEARCH_RESULTS
from handlers.textnorm import clean_user_text, fold, truncate
from storage import invites
from storage.models import Invite, RoleKind, Unit, UnitKind

log = logging.getLogger(__name__)

FLOW = "join"
STEP = "search"
JOINABLE = {UnitKind.GRASSROOTS.value, UnitKind.TEAM.value}
# Invites that bind a group (?startgroup=), and whose group it becomes (TeamChat.body).
GROUP_BODIES = {
    RoleKind.SUPPORT.value: "team",
    RoleKind.COUNCIL.value: "council",
    RoleKind.CHAIR.value: "council",
}
TOKEN_PATTERN = re.compile(rf"^[A-Za-z0-9_-]{{8,{MAX_DEEP_LINK_PAYLOAD}}}$")
BUTTON_LABEL_CHARS = 60


async def start_command(ctx: Context) -> None:
    payload = ctx.incoming.command_args.strip()
    if payload:
        await redeem(ctx, payload)
        return
    if ctx.person.unit_id is None:
        ctx.reply(ctx.t("start.welcome_new", name=ctx.person.display_name))
        await begin(ctx)
        return
    unit = await ctx.uow.units.get(ctx.person.unit_id)
    label = await unit_label(ctx, unit) if unit else "?"
    ctx.reply(ctx.t("start.welcome_back", name=ctx.person.display_name, unit=label))


async def begin(ctx: Context, *, after: str | None = None) -> None:
    """Ask for the unit; ``after`` names the flow to continue with once joined."""
    if ctx.state.flow == "idea":  # /join in the middle of an idea: never drop the draft
        ctx.reply(ctx.t("idea.already_open"))
        await FLOWS["idea"].reprompt(ctx)
        return
    ctx.state.start(FLOW, STEP, after=after)
    ctx.reply(ctx.t("join.ask_unit"))


async def reprompt(ctx: Context) -> None:
    ctx.reply(ctx.t("join.ask_unit"))


async def on_message(ctx: Context) -> None:
    text = clean_user_text(ctx.incoming.text or "")
    if not text:
        ctx.reply(ctx.t("join.need_text"))
        return
    if len(text) > MAX_SEARCH_QUERY_CHARS:
        ctx.reply(ctx.t("join.query_too_long", limit=MAX_SEARCH_QUERY_CHARS))
        return
    units = await _find(ctx, text)
    if not units:
        ctx.reply(ctx.t("join.none_found", query=text))
        return
    buttons = []
    for unit in units:
        label = truncate(await unit_label(ctx, unit), BUTTON_LABEL_CHARS)
        buttons.append([ctx.button(label, STEP, "pick", unit.id)])
    ctx.reply(ctx.t("join.pick"), buttons)


async def _find(ctx: Context, text: str) -> list[Unit]:
    by_code = await ctx.uow.units.by_code_folded(text.strip())
    if by_code is not None and by_code.kind in JOINABLE:
        return [by_code]
    words = fold(text).split()
    return await ctx.uow.units.search(words, limit=UNIT_SEARCH_RESULTS)


async def on_button(ctx: Context, press: FlowPress) -> None:
    await press_in(ctx, STEPS, press)


async def _again(ctx: Context, _: str) -> None:
    ctx.answer()
    ctx.show(ctx.t("join.ask_unit"))


async def _joinable(ctx: Context, value: str) -> tuple[Unit, str] | None:
    """The unit a button names, if it may be joined; else None, answered as stale."""
    unit_id = parse_id(value)
    # The unit id in the button is only a hint: check it again here.
    unit = await ctx.uow.units.get(unit_id) if unit_id is not None else None
    if unit is None or unit.kind not in JOINABLE:
        stale(ctx)
        return None
    ctx.answer()
    return unit, await unit_label(ctx, unit)


async def _pick(ctx: Context, value: str) -> None:
    found = await _joinable(ctx, value)
    if found is None:
        return
    unit, label = found
    ctx.show(
        ctx.t("join.confirm", unit=label),
        [
            [ctx.button(ctx.t("join.yes"), STEP, "yes", unit.id)],
            [ctx.button(ctx.t("join.again"), STEP, "again")],
        ],
    )


async def _join(ctx: Context, value: str) -> None:
    found = await _joinable(ctx, value)
    if found is None:
        return
    unit, label = found
    after = ctx.state.data.get("after")
    ctx.person.unit_id = unit.id
    ctx.state.clear()
    ctx.show(ctx.t("join.joined", unit=label))
    if after == "idea":
        await BEGINS["idea"](ctx)


# The search: a code or words typed → the units found, each a button; a tap → "join this
# one?"; yes → joined (and on to the idea form if that is what needed a unit), or search again.
STEPS = {
    STEP: Step(on_message=on_message, on_button={"pick": _pick, "yes": _join, "again": _again}),
}


async def redeem(ctx: Context, token: str) -> None:
    """Open an invite: join its unit, or take the role it grants there."""
    found = None
    if TOKEN_PATTERN.match(token):
        found = await ctx.uow.invites.redeem_lookup(token, ctx.now)
    if not isinstance(found, Invite):
        problem = found.value if isinstance(found, invites.InviteProblem) else "unknown"
        log.info("invite refused: %s", problem)
        key = {"expired": "invite.expired", "used_up": "invite.used_up"}.get(
            problem, "invite.invalid"
        )
        ctx.reply(ctx.t(key))
        return
    invite = found
    unit = await ctx.uow.units.get(invite.unit_id)
    if unit is None:
        ctx.reply(ctx.t("invite.invalid"))
        return
    label = await unit_label(ctx, unit)
    if invite.role == RoleKind.MEMBER.value and ctx.person.unit_id == unit.id:
        ctx.reply(ctx.t("invite.already_member", unit=label))
        return
    if not await ctx.uow.invites.record_use(invite, person_id=ctx.person.id, now=ctx.now):
        ctx.reply(ctx.t("invite.used_up"))
        return
    if invite.role == RoleKind.MEMBER.value:
        ctx.person.unit_id = unit.id
        if ctx.state.flow == FLOW:
            ctx.state.clear()
        ctx.reply(ctx.t("invite.joined", unit=label))
        return
    await ctx.uow.roles.grant(
        person_id=ctx.person.id, unit_id=unit.id, role=invite.role, now=ctx.now
    )
    if (
        invite.role == RoleKind.SUPPORT.value
        and ctx.person.unit_id is None
        and unit.kind in JOINABLE
    ):
        ctx.person.unit_id = unit.id
    ctx.reply(ctx.t(f"invite.role_{invite.role}", unit=label))
    await menus.refresh(ctx)


async def redeem_in_group(ctx: Context, token: str) -> None:
    """A support invite opened as ``?startgroup=``: this group becomes the team's chat;
    a council or chair invite makes it the unit's council group (scoring itself stays
    in each member's private chat: a group never scores)."""
    found = None
    if TOKEN_PATTERN.match(token):
        found = await ctx.uow.invites.redeem_lookup(token, ctx.now)
    if not isinstance(found, Invite):
        ctx.reply(ctx.t("invite.invalid_group"))
        return
    body = GROUP_BODIES.get(found.role)
    if body is None:
        ctx.reply(ctx.t("invite.private_only", bot=ctx.bot_name))
        return
    unit = await ctx.uow.units.get(found.unit_id)
    if unit is None or not await ctx.uow.invites.record_use(
        found, person_id=ctx.person.id, now=ctx.now
    ):
        ctx.reply(ctx.t("invite.used_up"))
        return
    await ctx.uow.teams.bind(
        unit_id=unit.id,
        channel=ctx.incoming.channel,
        chat_id=ctx.incoming.chat.external_id,
        title=ctx.incoming.chat.title,
        person_id=ctx.person.id,
        now=ctx.now,
        body=body,
    )
    await ctx.uow.roles.grant(
        person_id=ctx.person.id, unit_id=unit.id, role=found.role, now=ctx.now
    )
    log.info("group %s bound to unit %s (%s)", ctx.incoming.chat.external_id, unit.code, body)
    key = "team.group_bound" if body == "team" else "council_group.bound"
    ctx.reply(ctx.t(key, unit=await unit_label(ctx, unit), bot=ctx.bot_name))
    await menus.refresh(ctx)
