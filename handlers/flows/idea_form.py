"""The idea form: the idea in the worker's own words, a few taps, a review, submit.

:data:`STEPS` is the form: each step's question, the message it takes and its buttons.
The way through is body (text, photos, documents, voice notes until Done) → category →
benefit → amount → confidential → review, with edit and title reachable from the review;
while editing, every step goes back to the review. Button steps turn the pressed message
into the next question, so the chat stays short. Cancel works at every step, and the
``*`` buttons (a message held for the team's question, "discard this draft?") wherever
the form is.

A confidential idea's text, author and files stay with the author's grassroots unit; above
it only the title the worker typed and the benefit travel (docs/SECURITY.md). A title derived
from the text would carry the text up the tree, so choosing "confidential" without a typed
title leads to the title step, which says what travels, and Submit refuses such an idea.
"""

from __future__ import annotations

import logging

from handlers import progress_counts, similar, team
from handlers.amounts import parse_amount
from handlers.buttons import FlowPress
from handlers.context import Context
from handlers.events import FileRef, OtherContent
from handlers.flows import idea_held, join
from handlers.flows.common import OnButton, Step, message_in, parse_id, stale, store_attachments
from handlers.flows.idea_draft import (
    AMOUNT,
    ANY_STEP,
    BENEFIT,
    BENS,
    BODY,
    CATEGORY,
    CATS,
    CONFIDENTIAL,
    EDIT,
    PARTS_SEPARATOR,
    REVIEW,
    TITLE,
    Draft,
)
from handlers.flows.idea_questions import (
    View,
    amount_question,
    benefit_question,
    body_buttons,
    body_question,
    category_question,
    confidential_question,
    draft_of,
    edit_question,
    review_question,
    title_question,
)
from handlers.language import detect_language
from handlers.limits import (
    MAX_IDEA_BODY_CHARS,
    MAX_IDEA_FILES,
    MAX_IDEA_TITLE_CHARS,
    MIN_IDEA_BODY_CHARS,
    MIN_IDEA_TITLE_CHARS,
)
from handlers.textnorm import clean_user_text, derive_title, fold
from storage.models import Idea, IdeaStatus, Unit

log = logging.getLogger(__name__)

FLOW = "idea"


# ---------------------------------------------------------------- entry points


async def begin(ctx: Context) -> None:
    if ctx.state.flow == FLOW:
        ctx.reply(ctx.t("idea.already_open"))
        await reprompt(ctx)
        return
    if ctx.person.unit_id is None:
        ctx.reply(ctx.t("idea.need_unit"))
        await join.begin(ctx, after=FLOW)
        return
    ctx.state.start(FLOW, BODY, body=[], files=[], opened_at=ctx.now.isoformat())
    ctx.reply(ctx.t("idea.ask_body"), [body_buttons(ctx, done=False)])


async def begin_with_text(ctx: Context, text: str, *, edit: bool = False) -> None:
    """Start the form with a message the worker already sent as its first part."""
    if ctx.person.unit_id is None:
        ctx.state.clear()
        ctx.reply(ctx.t("idea.need_unit"))
        await join.begin(ctx, after=FLOW)
        return
    ctx.state.start(FLOW, BODY, body=[], files=[], opened_at=ctx.now.isoformat())
    if not _add_text(ctx, text):
        return
    message = ctx.t("idea.received", **draft_of(ctx).counts())
    if edit:
        ctx.show(message, [body_buttons(ctx, done=True)])
    else:
        ctx.reply(message, [body_buttons(ctx, done=True)])


async def reprompt(ctx: Context) -> None:
    """Show the current step again (after a restart, a stray message or a stale button).

    The review lists the similar ideas found when it was shown; only a form saved at the
    review before they were looked up is looked up now.
    """
    if ctx.state.step == REVIEW and not draft_of(ctx).similar_known:
        await _look_up_similar(ctx)
    ctx.reply(*step_view(ctx))


