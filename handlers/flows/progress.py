"""Officials steer by numbers: /progress, /export, /subscribe, /unsubscribe.

An official role covers a unit's whole subtree. ``/progress`` shows the official's
own unit (the highest one, if several), ``/progress CODE`` any unit inside their
subtree and nothing outside it. The buttons (:class:`handlers.buttons.ProgressPress`)
are only a hint: every press loads the unit and the campaign again and checks the
role again.

Charts and spreadsheets are made by the report worker (:mod:`handlers.reports.jobs`)
outside the update's transaction; a button press only queues the job.
"""

from __future__ import annotations

import logging

from handlers import visibility
from handlers.buttons import ProgressPress
from handlers.context import Context
from handlers.flows import dashboard
from handlers.reports.view import default_campaign, load_view, render
from handlers.visibility import Action
from storage.models import Campaign, ReportJob, ReportKind, ReportStatus, RoleKind, Unit
from storage.progress import vietnam_day

log = logging.getLogger(__name__)

OFFICIAL = RoleKind.OFFICIAL.value


async def may_view(ctx: Context, unit: Unit) -> bool:
    """/progress, /export and their buttons: the visibility policy's official rule."""
    viewer = await visibility.load_viewer(ctx.uow, ctx.person.id)
    return visibility.may_see_unit(viewer, Action.PROGRESS, unit)


async def unit_above(ctx: Context, unit: Unit) -> Unit | None:
    """The unit above, when the reader's role covers it too (the "up" button)."""
    if unit.parent_id is None:
        return None
    parent = await ctx.uow.units.get(unit.parent_id)
    if parent is None or not await may_view(ctx, parent):
        return None
    return parent


async def _target(ctx: Context) -> Unit | None:
    """The unit a command is about: the one named, else the official's own. Replies if none."""
    code = ctx.incoming.command_args.strip().split()[0] if ctx.incoming.command_args else ""
    if not code:
        units = await ctx.uow.progress.official_units(ctx.person.id)
        if not units:
            ctx.reply(ctx.t("progress.not_official"))
            return None
        return units[0]
    # The exact code is an index lookup; other spellings of it a scan of the codes.
    unit = await ctx.uow.units.by_code(code) or await ctx.uow.units.by_code_folded(code)
    if unit is None or not await may_view(ctx, unit):
        # The same answer whether the code exists or not: nothing leaks outside the subtree.
        # Not the code itself: it is whatever the person typed.
        log.info("progress refused: person %s named no unit they may see", ctx.person.id)
        if not await ctx.uow.progress.official_units(ctx.person.id):
            ctx.reply(ctx.t("progress.not_official"))
        else:
            ctx.reply(ctx.t("progress.not_in_scope", code=code))
        return None
    return unit


async def _campaign(ctx: Context) -> Campaign | None:
    campaign = await default_campaign(ctx.uow, vietnam_day(ctx.now))
    if campaign is None:
        ctx.reply(ctx.t("progress.no_campaign"))
    return campaign


async def progress_command(ctx: Context) -> None:
    unit = await _target(ctx)
    if unit is None:
        return
    campaign = await _campaign(ctx)
    if campaign is None:
        return
    view = await load_view(ctx.uow, unit, campaign, vietnam_day(ctx.now))
    text, buttons = render(ctx.t, view, up=await unit_above(ctx, unit))
    ctx.reply(text, buttons + dashboard.app_buttons(ctx))


async def export_command(ctx: Context) -> None:
    unit = await _target(ctx)
    if unit is None:
        return
    campaign = await _campaign(ctx)
    if campaign is None:
        return
    await _queue_report(ctx, ReportKind.SPREADSHEET, unit, campaign, reply=True)


async def on_button(ctx: Context, press: ProgressPress) -> None:
    """A view, chart or export button: authorised again on every press."""
    action, page = press.action, press.page
    unit = await ctx.uow.units.get(press.unit_id)
    campaign = await ctx.uow.progress.campaign(press.campaign_id)
    if unit is None or campaign is None:
        ctx.answer(ctx.t("common.stale_button"))
        return
    if not await may_view(ctx, unit):
        log.info("progress refused: person %s, unit %s", ctx.person.id, unit.id)
        ctx.answer(ctx.t("progress.not_allowed"), alert=True)
        return
    if action == "v":
        ctx.answer()
        view = await load_view(ctx.uow, unit, campaign, vietnam_day(ctx.now))
        text, buttons = render(ctx.t, view, page=page, up=await unit_above(ctx, unit))
        ctx.show(text, buttons + dashboard.app_buttons(ctx))
        return
    kind = ReportKind.CHART if action == "c" else ReportKind.SPREADSHEET
    await _queue_report(ctx, kind, unit, campaign, reply=False)


async def _queue_report(
    ctx: Context, kind: ReportKind, unit: Unit, campaign: Campaign, *, reply: bool
) -> None:
    queued_key = "progress.chart_queued" if kind is ReportKind.CHART else "progress.export_queued"
    progress = ctx.uow.progress
    if not await progress.job_waiting(ctx.person.id, kind.value, unit.id, campaign.id):
        await progress.add_job(
            ReportJob(
                kind=kind.value,
                person_id=ctx.person.id,
                channel=ctx.incoming.channel,
                chat_id=ctx.chat.external_id,
                unit_id=unit.id,
                campaign_id=campaign.id,
                lang=ctx.lang,
                status=ReportStatus.PENDING.value,
                created_at=ctx.now,
            )
        )
    if reply:
        ctx.reply(ctx.t(queued_key))
    else:
        ctx.answer(ctx.t(queued_key))


async def subscribe_command(ctx: Context) -> None:
    unit = await _target(ctx)
    if unit is None:
        return
    # The first digest is the next scheduled one after now (see handlers.digest).
    await ctx.uow.progress.subscribe(ctx.person.id, unit.id, now=ctx.now, last_slot=ctx.now)
    ctx.reply(ctx.t("digest.subscribed", unit=unit.name))


async def unsubscribe_command(ctx: Context) -> None:
    if await ctx.uow.progress.unsubscribe(ctx.person.id):
        ctx.reply(ctx.t("digest.unsubscribed"))
    else:
        ctx.reply(ctx.t("digest.not_subscribed"))
