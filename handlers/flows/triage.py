"""The support team's triage, from inside the chat: approve, ask, forward, decline.

Card buttons carry ``tr:<idea id>:<action>[:<value>]``. That is only a hint: every
press loads the idea under a lock and asks the visibility policy
(:mod:`handlers.visibility`) again whether the presser may open it or belongs to the
team that decides it, and checks that it still waits for a decision.

A decision that tells the worker (approve, forward to a unit, decline for a listed
reason) first turns the card into a question — "Approve SK-…? Yes / Back" — and
happens only on Yes (``ok``, ``fwdto``, ``nor``), a press authorised like any other.
A confirmation rather than an undo window: a member on a phone sees at once what the
tap will do, nothing waits on a timer, and the worker is told the moment it is done.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from handlers import progress_counts, similar, visibility
from handlers.buttons import AnswerPress, CardPress, FlowPress
from handlers.cards import OPEN, card_message, local_time, since_text, title_as_seen
from handlers.context import Context
from handlers.events import Button, OutMessage, family_of
from handlers.flows import council, dashboard
from handlers.flows.common import page_buttons, parse_id
from handlers.i18n import Translator
from handlers.safe_html import Html, escape, html_join
from handlers.team import (
    CARD_PREFIXES,
    Target,
    file_ref,
    refresh_cards,
    send_card,
    show_on_card,
    team_for,
    tell_author,
)
from handlers.textnorm import clean_user_text, truncate
from handlers.visibility import Action, Sight, Viewer
from storage.models import Idea, IdeaStatus, RoleKind, Unit
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

FLOW = "triage"
QUESTION, REASON = "question", "reason"
DECLINE_REASONS = ("duplicate", "not_feasible", "out_of_scope", "no_answer")
FORWARD_LEVELS = 5
BUTTON_LABEL_CHARS = 50
MAX_NOTE_CHARS = 1000


# ---------------------------------------------------------------- buttons on cards


@dataclass(frozen=True, slots=True)
class Pressed:
    """A card press that may go ahead: the idea (locked), its holder, place and presser."""

    idea: Idea
    holder: Unit
    place: visibility.Place
    viewer: Viewer


async def authorise(ctx: Context, press: CardPress) -> Pressed | None:
    """Load the pressed idea under a lock and ask the policy again whether the presser may
    open it (``open``) or decide it (every other action), and, for a decision, whether it
    still waits for one. Answers the press and returns None when it may not go ahead."""
    idea = await ctx.uow.ideas.get_for_update(press.idea_id)
    holder = await ctx.uow.units.get(idea.holder_unit_id) if idea is not None else None
    if idea is None or holder is None:
        ctx.answer(ctx.t("common.stale_button"))
        return None
    place = await visibility.place_of(ctx.uow, idea)
    viewer = await visibility.load_viewer(ctx.uow, ctx.person.id)
    wanted = Action.OPEN if press.action == "open" else Action.APPROVE  # the rest decides
    if not visibility.may(viewer, wanted, place):
        # The same answer whether the idea exists or not, and whatever it is.
        log.info("triage refused: person %s, idea %s, %s", ctx.person.id, idea.id, wanted)
        ctx.answer(ctx.t("triage.not_allowed"), alert=True)
        return None
    if press.action != "open" and idea.status not in OPEN:
        ctx.answer(html.unescape(await already_decided(ctx, idea)), alert=True)
        await _show_card(ctx, idea, holder, buttons=False)
        return None
    return Pressed(idea, holder, place, viewer)


async def on_card_button(ctx: Context, press: CardPress) -> None:
    """A decision on a card: re-authorised here (:func:`authorise`), whatever the button said."""
    pressed = await authorise(ctx, press)
    if pressed is None:
        return
    idea, holder = pressed.idea, pressed.holder
    if press.action == "open":
        await _open_card(ctx, idea, holder, pressed.place, pressed.viewer)
        return
    handler = ACTIONS.get(press.action)
    if handler is None:
        ctx.answer(ctx.t("common.stale_button"))
        return
    await handler(ctx, idea, holder, press.value)


async def _may_triage(ctx: Context, idea: Idea) -> bool:
    place = await visibility.place_of(ctx.uow, idea)
    viewer = await visibility.load_viewer(ctx.uow, ctx.person.id)
    return visibility.may_decide(viewer, place)


async def confirm(
    ctx: Context, idea: Idea, holder: Unit, question: str, yes: str, action: str, value: str = ""
) -> None:
    """The card, asking whether the decision is meant: Yes does it, Back undoes the tap."""
    ctx.answer()
    card = await card_for(ctx, idea, holder)
    rows = (
        (Button(yes, CardPress(idea.id, action, value).pack()),),
        (Button(ctx.t("triage.back"), CardPress(idea.id, "back").pack()),),
    )
    await show_on_card(ctx, idea, OutMessage(card.text + "\n\n" + question, rows))


async def _confirm_approve(ctx: Context, idea: Idea, holder: Unit, _: str) -> None:
    question = ctx.t("triage.confirm_approve", ref=idea.ref_code)
    await confirm(ctx, idea, holder, question, ctx.t("triage.yes_approve"), "ok")


async def _confirm_forward(ctx: Context, idea: Idea, holder: Unit, value: str) -> None:
    above = await ctx.uow.units.ancestors(holder)
    target = next((u for u in above if str(u.id) == value), None)
    if target is None:
        ctx.answer(ctx.t("common.stale_button"))
        return
    question = ctx.t("triage.confirm_forward", ref=idea.ref_code, unit=target.name)
    yes = ctx.t("triage.yes_forward")
    await confirm(ctx, idea, holder, question, yes, "fwdto", str(target.id))


async def _confirm_decline(ctx: Context, idea: Idea, holder: Unit, value: str) -> None:
    if value not in DECLINE_REASONS:
        ctx.answer(ctx.t("common.stale_button"))
        return
    reason = ctx.t(f"decline.{value}")
    question = ctx.t("triage.confirm_decline", ref=idea.ref_code, reason=reason)
    await confirm(ctx, idea, holder, question, ctx.t("triage.yes_decline"), "nor", value)


async def _approve(ctx: Context, idea: Idea, holder: Unit, _: str) -> None:
    ctx.answer(ctx.t("triage.approved_toast"))
    await decide(ctx, idea, holder, IdeaStatus.APPROVED, kind="approved")
    await council.on_approved(ctx, idea)  # now it waits for the initiative council
    await tell_author(
        ctx, idea, lambda t: OutMessage(t("worker.approved", ref=idea.ref_code, title=idea.title))
    )


async def _ask(ctx: Context, idea: Idea, holder: Unit, _: str) -> None:
    ctx.answer()
    ctx.state.start(FLOW, QUESTION, idea_id=idea.id, card=ctx.incoming.message_id)
    ctx.reply(
        ctx.t("triage.ask_question", ref=idea.ref_code, who=_mention(ctx)),
        force_reply=True,
    )


async def _forward_options(ctx: Context, idea: Idea, holder: Unit, _: str) -> None:
    ctx.answer()
    above = (await ctx.uow.units.ancestors(holder))[:FORWARD_LEVELS]
    if not above:
        ctx.answer(ctx.t("triage.nowhere_to_forward"), alert=True)
        return
    rows = [
        [
            Button(
                truncate(ctx.t("triage.forward_to", unit=unit.name), BUTTON_LABEL_CHARS),
                CardPress(idea.id, "fwdq", str(unit.id)).pack(),
            )
        ]
        for unit in above
    ]
    rows.append([Button(ctx.t("triage.back"), CardPress(idea.id, "back").pack())])
    card = await card_for(ctx, idea, holder)
    text = card.text + "\n\n" + ctx.t("triage.pick_forward")
    await show_on_card(ctx, idea, OutMessage(text, tuple(tuple(r) for r in rows)))


async def _forward(ctx: Context, idea: Idea, holder: Unit, value: str) -> None:
    above = await ctx.uow.units.ancestors(holder)
    target = next((u for u in above if str(u.id) == value), None)
    if target is None:  # only the units above may receive it: the id is a hint
        ctx.answer(ctx.t("common.stale_button"))
        return
    ctx.answer(html.unescape(ctx.t("triage.forwarded_toast", unit=target.name)))
    idea.holder_unit_id = target.id
    idea.status = IdeaStatus.FORWARDED.value
    idea.updated_at = idea.waiting_since = ctx.now
    idea.reminded_at = idea.escalated_at = None
    await ctx.uow.ideas.add_event(
        idea_id=idea.id,
        kind="forwarded",
        actor_id=ctx.person.id,
        at=ctx.now,
        data={"from": holder.id, "to": target.id, "to_name": target.name},
    )
    await ctx.uow.flush()
    await _show_card(ctx, idea, holder, buttons=False)
    await refresh_cards(ctx, idea, skip=_pressed(ctx))
    receiving = await team_for(ctx, target)
    if receiving is not None:
        refs = [file_ref(a) for a in await ctx.uow.ideas.attachments(idea.id)]
        await send_card(ctx, idea, receiving, files=refs)
    await tell_author(
        ctx,
        idea,
        lambda t: OutMessage(t("worker.forwarded", ref=idea.ref_code, unit=target.name)),
    )


async def _decline_options(ctx: Context, idea: Idea, holder: Unit, _: str) -> None:
    ctx.answer()
    rows = [
        [Button(ctx.t(f"decline.{reason}"), CardPress(idea.id, "norq", reason).pack())]
        for reason in DECLINE_REASONS
    ]
    rows.append([Button(ctx.t("triage.decline_other"), CardPress(idea.id, "nor", "other").pack())])
    rows.append([Button(ctx.t("triage.back"), CardPress(idea.id, "back").pack())])
    card = await card_for(ctx, idea, holder)
    text = card.text + "\n\n" + ctx.t("triage.pick_reason")
    await show_on_card(ctx, idea, OutMessage(text, tuple(tuple(r) for r in rows)))


async def _decline_with_reason(ctx: Context, idea: Idea, holder: Unit, value: str) -> None:
    if value == "other":
        ctx.answer()
        ctx.state.start(FLOW, REASON, idea_id=idea.id, card=ctx.incoming.message_id)
        ctx.reply(
            ctx.t("triage.ask_reason", ref=idea.ref_code, who=_mention(ctx)), force_reply=True
        )
        return
    if value not in DECLINE_REASONS:
        ctx.answer(ctx.t("common.stale_button"))
        return
    ctx.answer(ctx.t("triage.declined_toast"))
    await decline(ctx, idea, holder, reason=value, note=None)


async def _back(ctx: Context, idea: Idea, holder: Unit, _: str) -> None:
    ctx.answer()
    await _show_card(ctx, idea, holder, buttons=True)


async def decline(
    ctx: Context, idea: Idea, holder: Unit, *, reason: str | None, note: str | None
) -> None:
    await decide(
        ctx,
        idea,
        holder,
        IdeaStatus.DECLINED,
        kind="declined",
        note=note,
        data={"reason": reason} if reason else None,
    )

    def render(t: Translator) -> OutMessage:
        why = note if note else t(f"decline.{reason}")
        return OutMessage(t("worker.declined", ref=idea.ref_code, title=idea.title, reason=why))

    await tell_author(ctx, idea, render)


async def decide(
    ctx: Context,
    idea: Idea,
    holder: Unit,
    status: IdeaStatus,
    *,
    kind: str,
    note: str | None = None,
    data: dict[str, object] | None = None,
) -> None:
    await progress_counts.record_status_change(ctx, idea, idea.status, status.value)
    idea.status = status.value
    idea.updated_at = ctx.now
    await ctx.uow.ideas.add_event(
        idea_id=idea.id, kind=kind, actor_id=ctx.person.id, at=ctx.now, note=note, data=data
    )
    await ctx.uow.flush()
    log.info("idea %s %s by person %s", idea.ref_code, kind, ctx.person.id)
    await _show_card(ctx, idea, holder, buttons=False)
    await refresh_cards(ctx, idea, skip=_pressed(ctx))


CardAction = Callable[[Context, Idea, Unit, str], Awaitable[None]]
#: A card's actions, each called once the press is authorised; the router adds the
#: duplicate's ("dup", "dupq", "dupto": handlers.flows.duplicate, which imports this).
ACTIONS: dict[str, CardAction] = {
    "okq": _confirm_approve,
    "ok": _approve,
    "fwdq": _confirm_forward,
    "norq": _confirm_decline,
    "ask": _ask,
    "fwd": _forward_options,
    "fwdto": _forward,
    "no": _decline_options,
    "nor": _decline_with_reason,
    "back": _back,
}


# ---------------------------------------------------------------- typed answers


async def on_message(ctx: Context) -> None:
    """The member's question for the worker, or a decline reason, typed as a reply."""
    text, problem = typed_note(ctx.incoming.text or "")
    if problem == EMPTY:
        ctx.reply(ctx.t("triage.need_text"), force_reply=True)
        return
    if problem == TOO_LONG:
        ctx.reply(ctx.t("triage.note_too_long", limit=MAX_NOTE_CHARS), force_reply=True)
        return
    step = ctx.state.step or REASON
    idea_id = int(ctx.state.data.get("idea_id", 0))
    ctx.state.clear()
    await decide_in_words(ctx, idea_id, step, text)


