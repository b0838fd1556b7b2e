"""A recognised initiative put into use: the day it started, where, its measured benefit, evidence.

Started by ``lc:<idea id>:ap`` (the message the deciding team gets when the council
recognises an idea) for the deciding support team or a member of the idea's council
(:mod:`handlers.flows.applied_access` asks the policy on every step). The steps, one
question each, typed or tapped:

    day (typed, or Today) → where (typed) → benefit a year in VND (typed) →
    evidence (photos, documents; Done or No files yet) → the summary → Record

Record sets the idea applied, fills its result, counts it in the campaign of the
day it started and tells the worker. The benefit is revised later (``bn``), evidence
added (``ev``) and the reward recorded (``rw``) in :mod:`handlers.flows.applied_later`;
the worker's own view of the whole life is ``ad`` (:mod:`handlers.flows.my_ideas`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date

from handlers import progress_counts
from handlers.amounts import MAX_MEASURED_VND, format_amount, read_amount
from handlers.buttons import FlowPress, LifecyclePress
from handlers.context import Context
from handlers.events import Button, FileRef, OutMessage
from handlers.flows import applied_later, my_ideas
from handlers.flows.applied_access import (
    APPLY,
    EVIDENCE,
    FLOW,
    REVISE,
    REWARD,
    Held,
    amount_problem,
    day_text,
    enter,
    held_now,
    start,
    today,
)
from handlers.flows.common import Step, message_in, press_in, store_attachments
from handlers.i18n import Translator
from handlers.limits import MAX_IDEA_FILES
from handlers.team import refresh_cards, tell_author
from handlers.textnorm import clean_user_text, truncate
from handlers.typed_dates import parse_day
from storage.models import IdeaStatus
from storage.progress import vietnam_day

log = logging.getLogger(__name__)

__all__ = ["FLOW", "PRESSES", "STEPS", "on_button", "on_message", "reprompt"]

DAY, WHERE, BENEFIT, FILES, CONFIRM = "day", "where", "benefit", "files", "confirm"
WHERE_CHARS = 200  # idea_results.applied_where
TITLE_CHARS = 80


# ---------------------------------------------------------------- the press that starts it


async def press_apply(ctx: Context, press: LifecyclePress) -> None:
    held = await enter(ctx, press, APPLY)
    if held is None:
        return
    start(ctx, held.idea, APPLY, DAY, title=truncate(held.idea.title, TITLE_CHARS), files=[])
    await reprompt(ctx)


# ---------------------------------------------------------------- the questions


def _ask_day(ctx: Context) -> tuple[str, list[list[Button]]]:
    data = ctx.state.data
    text = ctx.t("applied.ask_day", ref=data["ref"], title=data["title"], example=_example(ctx))
    return text, [[ctx.button(ctx.t("applied.today"), DAY, "today"), _cancel_button(ctx, DAY)]]


def _ask_where(ctx: Context) -> tuple[str, list[list[Button]]]:
    return ctx.t("applied.ask_where", limit=WHERE_CHARS), []


def _ask_benefit(ctx: Context) -> tuple[str, list[list[Button]]]:
    return ctx.t("applied.ask_benefit"), []


def _ask_files(ctx: Context) -> tuple[str, list[list[Button]]]:
    files = len(ctx.state.data.get("files", []))
    if files:
        text = ctx.t("applied.files_received", count=files)
        done = ctx.button(ctx.t("applied.done"), FILES, "done")
    else:
        text = ctx.t("applied.ask_files", limit=MAX_IDEA_FILES)
        done = ctx.button(ctx.t("applied.no_files"), FILES, "done")
    return text, [[done, _cancel_button(ctx, FILES)]]


def _summary(ctx: Context) -> tuple[str, list[list[Button]]]:
    data = ctx.state.data
    text = ctx.t(
        "applied.confirm",
        ref=data["ref"],
        title=data["title"],
        day=day_text(date.fromisoformat(data["day"])),
        where=data["where"],
        benefit=format_amount(int(data["benefit"]), ctx.lang),
        files=len(data.get("files", [])),
    )
    record = ctx.button(ctx.t("applied.record"), CONFIRM, "ok")
    return text, [[record, _cancel_button(ctx, CONFIRM)]]


def _cancel_button(ctx: Context, step: str) -> Button:
    return ctx.button(ctx.t("applied.cancel"), step, "x")


def _example(ctx: Context) -> str:
    return day_text(today(ctx))


async def reprompt(ctx: Context) -> None:
    """Ask the current step's question again (a new message: the old one may be far up)."""
    step = STEPS.get(ctx.state.step or "")
    if step is None or step.question is None:
        ctx.state.clear()
        return
    text, rows = step.question(ctx)
    ctx.reply(text, rows, force_reply=not rows)


# ---------------------------------------------------------------- the answers


async def on_message(ctx: Context) -> None:
    await message_in(ctx, STEPS, reprompt)


async def on_button(ctx: Context, press: FlowPress) -> None:
    await press_in(ctx, STEPS, press)


async def _typed_day(ctx: Context) -> None:
    held = await held_now(ctx)
    if held is None:
        return
    day = parse_day(ctx.incoming.text or "", today(ctx))
    if day is None:
        ctx.reply(ctx.t("applied.bad_day", example=_example(ctx)), _ask_day(ctx)[1])
        return
    await _take_day(ctx, held, day)


async def _today(ctx: Context, _: str) -> None:
    held = await held_now(ctx)
    if held is None:
        return
    ctx.answer()
    await _take_day(ctx, held, today(ctx))


