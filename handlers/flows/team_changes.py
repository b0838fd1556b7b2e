"""What /team changes in a support team: an invite, a member removed, the lead handed over.

Every change is checked again here, whatever the buttons said: the presser's right
(:mod:`handlers.visibility`, ``Action.MANAGE_TEAM``) was checked by the flow, and
each member named is looked up on the unit again, under the role row's lock. Each
change is logged by ids and told to the team's remaining members (who and when: the
messages are the team's record; there is no team audit table yet).
"""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from handlers import menus, visibility
from handlers.bots import username_for
from handlers.cards import VIETNAM
from handlers.context import Context
from handlers.events import AttachmentKind, OutMessage, Upload
from handlers.flows.triage import FLOW as TRIAGE_FLOW
from handlers.i18n import Translator
from handlers.team import file_ref, refresh_cards, send_card, team_for
from storage.models import RoleKind, Unit

log = logging.getLogger(__name__)

SUPPORT = RoleKind.SUPPORT.value
PNG_MIME = "image/png"
QR_SCALE = 8  # pixels per module: about 400 px for a deep link, sharp on any phone
OPEN_IDEAS_MOVED = 200  # cards sent again to the team above at a hand-up, at most


@dataclass(frozen=True, slots=True)
class Member:
    person_id: int
    name: str
    lead: bool
    last: datetime | None  # their latest step on an idea, as its actor


async def members(ctx: Context, unit: Unit) -> list[Member]:
    rows = await ctx.uow.roles.team_of(unit.id, SUPPORT)
    last = await ctx.uow.roles.last_actions([p.id for _, p in rows])
    return [Member(p.id, p.display_name, r.lead, last.get(p.id)) for r, p in rows]


async def member(ctx: Context, unit: Unit, person_id: int) -> Member | None:
    return next((m for m in await members(ctx, unit) if m.person_id == person_id), None)


async def _is_official(ctx: Context, unit: Unit) -> bool:
    return await ctx.uow.roles.holds(person_id=ctx.person.id, unit=unit, role=RoleKind.OFFICIAL)


async def team_above(ctx: Context, unit: Unit) -> Unit | None:
    """The unit whose team would take this unit's ideas if its own team were empty."""
    parent = await ctx.uow.units.get(unit.parent_id) if unit.parent_id is not None else None
    return await visibility.serving_unit(ctx.uow, parent) if parent is not None else None


# ---------------------------------------------------------------- invite


async def invite(ctx: Context, unit: Unit) -> None:
    """A fresh one-use support invite: its deep link as text, its QR code as a picture."""
    ctx.answer()
    hours = ctx.team.invite_hours
    expires = ctx.now + timedelta(hours=hours)
    token, made = await ctx.uow.invites.create(
        unit_id=unit.id,
        role=RoleKind.SUPPORT,
        max_uses=1,
        expires_at=expires,
        note=f"/team, person {ctx.person.id}",
    )
    # The bot that serves the unit (several bots in a deployment: handlers.bots).
    link = f"https://t.me/{await username_for(ctx.uow.units, ctx.bot, unit)}?start={token}"
    path = await asyncio.to_thread(_qr_file, ctx.team.files, link, made.id)
    log.info("team invite %s for unit %s made by person %s", made.id, unit.id, ctx.person.id)
    await ctx.uow.teams.add_event(
        unit_id=unit.id,
        kind="invited",
        actor_id=ctx.person.id,
        at=ctx.now,
        data={"invite": made.id},
    )
    until = expires.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y")
    ctx.reply(ctx.t("team_admin.invite_text", unit=unit.name, link=link, hours=hours, until=until))
    upload = Upload(AttachmentKind.PHOTO, "invite-qr.png", PNG_MIME, str(path))
    ctx.replies.append(
        OutMessage(text=ctx.t("team_admin.invite_qr", unit=unit.name), upload=upload)
    )


def _qr_file(directory: Path, link: str, invite_id: int) -> Path:
    """The link's QR code as a PNG under the reports directory (removed after a day, like
    the reports, by ``handlers.reports.jobs.remove_old_files``)."""
    import segno  # only here: the one place a chat makes a picture

    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=QR_SCALE, border=4)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"report-invite-{invite_id}-{secrets.token_hex(4)}.png"
    path.write_bytes(buffer.getvalue())
    return path


# ---------------------------------------------------------------- remove


async def removal_problem(ctx: Context, unit: Unit, target: Member) -> str | None:
    """Why the presser may not remove ``target`` now (a text), or None."""
    if await _is_official(ctx, unit):
        return None
    if target.lead and target.person_id != ctx.person.id:
        return ctx.t("team_admin.lead_only_remove")
    if target.lead and len(await members(ctx, unit)) > 1:
        return ctx.t("team_admin.hand_lead_first")
    return None


