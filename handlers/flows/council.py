"""The initiative council (Hội đồng sáng kiến) evaluates an approved idea, in the chat.

When the support team approves an idea, :func:`on_approved` finds the council (the
nearest unit at or above the idea's with council members or a council group) and
sends it the council card (:mod:`handlers.flows.council_card`). Each member scores
the idea privately, one criterion at a time with buttons 1..scale (the press carries
the digits so far: ``lc:<idea>:s:453``), then may add a comment. Once the quorum has
scored, the chair records the outcome: recognised, with the number and date of the
unit head's decision typed in one reply and confirmed, or not recognised, with a
reason. The worker is told, gets the certificate, and the support team is asked to
record the application.

``lc:`` buttons are only hints: every press loads the idea under its row lock, asks
the visibility policy again (``Action.SCORE``, ``Action.RECORD_OUTCOME``) and checks
that the idea still waits for the council.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from handlers import visibility
from handlers.buttons import FlowPress, LifecyclePress
from handlers.cards import local_time, since_text, title_as_seen
from handlers.context import Context, Scope
from handlers.events import Button, OutMessage, family_of
from handlers.flows import council_card, council_outcome
from handlers.flows.common import Step, message_in, page_buttons, parse_id, press_in, stale
from handlers.flows.council_card import (
    COMMENT,
    CONFIRM,
    COUNCIL_PREFIXES,
    DECISION,
    REASON,
    criterion_name,
)
from handlers.flows.council_card import FLOW as FLOW  # the router names the flow by it
from handlers.i18n import Translator
from handlers.safe_html import html_join
from handlers.team import Target
from handlers.textnorm import clean_user_text, truncate
from handlers.visibility import COUNCIL_ROLES, Action
from storage.models import Idea

log = logging.getLogger(__name__)

MAX_NOTE_CHARS = 1000
BUTTON_LABEL_CHARS = 50
PAGE = 8

Handler = Callable[[Context, LifecyclePress], Awaitable[None]]


# ---------------------------------------------------------------- the team approved


async def on_approved(scope: Scope, idea: Idea) -> None:
    """The support team approved ``idea``: it now waits for its council, which is told."""
    unit = await scope.uow.units.get(idea.unit_id)
    found = await visibility.council_unit(scope.uow, unit) if unit is not None else None
    result = await scope.uow.council.result_for_update(idea.id)
    result.council_unit_id = found.id if found is not None else None
    idea.waiting_since = scope.now
    idea.reminded_at = idea.escalated_at = None
    await scope.uow.flush()
    if found is None:  # no council anywhere above: it waits approved (reminders tell)
        log.info("idea %s approved: no council above its unit", idea.id)
        return
    reached = await council_card.send_cards(scope, idea, result)
    log.info("idea %s: council card to %s chats of unit %s", idea.id, reached, found.id)


# ---------------------------------------------------------------- opening the card


async def _open(ctx: Context, press: LifecyclePress) -> None:
    """From /council, the chair's notice or the council group's card: the council card.

    In a group it goes to the presser's private chat, where scoring happens."""
    p = await council_card.authorise(ctx, press.idea_id, Action.SCORE)
    if p is None:
        return
    here = ctx.incoming.chat
    sent = await ctx.uow.outbox.sent_cards(p.idea.id, COUNCIL_PREFIXES)
    if here.kind == "private":
        ctx.answer()
        if any(
            (r.chat_id, r.message_id) == (here.external_id, ctx.incoming.message_id) for r in sent
        ):
            await council_card.show_here(ctx, p.idea, p.result)
            return
        target = Target(here.channel, here.external_id, ctx.person.id, ctx.lang)
        edit = ctx.incoming.message_id
        await council_card.send_cards(ctx, p.idea, p.result, only=target, edit_message_id=edit)
        return
    chats = await ctx.uow.people.private_chats([ctx.person.id])
    mine = [(ch, chat) for _, ch, chat in chats if family_of(ch) == family_of(here.channel)]
    if not mine:
        ctx.answer(
            council_card.plain(ctx.t("council.start_private_first", bot=ctx.bot_name)),
            alert=True,
        )
        return
    ctx.answer(council_card.plain(ctx.t("council.opened_privately")))
    if any(row.chat_id == mine[0][1] for row in sent):
        return  # that chat has the card already, kept up to date by every change
    target = Target(*mine[0], ctx.person.id, ctx.lang)
    await council_card.send_cards(ctx, p.idea, p.result, only=target)


# ---------------------------------------------------------------- scoring


async def _start_scoring(ctx: Context, press: LifecyclePress) -> None:
    """The card's Score: a new message asks the first criterion (the card stays)."""
    await _score(ctx, press, new_message=True)


async def _score_press(ctx: Context, press: LifecyclePress) -> None:
    await _score(ctx, press, new_message=False)


