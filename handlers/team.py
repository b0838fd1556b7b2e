"""The initiative support team (tổ hỗ trợ sáng kiến): who it is, where its cards go.

A unit's team is the people holding the support role on it; if the team has bound
a group chat, cards go to that group, otherwise to each member privately. A unit
with no team of its own is served by the nearest unit above that has one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from handlers import similar, visibility
from handlers.cards import VIETNAM, NewIdea, card_message
from handlers.context import PRIORITY_NOTIFY, Context, Scope, language_of
from handlers.events import AttachmentKind, FileRef, OutMessage
from handlers.i18n import Translator
from handlers.limits import MAX_CAPTION_CHARS
from handlers.textnorm import truncate
from handlers.visibility import Place, Sight, Viewer
from storage.models import (
    Attachment,
    Idea,
    IdeaEvent,
    OutboxMessage,
    RoleKind,
    TeamChat,
    Unit,
    UnitKind,
)

log = logging.getLogger(__name__)

# Outbox purposes of cards carry the team's unit id, so a later change can tell
# whose card it is: "card:17" (sent as the whole idea) or "cardr:17" (as the summary).
# Whether it is drawn whole again is the policy's to say, each time.
CARD_PREFIXES = ("card:", "cardr:")
CARD_FILE = "card_file"
AUTHOR_PURPOSE = "to_author"
CARD_EDIT = "card_edit"
GROUP_LANGUAGE = "vi"


@dataclass(frozen=True, slots=True)
class Fallback:
    """Why a team above serves a unit: whose team is missing, and since when.

    ``idle``: the unit has members but none has acted since ``since`` (their last
    sign of life); otherwise the team is empty (``since``: when its last member left,
    None if it never had one).
    """

    unit: Unit
    idle: bool
    since: datetime | None


@dataclass(frozen=True, slots=True)
class Team:
    unit: Unit
    members: list[int]
    group: TeamChat | None
    # Set when this team serves a unit below whose own team is empty or idle: the team
    # is told why with each new card (issue #19).
    fallback: Fallback | None = None


@dataclass(frozen=True, slots=True)
class Target:
    channel: str
    chat_id: str
    person_id: int | None
    lang: str


async def team_for(scope: Scope, unit: Unit) -> Team | None:
    """The team that handles ideas held by ``unit``: its own, else the nearest above."""
    serving = await visibility.serving_unit(scope.uow, unit)
    if serving is None:
        return None
    # Both read already by serving_unit's look for the team, in this transaction.
    group = await visibility.group_of(scope.uow, serving.id)
    members = await visibility.members_with_role(scope.uow, serving.id, RoleKind.SUPPORT.value)
    fallback = await _fallback(scope, unit, serving) if serving.id != unit.id else None
    return Team(serving, members, group, fallback)


async def _fallback(scope: Scope, unit: Unit, serving: Unit) -> Fallback | None:
    """The nearest unit on the way up to ``serving`` whose team is missing for a reason
    worth telling: idle members, members who all left, or a grassroots union with none.
    A unit that never had a team of its own below a grassroots union (a trade union
    group, tổ công đoàn) is served from above by design: nothing to tell."""
    support = RoleKind.SUPPORT.value
    # The units above and each one's members: read already by serving_unit.
    for candidate in [unit, *await visibility.ancestors(scope.uow, unit)]:
        if candidate.id == serving.id:
            return None
        if await visibility.members_with_role(scope.uow, candidate.id, support):
            last = await scope.uow.roles.team_last_active(candidate.id, support)
            return Fallback(candidate, True, last)
        left = await scope.uow.roles.last_left(candidate.id, support)  # nobody holds it now
        if left is not None or candidate.kind == UnitKind.GRASSROOTS.value:
            return Fallback(candidate, False, left)
    return None


def fallback_note(t: Translator, idea: Idea, fallback: Fallback) -> OutMessage:
    """Tells the team above why an idea of a unit below comes to it."""
    unit = fallback.unit.name
    if fallback.since is None:
        return OutMessage(t("team_admin.fallback_none", ref=idea.ref_code, unit=unit))
    since = fallback.since.astimezone(VIETNAM).strftime("%d/%m/%Y")
    key = "team_admin.fallback_idle" if fallback.idle else "team_admin.fallback_left"
    return OutMessage(t(key, ref=idea.ref_code, unit=unit, since=since))


async def targets(scope: Scope, team: Team) -> list[Target]:
    return await chat_targets(scope, team.group, team.members)


async def chat_targets(scope: Scope, group: TeamChat | None, members: list[int]) -> list[Target]:
    """A body's chats: its bound group if it has one, else each member's private chats."""
    if group is not None:
        return [Target(group.channel, group.chat_id, None, group.language or GROUP_LANGUAGE)]
    return await private_targets(scope, members)


async def private_targets(scope: Scope, person_ids: list[int]) -> list[Target]:
    """Each person's reachable private chats, in their own language (the chats and their
    people read in one statement, however many the team)."""
    chats = await scope.uow.people.private_chats_of(person_ids)
    return [Target(channel, chat_id, p.id, language_of(p)) for p, channel, chat_id in chats]


async def audience(scope: Scope, target: Target, team_unit: Unit | None) -> Viewer:
    """Who reads a chat: the person of a private chat, else the team's group chat."""
    if target.person_id is not None:
        return await visibility.load_viewer(scope.uow, target.person_id)
    return _group_viewer(team_unit)


