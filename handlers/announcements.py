"""Announcements going out: the message as recipients see it, the pass that queues it, the report.

The pass (:func:`run_announcements`, run by ``bot/runtime/periodic.py``) takes each due
announcement and writes its recipients' messages as outbox rows, ``BATCH`` people per
transaction in person-id order, recording how far it got (``queued_through``) in the
same transaction: a crash mid-queue resumes where it stopped and queues nobody twice.
The rows have the lowest priority (``PRIORITY_BULK``), so the sender and the limiter
let every reply and card overtake them. Muted people are left out and counted; a person
the bot already knows to be unreachable gets a row recorded as blocked at once, with no
send wasted. Once every row is sent or given up on, the sender gets the delivery report.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.context import PRIORITY_BULK, PRIORITY_NOTIFY, language_of
from handlers.events import FileRef, OutMessage, family_of
from handlers.i18n import Catalogue, Translator
from handlers.limits import MAX_CAPTION_CHARS, MAX_TEXT_CHARS
from storage.models import OutboxStatus, Unit
from storage.outreach_models import Announcement, AnnouncementStatus
from storage.repositories.announcements import Recipient, purpose_of
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

BATCH = 500
REPORT_PURPOSE = "announce-report"
# A person the bot has marked unreachable (Person.unreachable: a 403 earlier).
KNOWN_BLOCKED = "blocked"
NO_CHAT = "no_private_chat"
_TAG = re.compile(r"<[^>]+>")


def render(t: Translator, unit_name: str, text: str, file: dict[str, Any] | None) -> OutMessage:
    """The announcement as a recipient reading ``t``'s language sees it."""
    body = t("announce.message", unit=unit_name, text=text)
    return OutMessage(text=body, file=FileRef.from_json(file) if file else None)


def visible_length(markup: str) -> int:
    """What Telegram counts against its limits: the text after its HTML is parsed."""
    return len(html.unescape(_TAG.sub("", markup)))


def limit_exceeded(
    catalogue: Catalogue, unit_name: str, text: str, file: dict[str, Any] | None
) -> int | None:
    """The Telegram limit the announcement would break in some recipient's language
    (4096 for a text, 1024 for a caption), or None if it fits in every language."""
    limit = MAX_CAPTION_CHARS if file else MAX_TEXT_CHARS
    for lang in catalogue.languages:
        message = render(catalogue.for_lang(lang), unit_name, text, file)
        if visible_length(message.text) > limit:
            return limit
    return None


@dataclass(slots=True)
class PassResult:
    queued: int = 0  # outbox rows written
    finished: int = 0  # announcements done, their reports queued


async def run_announcements(
    sessionmaker: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    now: datetime,
    *,
    paid: bool = False,
    batch: int = BATCH,
    keep_going: Callable[[], bool] = lambda: True,
) -> PassResult:
    """Queue the next batches of every due announcement; report those finished.

    ``paid`` marks Telegram rows for paid broadcasting (only when the operator enabled it).
    """
    result = PassResult()
    async with UnitOfWork(sessionmaker) as uow:
        due = await uow.announcements.due_ids(now)
    for announcement_id in due:
        while keep_going():
            async with UnitOfWork(sessionmaker) as uow:
                announcement = await uow.announcements.lock(announcement_id)
                if announcement is None:  # finished, or another instance has it now
                    break
                queued, more = await _queue_batch(uow, catalogue, announcement, now, paid, batch)
                result.queued += queued
                finished = not more and await _finish(uow, catalogue, announcement, now)
                await uow.commit()
            result.finished += finished
            if not more:
                break
    return result


async def _queue_batch(
    uow: UnitOfWork,
    catalogue: Catalogue,
    announcement: Announcement,
    now: datetime,
    paid: bool,
    batch: int,
) -> tuple[int, bool]:
    """Queue the next ``batch`` people; (rows written, whether more may follow)."""
    unit = await uow.units.get(announcement.unit_id)
    if unit is None:  # cannot happen with the foreign key
        return 0, False
    if announcement.status == AnnouncementStatus.SCHEDULED.value:
        announcement.status = AnnouncementStatus.SENDING.value
        log.info("announcement %s: sending", announcement.id)
    people = await uow.announcements.recipients(announcement, unit, limit=batch)
    if not people:
        return 0, False
    rows, muted = [], 0
    for recipient in people:
        if recipient.person.muted:
            muted += 1
            continue
        rows.append(_row(catalogue, announcement, unit, recipient, now, paid))
    await uow.announcements.queue_messages(rows)
    announcement.queued_through = people[-1].person.id
    announcement.recipients += len(rows)
    announcement.muted += muted
    log.info("announcement %s: %d queued, %d muted", announcement.id, len(rows), muted)
    return len(rows), len(people) == batch


def _row(
    catalogue: Catalogue,
    announcement: Announcement,
    unit: Unit,
    recipient: Recipient,
    now: datetime,
    paid: bool,
) -> dict[str, Any]:
    person = recipient.person
    t = catalogue.for_lang(language_of(person))
    message = render(t, unit.name, announcement.text, announcement.file)
    channel, chat_id = recipient.channel, recipient.chat_id
    error = None
    if channel is None or chat_id is None:
        channel, chat_id, error = "-", "-", NO_CHAT
    elif person.unreachable:
        error = KNOWN_BLOCKED
    if paid and family_of(channel) == "telegram":
        message = OutMessage(text=message.text, file=message.file, paid_broadcast=True)
    return {
        "channel": channel,
        "chat_id": chat_id,
        "payload": message.to_json(),
        "priority": PRIORITY_BULK,
        "status": (OutboxStatus.PENDING if error is None else OutboxStatus.FAILED).value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "sent_at": None if error is None else now,
        "last_error": error,
        "person_id": person.id,
        "idea_id": None,
        "purpose": purpose_of(announcement.id),
        "claimed_by": None,
        "claimed_until": None,
    }


async def _finish(
    uow: UnitOfWork, catalogue: Catalogue, announcement: Announcement, now: datetime
) -> bool:
    """Everything queued: once no message waits any more, done, and the report goes out."""
    if await uow.announcements.pending(announcement.id, priority=PRIORITY_BULK):
        return False
    counts = await uow.announcements.delivery(announcement)
    announcement.status = AnnouncementStatus.DONE.value
    announcement.finished_at = now
    sender = await uow.people.get(announcement.sender_id)
    unit = await uow.units.get(announcement.unit_id)
    if sender is not None and unit is not None:
        t = catalogue.for_lang(language_of(sender))
        report = t(
            "announce.report",
            unit=unit.name,
            audience=t(f"announce.audience_{announcement.audience}"),
            delivered=counts.delivered,
            blocked=counts.blocked,
            failed=counts.failed,
            muted=counts.muted,
        )
        await uow.outbox.add(
            channel=announcement.sender_channel,
            chat_id=announcement.sender_chat_id,
            payload=OutMessage(text=report).to_json(),
            priority=PRIORITY_NOTIFY,
            now=now,
            person_id=sender.id,
            purpose=REPORT_PURPOSE,
        )
    log.info(
        "announcement %s: done (%d delivered, %d blocked, %d failed, %d muted)",
        announcement.id,
        counts.delivered,
        counts.blocked,
        counts.failed,
        counts.muted,
    )
    return True