EMPTY, TOO_LONG = "empty", "too_long"


def typed_note(raw: str) -> tuple[str, str | None]:
    """A typed question or decline reason, cleaned, and what is wrong with it (EMPTY,
    TOO_LONG) or None. The chat's replies and the dashboard's page share it."""
    text = clean_user_text(raw)
    if not text:
        return text, EMPTY
    return text, TOO_LONG if len(text) > MAX_NOTE_CHARS else None


async def decide_in_words(ctx: Context, idea_id: int, step: str, text: str) -> str | None:
    """Send the typed question (``step`` QUESTION) or decline with the typed reason
    (REASON), re-authorised here. Replies to the member; returns that confirmation, or
    None when it may not happen (the reply says why)."""
    idea = await ctx.uow.ideas.get_for_update(idea_id)
    holder = await ctx.uow.units.get(idea.holder_unit_id) if idea else None
    if idea is None or holder is None or not await _may_triage(ctx, idea):
        ctx.reply(ctx.t("triage.not_allowed"))
        return None
    if idea.status not in OPEN:
        ctx.reply(await already_decided(ctx, idea))
        return None
    if step == QUESTION:
        await _send_question(ctx, idea, text)
        done = ctx.t("triage.question_sent", ref=idea.ref_code)
    else:
        await decline(ctx, idea, holder, reason=None, note=text)
        done = ctx.t("triage.declined_done", ref=idea.ref_code)
    ctx.reply(done)
    return done


