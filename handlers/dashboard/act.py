"""A support member's decision from the page: the chat's own triage code, run unchanged.

The page's four actions are the card's buttons: approve is the card's "Yes, approve"
(``CardPress(idea, "ok")``), forward its "Yes, forward" (``fwdto``), decline for a listed
reason its "Yes, decline" (``nor``); ask, and decline in words, are the member's typed
reply (``triage.decide_in_words``). They run in one transaction, as an update does in
``handlers/dispatch.py``: the page's ``request_id`` is claimed in ``processed_updates``
(channel "web"), the person's web "chat" is locked, and a :class:`Context` is built for a
button press in that chat with no message. So the same checks run, the same events are
written, the worker is told and every card of the idea in the chat is redrawn, all queued
in the outbox and committed together. The replies meant for the pressing chat (the
pressed card shown again) go nowhere: the page has no chat; the press's answer (its
toast) becomes the answer's ``message``. The person's conversation in the chat is never
read nor saved, so a form they have open there survives.
"""

from __future__ import annotations

import html
import logging

from handlers import visibility
from handlers.buttons import CardPress
from handlers.cards import OPEN
from handlers.context import BotInfo, Context, FlowState, language_of
from handlers.dashboard.base import JSON, ActRequest, BadRequest, Decided, Denied, Deps
from handlers.events import ChatRef, Incoming, Sender
from handlers.flows import triage
from handlers.visibility import Action
from storage.models import Idea, IdeaStatus, Person
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

CHANNEL = "web"
ACTIONS = {a.value: a for a in (Action.APPROVE, Action.ASK, Action.FORWARD, Action.DECLINE)}
MAX_REQUEST_ID = 2**63 - 1  # processed_updates.update_id is a BIGINT


async def act(deps: Deps, person_id: int, idea_id: int, request: ActRequest) -> JSON:
    action = _checked(request)
    text = _typed(request, action)
    async with UnitOfWork(deps.sessionmaker) as uow:
        person = await uow.people.get(person_id)
        if person is None:
            raise Denied
        incoming = _press(person, request, idea_id)
        await uow.lock_chat(incoming.chat.key)  # one decision of the person's at a time
        now = deps.clock()
        ctx = Context(  # sets the teams' activity cut-off that serving_unit() reads
            uow=uow,
            incoming=incoming,
            person=person,
            state=FlowState(),  # never saved: the chat's conversation stays as it is
            catalogue=deps.catalogue,
            bot=BotInfo(username=""),  # only a group's "open privately" names the bot
            now=now,
            lang=language_of(person),
            council=deps.council,
            team=deps.team,
        )
        idea = await uow.ideas.get_for_update(idea_id)
        if not await uow.updates.claim(CHANNEL, request.request_id, now):
            return await _repeat(ctx, idea)
        await _authorise(ctx, idea, action, request)
        assert idea is not None  # _authorise refused a missing idea
        if text is not None:
            step = triage.QUESTION if action is Action.ASK else triage.REASON
            message = await triage.decide_in_words(ctx, idea.id, step, text)
        else:
            await triage.on_card_button(ctx, _card_press(idea.id, action, request))
            message = ctx.callback_answer.text if ctx.callback_answer else None
        if message is None or not _done(idea, action, request):
            # Cannot happen after the checks above, in the same locked transaction.
            log.warning("dashboard act: triage refused person %s, idea %s", person.id, idea.id)
            raise Denied
        status = idea.status
        await uow.commit()
    log.info("dashboard act: person %s, idea %s, %s", person_id, idea_id, action.value)
    return {"ok": True, "status": status, "message": html.unescape(message)}


def _checked(request: ActRequest) -> Action:
    """The request's shape, before anything is read: a malformed one is refused at once."""
    action = ACTIONS.get(request.action)
    if action is None:
        raise BadRequest("dashboard_act.unknown_action")
    if not 0 < request.request_id <= MAX_REQUEST_ID:
        raise BadRequest("dashboard_act.bad_request_id")
    if action is Action.FORWARD and request.unit_id is None:
        raise BadRequest("dashboard_act.need_unit")
    if action is Action.DECLINE and request.reason is None and request.text is None:
        raise BadRequest("dashboard_act.need_reason")
    reason = request.reason
    if action is Action.DECLINE and reason is not None and reason not in triage.DECLINE_REASONS:
        raise BadRequest("dashboard_act.bad_reason")
    return action