async def _score(ctx: Context, press: LifecyclePress, *, new_message: bool) -> None:
    if not council_card.private_only(ctx):
        return
    p = await council_card.authorise(ctx, press.idea_id, Action.SCORE)
    if p is None or not council_card.waits(ctx, p):
        return
    criteria, scale = ctx.council.criteria, ctx.council.scale
    digits = "" if new_message else press.value
    if len(digits) > len(criteria) or not all(c.isdigit() and 1 <= int(c) <= scale for c in digits):
        ctx.answer(council_card.plain(ctx.t("council.bad_score", scale=scale)), alert=True)
        return
    mine = await ctx.uow.council.score_of(p.idea.id, ctx.person.id)
    if mine is not None:
        _already_scored(ctx, mine.at, mine.total)
        return
    if len(digits) < len(criteria):
        ctx.answer()
        text, rows = _criterion_question(ctx, p.idea, digits)
        (ctx.reply if new_message else ctx.show)(text, rows)
        return
    await _store_score(ctx, p, {name: int(d) for name, d in zip(criteria, digits, strict=True)})


def _criterion_question(ctx: Context, idea: Idea, digits: str) -> tuple[str, list[list[Button]]]:
    t, criteria, scale = ctx.t, ctx.council.criteria, ctx.council.scale
    done = [
        t("council.score_part", name=criterion_name(t, name), score=int(d))
        for name, d in zip(criteria, digits, strict=False)
    ]
    text = t(
        "council.ask_criterion",
        ref=idea.ref_code,
        number=len(digits) + 1,
        count=len(criteria),
        criterion=criterion_name(t, criteria[len(digits)]),
        scale=scale,
        done=t("council.so_far", parts=html_join(done, " · ")) if done else "",
    )
    scores = [
        Button(str(n), LifecyclePress(idea.id, "s", digits + str(n)).pack())
        for n in range(1, scale + 1)
    ]
    rows = [scores]
    if digits:
        rows.append([Button(t("council.score_again"), LifecyclePress(idea.id, "s").pack())])
    return text, rows


def _already_scored(ctx: Context, at: datetime, total: int) -> None:
    text = ctx.t("council.already_scored", when=local_time(at), total=total)
    ctx.answer(council_card.plain(text), alert=True)


async def _store_score(ctx: Context, p: council_card.Pressed, scores: dict[str, int]) -> None:
    council_unit_id = p.result.council_unit_id
    if council_unit_id is None:  # cannot happen: may(SCORE) needs the council's unit
        stale(ctx)
        return
    before, needed = await council_card.tally(ctx, p)
    row = await ctx.uow.council.add_score(
        idea_id=p.idea.id,
        person_id=ctx.person.id,
        council_unit_id=council_unit_id,
        scores=scores,
        comment=None,
        at=ctx.now,
    )
    if row is None:  # a second press raced the first: the unique key refused it
        _already_scored(ctx, ctx.now, sum(scores.values()))
        return
    await ctx.uow.ideas.add_event(
        idea_id=p.idea.id,
        kind="council_scored",
        actor_id=ctx.person.id,
        at=ctx.now,
        data={"total": row.total},
    )
    log.info("idea %s scored by person %s", p.idea.id, ctx.person.id)
    ctx.answer(council_card.plain(ctx.t("council.saved_toast")))
    text = ctx.t(
        "council.scored",
        ref=p.idea.ref_code,
        scores=council_card.scores_text(ctx.t, ctx, row),
        done=before + 1,
        needed=needed,
    )
    comment = Button(ctx.t("council.add_comment"), LifecyclePress(p.idea.id, "cm").pack())
    ctx.show(text, [[comment]])
    await council_card.refresh(ctx, p.idea, p.result)
    if before < needed <= before + 1:
        await _tell_chairs(ctx, p, needed)


async def _tell_chairs(ctx: Context, p: council_card.Pressed, needed: int) -> None:
    """The quorum has just scored: the chair may record the outcome now."""
    council = await council_card.council_at(ctx, p.result.council_unit_id)
    chairs = [c for c in (council.chairs if council else []) if c != ctx.person.id]
    for chair in chairs:
        viewer = await visibility.load_viewer(ctx.uow, chair)
        seen = visibility.sight(viewer, p.place)

        def render(t: Translator, seen: visibility.Sight = seen) -> OutMessage:
            title = title_as_seen(t, p.idea, p.place, seen)
            open_card = Button(t("council.open"), LifecyclePress(p.idea.id, "op").pack())
            text = t("council.quorum_to_chair", ref=p.idea.ref_code, title=title, done=needed)
            return OutMessage(text, ((open_card,),))

        await ctx.notify([chair], render, idea_id=p.idea.id, purpose="council_quorum")


async def _ask_comment(ctx: Context, press: LifecyclePress) -> None:
    if not council_card.private_only(ctx):
        return
    p = await council_card.authorise(ctx, press.idea_id, Action.SCORE)
    if p is None or not council_card.waits(ctx, p):
        return
    mine = await ctx.uow.council.score_of(p.idea.id, ctx.person.id)
    if mine is None or mine.comment:
        key = "council.score_first" if mine is None else "council.already_commented"
        ctx.answer(council_card.plain(ctx.t(key)), alert=True)
        return
    ctx.answer()
    ctx.state.start(FLOW, COMMENT, idea_id=p.idea.id, ref=p.idea.ref_code)
    ctx.reply(ctx.t("council.ask_comment", ref=p.idea.ref_code), force_reply=True)