async def _send_question(ctx: Context, idea: Idea, question: str) -> None:
    previous = idea.status
    idea.status = IdeaStatus.INFO_REQUESTED.value
    idea.updated_at = ctx.now
    author = await ctx.uow.people.get(idea.author_id)
    if author is not None:  # the idea form looks for questions only once one was asked
        author.questions_at = ctx.now
    await ctx.uow.ideas.add_event(
        idea_id=idea.id,
        kind="info_requested",
        actor_id=ctx.person.id,
        at=ctx.now,
        note=question,
        data={"previous": previous},
    )
    await ctx.uow.flush()
    await refresh_cards(ctx, idea)

    def render(t: Translator) -> OutMessage:
        return OutMessage(
            t("worker.question", ref=idea.ref_code, title=idea.title, question=question),
            buttons=((Button(t("worker.answer_button"), AnswerPress(idea.id).pack()),),),
        )

    await tell_author(ctx, idea, render)


async def on_button(ctx: Context, press: FlowPress) -> None:
    ctx.answer(ctx.t("common.stale_button"))


async def reprompt(ctx: Context) -> None:
    key = "triage.ask_question" if ctx.state.step == QUESTION else "triage.ask_reason"
    ctx.reply(ctx.t(key, ref="", who=_mention(ctx)), force_reply=True)


