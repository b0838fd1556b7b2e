"""The initiative council's card of an approved idea: who it reaches, what it shows.

A unit's council (Hội đồng sáng kiến) is the people holding the council or chair
role on it; if it has bound a group, its cards go to that group (the summary of a
confidential idea, and a button that brings the scoring to the presser's private
chat), otherwise to each member privately, as the visibility policy lets them see
the idea. Under the idea's card the council's part: how many members have scored of
the quorum, the presser's own scores, every member's to the chair, and the buttons
that person may press now. Cards are drawn again after every change, like the
support team's (:mod:`handlers.team`), with their own outbox purposes.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass

from handlers import visibility
from handlers.buttons import LifecyclePress
from handlers.cards import card_message, local_time
from handlers.context import Context, Scope, language_of
from handlers.events import Button, OutMessage
from handlers.i18n import Translator
from handlers.safe_html import Html, html_join
from handlers.team import (
    CARD_EDIT,
    Target,
    chat_targets,
    group_language,
    queue_for,
    remember_shown,
    shows,
)
from handlers.textnorm import truncate
from handlers.visibility import Action, Place, Sight, Viewer
from storage.lifecycle_models import CouncilScore, IdeaResult
from storage.models import Idea, IdeaStatus, RoleKind, TeamChat, Unit

log = logging.getLogger(__name__)

FLOW = "council"  # the flow's typed steps (handlers.flows.council)
COMMENT, DECISION, REASON, CONFIRM = "comment", "decision", "reason", "confirm"
# Outbox purposes of council cards: "council:<council unit id>" (the whole idea) or
# "councilr:<id>" (the summary), so a later change finds and redraws them.
COUNCIL_PREFIXES = ("council:", "councilr:")
GROUP_BODY = "council"
COMMENT_CHARS = 200
WAITING = IdeaStatus.APPROVED.value


@dataclass(frozen=True, slots=True)
class Council:
    unit: Unit
    members: list[int]  # council members and chairs, each once
    chairs: list[int]
    group: TeamChat | None


async def council_at(scope: Scope, unit_id: int | None) -> Council | None:
    unit = await scope.uow.units.get(unit_id) if unit_id is not None else None
    if unit is None:
        return None
    chairs = await scope.uow.roles.members_with_role(unit.id, RoleKind.CHAIR.value)
    plain = await scope.uow.roles.members_with_role(unit.id, RoleKind.COUNCIL.value)
    group = await scope.uow.teams.group_of(unit.id, body=GROUP_BODY)
    return Council(unit, sorted({*chairs, *plain}), chairs, group)


def quorum(scope: Scope, council: Council) -> int:
    """Scores needed before the chair records the outcome (the chair counts as a member)."""
    return scope.council.quorum_for(len(council.members))


async def place_for(scope: Scope, idea: Idea, result: IdeaResult) -> Place:
    return await visibility.place_of(scope.uow, idea, council_unit_id=result.council_unit_id)


def criterion_name(t: Translator, criterion: str) -> str:
    """A default criterion in the reader's language; a council's own name as written."""
    key = f"council.criterion.{criterion}"
    return t(key) if key in t.catalogue else criterion


def scores_text(t: Translator, scope: Scope, score: CouncilScore) -> str:
    parts = [
        t("council.score_part", name=criterion_name(t, name), score=value)
        for name, value in score.scores.items()
    ]
    top = scope.council.scale * len(score.scores)
    return t("council.scores_line", parts=html_join(parts, " · "), total=score.total, top=top)


async def draw(
    scope: Scope,
    t: Translator,
    idea: Idea,
    place: Place,
    viewer: Viewer,
    council: Council,
    scores: list[CouncilScore],
) -> OutMessage:
    """The council card as ``viewer`` may see it, with the buttons they may press now."""
    seen = visibility.sight(viewer, place)
    if seen is Sight.NONE:
        return OutMessage(text=t("card.withdrawn", ref=idea.ref_code))
    card = await card_message(scope.uow, t, idea, place, seen=seen, buttons=False)
    needed = quorum(scope, council)
    lines = [t("council.card_header", unit=council.unit.name)]
    lines.append(t("council.tally", done=len(scores), needed=needed))
    waiting = idea.status == WAITING
    if waiting and len(scores) >= needed:
        lines.append(t("council.quorum_reached"))
    mine = next((s for s in scores if s.person_id == viewer.person_id), None)
    if mine is not None and not viewer.group:
        lines.append(t("council.yours", scores=Html(scores_text(t, scope, mine))))
        if mine.comment:
            lines.append(t("council.your_comment", comment=truncate(mine.comment, COMMENT_CHARS)))
    chair = visibility.may(viewer, Action.RECORD_OUTCOME, place)
    if chair and scores:
        lines.append(t("council.all_scores", lines=Html(await _all_scores(scope, t, scores))))
    rows: list[tuple[Button, ...]] = []
    if waiting:
        rows = _buttons(t, idea, viewer, place, mine, chair and len(scores) >= needed)
    text = card.text + "\n\n" + html_join(lines, "\n")
    return OutMessage(text=text, buttons=tuple(rows))


def _buttons(
    t: Translator,
    idea: Idea,
    viewer: Viewer,
    place: Place,
    mine: CouncilScore | None,
    decide: bool,
) -> list[tuple[Button, ...]]:
    def button(key: str, action: str) -> Button:
        return Button(t(key), LifecyclePress(idea.id, action).pack())

    if viewer.group:  # scoring is private: the group's button brings it to the presser's chat
        return [(button("council.score_privately", "op"),)]
    rows: list[tuple[Button, ...]] = []
    if visibility.may(viewer, Action.SCORE, place):
        if mine is None:
            rows.append((button("council.score", "sc"),))
        elif not mine.comment:
            rows.append((button("council.add_comment", "cm"),))
    if decide:
        rows.append((button("council.recognise", "rq"), button("council.not_recognise", "nq")))
    return rows


async def _all_scores(scope: Scope, t: Translator, scores: list[CouncilScore]) -> str:
    lines = []
    for score in scores:
        person = await scope.uow.people.get(score.person_id)
        top = scope.council.scale * len(score.scores)
        comment = truncate(score.comment or "", COMMENT_CHARS)
        lines.append(
            t(
                "council.member_score",
                who=person.display_name if person else "?",
                total=score.total,
                top=top,
                when=local_time(score.at),
                comment=t("council.member_comment", comment=comment) if comment else "",
            )
        )
    return html_join(lines, "\n")


# ---------------------------------------------------------------- every press on it


@dataclass(slots=True)
class Pressed:
    idea: Idea
    result: IdeaResult
    place: Place
    viewer: Viewer


async def authorise(
    ctx: Context, idea_id: int, action: Action, *, alert: bool = True
) -> Pressed | None:
    """The idea under its lock, if the presser may take ``action`` on it (else answered).

    The same refusal whether the idea exists or not. An idea with no council recorded
    (not approved yet, approved before councils existed, or when its unit had none
    above it) is asked of the council it would reach now: for an idea not approved
    its members hear that it does not wait for them rather than a refusal; for an
    approved one, that council is recorded as its council.
    """
    idea = await ctx.uow.ideas.get_for_update(idea_id)
    result = await ctx.uow.council.result(idea_id) if idea is not None else None
    council_unit_id = result.council_unit_id if result is not None else None
    if idea is not None and council_unit_id is None:
        unit = await ctx.uow.units.get(idea.unit_id)
        found = await visibility.council_unit(ctx.uow, unit) if unit is not None else None
        council_unit_id = found.id if found is not None else None
    viewer = await visibility.load_viewer(ctx.uow, ctx.person.id)
    place = (
        await visibility.place_of(ctx.uow, idea, council_unit_id=council_unit_id)
        if idea is not None
        else None
    )
    if idea is None or place is None or not visibility.may(viewer, action, place):
        chair_only = (
            place is not None
            and action is Action.RECORD_OUTCOME
            and visibility.may(viewer, Action.SCORE, place)
        )
        log.info("council refused: person %s, idea %s, %s", ctx.person.id, idea_id, action)
        refuse(ctx, ctx.t("council.chair_only" if chair_only else "council.not_allowed"), alert)
        return None
    if idea.status == WAITING and (result is None or result.council_unit_id is None):
        result = await ctx.uow.council.result_for_update(idea.id)
        result.council_unit_id = council_unit_id
    elif result is None:
        result = IdeaResult(idea_id=idea.id, council_unit_id=council_unit_id)  # not stored
    return Pressed(idea, result, place, viewer)


def refuse(ctx: Context, text: str, alert: bool) -> None:
    if ctx.incoming.button is not None:
        ctx.answer(plain(text), alert=alert)
    else:
        ctx.reply(text)


def plain(text: str) -> str:
    """A text for a button's answer (a toast or an alert shows no HTML)."""
    return html.unescape(re.sub(r"<[^>]*>", "", text))


