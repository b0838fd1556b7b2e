"""Declining an idea as a duplicate of one its card names (issue #21), from the card.

"Mark as duplicate" (``dup``) lists, like the forward options, the ideas recorded like
this one at its submission that the chat may be told of (handlers.similar.on_card);
one of them (``dupq``) turns the card into "Decline SK-X as a duplicate of SK-Y?", and
Yes (``dupto``) declines it, as triage declines any idea, with the original named in
the event and on the card. The worker is told kindly which idea theirs repeats: its
reference, and its title only if the policy lets the worker be shown that idea. The
original's author is told nothing.

Each press has been authorised by triage (:func:`handlers.flows.triage.authorise`:
the presser decides the idea, which still waits) before it comes here; the other
idea's id in the button is only a hint, checked again here: recorded for this idea,
and comparable with it by the chat the button was pressed in and by the presser.
"""

from __future__ import annotations

import logging

from handlers import similar, visibility
from handlers.buttons import CardPress
from handlers.context import Context
from handlers.events import Button, OutMessage
from handlers.flows import triage
from handlers.flows.common import parse_id
from handlers.i18n import Translator
from handlers.similar import Found
from handlers.team import show_on_card, tell_author
from handlers.textnorm import truncate
from storage.models import Idea, IdeaStatus, Unit

log = logging.getLogger(__name__)

REASON = "duplicate"  # one of triage.DECLINE_REASONS


async def _comparable(ctx: Context, idea: Idea) -> list[Found]:
    """The recorded ideas like ``idea`` that both the chat and the presser may compare."""
    place = await visibility.place_of(ctx.uow, idea)
    audience = await triage.chat_audience(ctx)
    found = await similar.on_card(ctx.uow, idea, place, audience)
    if audience.group:  # the presser, too, must see both whole (a group is no person)
        presser = await visibility.load_viewer(ctx.uow, ctx.person.id)
        found = [f for f in found if visibility.may_compare(presser, place, f.place)]
    return found


async def _original(ctx: Context, idea: Idea, value: str) -> Found | None:
    """The idea the button names, if it is one the chat may mark this one a duplicate of."""
    other_id = parse_id(value)
    if other_id is None or other_id == idea.id:
        return None
    return next((f for f in await _comparable(ctx, idea) if f.idea.id == other_id), None)


async def _refused(ctx: Context, idea: Idea) -> None:
    log.info("duplicate refused: person %s, idea %s", ctx.person.id, idea.id)
    ctx.answer(ctx.t("common.stale_button"), alert=True)


async def _options(ctx: Context, idea: Idea, holder: Unit, _: str) -> None:
    found = await _comparable(ctx, idea)
    if not found:
        await _refused(ctx, idea)
        return
    ctx.answer()
    rows = [
        [
            Button(
                truncate(
                    ctx.t("similar_card.duplicate_of", ref=f.idea.ref_code),
                    triage.BUTTON_LABEL_CHARS,
                ),
                CardPress(idea.id, "dupq", str(f.idea.id)).pack(),
            )
        ]
        for f in found
    ]
    rows.append([Button(ctx.t("triage.back"), CardPress(idea.id, "back").pack())])
    card = await triage.card_for(ctx, idea, holder)
    text = card.text + "\n\n" + ctx.t("similar_card.pick_original")
    await show_on_card(ctx, idea, OutMessage(text, tuple(tuple(r) for r in rows)))


async def _confirm(ctx: Context, idea: Idea, holder: Unit, value: str) -> None:
    original = await _original(ctx, idea, value)
    if original is None:
        await _refused(ctx, idea)
        return
    question = ctx.t("similar_card.confirm", ref=idea.ref_code, original=original.idea.ref_code)
    yes = ctx.t("triage.yes_decline")
    await triage.confirm(ctx, idea, holder, question, yes, "dupto", str(original.idea.id))


async def _decline(ctx: Context, idea: Idea, holder: Unit, value: str) -> None:
    found = await _original(ctx, idea, value)
    if found is None:
        await _refused(ctx, idea)
        return
    original = found.idea
    ctx.answer(ctx.t("triage.declined_toast"))
    data: dict[str, object] = {
        "reason": REASON,
        "duplicate_of": original.id,
        "duplicate_of_ref": original.ref_code,
    }
    await triage.decide(ctx, idea, holder, IdeaStatus.DECLINED, kind="declined", data=data)
    # The worker may be shown the original's title only as the policy says; the
    # original's author is told nothing.
    worker = await visibility.load_viewer(ctx.uow, idea.author_id)
    author = await ctx.uow.people.get(idea.author_id)
    unit = await ctx.uow.units.get(author.unit_id) if author and author.unit_id else None
    member_path = (
        unit.path if unit is not None else (await visibility.place_of(ctx.uow, idea)).unit_path
    )
    titled = visibility.may_list_similar(worker, member_path, found.place)

    def render(t: Translator) -> OutMessage:
        params = {"ref": idea.ref_code, "title": idea.title, "original": original.ref_code}
        if titled:
            return OutMessage(
                t("similar_card.worker_told_titled", **params, original_title=original.title)
            )
        return OutMessage(t("similar_card.worker_told", **params))

    await tell_author(ctx, idea, render)


ACTIONS: dict[str, triage.CardAction] = {"dup": _options, "dupq": _confirm, "dupto": _decline}