# ---------------------------------------------------------------- /queue


QUEUE_PAGE = 8


async def queue_command(ctx: Context) -> None:
    text, rows = await _queue_page(ctx, 0)
    ctx.reply(text, rows)


async def queue_page(ctx: Context, value: str) -> None:
    ctx.answer()
    offset = parse_id(value) or 0
    text, rows = await _queue_page(ctx, offset)
    ctx.show(text, rows)


async def _queue_page(ctx: Context, offset: int) -> tuple[str, list[list[Button]]]:
    t = ctx.t
    viewer = await visibility.load_viewer(ctx.uow, ctx.person.id)
    if not visibility.may_see_unit(viewer, Action.QUEUE, None):
        return t("queue.not_support"), []
    ideas = await waiting_for(ctx.uow, viewer)
    if not ideas:
        return t("queue.empty"), dashboard.app_buttons(ctx)
    page = ideas[offset : offset + QUEUE_PAGE]
    lines = []
    rows: list[list[Button]] = []
    audience = await chat_audience(ctx)
    for idea in page:
        place = await visibility.place_of(ctx.uow, idea)
        seen = visibility.sight(audience, place)
        title = title_as_seen(t, idea, place, seen)
        since = idea.waiting_since or idea.created_at
        lines.append(
            t(
                "queue.line",
                ref=idea.ref_code,
                title=truncate(title, 60),
                status=t(f"status.{idea.status}"),
                since=since_text(t, since, ctx.now),
            )
        )
        label = truncate(t("queue.open", ref=idea.ref_code, title=title), BUTTON_LABEL_CHARS)
        rows.append([Button(label, CardPress(idea.id, "open").pack())])
    nav = page_buttons(t, "queue", offset, QUEUE_PAGE, len(ideas))
    if nav:
        rows.append(nav)
    rows += dashboard.app_buttons(ctx)  # the same queue, on the dashboard's page
    header = t("queue.header", total=len(ideas), first=offset + 1, last=offset + len(page))
    return header + "\n\n" + html_join(lines, "\n\n"), rows


