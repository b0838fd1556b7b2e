"""/team: a unit's support team managed in the chat (issue #19).

A support member (or an official whose role covers the unit; one with several units
picks one) sees the members with their role and last activity, and can invite a
colleague (a one-use link and its QR code, expiring), remove a member (confirmed
first) or hand over the lead (confirmed first). What each change does to the team
lives in :mod:`handlers.flows.team_changes`.

The unit is kept in the chat's conversation, never taken from a button; every press
asks the visibility policy again (``Action.MANAGE_TEAM``) and every member a button
names is looked up again on that unit, so a forged, stale or repeated press changes
nothing.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime

from handlers import visibility
from handlers.buttons import FlowPress
from handlers.cards import VIETNAM
from handlers.context import Context
from handlers.events import Button
from handlers.flows import offer, team_changes
from handlers.flows.common import Step, parse_id, press_in, unit_label
from handlers.flows.team_changes import Member
from handlers.safe_html import html_join
from handlers.textnorm import truncate
from handlers.visibility import Action
from storage.models import RoleKind, Unit

log = logging.getLogger(__name__)

FLOW = "team"
PICK, MENU, REMOVE, LEAD = "pick", "menu", "remove", "lead"
PICK_LIMIT = 12  # units offered to an official; others are named: /team <code>
BUTTON_LABEL_CHARS = 50


# ---------------------------------------------------------------- entering


async def team_command(ctx: Context) -> None:
    if ctx.state.flow == "idea":  # never drop a draft for /team
        ctx.reply(ctx.t("idea.already_open"))
        from handlers.flows.registry import FLOWS

        await FLOWS["idea"].reprompt(ctx)
        return
    viewer = await visibility.load_viewer(ctx.uow, ctx.person.id)
    code = ctx.incoming.command_args.strip()
    if code:
        unit = await ctx.uow.units.by_code_folded(code)
        if unit is None or not visibility.may_see_unit(viewer, Action.MANAGE_TEAM, unit):
            ctx.reply(ctx.t("team_admin.not_allowed"))
            return
        units = [unit]
    else:
        units = await _manageable(ctx, viewer)
    if not units:
        log.info("/team refused: person %s has no team to manage", ctx.person.id)
        ctx.reply(ctx.t("team_admin.not_allowed"))
        return
    if len(units) == 1:
        ctx.state.start(FLOW, MENU, unit=units[0].id)
        text, rows = await _team_view(ctx, units[0])
        ctx.reply(text, rows)
        return
    ctx.state.start(FLOW, PICK)
    rows = [
        [ctx.button(truncate(await unit_label(ctx, u), BUTTON_LABEL_CHARS), PICK, "unit", u.id)]
        for u in units[:PICK_LIMIT]
    ]
    more = len(units) > PICK_LIMIT
    ctx.reply(ctx.t("team_admin.pick_more" if more else "team_admin.pick"), rows)


async def _manageable(ctx: Context, viewer: visibility.Viewer) -> list[Unit]:
    """The units whose team the person may manage and would look for: their own teams,
    then each official's unit and the units in its subtree that have (or had) a team."""
    found: dict[int, Unit] = {}
    for role in viewer.roles_of(RoleKind.SUPPORT):
        unit = await ctx.uow.units.get(role.unit_id)
        if unit is not None:
            found.setdefault(unit.id, unit)
    for role in viewer.roles_of(RoleKind.OFFICIAL):
        unit = await ctx.uow.units.get(role.unit_id)
        if unit is None:
            continue
        found.setdefault(unit.id, unit)
        below = await ctx.uow.roles.units_with_teams(
            unit.path, RoleKind.SUPPORT.value, limit=PICK_LIMIT + 1
        )
        for other in below:
            found.setdefault(other.id, other)
    return list(found.values())


async def _pick(ctx: Context, value: str) -> None:
    unit_id = parse_id(value)
    unit = await ctx.uow.units.get(unit_id) if unit_id is not None else None
    viewer = await visibility.load_viewer(ctx.uow, ctx.person.id)
    if unit is None or not visibility.may_see_unit(viewer, Action.MANAGE_TEAM, unit):
        refuse(ctx)
        return
    ctx.answer()
    ctx.state.start(FLOW, MENU, unit=unit.id)
    text, rows = await _team_view(ctx, unit)
    ctx.show(text, rows)


# ---------------------------------------------------------------- the team's view