async def _take_comment(ctx: Context, text: str) -> None:
    idea_id = int(ctx.state.data.get("idea_id", 0))
    ctx.state.clear()
    p = await council_card.authorise(ctx, idea_id, Action.SCORE)
    if p is None or not council_card.waits(ctx, p):
        return
    mine = await ctx.uow.council.score_of(p.idea.id, ctx.person.id)
    if mine is None or mine.comment:
        ctx.reply(ctx.t("council.score_first" if mine is None else "council.already_commented"))
        return
    mine.comment = text
    await ctx.uow.flush()
    ctx.reply(ctx.t("council.comment_saved", ref=p.idea.ref_code))
    await council_card.refresh(ctx, p.idea, p.result)


# ---------------------------------------------------------------- typed replies


async def on_message(ctx: Context) -> None:
    await message_in(ctx, STEPS, reprompt)


def _typed(
    handler: Callable[[Context, str], Awaitable[None]],
) -> Callable[[Context], Awaitable[None]]:
    """A step that takes one typed reply: text required, at most MAX_NOTE_CHARS."""

    async def take(ctx: Context) -> None:
        text = clean_user_text(ctx.incoming.text or "")
        if not text:
            ctx.reply(ctx.t("council.need_text"), force_reply=True)
            return
        if len(text) > MAX_NOTE_CHARS:
            ctx.reply(ctx.t("council.too_long", limit=MAX_NOTE_CHARS), force_reply=True)
            return
        await handler(ctx, text)

    return take


async def on_button(ctx: Context, press: FlowPress) -> None:
    await press_in(ctx, STEPS, press)


async def reprompt(ctx: Context) -> None:
    ref = str(ctx.state.data.get("ref", ""))
    key = {
        COMMENT: "council.ask_comment",
        DECISION: "council.ask_decision",
        REASON: "council.ask_reason",
    }.get(ctx.state.step or "")
    if key is None:
        ctx.reply(ctx.t("council.press_confirm", ref=ref))
        return
    ctx.reply(ctx.t(key, ref=ref), force_reply=True)


STEPS = {
    COMMENT: Step(on_message=_typed(_take_comment)),
    DECISION: Step(on_message=_typed(council_outcome.take_decision)),
    REASON: Step(on_message=_typed(council_outcome.take_reason)),
    CONFIRM: Step(on_button={"ok": council_outcome.confirmed, "no": council_outcome.cancelled}),
}

PRESSES: dict[str, Handler] = {
    "op": _open,
    "sc": _start_scoring,
    "s": _score_press,
    "cm": _ask_comment,
    "rq": council_outcome.ask_decision,
    "nq": council_outcome.reasons,
    "nr": council_outcome.reason_picked,
    "nk": council_outcome.not_recognised_with,
}


# ---------------------------------------------------------------- /council


async def council_command(ctx: Context) -> None:
    text, rows = await _page(ctx, 0)
    ctx.reply(text, rows)


async def council_page(ctx: Context, value: str) -> None:
    ctx.answer()
    text, rows = await _page(ctx, parse_id(value) or 0)
    ctx.show(text, rows)


async def _page(ctx: Context, offset: int) -> tuple[str, list[list[Button]]]:
    t = ctx.t
    viewer = await visibility.load_viewer(ctx.uow, ctx.person.id)
    units = sorted({r.unit_id for r in viewer.roles if r.role in COUNCIL_ROLES})
    if not units:
        return t("council.not_member"), []
    ideas = await ctx.uow.council.waiting_for_council(units, limit=500)
    if not ideas:
        return t("council.empty"), []
    page = ideas[offset : offset + PAGE]
    results = await ctx.uow.council.results([i.id for i in page])
    lines, rows = [], []
    for idea in page:
        result = results[idea.id]
        place = await council_card.place_for(ctx, idea, result)
        title = title_as_seen(t, idea, place, visibility.sight(viewer, place))
        council = await council_card.council_at(ctx, result.council_unit_id)
        mine = await ctx.uow.council.score_of(idea.id, ctx.person.id)
        lines.append(
            t(
                "council.line",
                ref=idea.ref_code,
                title=truncate(title, 60),
                mine=t("council.you_scored" if mine else "council.you_not_scored"),
                done=await ctx.uow.council.score_count(idea.id),
                needed=council_card.quorum(ctx, council) if council else 1,
                since=since_text(t, idea.waiting_since or idea.updated_at, ctx.now),
            )
        )
        label = truncate(t("council.open_line", ref=idea.ref_code, title=title), BUTTON_LABEL_CHARS)
        rows.append([Button(label, LifecyclePress(idea.id, "op").pack())])
    nav = page_buttons(t, "council", offset, PAGE, len(ideas))
    if nav:
        rows.append(nav)
    header = t("council.header", total=len(ideas), first=offset + 1, last=offset + len(page))
    return header + "\n\n" + html_join(lines, "\n\n"), rows