# ---------------------------------------------------------------- helpers


SERVED_HOLDERS = 200  # units below looked at for /queue (each walks up to its team)
QUEUE_LIMIT = 500


async def waiting_for(uow: UnitOfWork, viewer: Viewer) -> list[Idea]:
    """What /queue (and the dashboard's queue) lists, longest waiting first: the ideas
    held by the viewer's own teams, and by units below that their teams serve (an empty
    or idle team's): exactly the ones they may decide."""
    supports = viewer.roles_of(RoleKind.SUPPORT.value)
    units = [r.unit_id for r in supports]
    units += await _served_below(uow, supports)
    return await uow.ideas.open_in_units(units, limit=QUEUE_LIMIT)


async def _served_below(uow: UnitOfWork, supports: list[visibility.RoleAt]) -> list[int]:
    """Units below the person's teams whose ideas those teams decide now."""
    own = {r.unit_id for r in supports}
    served = []
    paths = [r.path for r in supports]
    for holder_id in await uow.ideas.open_holders_below(paths, limit=SERVED_HOLDERS):
        holder = await uow.units.get(holder_id)
        serving = await visibility.serving_unit(uow, holder) if holder else None
        if serving is not None and serving.id in own:
            served.append(holder_id)
    return served


async def card_for(ctx: Context, idea: Idea, holder: Unit) -> OutMessage:
    """The card as the chat the button was pressed in may see it."""
    place = await visibility.place_of(ctx.uow, idea)
    viewer = await chat_audience(ctx)
    seen = visibility.sight(viewer, place)
    if seen is Sight.NONE:  # a chat that may not see it (cannot happen on a card it was sent)
        return OutMessage(text=ctx.t("card.withdrawn", ref=idea.ref_code))
    group_summary = viewer.group and seen is Sight.SUMMARY
    alike = await similar.on_card(ctx.uow, idea, place, viewer)
    return await card_message(
        ctx.uow,
        ctx.t,
        idea,
        place,
        seen=seen,
        buttons=True,
        open_privately=group_summary,
        similar=alike,
    )