async def remove(ctx: Context, unit: Unit, target: Member, *, hand_up: bool) -> str | None:
    """Take ``target`` off the team; the note to show, or None (refused and answered)."""
    role = await ctx.uow.roles.held(person_id=target.person_id, unit_id=unit.id, role=SUPPORT)
    if role is None:
        ctx.answer(ctx.t("team_admin.not_in_team"), alert=True)
        return None
    problem = await removal_problem(ctx, unit, target)
    remaining = [m for m in await members(ctx, unit) if m.person_id != target.person_id]
    above = await team_above(ctx, unit)
    if problem is None and not remaining and (not hand_up or above is None):
        problem = ctx.t("team_admin.last_needs_confirm")
    if problem is not None:
        ctx.answer(problem, alert=True)
        return None
    await ctx.uow.roles.revoke(role, ctx.now)
    # A question or a decline reason they were typing for a card can no longer be sent.
    await ctx.uow.roles.drop_flows(target.person_id, [TRIAGE_FLOW])
    log.info("team of unit %s: person %s removed person %s", unit.id, ctx.person.id, role.person_id)
    await ctx.uow.teams.add_event(
        unit_id=unit.id,
        kind="left" if target.person_id == ctx.person.id else "removed",
        actor_id=ctx.person.id,
        subject_id=target.person_id,
        at=ctx.now,
    )
    by, name = ctx.person.display_name, target.name
    await ctx.notify(
        [m.person_id for m in remaining if m.person_id != ctx.person.id],
        lambda t: OutMessage(t("team_admin.told_removed", by=by, name=name, unit=unit.name)),
        purpose="team_change",
    )
    if target.person_id != ctx.person.id:
        await ctx.notify(
            [target.person_id],
            lambda t: OutMessage(t("team_admin.told_you_removed", by=by, unit=unit.name)),
            purpose="team_change",
        )
    await _refresh_menu(ctx, target.person_id)
    await _cards_back_to_team(ctx, unit, handed_up=not remaining, by=by)
    if target.person_id == ctx.person.id:
        return ctx.t("team_admin.you_left", unit=unit.name)
    return ctx.t("team_admin.removed", name=name, unit=unit.name)


async def _refresh_menu(ctx: Context, person_id: int) -> None:
    """Their command menu without /team and /queue once they hold no support role."""
    person = await ctx.uow.people.get(person_id)
    if person is None:
        return
    roles = await menus.roles_of(ctx.uow, person)
    if person_id == ctx.person.id:
        menus.set_here(ctx, roles)
        return
    await ctx.notify([person_id], lambda t: menus.menu_message(t, roles))


async def _cards_back_to_team(ctx: Context, unit: Unit, *, handed_up: bool, by: str) -> None:
    """The unit's ideas waiting for a decision stay with its team: cards already sent are
    drawn again (the removed member's lose their buttons at once). When nobody is left,
    each goes to the team that serves the unit now, with why."""
    ideas = await ctx.uow.ideas.open_in_units([unit.id], limit=OPEN_IDEAS_MOVED)
    for idea in ideas:
        await refresh_cards(ctx, idea)
    if not handed_up:
        return
    team = await team_for(ctx, unit)
    if team is None:
        return
    log.info(
        "team of unit %s handed up to unit %s: %d open ideas", unit.id, team.unit.id, len(ideas)
    )
    await ctx.uow.teams.add_event(
        unit_id=unit.id,
        kind="handed_up",
        actor_id=ctx.person.id,
        at=ctx.now,
        data={"to": team.unit.id, "ideas": len(ideas)},
    )

    def told(t: Translator) -> OutMessage:
        key = "team_admin.handed_up_to_you"
        return OutMessage(t(key, by=by, unit=unit.name, count=len(ideas)))

    await ctx.notify(team.members, told, purpose="team_change")
    for idea in ideas:
        files = [file_ref(a) for a in await ctx.uow.ideas.attachments(idea.id)]
        await send_card(ctx, idea, team, files=files)


# ---------------------------------------------------------------- the lead


async def lead_problem(ctx: Context, unit: Unit, target: Member) -> str | None:
    """Why the presser may not hand the lead to ``target`` (a text), or None. The lead
    hands it over, or an official above; a team without a lead may name one."""
    if target.lead:
        return ctx.t("team_admin.already_lead", name=target.name)
    if await _is_official(ctx, unit):
        return None
    team = await members(ctx, unit)
    lead = next((m for m in team if m.lead), None)
    if lead is not None and lead.person_id != ctx.person.id:
        return ctx.t("team_admin.lead_only_hand", name=lead.name)
    return None


async def hand_lead(ctx: Context, unit: Unit, target: Member) -> str | None:
    role = await ctx.uow.roles.held(person_id=target.person_id, unit_id=unit.id, role=SUPPORT)
    problem = (
        ctx.t("team_admin.not_in_team") if role is None else await lead_problem(ctx, unit, target)
    )
    if role is None or problem is not None:
        ctx.answer(problem or "", alert=True)
        return None
    await ctx.uow.roles.hand_lead(unit_id=unit.id, role=SUPPORT, to=role)
    await ctx.uow.teams.add_event(
        unit_id=unit.id,
        kind="lead",
        actor_id=ctx.person.id,
        subject_id=target.person_id,
        at=ctx.now,
    )
    log.info(
        "team of unit %s: person %s handed the lead to person %s",
        unit.id,
        ctx.person.id,
        role.person_id,
    )
    by, name = ctx.person.display_name, target.name
    others = [m.person_id for m in await members(ctx, unit) if m.person_id != ctx.person.id]
    await ctx.notify(
        others,
        lambda t: OutMessage(t("team_admin.told_lead", by=by, name=name, unit=unit.name)),
        purpose="team_change",
    )
    return ctx.t("team_admin.lead_done", name=name)