async def audiences(scope: Scope, chats: Sequence[Target], team_unit: Unit | None) -> list[Viewer]:
    """:func:`audience` of each of ``chats``, the people's roles read in one statement."""
    people = await visibility.load_viewers(
        scope.uow, [t.person_id for t in chats if t.person_id is not None]
    )
    group = _group_viewer(team_unit)
    return [people[t.person_id] if t.person_id is not None else group for t in chats]


def _group_viewer(team_unit: Unit | None) -> Viewer:
    """The readers of a team's group chat (of no team's: a group without roles)."""
    return Viewer.team_group(team_unit) if team_unit is not None else Viewer(None, group=True)


def card_purpose(team_unit: Unit, seen: Sight) -> str:
    prefix = CARD_PREFIXES[0] if seen is Sight.FULL else CARD_PREFIXES[1]
    return f"{prefix}{team_unit.id}"


async def send_card(
    scope: Scope,
    idea: Idea,
    team: Team,
    *,
    files: list[FileRef] | None = None,
    only: Target | None = None,
    place: Place | None = None,
    edit_message_id: str | None = None,
    first: Sequence[IdeaEvent] | None = None,
) -> int:
    """Queue the idea's card (with its triage buttons) for the team; returns chats reached.

    Each chat gets what the visibility policy lets its readers see: a team's group
    never the whole of a confidential idea (it gets the summary and a button that
    opens the card in a private chat), and files only with the whole card. Cards
    already sent are brought up to date first. ``edit_message_id`` (with ``only``)
    turns that message of the chat into the card instead of sending a new one. ``first``:
    the events of an idea made in this transaction, whose first cards these are (none to
    bring up to date, its events and files not read back).
    """
    place = place or await visibility.place_of(scope.uow, idea)
    new = NewIdea(first, len(files or [])) if first is not None else None
    if only is None and new is None:
        await refresh_cards(scope, idea)
    reached = 0
    chats = [only] if only else await targets(scope, team)
    for target, viewer in zip(chats, await audiences(scope, chats, team.unit), strict=True):
        seen = visibility.sight(viewer, place)
        if seen is Sight.NONE:
            log.warning("idea %s: a team chat may not see it; card not sent", idea.ref_code)
            continue
        t = scope.catalogue.for_lang(target.lang)
        if team.fallback is not None and only is None:
            note = fallback_note(t, idea, team.fallback)
            await queue_for(scope, target, note, idea, "team_fallback")
        card = await _card_as_seen(scope, t, idea, place, viewer, seen, new)
        if edit_message_id is not None:
            card = OutMessage(text=card.text, buttons=card.buttons, edit_message_id=edit_message_id)
        await queue_for(scope, target, card, idea, card_purpose(team.unit, seen))
        if seen is Sight.FULL:
            for file in files or []:
                caption = truncate(t("team.file_caption", ref=idea.ref_code), MAX_CAPTION_CHARS)
                await queue_for(scope, target, OutMessage(text=caption, file=file), idea, CARD_FILE)
        reached += 1
    if not reached:
        log.warning("idea %s: no support team chat to reach", idea.ref_code)
    return reached


async def _card_as_seen(
    scope: Scope,
    t: Translator,
    idea: Idea,
    place: Place,
    viewer: Viewer,
    seen: Sight,
    new: NewIdea | None = None,
) -> OutMessage:
    """The card as ``viewer`` may see it (``seen``), with the buttons they may press, and
    while it waits for a decision the ideas it may repeat that ``viewer`` may be told of."""
    alike = await similar.on_card(scope.uow, idea, place, viewer)
    return await card_message(
        scope.uow,
        t,
        idea,
        place,
        seen=seen,
        buttons=_decides(viewer, place),
        open_privately=viewer.group and seen is Sight.SUMMARY,
        similar=alike,
        new=new,
    )


def _decides(viewer: Viewer, place: Place) -> bool:
    """Decision buttons: for the deciding team's members, and on its group's cards."""
    if viewer.group:
        return any(r.unit_id == place.deciding_unit_id for r in viewer.roles)
    return visibility.may_decide(viewer, place)