async def chat_audience(ctx: Context) -> Viewer:
    """Who reads the chat the update came from: the person, or the group's team."""
    if ctx.incoming.chat.kind == "private":
        return await visibility.load_viewer(ctx.uow, ctx.person.id)
    bound = await ctx.uow.teams.by_chat(ctx.incoming.channel, ctx.incoming.chat.external_id)
    unit = await ctx.uow.units.get(bound.unit_id) if bound is not None else None
    if bound is None or unit is None:
        return Viewer(None, group=True)
    return Viewer.bound_group(bound.body, unit)


async def _show_card(ctx: Context, idea: Idea, holder: Unit, *, buttons: bool) -> None:
    card = await card_for(ctx, idea, holder)
    await show_on_card(ctx, idea, OutMessage(card.text, card.buttons if buttons else ()))


async def _open_card(
    ctx: Context, idea: Idea, holder: Unit, place: visibility.Place, viewer: Viewer
) -> None:
    """From /queue, a reminder or a group's summary: the card, which later decisions will
    update. The pressed message turns into it; in a group that may see less than the
    presser, it goes to the presser's private chat instead (once)."""
    team = await team_for(ctx, holder)
    if team is None:
        ctx.answer(ctx.t("common.stale_button"))
        return
    here = Target(
        ctx.incoming.channel,
        ctx.incoming.chat.external_id,
        ctx.person.id if ctx.incoming.chat.kind == "private" else None,
        ctx.lang,
    )
    if here.person_id is None:
        group_sees = visibility.sight(await chat_audience(ctx), place)
        if group_sees < visibility.sight(viewer, place):
            chats = await ctx.uow.people.private_chats([ctx.person.id])
            family = family_of(ctx.incoming.channel)
            mine = [(ch, chat) for _, ch, chat in chats if family_of(ch) == family]
            if not mine:
                ctx.answer(ctx.t("triage.start_private_first", bot=ctx.bot_name), alert=True)
                return
            here = Target(*mine[0], ctx.person.id, ctx.lang)
            ctx.answer(ctx.t("triage.opened_privately"))
            sent = await ctx.uow.outbox.sent_cards(idea.id, CARD_PREFIXES)
            if any(row.chat_id == here.chat_id for row in sent):
                return  # that chat has the card already, kept up to date by every change
            # The whole idea, files included, as the summary in the group could not.
            refs = [file_ref(a) for a in await ctx.uow.ideas.attachments(idea.id)]
            await send_card(ctx, idea, team, only=here, place=place, files=refs)
            return
    ctx.answer()
    pressed = ctx.incoming.message_id
    sent = await ctx.uow.outbox.sent_cards(idea.id, CARD_PREFIXES)
    if any((row.chat_id, row.message_id) == (here.chat_id, pressed) for row in sent):
        await _show_card(ctx, idea, holder, buttons=True)  # a repeated press: that card again
        return
    # The pressed message (the /queue list, a reminder) becomes the card, so opening
    # brings one card where the member is looking, and decisions update it in place.
    await send_card(ctx, idea, team, only=here, place=place, edit_message_id=pressed)


async def already_decided(ctx: Context, idea: Idea) -> str:
    events = await ctx.uow.ideas.events(idea.id)
    last = next((e for e in reversed(events) if e.kind in ("approved", "declined")), None)
    who = await ctx.uow.people.get(last.actor_id) if last and last.actor_id else None
    return ctx.t(
        "triage.already_decided",
        ref=idea.ref_code,
        status=ctx.t(f"status.{idea.status}"),
        who=who.display_name if who else "?",
        when=local_time(last.at) if last else "",
    )


def _mention(ctx: Context) -> Html:
    """A mention of the member, so a forced reply in a group goes to them alone."""
    user = ctx.incoming.sender
    if family_of(ctx.incoming.channel) != "telegram" or not user.external_id.isdigit():
        return escape(user.display_name)
    return Html(f'<a href="tg://user?id={user.external_id}">{escape(user.display_name)}</a>')


def _pressed(ctx: Context) -> tuple[str, str | None]:
    return (ctx.incoming.chat.external_id, ctx.incoming.message_id)
