"""The idea card a support team sees: facts, history, text, and the triage buttons."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from handlers.amounts import format_amount
from handlers.buttons import CardPress
from handlers.events import Button, OutMessage
from handlers.i18n import Translator
from handlers.safe_html import Html, html_join
from handlers.similar import Found
from handlers.textnorm import ELLIPSIS, truncate
from handlers.visibility import Place, Sight, summary_title
from storage.models import Idea, IdeaEvent, IdeaStatus
from storage.uow import UnitOfWork

VIETNAM = timezone(timedelta(hours=7), "ICT")  # Vietnam keeps no daylight saving time
CARD_BODY_CHARS = 2500
NOTE_CHARS = 300
# Telegram counts 4096 UTF-16 units after entity parsing (an emoji is two): a card stays
# under this, so a triage step can add its question below it; the history keeps only its
# newest entries within HISTORY_CHARS (the audit keeps them all).
CARD_TEXT_CHARS = 3600
HISTORY_CHARS = 1000
SIMILAR_TITLE_CHARS = 80  # a similar idea's title, on the card's "possibly the same" line
_TAG = re.compile(r"<[^>]*>")
OPEN = {IdeaStatus.SUBMITTED.value, IdeaStatus.INFO_REQUESTED.value, IdeaStatus.FORWARDED.value}
# Events shown in a card's history; others (reminders) stay in the audit only.
HISTORY = (
    "info_requested",
    "info_added",
    "forwarded",
    "approved",
    "declined",
    # After approval (issue #18): their texts are in council.po and applied.po.
    "recognised",
    "not_recognised",
    "applied",
    "benefit_revised",
    "rewarded",
)


@dataclass(frozen=True, slots=True)
class NewIdea:
    """What the transaction that made an idea knows of it: its events and how many files
    it came with (a card drawn in that transaction need not read them back)."""

    events: Sequence[IdeaEvent]
    files: int


def local_time(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%H:%M %d/%m")


def since_text(t: Translator, since: datetime, now: datetime) -> str:
    """How long something has waited, as a Vietnamese reader says it: "15:57 hôm nay",
    "15:57 hôm qua", "15:57 06/12 (3 ngày)" — calendar days in Vietnam's time."""
    here, today = since.astimezone(VIETNAM), now.astimezone(VIETNAM)
    days = max((today.date() - here.date()).days, 0)
    clock = here.strftime("%H:%M")
    if days == 0:
        return t("when.today", time=clock)
    if days == 1:
        return t("when.yesterday", time=clock)
    return t("when.days_ago", time=clock, date=here.strftime("%d/%m"), days=days)


def title_as_seen(t: Translator, idea: Idea, place: Place, seen: Sight) -> str:
    """The idea's title as a reader who sees ``seen`` of it may read it: a confidential
    idea's summary shows only a title the worker typed, else a placeholder."""
    shown = idea.title if seen is Sight.FULL else summary_title(place, idea.title)
    return shown or t("card.untitled")


def benefit_text(t: Translator, idea: Idea) -> str:
    benefit = t(f"benefit.{idea.benefit}")
    if idea.benefit_amount:
        amount = format_amount(idea.benefit_amount, t.lang)
        return t("idea.benefit_with_amount", benefit=benefit, amount=amount)
    return benefit


def triage_buttons(
    t: Translator, idea: Idea, *, open_privately: bool = False, duplicate: bool = False
) -> tuple[tuple[Button, ...], ...]:
    def button(key: str, action: str) -> Button:
        return Button(t(key), CardPress(idea.id, action).pack())

    # Approve opens a confirmation ("okq"); "ok" is its Yes.
    rows: list[tuple[Button, ...]] = [
        (button("triage.approve", "okq"), button("triage.ask", "ask")),
        (button("triage.forward", "fwd"), button("triage.decline", "no")),
    ]
    if duplicate:  # declines it as a duplicate of an idea the card names (flows.duplicate)
        rows.append((button("similar_card.mark_duplicate", "dup"),))
    if open_privately:
        rows.append((button("triage.open_privately", "open"),))
    return tuple(rows)


