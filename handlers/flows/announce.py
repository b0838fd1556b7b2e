"""/announce: an official or a support team writes an announcement; /mute and /unmute.

The message (a text, or a photo or document with its caption) → the unit (the sender's
role units as buttons; an official may type a name to find a unit below) → the audience
→ the time (now, or "dd/mm/yyyy hh:mm" Vietnam time) → a preview of the message as it
will look and the number of recipients → Confirm. Over Telegram's limits (4096
characters for a text, 1024 for a caption, the bot's header included) the message is
refused with the limit named, not split: one announcement is one message per person.

Every button is only a hint: the unit and the audience are checked against the policy
(:func:`handlers.visibility.may_announce`) on every press and again at Confirm, which
creates the announcement and ends the flow in the same transaction, so a repeated
Confirm finds the flow gone. The pass (:mod:`handlers.announcements`) sends it.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, time, timedelta

from handlers import visibility
from handlers.announcements import limit_exceeded, render
from handlers.buttons import FlowPress
from handlers.context import Context
from handlers.events import AttachmentKind
from handlers.flows.common import Step, message_in, parse_id, press_in, unit_label
from handlers.limits import MAX_SEARCH_QUERY_CHARS, UNIT_SEARCH_RESULTS
from handlers.textnorm import clean_user_text, fold, truncate
from handlers.typed_dates import parse_day
from handlers.visibility import Viewer
from storage.models import RoleKind, Unit
from storage.outreach_models import Announcement, AnnouncementStatus, Audience
from storage.progress import VIETNAM, vietnam_day

log = logging.getLogger(__name__)

FLOW = "announce"
TEXT, UNIT, AUDIENCE, WHEN, PREVIEW = "text", "unit", "aud", "when", "preview"
FILE_KINDS = (AttachmentKind.PHOTO, AttachmentKind.DOCUMENT)
ANNOUNCING_ROLES = (RoleKind.OFFICIAL.value, RoleKind.SUPPORT.value)
MAX_AHEAD = timedelta(days=90)
BUTTON_LABEL_CHARS = 60
_TIME = re.compile(r"^(.*?)[\s,]+(\d{1,2})\s*[:hg]\s*(\d{2})$")


async def _viewer(ctx: Context) -> Viewer:
    return await visibility.load_viewer(ctx.uow, ctx.person.id)


async def announce_command(ctx: Context) -> None:
    viewer = await _viewer(ctx)
    if not any(r.role in ANNOUNCING_ROLES for r in viewer.roles):
        log.info("announce refused: person %s holds no announcing role", ctx.person.id)
        ctx.reply(ctx.t("announce.not_allowed"))
        return
    if ctx.state.flow == "idea":  # never drop a draft idea
        ctx.reply(ctx.t("idea.already_open"))
        return
    ctx.state.start(FLOW, TEXT)
    ctx.reply(ctx.t("announce.ask_text"))


async def reprompt(ctx: Context) -> None:
    step = ctx.state.step
    if step == UNIT:
        await _ask_unit(ctx)
    elif step == WHEN:
        _ask_when(ctx)
    elif step in (AUDIENCE, PREVIEW):
        ctx.reply(ctx.t("announce.use_buttons"))
    else:
        ctx.reply(ctx.t("announce.ask_text"))


async def on_message(ctx: Context) -> None:
    await message_in(ctx, STEPS, reprompt)


async def on_button(ctx: Context, press: FlowPress) -> None:
    await press_in(ctx, STEPS, press)


# ---------------------------------------------------------------- the message


async def _take_text(ctx: Context) -> None:
    text = clean_user_text(ctx.incoming.text or "")
    files = ctx.incoming.files
    if len(files) > 1 or any(f.kind not in FILE_KINDS for f in files):
        ctx.reply(ctx.t("announce.one_file"))
        return
    if not text and not files:
        ctx.reply(ctx.t("announce.ask_text"))
        return
    file = files[0].to_json() if files else None
    # The longest unit name the sender may pick is not known yet: the limit is checked
    # with the header of the sender's own units now and again at the preview.
    limit = limit_exceeded(ctx.catalogue, "", text, file)
    if limit is not None:
        key = "announce.caption_too_long" if file else "announce.text_too_long"
        ctx.reply(ctx.t(key, limit=limit, length=len(text)))
        return
    ctx.state.step = UNIT
    ctx.state.data.update(text=text, file=file)
    await _ask_unit(ctx)


# ---------------------------------------------------------------- the unit


async def _role_units(ctx: Context) -> list[Unit]:
    units: dict[int, Unit] = {}
    for role, unit in await ctx.uow.roles.roles_of(ctx.person.id):
        if role.role in ANNOUNCING_ROLES:
            units.setdefault(unit.id, unit)
    return list(units.values())


async def _ask_unit(ctx: Context) -> None:
    buttons = []
    for unit in await _role_units(ctx):
        label = truncate(await unit_label(ctx, unit), BUTTON_LABEL_CHARS)
        buttons.append([ctx.button(label, UNIT, "pick", unit.id)])
    viewer = await _viewer(ctx)
    key = (
        "announce.ask_unit_official" if viewer.roles_of(RoleKind.OFFICIAL) else "announce.ask_unit"
    )
    ctx.reply(ctx.t(key), buttons)


async def _search_unit(ctx: Context) -> None:
    """An official types part of a unit's name: units inside their subtree that match."""
    text = clean_user_text(ctx.incoming.text or "")
    officials = (await _viewer(ctx)).roles_of(RoleKind.OFFICIAL)
    if not officials or not text:
        await _ask_unit(ctx)
        return
    if len(text) > MAX_SEARCH_QUERY_CHARS:
        ctx.reply(ctx.t("join.query_too_long", limit=MAX_SEARCH_QUERY_CHARS))
        return
    units = await ctx.uow.announcements.units_below(
        [r.path for r in officials], fold(text).split(), limit=UNIT_SEARCH_RESULTS
    )
    if not units:
        ctx.reply(ctx.t("announce.no_unit_found", query=text))
        return
    buttons = []
    for unit in units:
        label = truncate(await unit_label(ctx, unit), BUTTON_LABEL_CHARS)
        buttons.append([ctx.button(label, UNIT, "pick", unit.id)])
    ctx.reply(ctx.t("announce.pick_unit"), buttons)


