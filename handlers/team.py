"""Telling a unit's initiative support team (tổ hỗ trợ sáng kiến) about an idea."""

from __future__ import annotations

import logging

from handlers.amounts import format_amount
from handlers.context import Context
from handlers.events import FileRef, OutMessage
from handlers.i18n import Html, Translator
from handlers.limits import MAX_CAPTION_CHARS
from handlers.textnorm import truncate
from storage.models import Idea, Person, RoleKind, Unit

log = logging.getLogger(__name__)
CARD_BODY_CHARS = 3000


async def support_team_of(ctx: Context, unit: Unit) -> tuple[Unit, list[int]]:
    """The support members for ideas of ``unit``: its own team, else the nearest above."""
    for candidate in [unit, *await ctx.uow.units.ancestors(unit)]:
        members = await ctx.uow.roles.members_with_role(candidate.id, RoleKind.SUPPORT.value)
        if members:
            return candidate, members
    return unit, []


async def notify_new_idea(ctx: Context, idea: Idea, unit: Unit, files: list[FileRef]) -> int:
    """Queue the new-idea card (and its files) for every support member; returns chats reached."""
    team_unit, members = await support_team_of(ctx, unit)
    if not members:
        log.warning("no support team for unit %s", unit.code)
        return 0
    author = await ctx.uow.people.get(idea.author_id)
    # Confidential ideas leave the worker's own unit only as title and benefit.
    full = not idea.confidential or team_unit.id == unit.id

    def render(t: Translator) -> list[OutMessage]:
        card = OutMessage(text=idea_card(t, idea, unit, author, full=full))
        if not full:
            return [card]
        return [card, *(OutMessage(text=_file_caption(t, idea), file=f) for f in files)]

    return await ctx.notify(members, render, idea_id=idea.id, purpose="new_idea")


def idea_card(t: Translator, idea: Idea, unit: Unit, author: Person | None, *, full: bool) -> str:
    benefit = t(f"benefit.{idea.benefit}")
    if idea.benefit_amount:
        benefit = t(
            "idea.benefit_with_amount",
            benefit=benefit,
            amount=format_amount(idea.benefit_amount, t.lang),
        )
    common = {
        "ref": idea.ref_code,
        "unit": unit.name,
        "category": t(f"category.{idea.category}"),
        "benefit": Html(benefit),
        "title": idea.title,
    }
    if not full:
        return t("team.card_confidential", **common)
    return t(
        "team.card",
        **common,
        author=author.display_name if author else "?",
        confidential=t("idea.is_confidential" if idea.confidential else "idea.is_shareable"),
        body=_body_after_title(idea.title, truncate(idea.body, CARD_BODY_CHARS)),
    )


def _file_caption(t: Translator, idea: Idea) -> str:
    return truncate(t("team.file_caption", ref=idea.ref_code), MAX_CAPTION_CHARS)


def _body_after_title(title: str, body: str) -> str:
    """The body as shown under the title, without repeating a title that is the whole body."""
    return "" if body.strip() == title.strip() else body