async def _take_day(ctx: Context, held: Held, day: date) -> None:
    if day > today(ctx):
        ctx.reply(ctx.t("applied.day_in_future", day=day_text(day)), _ask_day(ctx)[1])
        return
    decided = _decision_day(held)
    if decided is not None and day < decided:
        text = ctx.t("applied.day_before_decision", day=day_text(day), decision=day_text(decided))
        ctx.reply(text, _ask_day(ctx)[1])
        return
    ctx.state.data["day"] = day.isoformat()
    await _next(ctx, WHERE)


def _decision_day(held: Held) -> date | None:
    """The day of the recognition decision: the unit head's signed date, else the day
    the chair recorded it."""
    result = held.result
    if result is None:
        return None
    if result.decision_date is not None:
        return result.decision_date
    return vietnam_day(result.decided_at) if result.decided_at is not None else None


async def _typed_where(ctx: Context) -> None:
    if await held_now(ctx) is None:
        return
    where = " ".join(clean_user_text(ctx.incoming.text or "").split())
    if not where:
        ctx.reply(ctx.t("applied.where_empty"), force_reply=True)
        return
    if len(where) > WHERE_CHARS:
        text = ctx.t("applied.where_too_long", length=len(where), limit=WHERE_CHARS)
        ctx.reply(text, force_reply=True)
        return
    ctx.state.data["where"] = where
    await _next(ctx, BENEFIT)


async def _typed_benefit(ctx: Context) -> None:
    if await held_now(ctx) is None:
        return
    reading = read_amount(ctx.incoming.text or "", limit=MAX_MEASURED_VND, allow_zero=True)
    if reading.amount is None:
        assert reading.problem is not None
        ctx.reply(amount_problem(ctx, reading.problem), force_reply=True)
        return
    ctx.state.data["benefit"] = reading.amount
    await _next(ctx, FILES)


async def _evidence(ctx: Context) -> None:
    """A photo or document of the evidence; text is not evidence here."""
    if await held_now(ctx) is None:
        return
    files = ctx.state.data.setdefault("files", [])
    if not ctx.incoming.files:
        ctx.reply(ctx.t("applied.files_hint"), _ask_files(ctx)[1])
        return
    if len(files) + len(ctx.incoming.files) > MAX_IDEA_FILES:
        ctx.reply(ctx.t("applied.too_many_files", limit=MAX_IDEA_FILES), _ask_files(ctx)[1])
        return
    files.extend(f.to_json() for f in ctx.incoming.files)
    await reprompt(ctx)


async def _files_done(ctx: Context, _: str) -> None:
    if await held_now(ctx) is None:
        return
    ctx.answer()
    ctx.state.step = CONFIRM
    ctx.show(*_summary(ctx))


async def _next(ctx: Context, step: str) -> None:
    ctx.state.step = step
    await reprompt(ctx)


async def cancel(ctx: Context, _: str) -> None:
    ctx.answer()
    ctx.state.clear()
    ctx.show(ctx.t("applied.cancelled"))


# ---------------------------------------------------------------- recording it


async def _record(ctx: Context, _: str) -> None:
    held = await held_now(ctx)
    if held is None:
        return
    ctx.answer()
    data = ctx.state.data
    idea = held.idea
    day = date.fromisoformat(data["day"])
    where, benefit = str(data["where"]), int(data["benefit"])
    result = await ctx.uow.council.result_for_update(idea.id)
    result.applied_on, result.applied_where = day, where
    result.applied_at, result.applied_by = ctx.now, ctx.person.id
    result.benefit_vnd = benefit
    idea.status = IdeaStatus.APPLIED.value
    idea.updated_at = ctx.now
    # Nothing waits on anyone now: no reminder is due for it.
    idea.waiting_since = idea.reminded_at = idea.escalated_at = None
    event = await ctx.uow.ideas.add_event(
        idea_id=idea.id,
        kind="applied",
        actor_id=ctx.person.id,
        at=ctx.now,
        note=where,
        data={"benefit": benefit, "on": day.isoformat(), "where": where},
    )
    files = [FileRef.from_json(f) for f in data.get("files", [])]
    store_attachments(ctx, files, idea_id=idea.id, event_id=event.id)
    await progress_counts.record_applied(ctx, idea, result, day)
    await ctx.uow.flush()
    log.info("idea %s applied, recorded by person %s", idea.ref_code, ctx.person.id)
    ctx.state.clear()
    await refresh_cards(ctx, idea)

    def told(t: Translator) -> OutMessage:
        text = t(
            "applied.told_author",
            ref=idea.ref_code,
            title=idea.title,
            day=day_text(day),
            where=where,
            benefit=format_amount(benefit, t.lang),
        )
        return OutMessage(text, my_ideas.detail_buttons(t, idea))

    await tell_author(ctx, idea, told)
    text = ctx.t(
        "applied.recorded",
        ref=idea.ref_code,
        day=day_text(day),
        where=where,
        benefit=format_amount(benefit, ctx.lang),
    )
    ctx.show(text, applied_later.after_buttons(ctx.t, idea))


STEPS: dict[str, Step] = {
    DAY: Step(on_message=_typed_day, on_button={"today": _today, "x": cancel}, question=_ask_day),
    WHERE: Step(on_message=_typed_where, question=_ask_where),
    BENEFIT: Step(on_message=_typed_benefit, question=_ask_benefit),
    FILES: Step(
        on_message=_evidence, on_button={"done": _files_done, "x": cancel}, question=_ask_files
    ),
    CONFIRM: Step(on_button={"ok": _record, "x": cancel}, question=_summary),
    **applied_later.steps(cancel),
}

PRESSES: dict[str, Callable[[Context, LifecyclePress], Awaitable[None]]] = {
    APPLY: press_apply,
    REVISE: applied_later.press_revise,
    EVIDENCE: applied_later.press_evidence,
    REWARD: applied_later.press_reward,
    "ad": my_ideas.detail_press,
}