async def _allowed_audiences(ctx: Context, unit: Unit | None) -> list[Audience]:
    viewer = await _viewer(ctx)
    return [a for a in Audience if visibility.may_announce(viewer, unit, a)]


async def _pick_unit(ctx: Context, value: str) -> None:
    unit_id = parse_id(value)
    unit = await ctx.uow.units.get(unit_id) if unit_id is not None else None
    audiences = await _allowed_audiences(ctx, unit)
    if unit is None or not audiences:
        # The same answer whether the unit exists or not: nothing outside the subtree leaks.
        log.info("announce refused: person %s, unit %s outside their units", ctx.person.id, value)
        ctx.answer(ctx.t("announce.unit_not_allowed"), alert=True)
        return
    ctx.answer()
    ctx.state.step = AUDIENCE
    ctx.state.data["unit"] = unit.id
    buttons = [
        [ctx.button(ctx.t(f"announce.audience_{a}"), AUDIENCE, "pick", a)] for a in audiences
    ]
    ctx.show(ctx.t("announce.ask_audience", unit=await unit_label(ctx, unit)), buttons)


# ---------------------------------------------------------------- the audience and the time


async def _chosen_unit(ctx: Context, audience: str) -> Unit | None:
    """The unit picked earlier, if the sender may still announce to it for ``audience``."""
    unit = await ctx.uow.units.get(int(ctx.state.data.get("unit", 0)))
    return unit if visibility.may_announce(await _viewer(ctx), unit, audience) else None


async def _pick_audience(ctx: Context, value: str) -> None:
    unit = await _chosen_unit(ctx, value)
    if unit is None:
        log.info("announce refused: person %s, audience %r not theirs", ctx.person.id, value)
        ctx.answer(ctx.t("announce.audience_not_allowed"), alert=True)
        return
    ctx.answer()
    ctx.state.step = WHEN
    ctx.state.data["aud"] = value
    _ask_when(ctx, edit=True)


def _ask_when(ctx: Context, *, edit: bool = False) -> None:
    buttons = [[ctx.button(ctx.t("announce.now"), WHEN, "now")]]
    (ctx.show if edit else ctx.reply)(ctx.t("announce.ask_when"), buttons)


def parse_moment(text: str, now: datetime) -> datetime | None:
    """ "25/12/2026 08:30" (Vietnam time) as an aware datetime; None if it names none."""
    match = _TIME.match(text.strip())
    if match is None:
        return None
    day = parse_day(match[1], vietnam_day(now))
    hour, minute = int(match[2]), int(match[3])
    if day is None or hour > 23 or minute > 59:
        return None
    return datetime.combine(day, time(hour, minute), VIETNAM)


async def _typed_when(ctx: Context) -> None:
    moment = parse_moment(clean_user_text(ctx.incoming.text or ""), ctx.now)
    if moment is None:
        ctx.reply(ctx.t("announce.bad_time"))
        return
    if moment <= ctx.now or moment > ctx.now + MAX_AHEAD:
        ctx.reply(ctx.t("announce.time_out_of_range", days=MAX_AHEAD.days))
        return
    await _preview(ctx, moment.isoformat())


