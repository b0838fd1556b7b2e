"""What each step of the idea form shows: its question and its buttons."""

from __future__ import annotations

from typing import Any

from handlers.context import Context
from handlers.events import Button
from handlers.flows.idea_draft import (
    AMOUNT,
    BENEFIT,
    BENS,
    BODY,
    CATEGORY,
    CATS,
    CONFIDENTIAL,
    EDIT,
    REVIEW,
    TITLE,
    Draft,
    review_text,
)
from handlers.limits import MAX_IDEA_TITLE_CHARS
from handlers.safe_html import Html, escape, html_join
from handlers.textnorm import truncate
from storage.models import IdeaStatus

View = tuple[str, list[list[Button]]]
STATUSES = frozenset(s.value for s in IdeaStatus)
SIMILAR_TITLE_CHARS = 80  # a similar idea's title on the review


def draft_of(ctx: Context) -> Draft:
    return Draft(ctx.state.data)


def body_question(ctx: Context) -> View:
    has = draft_of(ctx).has_content
    key = "idea.received" if has else "idea.ask_body"
    return ctx.t(key, **draft_of(ctx).counts()), [body_buttons(ctx, done=has)]


def category_question(ctx: Context) -> View:
    t = ctx.t
    options = [ctx.button(t(f"category.{c}"), CATEGORY, "pick", c) for c in CATS]
    return t("idea.ask_category"), [*_pairs(options), *_edit_back(ctx)]


def benefit_question(ctx: Context) -> View:
    t = ctx.t
    options = [ctx.button(t(f"benefit.{b}"), BENEFIT, "pick", b) for b in BENS]
    return t("idea.ask_benefit"), [*_pairs(options), *_edit_back(ctx)]


def amount_question(ctx: Context) -> View:
    return ctx.t("idea.ask_amount"), [[ctx.button(ctx.t("idea.skip"), AMOUNT, "skip")]]


def confidential_question(ctx: Context) -> View:
    t = ctx.t
    return t("idea.ask_confidential"), [
        [ctx.button(t("idea.confidential_yes"), CONFIDENTIAL, "pick", "yes")],
        [ctx.button(t("idea.confidential_no"), CONFIDENTIAL, "pick", "no")],
        *_edit_back(ctx),
    ]


def review_question(ctx: Context) -> View:
    """The review, with the similar ideas found when it was shown (from the form's data:
    a re-prompt looks nothing up); Submit stays the first button."""
    t, draft = ctx.t, draft_of(ctx)
    text = review_text(t, draft, ctx.lang)
    if draft.similar_shown:
        text = escape(text) + Html("\n\n") + similar_lines(ctx, draft.similar_shown)
    return text, [
        [ctx.button(t("idea.submit"), REVIEW, "submit")],
        [
            ctx.button(t("idea.edit"), REVIEW, "edit"),
            ctx.button(t("idea.cancel"), REVIEW, "cancel"),
        ],
    ]


def similar_lines(ctx: Context, shown: list[dict[str, Any]]) -> Html:
    """ "Ideas like yours already sent in your unit:", a line for each (reference, title as
    typed, escaped, and status), and that a different idea is still sent with Submit."""
    t = ctx.t
    lines = [t("similar_review.heading")]
    for found in shown:
        status = str(found.get("status"))
        lines.append(
            t(
                "similar_review.line",
                ref=str(found.get("ref", "")),
                title=truncate(str(found.get("title", "")), SIMILAR_TITLE_CHARS),
                status=t(f"status.{status}" if status in STATUSES else "status.submitted"),
            )
        )
    lines.append(t("similar_review.different"))
    return html_join(lines)


def edit_question(ctx: Context) -> View:
    t = ctx.t
    return review_text(t, draft_of(ctx), ctx.lang), [
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


def title_question(ctx: Context) -> View:
    t, limit, draft = ctx.t, MAX_IDEA_TITLE_CHARS, draft_of(ctx)
    if not draft.confidential:
        return t("idea.ask_title", limit=limit), [_back_row(ctx)]
    text = t("idea.ask_confidential_title", limit=limit)
    if not draft.needs_title:  # changing a typed title from the review
        return text, [_back_row(ctx)]
    return text, [
        [ctx.button(t("idea.make_shareable"), TITLE, "share")],
        [ctx.button(t("idea.cancel"), TITLE, "cancel")],
    ]


def body_buttons(ctx: Context, *, done: bool) -> list[Button]:
    row = []
    if done:
        row.append(ctx.button(ctx.t("idea.done"), BODY, "done"))
    if draft_of(ctx).editing:
        row.append(ctx.button(ctx.t("idea.back"), BODY, "back"))
    row.append(ctx.button(ctx.t("idea.cancel"), BODY, "cancel"))
    return row


def _edit_back(ctx: Context) -> list[list[Button]]:
    if not draft_of(ctx).editing:
        return []
    return [[ctx.button(ctx.t("idea.back"), ctx.state.step or REVIEW, "back")]]


def _back_row(ctx: Context) -> list[Button]:
    """Back to the review (the title is only asked for there, or already typed)."""
    return [ctx.button(ctx.t("idea.back"), TITLE, "back")]


def _pairs(buttons: list[Button]) -> list[list[Button]]:
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