async def card_message(
    uow: UnitOfWork,
    t: Translator,
    idea: Idea,
    place: Place,
    *,
    seen: Sight,
    buttons: bool,
    open_privately: bool = False,
    similar: Sequence[Found] = (),
    new: NewIdea | None = None,
) -> OutMessage:
    """The card as its reader may see it (``seen``, from the visibility policy).

    The whole card carries the text, author, files and history; the summary only
    what may leave a confidential idea's grassroots unit. Buttons only while the idea
    still waits for a decision; ``open_privately`` adds the button that brings the
    whole card to the presser's private chat (a group's summary card). ``similar``:
    the ideas it may repeat that the reader may be told of (handlers.similar.on_card),
    one line each, and with the decision buttons one to mark it a duplicate. ``new``: what
    the transaction that made the idea knows of it, so that it is not read back.
    """
    if seen is Sight.NONE:
        raise ValueError("a card for a reader who may not see the idea")
    unit = await uow.units.get(idea.unit_id)
    events = list(new.events) if new else await uow.ideas.events(idea.id)
    params: dict[str, object] = {
        "ref": idea.ref_code,
        "unit": unit.name if unit else "?",
        "category": t(f"category.{idea.category}"),
        "benefit": Html(benefit_text(t, idea)),
        "title": idea.title,
        "status": Html(await status_line(uow, t, idea, events, answer=seen is Sight.FULL)),
        "submitted": local_time(idea.created_at),
    }
    alike = similar_lines(t, similar)
    if seen is Sight.FULL:
        author = await uow.people.get(idea.author_id)
        files = new.files if new else len(await uow.ideas.attachments(idea.id))
        params.update(
            author=author.display_name if author else "?",
            confidential=t("idea.is_confidential" if idea.confidential else "idea.is_shareable"),
            files=files,
            history=Html(await history(uow, t, events)),
        )
        empty = t("card.full", **params, body="") + alike
        room = CARD_TEXT_CHARS - visible_length(empty) - 1
        body = fit(idea.body, min(CARD_BODY_CHARS, max(room, 1)))
        # The body under the title, unless the title already is the whole body.
        text = t(
            "card.full",
            **params,
            body="" if body.strip() == idea.title.strip() else "\n" + body,
        )
    else:
        params["title"] = title_as_seen(t, idea, place, seen)
        text = t("card.redacted", **params)
    text += alike
    open_now = buttons and idea.status in OPEN
    keyboard = (
        triage_buttons(t, idea, open_privately=open_privately, duplicate=bool(alike))
        if open_now
        else ()
    )
    if open_privately and not open_now:
        keyboard = (triage_buttons(t, idea, open_privately=True)[-1],)
    return OutMessage(text=text, buttons=keyboard)


def similar_lines(t: Translator, similar: Sequence[Found]) -> str:
    """The card's "possibly the same as SK-… «…» (87%) — status" lines, after a blank line;
    empty when there are none."""
    lines = [
        t(
            "similar_card.line",
            ref=found.idea.ref_code,
            title=truncate(found.idea.title or t("card.untitled"), SIMILAR_TITLE_CHARS),
            score=round(found.score * 100),
            status=t(f"status.{found.idea.status}"),
        )
        for found in similar
    ]
    return "\n\n" + html_join(lines, "\n") if lines else ""


async def status_line(
    uow: UnitOfWork, t: Translator, idea: Idea, events: list[IdeaEvent], *, answer: bool = False
) -> str:
    """The card's first line. Once the worker answered a question and the idea waits
    again, that is the news: said at the top, with the answer itself where ``answer``
    (a reader who may see the whole idea)."""
    status = t(f"status.{idea.status}")
    last = next((e for e in reversed(events) if e.kind in HISTORY), None)
    if last is not None and last.kind == "info_added" and idea.status in OPEN:
        said = t("card.answered", when=local_time(last.at))
        if answer and last.note:
            return t(
                "card.answered_with", answered=Html(said), note=truncate(last.note, NOTE_CHARS)
            )
        return said
    if last is None or idea.status == IdeaStatus.SUBMITTED.value:
        return status
    actor = await uow.people.get(last.actor_id) if last.actor_id else None
    return t(
        "card.status_by",
        status=status,
        who=actor.display_name if actor else "?",
        when=local_time(last.at),
    )


async def history_lines(
    uow: UnitOfWork, t: Translator, events: list[IdeaEvent]
) -> list[tuple[IdeaEvent, str]]:
    """Each event a card's history shows, with its line (also the dashboard's history)."""
    lines: list[tuple[IdeaEvent, str]] = []
    for event in events:
        if event.kind not in HISTORY:
            continue
        actor = await uow.people.get(event.actor_id) if event.actor_id else None
        data = event.data or {}
        note = event.note or (t(f"decline.{data['reason']}") if data.get("reason") else "")
        if data.get("duplicate_of_ref"):  # declined as a duplicate: the original named
            note = t("similar_card.history", ref=str(data["duplicate_of_ref"]))
        line = t(
            f"history.{event.kind}",
            who=actor.display_name if actor else "?",
            when=local_time(event.at),
            note=truncate(note, NOTE_CHARS),
            to=str(data.get("to_name", "")),
        )
        lines.append((event, line))
    return lines


async def history(uow: UnitOfWork, t: Translator, events: list[IdeaEvent]) -> str:
    lines = [line for _, line in await history_lines(uow, t, events)]
    if not lines:
        return ""
    kept: list[str] = []
    used = 0
    for line in reversed(lines):  # the newest entries, as many as fit
        used += visible_length(line) + 1
        if kept and used > HISTORY_CHARS:
            kept.append(Html("…"))
            break
        kept.append(line)
    return t("card.history", lines=html_join(reversed(kept)))


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def visible_length(text: str) -> int:
    """The length Telegram counts for HTML ``text``: tags gone, entities decoded, UTF-16."""
    return _utf16(html.unescape(_TAG.sub("", text)))


def fit(text: str, units: int) -> str:
    """``text`` truncated (as :func:`truncate` does) to at most ``units`` UTF-16 units."""
    chars = units
    while True:
        cut = truncate(text, max(chars, 1))
        size = _utf16(cut)
        if size <= units:
            return cut
        if chars <= 1:
            return ELLIPSIS
        chars = min(chars - 1, chars * units // size)  # an emoji is two units


def utc_now() -> datetime:
    return datetime.now(UTC)
