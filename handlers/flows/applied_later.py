"""After an initiative is in use: its benefit revised, evidence added, the reward recorded.

Steps of the ``applied`` flow (:mod:`handlers.flows.applied` holds the table), each
started by an ``lc:`` press and authorised again on every step
(:mod:`handlers.flows.applied_access`):

- ``bn`` the deciding team or the council types the revised benefit a year, as often
  as the figures firm up: event ``benefit_revised`` (old, new), and the campaign's
  benefit moves by the difference only;
- ``ev`` they, or the author, send photos or documents: event ``evidence_added``, its
  files linked to it;
- ``rw`` the author types the reward received: event ``rewarded``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from handlers import progress_counts
from handlers.amounts import MAX_MEASURED_VND, format_amount, read_amount
from handlers.buttons import LifecyclePress
from handlers.context import Context
from handlers.events import Button, FileRef, OutMessage
from handlers.flows.applied_access import (
    EVIDENCE,
    REVISE,
    REWARD,
    Held,
    amount_problem,
    enter,
    held_now,
    start,
)
from handlers.flows.common import OnButton, Step, store_attachments
from handlers.i18n import Translator
from handlers.limits import MAX_IDEA_FILES
from handlers.team import tell_author
from storage.models import Idea

log = logging.getLogger(__name__)


def after_buttons(t: Translator, idea: Idea) -> tuple[tuple[Button, ...], ...]:
    """What the team or the council may do next with an idea in use."""
    return (
        (Button(t("applied.revise"), LifecyclePress(idea.id, REVISE).pack()),),
        (Button(t("applied.add_evidence"), LifecyclePress(idea.id, EVIDENCE).pack()),),
    )


# ---------------------------------------------------------------- the presses


async def _begin(ctx: Context, press: LifecyclePress, act: str, **data: object) -> Held | None:
    held = await enter(ctx, press, act)
    if held is not None:
        start(ctx, held.idea, act, act, **data)
    return held


async def press_revise(ctx: Context, press: LifecyclePress) -> None:
    held = await _begin(ctx, press, REVISE)
    if held is not None:
        ctx.state.data["benefit"] = (held.result.benefit_vnd if held.result else 0) or 0
        _ask(ctx)


async def press_evidence(ctx: Context, press: LifecyclePress) -> None:
    if await _begin(ctx, press, EVIDENCE, files=[]) is not None:
        _ask(ctx)


async def press_reward(ctx: Context, press: LifecyclePress) -> None:
    if await _begin(ctx, press, REWARD) is not None:
        _ask(ctx)


def _ask(ctx: Context) -> None:
    text, rows = _question(ctx)
    ctx.reply(text, rows, force_reply=not rows)


def _question(ctx: Context) -> tuple[str, list[list[Button]]]:
    data, step = ctx.state.data, ctx.state.step
    ref = data.get("ref", "")
    if step == REVISE:
        benefit = format_amount(int(data.get("benefit", 0)), ctx.lang)
        return ctx.t("applied.ask_revise", ref=ref, benefit=benefit), []
    if step == REWARD:
        return ctx.t("applied.ask_reward", ref=ref), []
    files = len(data.get("files", []))
    cancel = ctx.button(ctx.t("applied.cancel"), EVIDENCE, "x")
    if not files:
        return ctx.t("applied.ask_evidence", ref=ref, limit=MAX_IDEA_FILES), [[cancel]]
    done = ctx.button(ctx.t("applied.done"), EVIDENCE, "done")
    return ctx.t("applied.files_received", count=files), [[done, cancel]]


# ---------------------------------------------------------------- the benefit revised


async def _typed_revision(ctx: Context) -> None:
    held = await held_now(ctx)
    if held is None:
        return
    reading = read_amount(ctx.incoming.text or "", limit=MAX_MEASURED_VND, allow_zero=True)
    if reading.amount is None:
        assert reading.problem is not None
        ctx.reply(amount_problem(ctx, reading.problem), force_reply=True)
        return
    idea, new = held.idea, reading.amount
    result = await ctx.uow.council.result_for_update(idea.id)
    old = result.benefit_vnd or 0
    ctx.state.clear()
    if new == old:
        ctx.reply(ctx.t("applied.unchanged", benefit=format_amount(old, ctx.lang)))
        return
    result.benefit_vnd = new
    await progress_counts.record_benefit_change(ctx, idea, result, old)
    idea.updated_at = ctx.now
    await ctx.uow.ideas.add_event(
        idea_id=idea.id,
        kind="benefit_revised",
        actor_id=ctx.person.id,
        at=ctx.now,
        data={"old": old, "new": new},
    )
    await ctx.uow.flush()
    log.info("idea %s: benefit revised by person %s", idea.ref_code, ctx.person.id)

    def amounts(t: Translator) -> dict[str, str]:
        return {"old": format_amount(old, t.lang), "new": format_amount(new, t.lang)}

    await tell_author(
        ctx,
        idea,
        lambda t: OutMessage(t("applied.told_revised", ref=idea.ref_code, **amounts(t))),
    )
    text = ctx.t("applied.revised", ref=idea.ref_code, **amounts(ctx.t))
    ctx.reply(text, after_buttons(ctx.t, idea))


# ---------------------------------------------------------------- evidence


async def _evidence(ctx: Context) -> None:
    if await held_now(ctx) is None:
        return
    files = ctx.state.data.setdefault("files", [])
    if not ctx.incoming.files:
        ctx.reply(ctx.t("applied.files_hint"), _question(ctx)[1])
        return
    if len(files) + len(ctx.incoming.files) > MAX_IDEA_FILES:
        rows = _question(ctx)[1]
        ctx.reply(ctx.t("applied.too_many_files", limit=MAX_IDEA_FILES), rows)
        return
    files.extend(f.to_json() for f in ctx.incoming.files)
    _ask(ctx)


async def _evidence_done(ctx: Context, _: str) -> None:
    held = await held_now(ctx)
    if held is None:
        return
    files = [FileRef.from_json(f) for f in ctx.state.data.get("files", [])]
    if not files:
        ctx.answer(ctx.t("applied.files_hint"), alert=True)
        return
    ctx.answer()
    idea = held.idea
    event = await ctx.uow.ideas.add_event(
        idea_id=idea.id,
        kind="evidence_added",
        actor_id=ctx.person.id,
        at=ctx.now,
        data={"files": len(files)},
    )
    store_attachments(ctx, files, idea_id=idea.id, event_id=event.id)
    await ctx.uow.flush()
    log.info("idea %s: %s evidence files by person %s", idea.ref_code, len(files), ctx.person.id)
    ctx.state.clear()
    ctx.show(ctx.t("applied.evidence_added", ref=idea.ref_code, count=len(files)))


# ---------------------------------------------------------------- the reward


async def _typed_reward(ctx: Context) -> None:
    held = await held_now(ctx)
    if held is None:
        return
    reading = read_amount(ctx.incoming.text or "", limit=MAX_MEASURED_VND)
    if reading.amount is None:
        assert reading.problem is not None
        ctx.reply(amount_problem(ctx, reading.problem), force_reply=True)
        return
    idea, reward = held.idea, reading.amount
    result = await ctx.uow.council.result_for_update(idea.id)
    old = result.reward_vnd
    result.reward_vnd, result.rewarded_at = reward, ctx.now
    await ctx.uow.ideas.add_event(
        idea_id=idea.id,
        kind="rewarded",
        actor_id=ctx.person.id,
        at=ctx.now,
        data={"reward": reward, "old": old},
    )
    await ctx.uow.flush()
    log.info("idea %s: reward recorded by its author", idea.ref_code)
    ctx.state.clear()
    reward_text = format_amount(reward, ctx.lang)
    ctx.reply(ctx.t("applied.reward_recorded", ref=idea.ref_code, reward=reward_text))


def steps(cancel: OnButton) -> Mapping[str, Step]:
    """This module's rows of the flow's table; ``cancel`` is the flow's own."""
    return {
        REVISE: Step(on_message=_typed_revision, question=_question),
        EVIDENCE: Step(
            on_message=_evidence,
            on_button={"done": _evidence_done, "x": cancel},
            question=_question,
        ),
        REWARD: Step(on_message=_typed_reward, question=_question),
    }