async def refresh_cards(
    scope: Scope,
    idea: Idea,
    *,
    skip: tuple[str, str | None] | None = None,
) -> None:
    """Show the idea's current state on every card already sent, wherever it was shown.

    Each card is drawn again as the policy lets its chat see the idea now (a member
    who lost the role sees what an outsider sees). Buttons stay only on the cards of
    the team that decides the idea now, and only while it waits for a decision: two
    members never act on a stale card.
    """
    place = await visibility.place_of(scope.uow, idea)
    viewers: dict[str, Viewer] = {}
    for row in await scope.uow.outbox.sent_cards(idea.id, CARD_PREFIXES):
        if (row.chat_id, row.message_id) == skip:
            continue
        person = await scope.uow.people.get(row.person_id) if row.person_id else None
        t = scope.catalogue.for_lang(
            language_of(person) if person else await group_language(scope, row.channel, row.chat_id)
        )
        purpose = row.purpose or ""
        row_team = purpose.split(":", 1)[1] if ":" in purpose else ""
        key = f"p{row.person_id}" if row.person_id else f"g{row_team}"
        if key not in viewers:
            team_unit = await scope.uow.units.get(int(row_team)) if row_team.isdigit() else None
            target = Target(row.channel, row.chat_id, row.person_id, t.lang)
            viewers[key] = await audience(scope, target, team_unit)
        viewer = viewers[key]
        seen = visibility.sight(viewer, place)
        if seen is Sight.NONE:
            edit = OutMessage(text=t("card.withdrawn", ref=idea.ref_code))
        else:
            edit = await _card_as_seen(scope, t, idea, place, viewer, seen)
        if shows(row, edit):
            continue  # Telegram refuses an edit that changes nothing ("message is not modified")
        remember_shown(row, edit)
        edit = OutMessage(text=edit.text, buttons=edit.buttons, edit_message_id=row.message_id)
        await scope.uow.outbox.add(
            channel=row.channel,
            chat_id=row.chat_id,
            payload=edit.to_json(),
            priority=PRIORITY_NOTIFY,
            now=scope.queue_at,
            person_id=row.person_id,
            idea_id=idea.id,
            purpose=CARD_EDIT,
        )
        scope.notifications += 1


async def group_language(scope: Scope, channel: str, chat_id: str) -> str:
    """The language a team's group chose (``/lang`` in the group); Vietnamese by default."""
    group = await scope.uow.teams.by_chat(channel, chat_id)
    return (group.language if group is not None else None) or GROUP_LANGUAGE


def shows(row: OutboxMessage, message: OutMessage) -> bool:
    """Whether the card ``row`` sent already shows ``message`` (its text and buttons).

    A card's row keeps what its message shows now: every later edit of it is
    remembered there (:func:`remember_shown`), so no edit repeats it.
    """
    now = OutMessage.from_json(row.payload)
    return (now.text, now.buttons) == (message.text, message.buttons)


def remember_shown(row: OutboxMessage, message: OutMessage) -> None:
    kept = OutMessage.from_json(row.payload)
    row.payload = OutMessage(
        text=message.text, buttons=message.buttons, edit_message_id=kept.edit_message_id
    ).to_json()


async def show_on_card(ctx: Context, idea: Idea, message: OutMessage) -> None:
    """Turn the pressed card into ``message``, unless it shows exactly that already."""
    pressed = (ctx.incoming.chat.external_id, ctx.incoming.message_id)
    for row in await ctx.uow.outbox.sent_cards(idea.id, CARD_PREFIXES):
        if (row.chat_id, row.message_id) == pressed:
            if shows(row, message):
                return
            remember_shown(row, message)
    ctx.show(message.text, message.buttons)


async def tell_author(
    scope: Scope,
    idea: Idea,
    render: Callable[[Translator], OutMessage],
) -> None:
    """A message to the idea's author, in their own language."""
    await scope.notify([idea.author_id], render, idea_id=idea.id, purpose=AUTHOR_PURPOSE)


async def tell_team_author_unreachable(scope: Scope, idea_id: int) -> None:
    """The author blocked the bot (or left Telegram): the team must not wait for an answer."""
    idea = await scope.uow.ideas.get_for_update(idea_id)
    holder = await scope.uow.units.get(idea.holder_unit_id) if idea else None
    team = await team_for(scope, holder) if holder else None
    if idea is None or team is None:
        return
    for target in await targets(scope, team):
        t = scope.catalogue.for_lang(target.lang)
        message = OutMessage(text=t("team.author_unreachable", ref=idea.ref_code))
        await queue_for(scope, target, message, idea, "author_unreachable")


async def queue_for(
    scope: Scope, target: Target, message: OutMessage, idea: Idea, purpose: str
) -> None:
    """Queue a notification about ``idea`` for one chat (a card, a reminder, a note)."""
    await scope.uow.outbox.add(
        channel=target.channel,
        chat_id=target.chat_id,
        payload=message.to_json(),
        priority=PRIORITY_NOTIFY,
        now=scope.queue_at,
        person_id=target.person_id,
        idea_id=idea.id,
        purpose=purpose,
    )
    scope.notifications += 1


def file_ref(attachment: Attachment) -> FileRef:
    """A stored attachment as a file the messenger can send again by its id."""
    return FileRef(
        AttachmentKind(attachment.kind),
        attachment.file_id,
        attachment.file_unique_id,
        attachment.file_name,
        attachment.mime_type,
        attachment.size,
    )