async def _now(ctx: Context, _: str) -> None:
    ctx.answer()
    await _preview(ctx, None)


def _when_label(ctx: Context, at: str | None) -> str:
    if at is None:
        return ctx.t("announce.when_now")
    return datetime.fromisoformat(at).astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


async def _preview(ctx: Context, at: str | None) -> None:
    data = ctx.state.data
    audience = str(data.get("aud", ""))
    unit = await _chosen_unit(ctx, audience)
    if unit is None:
        ctx.state.clear()
        ctx.reply(ctx.t("announce.audience_not_allowed"))
        return
    limit = limit_exceeded(ctx.catalogue, unit.name, data["text"], data["file"])
    if limit is not None:
        ctx.state.clear()
        key = "announce.caption_too_long" if data["file"] else "announce.text_too_long"
        ctx.reply(ctx.t(key, limit=limit, length=len(data["text"])))
        return
    count = await ctx.uow.announcements.count_audience(unit, audience, exclude=ctx.person.id)
    summary = ctx.t(
        "announce.preview",
        unit=await unit_label(ctx, unit),
        audience=ctx.t(f"announce.audience_{audience}"),
        when=_when_label(ctx, at),
        recipients=count.recipients,
        muted=count.muted,
    )
    ctx.replies.append(render(ctx.t, unit.name, data["text"], data["file"]))
    if count.recipients == 0:
        ctx.state.clear()
        ctx.reply(f"{summary}\n\n{ctx.t('announce.empty_audience')}")
        return
    ctx.state.step = PREVIEW
    data["at"] = at
    ctx.reply(
        summary,
        [
            [ctx.button(ctx.t("announce.confirm"), PREVIEW, "ok")],
            [ctx.button(ctx.t("announce.cancel"), PREVIEW, "cancel")],
        ],
    )


# ---------------------------------------------------------------- confirm


async def _confirm(ctx: Context, _: str) -> None:
    data = ctx.state.data
    audience = str(data.get("aud", ""))
    unit = await _chosen_unit(ctx, audience)
    ctx.state.clear()  # a second Confirm finds the flow gone: one announcement only
    if unit is None:
        ctx.answer(ctx.t("announce.audience_not_allowed"), alert=True)
        return
    count = await ctx.uow.announcements.count_audience(unit, audience, exclude=ctx.person.id)
    if count.recipients == 0:
        ctx.answer()
        ctx.show(ctx.t("announce.empty_audience"))
        return
    at = data.get("at")
    announcement = await ctx.uow.announcements.add(
        Announcement(
            sender_id=ctx.person.id,
            sender_channel=ctx.incoming.channel,
            sender_chat_id=ctx.chat.external_id,
            unit_id=unit.id,
            audience=audience,
            text=data["text"],
            file=data["file"],
            status=AnnouncementStatus.SCHEDULED.value,
            scheduled_at=datetime.fromisoformat(at) if at else ctx.now,
            created_at=ctx.now,
            queued_through=0,
            recipients=0,
            muted=0,
        )
    )
    log.info("announcement %s created by person %s", announcement.id, ctx.person.id)
    ctx.answer()
    key = "announce.scheduled" if at else "announce.sending"
    ctx.show(ctx.t(key, when=_when_label(ctx, at), recipients=count.recipients))


async def _cancel(ctx: Context, _: str) -> None:
    ctx.state.clear()
    ctx.answer()
    ctx.show(ctx.t("common.cancelled"))


STEPS = {
    TEXT: Step(on_message=_take_text),
    UNIT: Step(on_message=_search_unit, on_button={"pick": _pick_unit}),
    AUDIENCE: Step(on_button={"pick": _pick_audience}),
    WHEN: Step(on_message=_typed_when, on_button={"now": _now}),
    PREVIEW: Step(on_button={"ok": _confirm, "cancel": _cancel}),
}


# ---------------------------------------------------------------- /mute, /unmute


async def mute_command(ctx: Context) -> None:
    """No more announcements; those already queued for the person are not sent either."""
    already = ctx.person.muted
    ctx.person.muted = True
    cancelled = await ctx.uow.announcements.cancel_for(ctx.person.id, ctx.now)
    if cancelled:
        log.info("person %s muted: %d queued announcements dropped", ctx.person.id, cancelled)
    ctx.reply(ctx.t("announce.already_muted" if already else "announce.muted"))


async def unmute_command(ctx: Context) -> None:
    already = not ctx.person.muted
    ctx.person.muted = False
    ctx.reply(ctx.t("announce.already_unmuted" if already else "announce.unmuted"))