async def _team_view(ctx: Context, unit: Unit, note: str = "") -> tuple[str, list[list[Button]]]:
    t = ctx.t
    members = await team_changes.members(ctx, unit)
    lines: list[str] = [t("team_admin.header", unit=await unit_label(ctx, unit))]
    if note:
        lines.insert(0, note)
    if not members:
        lines.append(t("team_admin.empty"))
    for m in members:
        role = t("team_admin.role_lead" if m.lead else "team_admin.role_member")
        seen = t("team_admin.never") if m.last is None else _day(m.last)
        lines.append(t("team_admin.member_line", name=m.name, role=role, last=seen))
    serving = await visibility.serving_unit(ctx.uow, unit)
    if serving is not None and serving.id != unit.id:
        lines.append(t("team_admin.served_by", unit=serving.name))
    rows = [[ctx.button(t("team_admin.invite"), MENU, "inv")]]
    if members:
        rows.append([ctx.button(t("team_admin.remove"), MENU, "rm")])
        rows.append([ctx.button(t("team_admin.hand_lead"), MENU, "lead")])
    return html_join(lines, "\n"), rows


def _day(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y")


async def show_team(ctx: Context, unit: Unit, note: str = "") -> None:
    """The team again, on a fresh flow instance: the buttons already pressed go stale."""
    ctx.state.start(FLOW, MENU, unit=unit.id)
    text, rows = await _team_view(ctx, unit, note)
    ctx.show(text, rows)


async def managed_unit(ctx: Context) -> Unit | None:
    """The unit this /team is about, if the presser may still manage it; else refused."""
    unit_id = ctx.state.data.get("unit")
    unit = await ctx.uow.units.get(int(unit_id)) if isinstance(unit_id, int) else None
    viewer = await visibility.load_viewer(ctx.uow, ctx.person.id)
    if unit is None or not visibility.may_see_unit(viewer, Action.MANAGE_TEAM, unit):
        log.info("/team press refused: person %s, unit %s", ctx.person.id, unit_id)
        refuse(ctx)
        return None
    return unit


def refuse(ctx: Context) -> None:
    ctx.state.clear()
    ctx.answer(ctx.t("team_admin.not_allowed"), alert=True)


# ---------------------------------------------------------------- the buttons


async def _back(ctx: Context, _: str) -> None:
    unit = await managed_unit(ctx)
    if unit is not None:
        ctx.answer()
        await show_team(ctx, unit)


async def _invite(ctx: Context, _: str) -> None:
    unit = await managed_unit(ctx)
    if unit is not None:
        await team_changes.invite(ctx, unit)
        ctx.state.start(FLOW, MENU, unit=unit.id)
        ctx.reply(
            ctx.t("team_admin.after_invite"), [[ctx.button(ctx.t("team_admin.back"), MENU, "back")]]
        )


async def _choose(ctx: Context, step: str, prompt: str, exclude_lead: bool) -> None:
    unit = await managed_unit(ctx)
    if unit is None:
        return
    ctx.answer()
    members = [m for m in await team_changes.members(ctx, unit) if not (exclude_lead and m.lead)]
    ctx.state.start(FLOW, step, unit=unit.id)
    rows = [
        [ctx.button(truncate(m.name, BUTTON_LABEL_CHARS), step, "who", m.person_id)]
        for m in members
    ]
    rows.append([ctx.button(ctx.t("team_admin.back"), step, "back")])
    ctx.show(ctx.t(prompt, unit=unit.name), rows)


async def _remove_pick(ctx: Context, _: str) -> None:
    await _choose(ctx, REMOVE, "team_admin.remove_pick", exclude_lead=False)


async def _lead_pick(ctx: Context, _: str) -> None:
    await _choose(ctx, LEAD, "team_admin.lead_pick", exclude_lead=True)


async def _member(ctx: Context, unit: Unit, value: str) -> Member | None:
    """The member a button names, if they are on this unit's team now; else answered."""
    person_id = parse_id(value)
    found = await team_changes.member(ctx, unit, person_id) if person_id is not None else None
    if found is None:
        log.info("/team: person %s named no member of unit %s", ctx.person.id, unit.id)
        ctx.answer(ctx.t("team_admin.not_in_team"), alert=True)
        await show_team(ctx, unit)
    return found


async def _remove_confirm(ctx: Context, value: str) -> None:
    unit = await managed_unit(ctx)
    target = await _member(ctx, unit, value) if unit is not None else None
    if unit is None or target is None:
        return
    problem = await team_changes.removal_problem(ctx, unit, target)
    if problem is not None:
        ctx.answer(problem, alert=True)
        await show_team(ctx, unit)
        return
    ctx.answer()
    back = [ctx.button(ctx.t("team_admin.back"), REMOVE, "back")]
    if len(await team_changes.members(ctx, unit)) > 1:
        yes = ctx.button(ctx.t("team_admin.yes_remove"), REMOVE, "ok", target.person_id)
        ctx.show(
            ctx.t("team_admin.confirm_remove", name=target.name, unit=unit.name), [[yes], back]
        )
        return
    # The last member: a successor first, or the unit's ideas handed up on purpose.
    above = await team_changes.team_above(ctx, unit)
    rows = [[ctx.button(ctx.t("team_admin.invite_successor"), MENU, "inv")]]
    if above is not None:
        label = truncate(ctx.t("team_admin.yes_hand_up", unit=above.name), BUTTON_LABEL_CHARS)
        rows.append([ctx.button(label, REMOVE, "up", target.person_id)])
        text = ctx.t("team_admin.last_member", name=target.name, unit=unit.name, above=above.name)
    else:
        text = ctx.t("team_admin.last_member_nowhere", name=target.name, unit=unit.name)
    ctx.show(text, [*rows, back])


async def _remove(ctx: Context, value: str, *, hand_up: bool) -> None:
    unit = await managed_unit(ctx)
    target = await _member(ctx, unit, value) if unit is not None else None
    if unit is None or target is None:
        return
    note = await team_changes.remove(ctx, unit, target, hand_up=hand_up)
    if note is None:  # refused, and answered
        await show_team(ctx, unit)
        return
    ctx.answer(html.unescape(note))
    if target.person_id == ctx.person.id:
        ctx.state.clear()
        ctx.show(note)
        return
    viewer = await visibility.load_viewer(ctx.uow, ctx.person.id)
    if visibility.may_see_unit(viewer, Action.MANAGE_TEAM, unit):
        await show_team(ctx, unit, note)
    else:
        ctx.state.clear()
        ctx.show(note)


async def _remove_ok(ctx: Context, value: str) -> None:
    await _remove(ctx, value, hand_up=False)


async def _hand_up(ctx: Context, value: str) -> None:
    await _remove(ctx, value, hand_up=True)


async def _lead_confirm(ctx: Context, value: str) -> None:
    unit = await managed_unit(ctx)
    target = await _member(ctx, unit, value) if unit is not None else None
    if unit is None or target is None:
        return
    problem = await team_changes.lead_problem(ctx, unit, target)
    if problem is not None:
        ctx.answer(problem, alert=True)
        await show_team(ctx, unit)
        return
    ctx.answer()
    yes = ctx.button(ctx.t("team_admin.yes_lead"), LEAD, "ok", target.person_id)
    back = ctx.button(ctx.t("team_admin.back"), LEAD, "back")
    ctx.show(ctx.t("team_admin.confirm_lead", name=target.name, unit=unit.name), [[yes], [back]])


async def _lead_ok(ctx: Context, value: str) -> None:
    unit = await managed_unit(ctx)
    target = await _member(ctx, unit, value) if unit is not None else None
    if unit is None or target is None:
        return
    note = await team_changes.hand_lead(ctx, unit, target)
    if note is None:
        await show_team(ctx, unit)
        return
    ctx.answer(html.unescape(note))
    await show_team(ctx, unit, note)


# /team → (an official with several units picks one) → the team: invite, remove, lead.
# Remove: pick → confirm (the last member: a successor's invite, or the hand-up) → done.
# Lead: pick → confirm → done. Each step's Back returns to the team.
STEPS = {
    PICK: Step(on_button={"unit": _pick}),
    MENU: Step(on_button={"inv": _invite, "rm": _remove_pick, "lead": _lead_pick, "back": _back}),
    REMOVE: Step(
        on_button={
            "who": _remove_confirm,
            "ok": _remove_ok,
            "up": _hand_up,
            "back": _back,
        }
    ),
    LEAD: Step(on_button={"who": _lead_confirm, "ok": _lead_ok, "back": _back}),
}


async def on_button(ctx: Context, press: FlowPress) -> None:
    await press_in(ctx, STEPS, press)


async def on_message(ctx: Context) -> None:
    """Typing while /team is open: the team view is left, the text is taken as usual."""
    ctx.state.clear()
    await offer.outside_flow(ctx)


async def reprompt(ctx: Context) -> None:
    unit_id = ctx.state.data.get("unit")
    unit = await ctx.uow.units.get(int(unit_id)) if isinstance(unit_id, int) else None
    if unit is None:
        ctx.state.clear()
        ctx.reply(ctx.t("team_admin.again"))
        return
    viewer = await visibility.load_viewer(ctx.uow, ctx.person.id)
    if not visibility.may_see_unit(viewer, Action.MANAGE_TEAM, unit):
        ctx.state.clear()
        ctx.reply(ctx.t("team_admin.not_allowed"))
        return
    ctx.state.start(FLOW, MENU, unit=unit.id)
    text, rows = await _team_view(ctx, unit)
    ctx.reply(text, rows)
