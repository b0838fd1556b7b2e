"""Drives the messenger-neutral flows directly: neutral events in, queued messages out.

No Telegram, no HTTP: the inner ring of tests. The database is real SQLite.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.telegram.incoming import parse_command
from handlers.context import BotInfo
from handlers.dispatch import Dispatcher
from handlers.events import (
    AttachmentKind,
    CallbackAnswer,
    ChatRef,
    FileRef,
    Incoming,
    OtherContent,
    OutMessage,
    Sender,
)
from handlers.i18n import Catalogue
from storage.models import OutboxMessage, Unit, UnitKind

BOT = "sangkien_bot"


@dataclass
class Reply:
    message: OutMessage
    chat_id: str
    message_id: str = ""

    @property
    def text(self) -> str:
        return self.message.text

    def button(self, label: str) -> str:
        """The callback data of the button whose label contains ``label``."""
        for row in self.message.buttons:
            for button in row:
                if label in button.text:
                    return button.data
        labels = [b.text for row in self.message.buttons for b in row]
        raise AssertionError(f"no button {label!r} in {labels}")

    @property
    def labels(self) -> list[str]:
        return [b.text for row in self.message.buttons for b in row]


@dataclass
class Result:
    replies: list[Reply]
    answer: CallbackAnswer | None
    duplicate: bool = False

    @property
    def last(self) -> Reply:
        assert self.replies, "the bot said nothing"
        return self.replies[-1]

    @property
    def texts(self) -> list[str]:
        return [r.text for r in self.replies]


class Harness:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], catalogue: Catalogue):
        self.sessionmaker = sessionmaker
        self.now = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
        self.dispatcher = Dispatcher(sessionmaker, catalogue, BotInfo(BOT), clock=self.clock)
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self.units: dict[str, Unit] = {}
        self.screens: dict[str, dict[str, OutMessage]] = {}
        self.names: dict[int, str] = {}

    def clock(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def incoming(
        self,
        user: int,
        *,
        text: str | None = None,
        button: str | None = None,
        message_id: str | None = None,
        files: tuple[FileRef, ...] = (),
        other: OtherContent | None = None,
        lang: str | None = "vi",
        name: str | None = None,
        chat: ChatRef | None = None,
        update_id: int | None = None,
    ) -> Incoming:
        # Each user keeps the name they were first given, as on Telegram.
        name = self.names.setdefault(user, name or "Nguyễn Văn An") if name is None else name
        self.names[user] = name
        command = parse_command(text, BOT) if text else None
        return Incoming(
            update_id=update_id if update_id is not None else next(self._update_ids),
            sender=Sender("telegram", str(user), name, lang),
            chat=chat or ChatRef("telegram", str(user), "private"),
            text=None if command else text,
            command=command[0] if command else None,
            command_args=command[1] if command else "",
            button=button,
            callback_id="cb" if button else None,
            message_id=message_id or str(next(self._message_ids)),
            files=files,
            other=other,
        )

    async def feed(self, incoming: Incoming) -> Result:
        outcome = await self.dispatcher.handle(incoming)
        sent = await self.deliver()
        replies = [sent[i] for i in outcome.outbox_ids if i in sent]
        return Result(replies, outcome.callback_answer, outcome.duplicate)

    async def deliver(self) -> dict[int, Reply]:
        """A fake Telegram: every queued message is "sent", edits change what a chat shows."""
        delivered: dict[int, Reply] = {}
        async with self.sessionmaker() as session:
            rows = await session.execute(
                select(OutboxMessage)
                .where(OutboxMessage.status == "pending")
                .order_by(OutboxMessage.id)
            )
            for row in rows.scalars():
                message = OutMessage.from_json(row.payload)
                screen = self.screens.setdefault(row.chat_id, {})
                if message.edit_message_id is not None:
                    message_id = message.edit_message_id
                else:
                    message_id = str(next(self._message_ids))
                screen[message_id] = message
                row.status = "sent"
                row.message_id = message_id
                delivered[row.id] = Reply(message, row.chat_id, message_id)
            await session.commit()
        return delivered

    def screen(self, chat_id: int | str) -> list[Reply]:
        """What a chat shows now, oldest message first."""
        messages = self.screens.get(str(chat_id), {})
        return [
            Reply(m, str(chat_id), i) for i, m in sorted(messages.items(), key=lambda x: int(x[0]))
        ]

    async def click(self, user: int, reply: Reply, label: str, **kw: object) -> Result:
        """Press a button on a message the bot sent, in the chat it was sent to."""
        chat = None
        if reply.chat_id != str(user):
            chat = ChatRef("telegram", reply.chat_id, "group", "Nhóm")
        incoming = self.incoming(
            user,
            button=reply.button(label),
            message_id=reply.message_id,
            chat=chat,
            **kw,  # type: ignore[arg-type]
        )
        return await self.feed(incoming)

    async def send(self, user: int, text: str | None = None, **kw: object) -> Result:
        return await self.feed(self.incoming(user, text=text, **kw))  # type: ignore[arg-type]

    async def press(self, user: int, data: str, **kw: object) -> Result:
        return await self.feed(self.incoming(user, button=data, **kw))  # type: ignore[arg-type]

    async def notifications(self, chat_id: str) -> list[OutMessage]:
        """Messages queued for a chat other than as replies (priority > 0)."""
        async with self.sessionmaker() as session:
            rows = await session.execute(
                select(OutboxMessage)
                .where(OutboxMessage.chat_id == chat_id, OutboxMessage.priority > 0)
                .order_by(OutboxMessage.id)
            )
            return [OutMessage.from_json(r.payload) for r in rows.scalars()]


def photo(n: int = 1) -> FileRef:
    return FileRef(AttachmentKind.PHOTO, f"photo-file-{n}", f"uniq-{n}", None, "image/jpeg", 1234)


async def seed_units(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, Unit]:
    """A small tree: national → province → district → two grassroots unions."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    spec = [
        ("VN", "Tổng Liên đoàn Lao động Việt Nam", UnitKind.NATIONAL, None),
        ("HCM", "Liên đoàn Lao động TP. Hồ Chí Minh", UnitKind.PROVINCE, "VN"),
        ("HCM-Q7", "Liên đoàn Lao động Quận 7", UnitKind.DISTRICT, "HCM"),
        ("HCM-Q7-MAY", "Công đoàn cơ sở Công ty May Phú Mỹ", UnitKind.GRASSROOTS, "HCM-Q7"),
        ("HCM-Q7-DIEN", "Công đoàn cơ sở Công ty Điện tử Tân Thuận", UnitKind.GRASSROOTS, "HCM-Q7"),
    ]
    from handlers.textnorm import fold

    units: dict[str, Unit] = {}
    async with sessionmaker() as session:
        for code, name, kind, parent in spec:
            parent_unit = units[parent] if parent else None
            unit = Unit(
                code=code,
                name=name,
                name_folded=fold(name),
                kind=kind.value,
                parent_id=parent_unit.id if parent_unit else None,
                path="",
                depth=(parent_unit.depth + 1) if parent_unit else 0,
                created_at=now,
            )
            session.add(unit)
            await session.flush()
            unit.path = f"{parent_unit.path if parent_unit else '/'}{unit.id}/"
            units[code] = unit
        await session.commit()
    return units
