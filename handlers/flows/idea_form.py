"""The idea form: the idea in the worker's own words, a few taps, a review, submit.

Steps: ``body`` (text, photos, documents, voice notes until Done) → ``category`` →
``benefit`` → ``amount`` (optional figure) → ``confidential`` → ``review``, with
``edit`` and ``title`` reachable from the review. Button-driven steps turn the
pressed message into the next question, so the chat stays short.

A confidential idea's text, author and files stay with the author's grassroots unit; above
it only the title the worker typed and the benefit travel (docs/SECURITY.md). A title derived
from the text would carry the text up the tree, so choosing "confidential" without a typed
title leads to the ``title`` step, which says what travels, and Submit refuses such an idea.
``data["title"]`` is present only when the worker typed it (``Idea.title_given``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import datetime
from typing import Any

from handlers import progress_counts, team
from handlers.amounts import format_amount, parse_amount
from handlers.buttons import FlowPress
from handlers.context import Context
from handlers.events import AttachmentKind, Button, FileRef, OtherContent
from handlers.flows import answer, join
from handlers.flows.common import parse_id, stale, store_attachments
from handlers.i18n import Html, Translator, escape
from handlers.language import detect_language
from handlers.limits import (
    MAX_IDEA_BODY_CHARS,
    MAX_IDEA_FILES,
    MAX_IDEA_TITLE_CHARS,
    MIN_IDEA_BODY_CHARS,
    MIN_IDEA_TITLE_CHARS,
)
from handlers.textnorm import clean_user_text, derive_title, fold, truncate
from storage.models import Benefit, Category, Idea, IdeaStatus

log = logging.getLogger(__name__)

FLOW = "idea"
BODY, CATEGORY, BENEFIT, AMOUNT, CONFIDENTIAL, REVIEW, EDIT, TITLE = (
    "body",
    "category",
    "benefit",
    "amount",
    "confidential",
    "review",
    "edit",
    "title",
)
REVIEW_BODY_CHARS = 1500
ANY_STEP = "*"
# A typed title this close to the text (folded), or with a phone-like run of digits, is
# still the worker's choice; the review only warns that it travels above the unit.
TITLE_LIKE_TEXT_CHARS = 40
TITLE_LIKE_TEXT_SHARE = 0.8
# A Vietnamese phone number: 0 or +84, then 8 to 10 digits, spaced or dotted as people write.
PHONE_LIKE = re.compile(r"(?<![\d.,])(?:\+?84|0)(?:[\s.\-]?\d){8,10}(?!\d)")


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
    ctx.reply(ctx.t("idea.ask_body"), [_body_buttons(ctx, done=False)])


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
    message = ctx.t("idea.received", **_counts(ctx))
    if edit:
        ctx.show(message, [_body_buttons(ctx, done=True)])
    else:
        ctx.reply(message, [_body_buttons(ctx, done=True)])


async def reprompt(ctx: Context) -> None:
    """Show the current step again (after a restart, a stray message or a stale button)."""
    ctx.reply(*_step_view(ctx))


def _step_view(ctx: Context) -> tuple[str, list[list[Button]]]:
    """The current step's question and buttons."""
    step = ctx.state.step
    if step == BODY:
        has = _has_content(ctx)
        key = "idea.received" if has else "idea.ask_body"
        return ctx.t(key, **_counts(ctx)), [_body_buttons(ctx, done=has)]
    if step == TITLE:
        return _title_question(ctx)
    if step == AMOUNT:
        return _amount_question(ctx)
    return _question(ctx)


# ---------------------------------------------------------------- messages