def _typed(request: ActRequest, action: Action) -> str | None:
    """The typed question or decline reason, cleaned as the chat cleans it; None when
    the action takes none (approve, forward, decline for a listed reason)."""
    if action is not Action.ASK and not (action is Action.DECLINE and request.reason is None):
        return None
    text, problem = triage.typed_note(request.text or "")
    if problem == triage.TOO_LONG:
        raise BadRequest("dashboard_act.text_too_long")
    if problem is not None:
        raise BadRequest("dashboard_act.need_text")
    return text


def _press(person: Person, request: ActRequest, idea_id: int) -> Incoming:
    """The page's request as the chat's button press: a private "chat" of the person on
    the web, a press of no message (so no card in a messenger's chat is "the pressed one")."""
    chat = ChatRef(CHANNEL, str(person.id), "private")
    sender = Sender(CHANNEL, str(person.id), person.display_name, person.platform_language)
    data = f"web:{idea_id}:{request.action}"  # a button press; its data is never parsed
    return Incoming(update_id=request.request_id, sender=sender, chat=chat, button=data)


async def _authorise(ctx: Context, idea: Idea | None, action: Action, request: ActRequest) -> None:
    """The chat's checks, asked first so that the page gets 403, 409 or 400 for them."""
    if idea is None:
        raise Denied
    place = await visibility.place_of(ctx.uow, idea)
    viewer = await visibility.load_viewer(ctx.uow, ctx.person.id)
    if not visibility.may(viewer, action, place):
        log.info("dashboard act refused: person %s, idea %s, %s", ctx.person.id, idea.id, action)
        raise Denied
    if idea.status not in OPEN:
        raise Decided(html.unescape(await triage.already_decided(ctx, idea)))
    if action is Action.FORWARD:
        holder = await ctx.uow.units.get(idea.holder_unit_id)
        above = await ctx.uow.units.ancestors(holder) if holder is not None else []
        if request.unit_id not in {unit.id for unit in above}:
            raise BadRequest("dashboard_act.bad_unit")


def _card_press(idea_id: int, action: Action, request: ActRequest) -> CardPress:
    if action is Action.APPROVE:
        return CardPress(idea_id, "ok")
    if action is Action.FORWARD:
        return CardPress(idea_id, "fwdto", str(request.unit_id))
    return CardPress(idea_id, "nor", str(request.reason))


def _done(idea: Idea, action: Action, request: ActRequest) -> bool:
    """Whether the triage code took the decision (rather than answering a refusal)."""
    if action is Action.FORWARD:
        return idea.status == IdeaStatus.FORWARDED and idea.holder_unit_id == request.unit_id
    return idea.status == _DECIDED[action]


_DECIDED = {
    Action.APPROVE: IdeaStatus.APPROVED,
    Action.ASK: IdeaStatus.INFO_REQUESTED,
    Action.DECLINE: IdeaStatus.DECLINED,
}


async def _repeat(ctx: Context, idea: Idea | None) -> JSON:
    """The same request again (a retry): nothing is done twice. The answer is the idea's
    status now, to whoever may open its card; the first answer is not stored."""
    if idea is None:
        raise Denied
    place = await visibility.place_of(ctx.uow, idea)
    viewer = await visibility.load_viewer(ctx.uow, ctx.person.id)
    if not visibility.may(viewer, Action.OPEN, place):
        raise Denied
    log.info("dashboard act: request of person %s repeated", ctx.person.id)
    return {
        "ok": True,
        "repeat": True,
        "status": idea.status,
        "message": html.unescape(ctx.t("dashboard_act.repeat", ref=idea.ref_code)),
    }
