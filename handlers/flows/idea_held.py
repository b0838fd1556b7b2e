"""A message held aside while the worker says whether it answers the team's question.

A team may ask about an earlier idea while the worker is filling in a new one; the
question says "answer right here". The first message after it is held, and the worker
chooses: it answers the question (the answer flow takes it), or it belongs to the draft.
"""

from __future__ import annotations

from datetime import datetime

from handlers.context import Context
from handlers.flows import answer
from handlers.flows.common import OnMessage, replay_parts, stale
from handlers.flows.idea_draft import ANY_STEP
from handlers.flows.idea_questions import draft_of
from storage.models import Idea


async def hold_for_question(ctx: Context) -> bool:
    """The first message after a team's question that came while this draft was open.

    The question says "answer right here", and the worker may well mean this message for
    it: keep the message aside and ask which is meant. Asked once per question; a choice
    either way keeps the message.
    """
    incoming = ctx.incoming
    if incoming.other is not None or (incoming.text is None and not incoming.files):
        return False
    question = await _new_question(ctx)
    if question is None:
        return False
    part = {"text": incoming.text, "files": [f.to_json() for f in incoming.files]}
    draft_of(ctx).hold(part, question.id)
    t = ctx.t
    ctx.reply(
        t("idea.question_or_draft", ref=question.ref_code, title=question.title),
        [
            [ctx.button(t("idea.held_answer", ref=question.ref_code), ANY_STEP, "held", "answer")],
            [ctx.button(t("idea.held_draft"), ANY_STEP, "held", "draft")],
        ],
    )
    return True


async def _new_question(ctx: Context) -> Idea | None:
    """An open question of the team asked after this draft was opened, not yet asked about."""
    draft = draft_of(ctx)
    opened = datetime.fromisoformat(draft.opened_at) if draft.opened_at is not None else None
    # No question was asked since the draft was opened: nothing to read (the common case,
    # on nearly every message typed into the form).
    last = ctx.person.questions_at
    if last is None or (opened is not None and last < opened):
        return None
    asked = draft.asked_before()
    for idea in await ctx.uow.ideas.awaiting_answer(ctx.person.id):
        if _question_key(idea) in asked:
            continue
        if opened is None or idea.updated_at >= opened:
            return idea
    return None


def _question_key(idea: Idea) -> str:
    return f"{idea.id}@{idea.updated_at.isoformat()}"


async def choose(ctx: Context, value: str, *, replay: OnMessage, reprompt: OnMessage) -> None:
    """The worker's choice: the held messages answer the question, or go into the draft
    (``replay`` takes each as if just sent; ``reprompt`` shows the form again)."""
    draft = draft_of(ctx)
    held, idea_id = draft.take_held()
    if not held or value not in ("answer", "draft"):
        stale(ctx)
        await reprompt(ctx)
        return
    ctx.answer()
    idea = await answer.open_question(ctx, str(idea_id)) if idea_id is not None else None
    if idea is not None:
        draft.asked.append(_question_key(idea))
    if value == "answer" and idea is not None:
        ctx.show(ctx.t("idea.held_went_to_answer", ref=idea.ref_code))
        await answer.begin_with_parts(ctx, idea, held)
        return
    ctx.show(ctx.t("idea.held_went_to_draft"))
    if value == "answer":  # the question was answered or closed meanwhile
        ctx.reply(ctx.t("answer.no_question"))
    await replay_parts(ctx, held, replay)