def waits(ctx: Context, p: Pressed) -> bool:
    """Whether the idea waits for the council; if not, the presser is told its status."""
    if p.idea.status == WAITING:
        return True
    text = ctx.t(
        "council.not_waiting", ref=p.idea.ref_code, status=ctx.t(f"status.{p.idea.status}")
    )
    refuse(ctx, text, True)
    return False


async def tally(ctx: Context, p: Pressed) -> tuple[int, int]:
    council = await council_at(ctx, p.result.council_unit_id)
    needed = quorum(ctx, council) if council else 1
    return await ctx.uow.council.score_count(p.idea.id), needed


def private_only(ctx: Context) -> bool:
    """Scores and outcomes are given in a private chat only."""
    if ctx.incoming.chat.kind == "private":
        return True
    ctx.answer(plain(ctx.t("council.private_only")), alert=True)
    return False


async def targets(scope: Scope, council: Council) -> list[Target]:
    """The council's group if it bound one, else each member's private chats."""
    return await chat_targets(scope, council.group, council.members)


async def audience(scope: Scope, person_id: int | None, council_unit: Unit | None) -> Viewer:
    """A private chat's person, or the council's group (which sees what its council sees)."""
    if person_id is not None:
        return await visibility.load_viewer(scope.uow, person_id)
    if council_unit is None:
        return Viewer(None, group=True)
    return Viewer.bound_group(GROUP_BODY, council_unit)