async def on_message(ctx: Context) -> None:
    if await _hold_for_question(ctx):
        return
    incoming = ctx.incoming
    step = ctx.state.step
    if step == BODY:
        await _on_body_message(ctx)
    elif step == AMOUNT and incoming.text is not None:
        amount = parse_amount(incoming.text)
        if amount is None:
            ctx.reply(ctx.t("idea.bad_amount"), _amount_question(ctx)[1])
            return
        _data(ctx)["amount"] = amount
        _advance(ctx, CONFIDENTIAL, edit=False)
    elif step == TITLE:
        _on_title_message(ctx)
    elif step == CATEGORY and incoming.text and (match := _match_option(incoming.text, CATS)):
        _data(ctx)["category"] = match
        _advance(ctx, _after(ctx, BENEFIT), edit=False)
    elif step == BENEFIT and incoming.text and (match := _match_option(incoming.text, BENS)):
        _data(ctx)["benefit"] = match
        _advance(ctx, _after(ctx, AMOUNT), edit=False)
    else:
        if incoming.other is not None or incoming.files:
            ctx.reply(ctx.t("idea.use_buttons"))
        else:
            ctx.reply(ctx.t("idea.use_buttons"))
        await reprompt(ctx)


async def _on_body_message(ctx: Context) -> None:
    incoming = ctx.incoming
    if incoming.other is not None:
        key = "idea.sticker" if incoming.other is OtherContent.STICKER else "idea.unsupported"
        ctx.reply(ctx.t(key), [_body_buttons(ctx, done=_has_content(ctx))])
        return
    data = _data(ctx)
    if incoming.files:
        if len(data["files"]) + len(incoming.files) > MAX_IDEA_FILES:
            ctx.reply(ctx.t("idea.too_many_files", limit=MAX_IDEA_FILES))
            return
        data["files"].extend(f.to_json() for f in incoming.files)
    if incoming.text is not None and not _add_text(ctx, incoming.text):
        if incoming.files:
            data["files"] = data["files"][: -len(incoming.files)]
        return
    if not incoming.files and not clean_user_text(incoming.text or ""):
        ctx.reply(ctx.t("idea.need_text"), [_body_buttons(ctx, done=_has_content(ctx))])
        return
    ctx.reply(ctx.t("idea.received", **_counts(ctx)), [_body_buttons(ctx, done=True)])


def _on_title_message(ctx: Context) -> None:
    """A typed title, stored as typed (tidied); anything else is answered and changes nothing."""
    raw = ctx.incoming.text
    title = " ".join(clean_user_text(raw).split()) if raw is not None else ""
    buttons = _title_question(ctx)[1]
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
    _data(ctx)["title"] = title
    _data(ctx).pop("title_was", None)
    _advance(ctx, REVIEW, edit=False)


def _add_text(ctx: Context, raw: str) -> bool:
    text = clean_user_text(raw)
    if not text:
        return True
    data = _data(ctx)
    # The parts are joined with a blank line, counted only once there is a part before.
    used = len("\n\n".join(data["body"])) + (2 if data["body"] else 0)
    if used + len(text) > MAX_IDEA_BODY_CHARS:
        ctx.reply(
            ctx.t(
                "idea.too_long",
                limit=MAX_IDEA_BODY_CHARS,
                left=max(MAX_IDEA_BODY_CHARS - used, 0),
                length=len(text),
            ),
            [_body_buttons(ctx, done=_has_content(ctx))],
        )
        return False
    data["body"].append(text)
    return True


# ---------------------------------------------------------------- a question from the team


async def _hold_for_question(ctx: Context) -> bool:
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
    data = _data(ctx)
    held = data.setdefault("held", [])
    held.append({"text": incoming.text, "files": [f.to_json() for f in incoming.files]})
    data["held_for"] = question.id
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
    data = _data(ctx)
    opened = data.get("opened_at")
    asked = set(data.get("asked", []))
    for idea in await ctx.uow.ideas.awaiting_answer(ctx.person.id):
        if _question_key(idea) in asked:
            continue
        if opened is None or idea.updated_at >= datetime.fromisoformat(opened):
            return idea
    return None


def _question_key(idea: Idea) -> str:
    return f"{idea.id}@{idea.updated_at.isoformat()}"


