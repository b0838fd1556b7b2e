"""Who may record an idea's application, evidence or reward, and when: asked on every step.

Each press and each typed reply of :mod:`handlers.flows.applied` loads the idea under
its row lock and asks the visibility policy again (the button and the conversation
are hints), then checks that the idea is at the step the action belongs to. A
refusal says the same thing whether the idea exists or not.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from handlers import visibility
from handlers.amounts import MAX_MEASURED_VND, AmountProblem, format_amount
from handlers.buttons import LifecyclePress
from handlers.context import PRIORITY_REPLY, Context
from handlers.events import Button, OutMessage
from handlers.flows.registry import FLOWS
from handlers.i18n import Translator
from handlers.safe_html import Html
from handlers.visibility import Action
from storage.lifecycle_models import IdeaResult
from storage.models import Idea, IdeaStatus
from storage.progress import vietnam_day

log = logging.getLogger(__name__)

FLOW = "applied"

# The flow's actions (the ``lc:`` button's action, and the ``act`` of the flow's data).
APPLY, REVISE, EVIDENCE, REWARD = "ap", "bn", "ev", "rw"

RECOGNISED, APPLIED = IdeaStatus.RECOGNISED.value, IdeaStatus.APPLIED.value
WHO: dict[str, Action] = {
    APPLY: Action.RECORD_APPLIED,
    REVISE: Action.RECORD_APPLIED,
    EVIDENCE: Action.ADD_EVIDENCE,
    REWARD: Action.RECORD_REWARD,
}
WHEN: dict[str, frozenset[str]] = {
    APPLY: frozenset({RECOGNISED}),
    REVISE: frozenset({APPLIED}),
    EVIDENCE: frozenset({RECOGNISED, APPLIED}),
    REWARD: frozenset({RECOGNISED, APPLIED}),
}
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True, slots=True)
class Held:
    """The idea, locked for this transaction, and its result row (None before one exists)."""

    idea: Idea
    result: IdeaResult | None


async def hold(ctx: Context, idea_id: int, act: str) -> Held | Html:
    """The idea locked, if the person may take ``act`` on it now; else the refusal to say."""
    idea = await ctx.uow.ideas.get_for_update(idea_id)
    if idea is None:
        return ctx.t("applied.not_allowed")
    result = await ctx.uow.council.result(idea.id)
    place = await visibility.place_of(
        ctx.uow, idea, council_unit_id=result.council_unit_id if result else None
    )
    viewer = await visibility.load_viewer(ctx.uow, ctx.person.id)
    if not visibility.may(viewer, WHO[act], place):
        log.info("applied refused: person %s, idea %s, %s", ctx.person.id, idea.id, act)
        return ctx.t("applied.not_allowed")
    if idea.status in WHEN[act]:
        return Held(idea, result)
    status = ctx.t(f"status.{idea.status}")
    if act == APPLY and idea.status == APPLIED and result is not None and result.applied_on:
        return ctx.t("applied.already_applied", ref=idea.ref_code, day=day_text(result.applied_on))
    if act == REVISE and idea.status == RECOGNISED:
        return ctx.t("applied.not_applied_yet", ref=idea.ref_code)
    return ctx.t("applied.too_early", ref=idea.ref_code, status=status)


async def held_now(ctx: Context) -> Held | None:
    """The flow's idea, authorised again for a typed reply or a press of the flow;
    None after saying why not (the flow then ends: nothing was changed)."""
    data = ctx.state.data
    held = await hold(ctx, int(data.get("idea_id", 0)), str(data.get("act", "")))
    if isinstance(held, Held):
        return held
    ctx.state.clear()
    if ctx.incoming.button is not None:
        ctx.answer(plain(held), alert=True)
    else:
        ctx.reply(held)
    return None


async def enter(ctx: Context, press: LifecyclePress, act: str) -> Held | None:
    """A press that starts a step: authorised, in a private chat, with no other flow open.

    In a group (the team's or the council's) the steps' questions would be typed by
    everyone: the presser gets the same button in their private chat instead.
    """
    held = await hold(ctx, press.idea_id, act)
    if not isinstance(held, Held):
        refuse_press(ctx, held)
        return None
    if ctx.chat.kind != "private":
        await _hand_to_private(ctx, held.idea, act)
        return None
    if not await may_begin(ctx, held.idea, act):
        return None
    ctx.answer()
    return held


_LABELS = {
    APPLY: "applied.apply_button",
    REVISE: "applied.revise",
    EVIDENCE: "applied.add_evidence",
    REWARD: "mine.record_reward",
}


async def _hand_to_private(ctx: Context, idea: Idea, act: str) -> None:
    def render(t: Translator) -> OutMessage:
        button = Button(t(_LABELS[act]), LifecyclePress(idea.id, act).pack())
        return OutMessage(t("applied.continue_here", ref=idea.ref_code), ((button,),))

    if await ctx.notify([ctx.person.id], render, idea_id=idea.id, priority=PRIORITY_REPLY):
        ctx.answer(plain(ctx.t("applied.sent_privately")), alert=True)
    else:
        ctx.answer(plain(ctx.t("applied.start_private_first", bot=ctx.bot_name)), alert=True)


async def may_begin(ctx: Context, idea: Idea, act: str) -> bool:
    """Whether a press may start the flow for ``act`` on ``idea`` in this chat now.

    The same press again while its flow is open asks the current question again (a
    repeated press changes nothing); any other flow in progress is left as it is.
    """
    state = ctx.state
    if state.flow == FLOW and state.data.get("idea_id") == idea.id and state.data.get("act") == act:
        ctx.answer()
        flow = FLOWS.get(FLOW)
        if flow is not None:
            await flow.reprompt(ctx)
        return False
    if state.flow is not None:
        ctx.answer(plain(ctx.t("applied.busy")), alert=True)
        busy = FLOWS.get(state.flow)
        if busy is not None:
            await busy.reprompt(ctx)
        return False
    return True


def start(ctx: Context, idea: Idea, act: str, step: str, **data: Any) -> None:
    ctx.state.start(FLOW, step, idea_id=idea.id, ref=idea.ref_code, act=act, **data)


def amount_problem(ctx: Context, problem: AmountProblem) -> Html:
    """Why a typed figure was not taken, naming the forms that are."""
    if problem is AmountProblem.TOO_LARGE:
        return ctx.t("applied.amount_too_large", limit=format_amount(MAX_MEASURED_VND, ctx.lang))
    return ctx.t(f"applied.amount_{problem.value}")


def refuse_press(ctx: Context, refusal: Html) -> None:
    ctx.answer(plain(refusal), alert=True)


def plain(text: str) -> str:
    """A text for a button's alert, which shows no HTML."""
    return html.unescape(_TAG.sub("", text))


def day_text(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def today(ctx: Context) -> date:
    return vietnam_day(ctx.now)
