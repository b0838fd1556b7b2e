"""The chair records the council's outcome: recognised, or not recognised.

Once the quorum has scored, the chair presses Recognised and types the number and
date of the unit head's decision in one reply ("12/QĐ-CĐ 05/12/2026", "số 12/QĐ-CĐ
ngày 5/12/2026", ISO dates too), confirms, and the idea is recognised: the worker is
told and gets the certificate, the support team is asked to record the application,
the council's cards show the outcome. Not recognised takes a standard reason or one
typed. Every step is authorised again (``Action.RECORD_OUTCOME``) under the idea's
lock, with the status and the quorum checked again.
"""

from __future__ import annotations

import logging
import re
from datetime import date

from handlers import progress_counts, visibility
from handlers.buttons import LifecyclePress
from handlers.cards import title_as_seen
from handlers.context import Context
from handlers.events import Button, OutMessage
from handlers.flows import council_card
from handlers.flows.common import stale
from handlers.flows.council_card import CONFIRM, DECISION, FLOW, REASON
from handlers.i18n import Translator
from handlers.reports.certificate import queue_certificate
from handlers.team import audience, queue_for, targets, team_for, tell_author
from handlers.textnorm import clean_user_text
from handlers.visibility import Action
from storage.models import Idea, IdeaStatus
from storage.progress import vietnam_day

log = logging.getLogger(__name__)

DECISION_NO_CHARS = 64  # idea_results.decision_no
# Standard reasons for "not recognised"; their texts are ``decline.<reason>`` so the
# card's history words them in each reader's language, as it does the team's reasons.
REASONS = ("council_low_score", "council_not_new", "council_not_applicable")


async def _outcome_allowed(ctx: Context, idea_id: int) -> council_card.Pressed | None:
    """The chair, on an idea waiting for the council, with the quorum scored."""
    p = await council_card.authorise(ctx, idea_id, Action.RECORD_OUTCOME)
    if p is None or not council_card.waits(ctx, p):
        return None
    done, needed = await council_card.tally(ctx, p)
    if done < needed:
        council_card.refuse(ctx, ctx.t("council.no_quorum", done=done, needed=needed), True)
        return None
    return p


async def ask_decision(ctx: Context, press: LifecyclePress) -> None:
    if (
        not council_card.private_only(ctx)
        or (p := await _outcome_allowed(ctx, press.idea_id)) is None
    ):
        return
    ctx.answer()
    ctx.state.start(FLOW, DECISION, idea_id=p.idea.id, ref=p.idea.ref_code)
    ctx.reply(ctx.t("council.ask_decision", ref=p.idea.ref_code), force_reply=True)


async def take_decision(ctx: Context, text: str) -> None:
    idea_id = int(ctx.state.data.get("idea_id", 0))
    parsed = parse_decision(text)
    if isinstance(parsed, str):
        ctx.reply(ctx.t(parsed, limit=DECISION_NO_CHARS), force_reply=True)
        return
    number, day = parsed
    if (p := await _outcome_allowed(ctx, idea_id)) is None:
        ctx.state.clear()
        return
    if day > vietnam_day(ctx.now):
        ctx.reply(ctx.t("council.decision_future", date=_day(day)), force_reply=True)
        return
    submitted = vietnam_day(p.idea.created_at)
    if day < submitted:
        ctx.reply(
            ctx.t("council.decision_too_early", date=_day(day), submitted=_day(submitted)),
            force_reply=True,
        )
        return
    ctx.state.step = CONFIRM
    ctx.state.data.update(outcome="yes", number=number, day=day.isoformat())
    question = ctx.t(
        "council.confirm_recognise", ref=p.idea.ref_code, number=number, date=_day(day)
    )
    _confirm(ctx, question)


def _confirm(ctx: Context, question: str) -> None:
    rows = [
        [ctx.button(ctx.t("council.yes_record"), CONFIRM, "ok")],
        [ctx.button(ctx.t("council.cancel"), CONFIRM, "no")],
    ]
    ctx.reply(question, rows)


async def reasons(ctx: Context, press: LifecyclePress) -> None:
    """Not recognised: the standard reasons, or one typed."""
    if (
        not council_card.private_only(ctx)
        or (p := await _outcome_allowed(ctx, press.idea_id)) is None
    ):
        return
    ctx.answer()
    rows = [
        [Button(ctx.t(f"decline.{reason}"), LifecyclePress(p.idea.id, "nr", reason).pack())]
        for reason in REASONS
    ]
    rows.append(
        [Button(ctx.t("council.other_reason"), LifecyclePress(p.idea.id, "nr", "o").pack())]
    )
    text = ctx.t("council.pick_reason", ref=p.idea.ref_code)
    (ctx.show if press.value == "e" else ctx.reply)(text, rows)