async def _held_choice(ctx: Context, value: str) -> None:
    data = _data(ctx)
    held: list[dict[str, Any]] = data.pop("held", [])
    idea_id = data.pop("held_for", None)
    if not held or value not in ("answer", "draft"):
        stale(ctx)
        await reprompt(ctx)
        return
    ctx.answer()
    idea = await answer.open_question(ctx, str(idea_id)) if idea_id is not None else None
    if idea is not None:
        data.setdefault("asked", []).append(_question_key(idea))
    if value == "answer" and idea is not None:
        ctx.show(ctx.t("idea.held_went_to_answer", ref=idea.ref_code))
        await answer.begin_with_parts(ctx, idea, held)
        return
    ctx.show(ctx.t("idea.held_went_to_draft"))
    if value == "answer":  # the question was answered or closed meanwhile
        ctx.reply(ctx.t("answer.no_question"))
    pressed = ctx.incoming
    try:
        for part in held:
            files = tuple(FileRef.from_json(f) for f in part["files"])
            ctx.incoming = replace(pressed, text=part["text"], files=files, button=None)
            await on_message(ctx)
    finally:
        ctx.incoming = pressed


# ---------------------------------------------------------------- buttons


async def on_button(ctx: Context, press: FlowPress) -> None:
    step, action, value = press.step, press.action, press.value
    if step == ANY_STEP and action == "held":
        await _held_choice(ctx, value)
        return
    if step == ANY_STEP and action == "discard":
        await _discard(ctx, value)
        return
    if action == "cancel":
        ctx.answer()
        if _has_typed(ctx):  # one tap must not throw away what the worker wrote
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
        return
    if step != ctx.state.step:
        stale(ctx)
        await reprompt(ctx)
        return
    handler = _BUTTONS.get((step, action))
    if handler is None:
        stale(ctx)
        return
    await handler(ctx, value)


async def _discard(ctx: Context, value: str) -> None:
    """The answer to "Discard this draft?": gone, or the step it was at, in place."""
    ctx.answer()
    if value == "yes":
        ctx.state.clear()
        ctx.show(ctx.t("common.cancelled"))
        return
    ctx.show(*_step_view(ctx))


async def _done(ctx: Context, _: str) -> None:
    data = _data(ctx)
    body = "\n\n".join(data["body"])
    has_voice = any(f["kind"] == AttachmentKind.VOICE.value for f in data["files"])
    if len(body) < MIN_IDEA_BODY_CHARS and not has_voice:
        ctx.answer(ctx.t("idea.need_more", minimum=MIN_IDEA_BODY_CHARS), alert=True)
        return
    ctx.answer()
    previous = data.get("previous_body")
    if previous and not data.get("title"):
        # A title derived from the text follows it; the review names the one it replaced.
        before = derive_title("\n\n".join(previous), MAX_IDEA_TITLE_CHARS)
        if before != _title(ctx):
            data["title_was"] = before
    _advance(ctx, _after(ctx, CATEGORY), edit=True)


async def _pick_category(ctx: Context, value: str) -> None:
    if value not in CATS:
        stale(ctx)
        return
    ctx.answer()
    _data(ctx)["category"] = value
    _advance(ctx, _after(ctx, BENEFIT), edit=True)


async def _pick_benefit(ctx: Context, value: str) -> None:
    if value not in BENS:
        stale(ctx)
        return
    ctx.answer()
    _data(ctx)["benefit"] = value
    _advance(ctx, AMOUNT, edit=True)


async def _skip_amount(ctx: Context, _: str) -> None:
    ctx.answer()
    _data(ctx)["amount"] = None
    _advance(ctx, _after(ctx, CONFIDENTIAL), edit=True)


async def _pick_confidential(ctx: Context, value: str) -> None:
    if value not in ("yes", "no"):
        stale(ctx)
        return
    ctx.answer()
    _data(ctx)["confidential"] = value == "yes"
    if _needs_title(ctx):
        _ask_title(ctx)
        return
    _advance(ctx, REVIEW, edit=True)