def step_view(ctx: Context) -> View:
    """The current step's question and buttons (an unknown step shows the review)."""
    step = STEPS.get(ctx.state.step or "")
    question = step.question if step is not None else None
    return (question or review_question)(ctx)


async def _advance(ctx: Context, step: str, *, edit: bool) -> None:
    ctx.state.step = step
    if step == REVIEW:
        await _look_up_similar(ctx)
    if edit:
        ctx.show(*step_view(ctx))
    else:
        ctx.reply(*step_view(ctx))


async def _look_up_similar(ctx: Context) -> None:
    """The ideas like the draft, looked up as its review is shown and kept in the form's
    data: those the worker may be shown (the review lists them) and those the team's card
    may name (recorded at Submit, which looks nothing up). A draft without text (a voice
    note only) has nothing to compare."""
    draft = draft_of(ctx)
    text = draft.text
    unit = await ctx.uow.units.get(ctx.person.unit_id) if ctx.person.unit_id else None
    if not text or unit is None:
        draft.set_similar([], [], None)
        return
    lang = detect_language(text, default=ctx.lang)
    found = await similar.for_draft(ctx.uow, ctx.person, unit, draft.shown_title(), text, lang)
    shown = [
        {"id": f.idea.id, "ref": f.idea.ref_code, "title": f.idea.title, "status": f.idea.status}
        for f in found.for_worker
    ]
    draft.set_similar(shown, found.for_team, unit.id)
    log.debug("similar ideas: %d listed, %d for the team", len(shown), len(found.for_team))


def _after(ctx: Context, natural_next: str) -> str:
    """While editing from the review, every step goes back to the review."""
    return REVIEW if draft_of(ctx).editing else natural_next


def _ask_title(ctx: Context) -> None:
    ctx.state.step = TITLE
    ctx.show(*title_question(ctx))


# ---------------------------------------------------------------- messages


async def on_message(ctx: Context) -> None:
    if await idea_held.hold_for_question(ctx):
        return
    await message_in(ctx, STEPS, _use_buttons)


async def _use_buttons(ctx: Context) -> None:
    ctx.reply(ctx.t("idea.use_buttons"))
    await reprompt(ctx)


async def _body_message(ctx: Context) -> None:
    incoming = ctx.incoming
    draft = draft_of(ctx)
    if incoming.other is not None:
        key = "idea.sticker" if incoming.other is OtherContent.STICKER else "idea.unsupported"
        ctx.reply(ctx.t(key), [body_buttons(ctx, done=draft.has_content)])
        return
    if incoming.files:
        if len(draft.files) + len(incoming.files) > MAX_IDEA_FILES:
            ctx.reply(ctx.t("idea.too_many_files", limit=MAX_IDEA_FILES))
            return
        draft.files.extend(f.to_json() for f in incoming.files)
    if incoming.text is not None and not _add_text(ctx, incoming.text):
        if incoming.files:
            draft.files = draft.files[: -len(incoming.files)]
        return
    if not incoming.files and not clean_user_text(incoming.text or ""):
        ctx.reply(ctx.t("idea.need_text"), [body_buttons(ctx, done=draft.has_content)])
        return
    ctx.reply(ctx.t("idea.received", **draft.counts()), [body_buttons(ctx, done=True)])


def _add_text(ctx: Context, raw: str) -> bool:
    text = clean_user_text(raw)
    if not text:
        return True
    draft = draft_of(ctx)
    used = draft.room_used()
    if used + len(text) > MAX_IDEA_BODY_CHARS:
        ctx.reply(
            ctx.t(
                "idea.too_long",
                limit=MAX_IDEA_BODY_CHARS,
                left=max(MAX_IDEA_BODY_CHARS - used, 0),
                length=len(text),
            ),
            [body_buttons(ctx, done=draft.has_content)],
        )
        return False
    draft.body.append(text)
    return True


async def _typed_category(ctx: Context) -> None:
    match = _match_option(ctx.incoming.text or "", CATS)
    if match is None:
        await _use_buttons(ctx)
        return
    draft_of(ctx).category = match
    await _advance(ctx, _after(ctx, BENEFIT), edit=False)