async def send_cards(
    scope: Scope,
    idea: Idea,
    result: IdeaResult,
    *,
    only: Target | None = None,
    edit_message_id: str | None = None,
) -> int:
    """Queue the council card for the council (or for ``only``); returns chats reached."""
    council = await council_at(scope, result.council_unit_id)
    if council is None:
        return 0
    place = await place_for(scope, idea, result)
    scores = await scope.uow.council.scores(idea.id)
    reached = 0
    for target in [only] if only else await targets(scope, council):
        viewer = await audience(scope, target.person_id, council.unit)
        seen = visibility.sight(viewer, place)
        if seen is Sight.NONE:
            log.warning("idea %s: a council chat may not see it; card not sent", idea.id)
            continue
        t = scope.catalogue.for_lang(target.lang)
        card = await draw(scope, t, idea, place, viewer, council, scores)
        if edit_message_id is not None:
            card = OutMessage(card.text, card.buttons, edit_message_id=edit_message_id)
        prefix = COUNCIL_PREFIXES[0] if seen is Sight.FULL else COUNCIL_PREFIXES[1]
        await queue_for(scope, target, card, idea, f"{prefix}{council.unit.id}")
        reached += 1
    return reached


async def refresh(
    scope: Scope, idea: Idea, result: IdeaResult, *, skip: tuple[str, str | None] | None = None
) -> None:
    """Draw every council card already sent again, as its chat may see the idea now."""
    council = await council_at(scope, result.council_unit_id)
    if council is None:
        return
    place = await place_for(scope, idea, result)
    scores = await scope.uow.council.scores(idea.id)
    for row in await scope.uow.outbox.sent_cards(idea.id, COUNCIL_PREFIXES):
        if (row.chat_id, row.message_id) == skip:
            continue
        person = await scope.uow.people.get(row.person_id) if row.person_id else None
        lang = (
            language_of(person) if person else await group_language(scope, row.channel, row.chat_id)
        )
        t = scope.catalogue.for_lang(lang)
        viewer = await audience(scope, row.person_id, council.unit)
        edit = await draw(scope, t, idea, place, viewer, council, scores)
        if shows(row, edit):
            continue  # Telegram refuses an edit that changes nothing
        remember_shown(row, edit)
        edit = OutMessage(text=edit.text, buttons=edit.buttons, edit_message_id=row.message_id)
        target = Target(row.channel, row.chat_id, row.person_id, lang)
        await queue_for(scope, target, edit, idea, CARD_EDIT)


async def show_here(ctx: Context, idea: Idea, result: IdeaResult) -> None:
    """Turn the pressed council card into what it shows now (a repeated open, a press)."""
    council = await council_at(ctx, result.council_unit_id)
    if council is None:
        return
    place = await place_for(ctx, idea, result)
    scores = await ctx.uow.council.scores(idea.id)
    viewer = await visibility.load_viewer(ctx.uow, ctx.person.id)
    message = await draw(ctx, ctx.t, idea, place, viewer, council, scores)
    pressed = (ctx.incoming.chat.external_id, ctx.incoming.message_id)
    for row in await ctx.uow.outbox.sent_cards(idea.id, COUNCIL_PREFIXES):
        if (row.chat_id, row.message_id) == pressed:
            if shows(row, message):
                return
            remember_shown(row, message)
    ctx.show(message.text, message.buttons)