async def reason_picked(ctx: Context, press: LifecyclePress) -> None:
    if (
        not council_card.private_only(ctx)
        or (p := await _outcome_allowed(ctx, press.idea_id)) is None
    ):
        return
    ctx.answer()
    if press.value == "o":
        ctx.state.start(FLOW, REASON, idea_id=p.idea.id, ref=p.idea.ref_code)
        ctx.reply(ctx.t("council.ask_reason", ref=p.idea.ref_code), force_reply=True)
        return
    if press.value not in REASONS:
        stale(ctx)
        return
    reason = ctx.t(f"decline.{press.value}")
    question = ctx.t("council.confirm_not_recognise", ref=p.idea.ref_code, reason=reason)
    rows = [
        [Button(ctx.t("council.yes_record"), LifecyclePress(p.idea.id, "nk", press.value).pack())],
        [Button(ctx.t("council.back"), LifecyclePress(p.idea.id, "nq", "e").pack())],
    ]
    ctx.show(question, rows)


async def not_recognised_with(ctx: Context, press: LifecyclePress) -> None:
    if press.value not in REASONS:
        stale(ctx)
        return
    if (
        not council_card.private_only(ctx)
        or (p := await _outcome_allowed(ctx, press.idea_id)) is None
    ):
        return
    ctx.answer()
    await _not_recognise(ctx, p, reason=press.value, note=None)
    ctx.show(ctx.t("council.not_recognised_done", ref=p.idea.ref_code))


async def take_reason(ctx: Context, text: str) -> None:
    idea_id = int(ctx.state.data.get("idea_id", 0))
    if (p := await _outcome_allowed(ctx, idea_id)) is None:
        ctx.state.clear()
        return
    ctx.state.step = CONFIRM
    ctx.state.data.update(outcome="no", note=text)
    _confirm(ctx, ctx.t("council.confirm_not_recognise", ref=p.idea.ref_code, reason=text))


async def confirmed(ctx: Context, _: str) -> None:
    data = dict(ctx.state.data)
    ctx.state.clear()
    if (p := await _outcome_allowed(ctx, int(data.get("idea_id", 0)))) is None:
        return
    ctx.answer()
    if data.get("outcome") == "yes":
        number, day = str(data["number"]), date.fromisoformat(str(data["day"]))
        await _recognise(ctx, p, number, day)
        ctx.show(
            ctx.t("council.recognised_done", ref=p.idea.ref_code, number=number, date=_day(day))
        )
    else:
        await _not_recognise(ctx, p, reason=None, note=str(data.get("note", "")))
        ctx.show(ctx.t("council.not_recognised_done", ref=p.idea.ref_code))


async def cancelled(ctx: Context, _: str) -> None:
    ref = ctx.state.data.get("ref", "")
    ctx.state.clear()
    ctx.answer()
    ctx.show(ctx.t("council.cancelled", ref=ref))


async def _recognise(ctx: Context, p: council_card.Pressed, number: str, day: date) -> None:
    idea = p.idea
    result = await ctx.uow.council.result_for_update(idea.id)
    result.recognised = True
    result.decision_no, result.decision_date = number, day
    result.decided_at, result.decided_by = ctx.now, ctx.person.id
    idea.status = IdeaStatus.RECOGNISED.value
    idea.updated_at = idea.waiting_since = ctx.now  # now it waits to be applied
    idea.reminded_at = idea.escalated_at = None
    await ctx.uow.ideas.add_event(
        idea_id=idea.id,
        kind="recognised",
        actor_id=ctx.person.id,
        at=ctx.now,
        note=f"{number} · {_day(day)}",
        data={"decision_no": number, "decision_date": day.isoformat()},
    )
    await progress_counts.record_recognised(ctx, idea, result)
    await ctx.uow.flush()
    log.info("idea %s recognised by person %s", idea.id, ctx.person.id)
    await queue_certificate(ctx, idea, result)
    await tell_author(
        ctx,
        idea,
        lambda t: OutMessage(
            t(
                "worker.recognised",
                ref=idea.ref_code,
                title=idea.title,
                number=number,
                date=_day(day),
            )
        ),
    )
    await _tell_team(ctx, idea, number, day)
    await council_card.refresh(ctx, idea, result)