async def _make_shareable(ctx: Context, _: str) -> None:
    """At the confidential title question the worker may rather share the idea."""
    ctx.answer()
    _data(ctx)["confidential"] = False
    _advance(ctx, REVIEW, edit=True)


async def _edit_menu(ctx: Context, _: str) -> None:
    ctx.answer()
    _data(ctx)["editing"] = True
    _advance(ctx, EDIT, edit=True)


async def _edit_choice(ctx: Context, value: str) -> None:
    ctx.answer()
    if value == "title":
        _ask_title(ctx)
    elif value == "body":
        data = _data(ctx)
        data["previous_body"] = data["body"]
        data["body"] = []
        ctx.state.step = BODY
        ctx.show(ctx.t("idea.ask_new_body"), [_body_buttons(ctx, done=False)])
    elif value in (CATEGORY, BENEFIT, CONFIDENTIAL):
        _advance(ctx, value, edit=True)
    else:
        _advance(ctx, REVIEW, edit=True)


async def _back_to_review(ctx: Context, _: str) -> None:
    data = _data(ctx)
    # "Back" is only offered while editing from the review, and never to a confidential
    # idea without a typed title.
    if not data.get("editing") or _needs_title(ctx):
        stale(ctx)
        await reprompt(ctx)
        return
    ctx.answer()
    if ctx.state.step == BODY and not data["body"] and data.get("previous_body"):
        data["body"] = data["previous_body"]
    _advance(ctx, REVIEW, edit=True)