async def _typed_benefit(ctx: Context) -> None:
    match = _match_option(ctx.incoming.text or "", BENS)
    if match is None:
        await _use_buttons(ctx)
        return
    draft_of(ctx).benefit = match
    await _advance(ctx, _after(ctx, AMOUNT), edit=False)


async def _typed_amount(ctx: Context) -> None:
    if ctx.incoming.text is None:
        await _use_buttons(ctx)
        return
    amount = parse_amount(ctx.incoming.text)
    if amount is None:
        ctx.reply(ctx.t("idea.bad_amount"), amount_question(ctx)[1])
        return
    draft_of(ctx).amount = amount
    await _advance(ctx, CONFIDENTIAL, edit=False)


async def _typed_title(ctx: Context) -> None:
    """A typed title, stored as typed (tidied); anything else is answered and changes nothing."""
    raw = ctx.incoming.text
    title = " ".join(clean_user_text(raw).split()) if raw is not None else ""
    buttons = title_question(ctx)[1]
    if not any(c.isalnum() for c in title):  # empty, whitespace, emoji or a file: no title
        ctx.reply(ctx.t("idea.title_need_words", limit=MAX_IDEA_TITLE_CHARS), buttons)
        return
    if len(title) < MIN_IDEA_TITLE_CHARS or not any(c.isalpha() for c in title):
        ctx.reply(
            ctx.t("idea.title_too_short", minimum=MIN_IDEA_TITLE_CHARS, limit=MAX_IDEA_TITLE_CHARS),
            buttons,
        )
        return
    if len(title) > MAX_IDEA_TITLE_CHARS:
        ctx.reply(
            ctx.t("idea.title_too_long", limit=MAX_IDEA_TITLE_CHARS, length=len(title)), buttons
        )
        return
    draft_of(ctx).set_title(title)
    await _advance(ctx, REVIEW, edit=False)


def _match_option(text: str, options: list[str]) -> str | None:
    """A typed answer where buttons were offered: the option key or a number."""
    if not text:
        return None
    folded = fold(text)
    number = parse_id(folded)
    if number is not None and 1 <= number <= len(options):
        return options[number - 1]
    return folded if folded in options else None


# ---------------------------------------------------------------- buttons


async def on_button(ctx: Context, press: FlowPress) -> None:
    step, action, value = press.step, press.action, press.value
    if step == ANY_STEP and action in ANYWHERE:
        await ANYWHERE[action](ctx, value)
        return
    if action == "cancel":
        await _cancel(ctx, value)
        return
    if step != ctx.state.step:
        stale(ctx)
        await reprompt(ctx)
        return
    handler = STEPS[step].on_button.get(action) if step in STEPS else None
    if handler is None:
        stale(ctx)
        return
    await handler(ctx, value)


async def _cancel(ctx: Context, _: str) -> None:
    ctx.answer()
    if draft_of(ctx).has_typed:  # one tap must not throw away what the worker wrote
        t = ctx.t
        ctx.show(
            t("idea.discard_confirm"),
            [
                [
                    ctx.button(t("idea.discard_yes"), ANY_STEP, "discard", "yes"),
                    ctx.button(t("idea.discard_keep"), ANY_STEP, "discard", "keep"),
                ]
            ],
        )
        return
    ctx.state.clear()
    ctx.show(ctx.t("common.cancelled"))


async def _discard(ctx: Context, value: str) -> None:
    """The answer to "Discard this draft?": gone, or the step it was at, in place."""
    ctx.answer()
    if value == "yes":
        ctx.state.clear()
        ctx.show(ctx.t("common.cancelled"))
        return
    ctx.show(*step_view(ctx))


