"""The worker answers the support team's question: text, photos, documents or voice.

Started by the "Answer" button under the question, or simply by writing to the
bot while a question is open. A form the worker was filling in is set aside and
resumed once the answer is sent.
"""

from __future__ import annotations

from typing import Any

from handlers.buttons import AnswerPress, FlowPress
from handlers.context import Context
from handlers.events import Button, FileRef
from handlers.flows.common import Step, parse_id, press_in, replay_parts, store_attachments
from handlers.flows.idea_draft import Draft
from handlers.flows.registry import FLOWS
from handlers.limits import MAX_IDEA_BODY_CHARS, MAX_IDEA_FILES
from handlers.team import send_card, team_for
from handlers.textnorm import clean_user_text
from storage.models import Idea, IdeaStatus

FLOW = "answer"
STEP = "collect"


async def begin_from_button(ctx: Context, press: AnswerPress) -> None:
    """The "Answer" button: only the author, only while the question is open."""
    idea = await open_question(ctx, str(press.idea_id))
    if idea is None:
        no_question(ctx)
        return
    ctx.answer()
    if ctx.state.flow == FLOW and ctx.state.data.get("idea_id") == idea.id:
        await reprompt(ctx)
        return
    _start(ctx, idea)
    ctx.reply(ctx.t("answer.ask", ref=idea.ref_code), [_buttons(ctx, done=False)])


def no_question(ctx: Context) -> None:
    ctx.answer(ctx.t("answer.no_question"), alert=True)


async def begin_with_message(ctx: Context) -> bool:
    """A message outside any flow while a question is open is the start of the answer."""
    if ctx.person.questions_at is None:  # never asked anything: no question is open
        return False
    open_questions = await ctx.uow.ideas.awaiting_answer(ctx.person.id)
    if not open_questions:
        return False
    idea = open_questions[0]
    _start(ctx, idea)
    await on_message(ctx)
    return True


async def begin_with_parts(ctx: Context, idea: Idea, parts: list[dict[str, Any]]) -> None:
    """Messages the idea form kept aside, which the worker says answer the team's question."""
    _start(ctx, idea)
    await replay_parts(ctx, parts, on_message)


def _start(ctx: Context, idea: Idea) -> None:
    suspended: dict[str, Any] | None = None
    if ctx.state.flow is not None and ctx.state.flow != FLOW:
        suspended = {"flow": ctx.state.flow, "step": ctx.state.step, "data": ctx.state.data}
    ctx.state.start(FLOW, STEP, idea_id=idea.id, ref=idea.ref_code, body=[], files=[])
    if suspended:
        ctx.state.data["suspended"] = suspended


async def open_question(ctx: Context, raw_id: str) -> Idea | None:
    idea_id = parse_id(raw_id)
    if idea_id is None:
        return None
    idea = await ctx.uow.ideas.get_for_update(idea_id)
    if idea is None or idea.author_id != ctx.person.id:
        return None
    return idea if idea.status == IdeaStatus.INFO_REQUESTED.value else None


async def on_message(ctx: Context) -> None:
    incoming, draft = ctx.incoming, Draft(ctx.state.data)
    if incoming.other is not None:
        ctx.reply(ctx.t("idea.unsupported"), [_buttons(ctx, done=draft.has_content)])
        return
    if incoming.files:
        if len(draft.files) + len(incoming.files) > MAX_IDEA_FILES:
            ctx.reply(ctx.t("idea.too_many_files", limit=MAX_IDEA_FILES))
            return
        draft.files.extend(f.to_json() for f in incoming.files)
    text = clean_user_text(incoming.text or "")
    if text:
        # The parts are joined with a blank line: count it, as the idea form does.
        used = draft.room_used()
        if used + len(text) > MAX_IDEA_BODY_CHARS:
            if incoming.files:  # the message is refused whole, its files too
                draft.files = draft.files[: -len(incoming.files)]
            ctx.reply(
                ctx.t(
                    "idea.too_long",
                    limit=MAX_IDEA_BODY_CHARS,
                    left=max(MAX_IDEA_BODY_CHARS - used, 0),
                    length=len(text),
                ),
                [_buttons(ctx, done=draft.has_content)],
            )
            return
        draft.body.append(text)
    if not draft.has_content:
        ctx.reply(ctx.t("idea.need_text"), [_buttons(ctx, done=False)])
        return
    ctx.reply(ctx.t("answer.received", ref=ctx.state.data["ref"]), [_buttons(ctx, done=True)])


async def on_button(ctx: Context, press: FlowPress) -> None:
    await press_in(ctx, STEPS, press)


async def _cancel(ctx: Context, _: str) -> None:
    ctx.answer()
    ref = ctx.state.data.get("ref", "")
    await _finish(ctx)
    ctx.show(ctx.t("answer.cancelled", ref=ref))
    await _resume(ctx)


async def _send(ctx: Context, _: str) -> None:
    data = ctx.state.data
    draft = Draft(data)
    idea = await open_question(ctx, str(data.get("idea_id", "")))
    if idea is None:
        no_question(ctx)
        await _finish(ctx)
        return
    if not draft.has_content:
        ctx.answer(ctx.t("idea.need_text"), alert=True)
        return
    ctx.answer()
    events = await ctx.uow.ideas.events(idea.id)
    asked = next((e for e in reversed(events) if e.kind == "info_requested"), None)
    previous = (asked.data or {}).get("previous") if asked else None
    idea.status = str(previous or IdeaStatus.SUBMITTED.value)
    idea.updated_at = idea.waiting_since = ctx.now
    idea.reminded_at = idea.escalated_at = None
    answer = draft.text
    event = await ctx.uow.ideas.add_event(
        idea_id=idea.id,
        kind="info_added",
        actor_id=ctx.person.id,
        at=ctx.now,
        note=answer or None,
    )
    files = [FileRef.from_json(f) for f in draft.files]
    store_attachments(ctx, files, idea_id=idea.id, event_id=event.id)
    await ctx.uow.flush()
    holder = await ctx.uow.units.get(idea.holder_unit_id)
    team = await team_for(ctx, holder) if holder else None
    if team is not None:
        await send_card(ctx, idea, team, files=files)
    await _finish(ctx)
    ctx.show(ctx.t("answer.sent", ref=idea.ref_code))
    await _resume(ctx)


async def _finish(ctx: Context) -> None:
    suspended = ctx.state.data.get("suspended")
    ctx.state.clear()
    if suspended:
        ctx.state.flow = suspended["flow"]
        ctx.state.step = suspended["step"]
        ctx.state.data = suspended["data"]


async def _resume(ctx: Context) -> None:
    """Back to the form the question interrupted, if any."""
    if ctx.state.flow is None:
        return
    flow = FLOWS.get(ctx.state.flow)
    if flow is not None:
        ctx.reply(ctx.t("answer.resume"))
        await flow.reprompt(ctx)


async def reprompt(ctx: Context) -> None:
    has = Draft(ctx.state.data).has_content
    key = "answer.received" if has else "answer.ask"
    ctx.reply(ctx.t(key, ref=ctx.state.data.get("ref", "")), [_buttons(ctx, done=has)])


def _buttons(ctx: Context, *, done: bool) -> list[Button]:
    row = []
    if done:
        row.append(ctx.button(ctx.t("answer.send"), STEP, "send"))
    row.append(ctx.button(ctx.t("idea.cancel"), STEP, "cancel"))
    return row


# The answer: text, photos, documents or voice notes, in as many messages as it takes →
# Send (the team gets it, the form it interrupted comes back) or Cancel.
STEPS = {STEP: Step(on_message=on_message, on_button={"send": _send, "cancel": _cancel})}