async def _submit(ctx: Context, _: str) -> None:
    data = _data(ctx)
    if _needs_title(ctx):  # a form saved at the review before titles were asked for
        ctx.answer()
        _ask_title(ctx)
        return
    unit = await ctx.uow.units.get(ctx.person.unit_id) if ctx.person.unit_id else None
    if unit is None:
        ctx.answer(ctx.t("idea.need_unit"), alert=True)
        return
    ctx.answer()
    body = "\n\n".join(data["body"])
    year = ctx.now.year
    number = await ctx.uow.ideas.next_number(f"idea-{year}")
    idea = await ctx.uow.ideas.add(
        Idea(
            ref_code=f"SK-{year}-{number:06d}",
            author_id=ctx.person.id,
            unit_id=unit.id,
            holder_unit_id=unit.id,
            title=_title(ctx),
            title_given=bool(data.get("title")),
            body=body,
            category=data["category"],
            benefit=data["benefit"],
            benefit_amount=data.get("amount"),
            confidential=bool(data["confidential"]),
            language=detect_language(body, default=ctx.lang) if body else ctx.lang,
            status=IdeaStatus.SUBMITTED.value,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
    )
    event = await ctx.uow.ideas.add_event(
        idea_id=idea.id, kind="submitted", actor_id=ctx.person.id, at=ctx.now
    )
    files = [FileRef.from_json(f) for f in data["files"]]
    store_attachments(ctx, files, idea_id=idea.id, event_id=event.id)
    idea.waiting_since = ctx.now
    await progress_counts.record_submitted(ctx, idea)
    holder_team = await team.team_for(ctx, unit)
    reached = await team.send_card(ctx, idea, holder_team, files=files) if holder_team else 0
    ctx.state.clear()
    log.info("idea %s submitted (unit %s, team chats %d)", idea.ref_code, unit.code, reached)
    key = "idea.submitted" if reached else "idea.submitted_no_team"
    ctx.show(ctx.t(key, ref=idea.ref_code, title=idea.title))


_BUTTONS: dict[tuple[str, str], Any] = {
    (BODY, "done"): _done,
    (BODY, "back"): _back_to_review,
    (CATEGORY, "pick"): _pick_category,
    (CATEGORY, "back"): _back_to_review,
    (BENEFIT, "pick"): _pick_benefit,
    (BENEFIT, "back"): _back_to_review,
    (AMOUNT, "skip"): _skip_amount,
    (CONFIDENTIAL, "pick"): _pick_confidential,
    (CONFIDENTIAL, "back"): _back_to_review,
    (REVIEW, "submit"): _submit,
    (REVIEW, "edit"): _edit_menu,
    (EDIT, "pick"): _edit_choice,
    (TITLE, "back"): _back_to_review,
    (TITLE, "share"): _make_shareable,
}


# ---------------------------------------------------------------- questions

CATS = [c.value for c in Category]
BENS = [b.value for b in Benefit]


def _advance(ctx: Context, step: str, *, edit: bool) -> None:
    ctx.state.step = step
    text, buttons = _amount_question(ctx) if step == AMOUNT else _question(ctx)
    if edit:
        ctx.show(text, buttons)
    else:
        ctx.reply(text, buttons)


def _after(ctx: Context, natural_next: str) -> str:
    """While editing from the review, every step goes back to the review."""
    return REVIEW if _data(ctx).get("editing") else natural_next


def _question(ctx: Context) -> tuple[str, list[list[Button]]]:
    t, step = ctx.t, ctx.state.step
    if step == CATEGORY:
        options = [ctx.button(t(f"category.{c}"), CATEGORY, "pick", c) for c in CATS]
        return t("idea.ask_category"), [*_pairs(options), *_edit_back(ctx)]
    if step == BENEFIT:
        options = [ctx.button(t(f"benefit.{b}"), BENEFIT, "pick", b) for b in BENS]
        return t("idea.ask_benefit"), [*_pairs(options), *_edit_back(ctx)]
    if step == CONFIDENTIAL:
        return t("idea.ask_confidential"), [
            [ctx.button(t("idea.confidential_yes"), CONFIDENTIAL, "pick", "yes")],
            [ctx.button(t("idea.confidential_no"), CONFIDENTIAL, "pick", "no")],
            *_edit_back(ctx),
        ]
    if step == EDIT:
        return review_text(ctx.t, _data(ctx), _title(ctx), ctx.lang), [
            [
                ctx.button(t("idea.edit_title"), EDIT, "pick", "title"),
                ctx.button(t("idea.edit_body"), EDIT, "pick", "body"),
            ],
            [
                ctx.button(t("idea.edit_category"), EDIT, "pick", CATEGORY),
                ctx.button(t("idea.edit_benefit"), EDIT, "pick", BENEFIT),
            ],
            [ctx.button(t("idea.edit_confidential"), EDIT, "pick", CONFIDENTIAL)],
            [ctx.button(t("idea.back"), EDIT, "pick", REVIEW)],
        ]
    # REVIEW
    return review_text(ctx.t, _data(ctx), _title(ctx), ctx.lang), [
        [ctx.button(t("idea.submit"), REVIEW, "submit")],
        [
            ctx.button(t("idea.edit"), REVIEW, "edit"),
            ctx.button(t("idea.cancel"), REVIEW, "cancel"),
        ],
    ]


def _needs_title(ctx: Context) -> bool:
    """A confidential idea must carry a title the worker typed, never one from the text."""
    data = _data(ctx)
    return bool(data.get("confidential")) and not data.get("title")


def _ask_title(ctx: Context) -> None:
    ctx.state.step = TITLE
    ctx.show(*_title_question(ctx))


def _title_question(ctx: Context) -> tuple[str, list[list[Button]]]:
    t, limit = ctx.t, MAX_IDEA_TITLE_CHARS
    if not _data(ctx).get("confidential"):
        return t("idea.ask_title", limit=limit), [_back_row(ctx)]
    text = t("idea.ask_confidential_title", limit=limit)
    if not _needs_title(ctx):  # changing a typed title from the review
        return text, [_back_row(ctx)]
    return text, [
        [ctx.button(t("idea.make_shareable"), TITLE, "share")],
        [ctx.button(t("idea.cancel"), TITLE, "cancel")],
    ]


def _amount_question(ctx: Context) -> tuple[str, list[list[Button]]]:
    return ctx.t("idea.ask_amount"), [[ctx.button(ctx.t("idea.skip"), AMOUNT, "skip")]]


def review_text(t: Translator, data: dict[str, Any], title: str, lang: str) -> str:
    amount = data.get("amount")
    benefit = t(f"benefit.{data['benefit']}")
    if amount:
        benefit = t("idea.benefit_with_amount", benefit=benefit, amount=format_amount(amount, lang))
    body = "\n\n".join(data["body"])
    shown_title: str = title
    if not data.get("title"):  # derived from the text: say so, and what it replaced
        shown_title = Html(escape(title) + " " + t("idea.title_derived"))
        if data.get("title_was") and data["title_was"] != title:
            shown_title += Html("\n" + t("idea.title_derived_changed", before=data["title_was"]))
    review = t(
        "idea.review",
        title=shown_title,
        category=t(f"category.{data['category']}"),
        benefit=Html(benefit),
        confidential=t("idea.is_confidential" if data["confidential"] else "idea.is_shareable"),
        files=len(data["files"]),
        body=truncate(body, REVIEW_BODY_CHARS),
    )
    if not data["confidential"]:
        return review
    travels = t("idea.review_travels")
    if title_carries_text(title, body):
        travels += "\n" + t("idea.review_title_warning")
    return review + "\n\n" + travels


def title_carries_text(title: str, body: str) -> bool:
    """Whether a title looks like the idea's text itself, or holds a phone-like number."""
    if PHONE_LIKE.search(title):
        return True
    folded_title, folded_body = fold(title), fold(body)
    if not folded_title or not folded_body:
        return False
    if folded_body in folded_title:
        return True
    long_enough = len(folded_title) >= min(
        TITLE_LIKE_TEXT_CHARS, TITLE_LIKE_TEXT_SHARE * len(folded_body)
    )
    return long_enough and folded_title in folded_body


def _body_buttons(ctx: Context, *, done: bool) -> list[Button]:
    row = []
    if done:
        row.append(ctx.button(ctx.t("idea.done"), BODY, "done"))
    if _data(ctx).get("editing"):
        row.append(ctx.button(ctx.t("idea.back"), BODY, "back"))
    row.append(ctx.button(ctx.t("idea.cancel"), BODY, "cancel"))
    return row


def _edit_back(ctx: Context) -> list[list[Button]]:
    if not _data(ctx).get("editing"):
        return []
    return [[ctx.button(ctx.t("idea.back"), ctx.state.step or REVIEW, "back")]]


def _back_row(ctx: Context) -> list[Button]:
    """Back to the review (the title is only asked for there, or already typed)."""
    return [ctx.button(ctx.t("idea.back"), TITLE, "back")]


def _pairs(buttons: list[Button]) -> list[list[Button]]:
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def _match_option(text: str, options: list[str]) -> str | None:
    """A typed answer where buttons were offered: the option key or a number."""
    folded = fold(text)
    number = parse_id(folded)
    if number is not None and 1 <= number <= len(options):
        return options[number - 1]
    return folded if folded in options else None


def _data(ctx: Context) -> dict[str, Any]:
    return ctx.state.data


def _has_content(ctx: Context) -> bool:
    return bool(_data(ctx)["body"] or _data(ctx)["files"])


def _has_typed(ctx: Context) -> bool:
    """Whether the draft holds anything the worker wrote or sent (a body being redone too)."""
    data = _data(ctx)
    return bool(data["body"] or data["files"] or data.get("previous_body") or data.get("title"))


def _counts(ctx: Context) -> dict[str, int]:
    data = _data(ctx)
    return {
        "parts": len(data["body"]),
        "files": len(data["files"]),
        "chars": len("\n\n".join(data["body"])),
    }


def _title(ctx: Context) -> str:
    data = _data(ctx)
    title = data.get("title")
    if title:
        return str(title)
    body = "\n\n".join(data["body"])
    return derive_title(body, MAX_IDEA_TITLE_CHARS) if body else "—"