async def _done(ctx: Context, _: str) -> None:
    draft = draft_of(ctx)
    if len(draft.text) < MIN_IDEA_BODY_CHARS and not draft.has_voice:
        ctx.answer(ctx.t("idea.need_more", minimum=MIN_IDEA_BODY_CHARS), alert=True)
        return
    ctx.answer()
    previous = draft.previous_body
    if previous and not draft.title:
        # A title derived from the text follows it; the review names the one it replaced.
        before = derive_title(PARTS_SEPARATOR.join(previous), MAX_IDEA_TITLE_CHARS)
        if before != draft.shown_title():
            draft.title_was = before
    await _advance(ctx, _after(ctx, CATEGORY), edit=True)


async def _pick_category(ctx: Context, value: str) -> None:
    if value not in CATS:
        stale(ctx)
        return
    ctx.answer()
    draft_of(ctx).category = value
    await _advance(ctx, _after(ctx, BENEFIT), edit=True)


async def _pick_benefit(ctx: Context, value: str) -> None:
    if value not in BENS:
        stale(ctx)
        return
    ctx.answer()
    draft_of(ctx).benefit = value
    await _advance(ctx, AMOUNT, edit=True)


async def _skip_amount(ctx: Context, _: str) -> None:
    ctx.answer()
    draft_of(ctx).amount = None
    await _advance(ctx, _after(ctx, CONFIDENTIAL), edit=True)


async def _pick_confidential(ctx: Context, value: str) -> None:
    if value not in ("yes", "no"):
        stale(ctx)
        return
    ctx.answer()
    draft_of(ctx).confidential = value == "yes"
    if draft_of(ctx).needs_title:
        _ask_title(ctx)
        return
    await _advance(ctx, REVIEW, edit=True)


async def _make_shareable(ctx: Context, _: str) -> None:
    """At the confidential title question the worker may rather share the idea."""
    ctx.answer()
    draft_of(ctx).confidential = False
    await _advance(ctx, REVIEW, edit=True)


async def _edit_menu(ctx: Context, _: str) -> None:
    ctx.answer()
    draft_of(ctx).start_editing()
    await _advance(ctx, EDIT, edit=True)


async def _edit_choice(ctx: Context, value: str) -> None:
    ctx.answer()
    if value == "title":
        _ask_title(ctx)
    elif value == "body":
        draft = draft_of(ctx)
        draft.previous_body = draft.body
        draft.body = []
        ctx.state.step = BODY
        ctx.show(ctx.t("idea.ask_new_body"), [body_buttons(ctx, done=False)])
    elif value in (CATEGORY, BENEFIT, CONFIDENTIAL):
        await _advance(ctx, value, edit=True)
    else:
        await _advance(ctx, REVIEW, edit=True)


async def _back_to_review(ctx: Context, _: str) -> None:
    draft = draft_of(ctx)
    # "Back" is only offered while editing from the review, and never to a confidential
    # idea without a typed title.
    if not draft.editing or draft.needs_title:
        stale(ctx)
        await reprompt(ctx)
        return
    ctx.answer()
    if ctx.state.step == BODY and not draft.body and draft.previous_body:
        draft.body = draft.previous_body
    await _advance(ctx, REVIEW, edit=True)