async def _tell_team(ctx: Context, idea: Idea, number: str, day: date) -> None:
    """The deciding support team: recognised, and a button to record the application."""
    holder = await ctx.uow.units.get(idea.holder_unit_id)
    team = await team_for(ctx, holder) if holder is not None else None
    if team is None:
        return
    place = await visibility.place_of(ctx.uow, idea)
    for target in await targets(ctx, team):
        seen = visibility.sight(await audience(ctx, target, team.unit), place)
        if seen is visibility.Sight.NONE:
            continue
        t = ctx.catalogue.for_lang(target.lang)
        text = t(
            "council.team_recognised",
            ref=idea.ref_code,
            title=title_as_seen(t, idea, place, seen),
            number=number,
            date=_day(day),
        )
        applied = Button(t("council.record_applied"), LifecyclePress(idea.id, "ap").pack())
        message = OutMessage(text, ((applied,),))
        await queue_for(ctx, target, message, idea, "council_recognised")


async def _not_recognise(
    ctx: Context, p: council_card.Pressed, *, reason: str | None, note: str | None
) -> None:
    idea = p.idea
    result = await ctx.uow.council.result_for_update(idea.id)
    result.recognised = False
    result.decided_at, result.decided_by = ctx.now, ctx.person.id
    idea.status = IdeaStatus.NOT_RECOGNISED.value
    idea.updated_at = ctx.now
    idea.waiting_since = idea.reminded_at = idea.escalated_at = None
    await ctx.uow.ideas.add_event(
        idea_id=idea.id,
        kind="not_recognised",
        actor_id=ctx.person.id,
        at=ctx.now,
        note=note,
        data={"reason": reason} if reason else None,
    )
    await ctx.uow.flush()
    log.info("idea %s not recognised by person %s", idea.id, ctx.person.id)

    def render(t: Translator) -> OutMessage:
        why = note if note else t(f"decline.{reason}")
        return OutMessage(
            t("worker.not_recognised", ref=idea.ref_code, title=idea.title, reason=why)
        )

    await tell_author(ctx, idea, render)
    await council_card.refresh(ctx, idea, result)


# ---------------------------------------------------------------- the decision typed


_DMY = re.compile(r"(?<!\d)(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})(?!\d)")
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_WORDS = re.compile(
    r"ng[aà]y\s+(\d{1,2})\s+th[aá]ng\s+(\d{1,2})\s+n[aă]m\s+(\d{4})(?!\d)", re.IGNORECASE
)
_LEAD = re.compile(
    r"^\s*(?:(?:quyết\s+định|quyet\s+dinh|decision|q[đd])\s+)?"
    r"(?:(?:số|so|no\.?|number|#)(?:\s*[:.]\s*|\s+))?",
    re.IGNORECASE,
)
_TRAIL = re.compile(r"[\s,;:–-]*(?:\b(?:ngày|ngay|dated|date|of|on)\b)?[\s,;:–-]*$", re.IGNORECASE)


def parse_decision(text: str) -> tuple[str, date] | str:
    """ "12/QĐ-CĐ 05/12/2026", "số 12/QĐ-CĐ ngày 5/12/2026", "12/QĐ-CĐ 2026-12-05",
    "QĐ số 12/QĐ-CĐ ngày 5 tháng 12 năm 2026": the decision's number and date, or
    the key of the text saying what is missing."""
    text = clean_user_text(text)
    found: list[tuple[re.Match[str], int, int, int]] = []
    for pattern, order in ((_DMY, (0, 1, 2)), (_ISO, (2, 1, 0)), (_WORDS, (0, 1, 2))):
        for match in pattern.finditer(text):
            parts = [int(match.group(i + 1)) for i in order]
            found.append((match, parts[0], parts[1], parts[2]))
    if not found:
        return "council.decision_no_date"
    match, day, month, year = max(found, key=lambda f: f[0].end())
    try:
        when = date(year, month, day)
    except ValueError:
        return "council.decision_bad_date"
    before, after = text[: match.start()], text[match.end() :]
    number = _TRAIL.sub("", _LEAD.sub("", before, count=1)).strip()
    if not number:
        number = _TRAIL.sub("", _LEAD.sub("", after, count=1)).strip(" ,;:")
    if not number or not any(c.isalnum() for c in number):
        return "council.decision_no_number"
    if len(number) > DECISION_NO_CHARS or "\n" in number:
        return "council.decision_number_too_long"
    return number, when


def _day(day: date) -> str:
    return day.strftime("%d/%m/%Y")