async def _submit(ctx: Context, _: str) -> None:
    draft = draft_of(ctx)
    if draft.needs_title:  # a form saved at the review before titles were asked for
        ctx.answer()
        _ask_title(ctx)
        return
    unit = await ctx.uow.units.get(ctx.person.unit_id) if ctx.person.unit_id else None
    if unit is None:
        ctx.answer(ctx.t("idea.need_unit"), alert=True)
        return
    ctx.answer()
    body = draft.text
    year = ctx.now.year
    number = await ctx.uow.ideas.next_number(f"idea-{year}")
    idea = await ctx.uow.ideas.add(
        Idea(
            ref_code=f"SK-{year}-{number:06d}",
            author_id=ctx.person.id,
            unit_id=unit.id,
            holder_unit_id=unit.id,
            title=draft.shown_title(),
            title_given=bool(draft.title),
            body=body,
            category=draft.data["category"],
            benefit=draft.data["benefit"],
            benefit_amount=draft.amount,
            confidential=bool(draft.data["confidential"]),
            language=detect_language(body, default=ctx.lang) if body else ctx.lang,
            status=IdeaStatus.SUBMITTED.value,
            created_at=ctx.now,
            updated_at=ctx.now,
            waiting_since=ctx.now,
            campaign_id=await progress_counts.campaign_of(ctx, ctx.now),
            similar=_similar_for_team(draft, unit),
        )
    )
    event = await ctx.uow.ideas.add_event(
        idea_id=idea.id, kind="submitted", actor_id=ctx.person.id, at=ctx.now
    )
    files = [FileRef.from_json(f) for f in draft.files]
    store_attachments(ctx, files, idea_id=idea.id, event_id=event.id)
    await progress_counts.record_submitted(ctx, idea)
    holder_team = await team.team_for(ctx, unit)
    reached = (
        await team.send_card(ctx, idea, holder_team, files=files, first=[event])
        if holder_team
        else 0
    )
    ctx.state.clear()
    log.info("idea %s submitted (unit %s, team chats %d)", idea.ref_code, unit.code, reached)
    key = "idea.submitted" if reached else "idea.submitted_no_team"
    ctx.show(ctx.t(key, ref=idea.ref_code, title=idea.title))


def _similar_for_team(draft: Draft, unit: Unit) -> list[list[float]] | None:
    """The ideas the review found like this one for the team's card, kept on the new
    idea's row (no statement of their own): only if they were looked up in the unit the
    idea is sent from (the worker may have joined another since), each once. The card
    loads and checks each again as it names it (handlers.similar.on_card)."""
    if draft.similar_unit != unit.id:
        return None
    kept: dict[int, float] = {}
    for other_id, score in draft.similar_team:
        kept.setdefault(other_id, score)
    pairs = [[other_id, score] for other_id, score in kept.items()][: similar.KEPT_FOR_TEAM]
    return pairs or None


# ---------------------------------------------------------------- the form


async def _held_choice(ctx: Context, value: str) -> None:
    await idea_held.choose(ctx, value, replay=on_message, reprompt=reprompt)


# Buttons of the step ``*``, taken wherever the form is.
ANYWHERE: dict[str, OnButton] = {
    "held": _held_choice,  # → the answer flow, or the held messages go into the draft
    "discard": _discard,  # → gone, or back to the step it was at
}

STEPS: dict[str, Step] = {
    BODY: Step(  # text, photos, documents, voice notes → category (review while editing)
        question=body_question,
        on_message=_body_message,
        on_button={"done": _done, "back": _back_to_review},
    ),
    CATEGORY: Step(  # a tap, the option typed or its number → benefit (review)
        question=category_question,
        on_message=_typed_category,
        on_button={"pick": _pick_category, "back": _back_to_review},
    ),
    BENEFIT: Step(  # a tap, the option typed or its number → amount (review)
        question=benefit_question,
        on_message=_typed_benefit,
        on_button={"pick": _pick_benefit, "back": _back_to_review},
    ),
    AMOUNT: Step(  # a figure typed, or Skip → confidential (review)
        question=amount_question,
        on_message=_typed_amount,
        on_button={"skip": _skip_amount},
    ),
    CONFIDENTIAL: Step(  # yes or no → title if confidential without one, else review
        question=confidential_question,
        on_button={"pick": _pick_confidential, "back": _back_to_review},
    ),
    REVIEW: Step(  # submit → done; edit → edit
        question=review_question,
        on_button={"submit": _submit, "edit": _edit_menu},
    ),
    EDIT: Step(  # which part to change → title, body, category, benefit, confidential, review
        question=edit_question,
        on_button={"pick": _edit_choice},
    ),
    TITLE: Step(  # a typed title → review; or make the idea shareable → review
        question=title_question,
        on_message=_typed_title,
        on_button={"back": _back_to_review, "share": _make_shareable},
    ),
}
