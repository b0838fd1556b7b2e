"""The try-it-out mode: the real bot, a local Bot API stand-in, and a chat in this terminal.

No Telegram and no token needed. You are a worker of a sample grassroots union;
``/as support`` makes you a member of its initiative support team, who receives
the new ideas. Buttons show as numbered choices: ``#1`` presses the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from sqlalchemy import text

from bot.app import run_bot
from bot.config import Settings
from bot.standin.client import StandinClient
from bot.standin.server import StandinServer
from storage.db import create_engine

SAMPLE_TREE = Path(__file__).resolve().parent.parent / "storage" / "sample" / "union_tree.csv"
SAMPLE_UNIT = "HCM-Q7-CTYMAY"
TRYIT_TOKEN = "1000001:TryItOutLocalTokenNotForTelegram0001"
POLL_SECONDS = 0.25
JSON = dict[str, Any]

HELP = "\n".join(
    [
        "[bold]Try it out[/bold]: you are chatting with the real bot through a local stand-in",
        "for Telegram. Type as you would in Telegram: /start, /idea, /myideas, /help …",
        "  [cyan]#1[/cyan] presses button 1 of the last message that has buttons;",
        "  [cyan]/photo[/cyan] \\[caption], [cyan]/doc[/cyan], [cyan]/voice[/cyan], "
        "[cyan]/sticker[/cyan] send that kind of message;",
        "  [cyan]/as support[/cyan] or [cyan]/as worker[/cyan] switches who you are;",
        "  [cyan]/link[/cyan] opens your union's invite link; [cyan]/quit[/cyan] leaves.",
    ]
)
SETTLE_SECONDS = 15.0
SAMPLE_DOCUMENT = "Bản vẽ đề xuất (tệp mẫu của chế độ dùng thử)\n".encode()


@dataclass
class Persona:
    name: str
    user_id: int
    label: str
    seen: dict[int, str] = field(default_factory=dict)  # message id → rendered state
    buttons: list[JSON] = field(default_factory=list)  # of the last message with buttons
    buttons_message: int | None = None


class TerminalChat:
    def __init__(
        self,
        client: StandinClient,
        console: Console,
        invite_token: str,
        handled: Callable[[int], Awaitable[bool]] | None = None,
    ) -> None:
        self.client = client
        self.console = console
        # Whether the bot has handled an update and sent what it queued, and the
        # newest update this chat made: the stand-in's queue empties as soon as the bot
        # has stored a batch in its inbox, before the bot has handled it.
        self.handled = handled
        self.last_update: int | None = None
        self.invite_token = invite_token
        self.personas = {
            "worker": Persona("worker", 1001, "[green]Bạn (người lao động)[/green]"),
            "support": Persona("support", 1002, "[magenta]Tổ hỗ trợ sáng kiến[/magenta]"),
        }
        self.active = self.personas["worker"]

    async def settle(self) -> None:
        """Wait until the bot has handled everything sent to it and gone quiet."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_SECONDS
        # The stand-in is another server: polling its state is the only way to know.
        while await self.client.pending_updates() and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(POLL_SECONDS / 2)
        last = self.last_update
        if self.handled is not None and last is not None:
            while not await self.handled(last) and loop.time() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(POLL_SECONDS / 4)
        await self.client.wait_quiet(0.2, timeout=SETTLE_SECONDS)

    def _sent(self, result: JSON) -> None:
        update_id = result.get("update_id")
        if isinstance(update_id, int):
            self.last_update = max(self.last_update or update_id, update_id)

    async def show_new(self) -> None:
        """Print every message the bot sent or changed since the last look."""
        for persona in self.personas.values():
            for message in await self.client.messages(persona.user_id):
                rendered = self._render(message)
                key = int(message["message_id"])
                if persona.seen.get(key) == rendered:
                    continue
                edited = key in persona.seen
                persona.seen[key] = rendered
                if message.get("buttons"):
                    persona.buttons = list(message["buttons"])
                    persona.buttons_message = key
                elif persona.buttons_message == key:
                    persona.buttons = []
                who = f"🤖 → {persona.label}" + (" [dim](edited)[/dim]" if edited else "")
                self.console.print(who)
                self.console.print(rendered)

    def _render(self, message: JSON) -> str:
        media = message.get("media") or {}
        lines = []
        if media:
            lines.append(f"[dim][{escape(str(media.get('type', 'file')))}][/dim]")
        text = message.get("text") or message.get("caption") or ""
        lines.append(escape(str(text)))
        for index, button in enumerate(message.get("buttons") or [], start=1):
            lines.append(f"  [cyan]#{index}[/cyan] {escape(str(button['text']))}")
        return "\n".join(lines)

    async def handle(self, line: str) -> bool:
        """Act on one line typed by the person; False to leave."""
        line = line.strip()
        persona = self.active
        if not line:
            return True
        if line in ("/quit", "/exit"):
            return False
        if line.startswith("/as"):
            wanted = line.removeprefix("/as").strip()
            if wanted in self.personas:
                self.active = self.personas[wanted]
                self.console.print(f"You are now {self.active.label}.")
            else:
                self.console.print("Use /as worker or /as support.")
            return True
        if line == "/link":
            self._sent(await self.client.start(persona.user_id, self.invite_token))
        elif line.startswith("#") and line[1:].isdigit():
            await self._press(persona, int(line[1:]))
        elif line.startswith("/photo"):
            caption = line.removeprefix("/photo").strip() or None
            self._sent(await self.client.send_photo(persona.user_id, caption=caption))
        elif line == "/doc":
            sent = await self.client.send_document(
                persona.user_id, "de-xuat.txt", SAMPLE_DOCUMENT, mime_type="text/plain"
            )
            self._sent(sent)
        elif line == "/voice":
            self._sent(await self.client.send_voice(persona.user_id))
        elif line == "/sticker":
            self._sent(await self.client.send_sticker(persona.user_id))
        else:
            self._sent(await self.client.send_text(persona.user_id, line))
        return True

    async def _press(self, persona: Persona, number: int) -> None:
        if not persona.buttons or persona.buttons_message is None:
            self.console.print("[yellow]There is no message with buttons yet.[/yellow]")
            return
        if not 1 <= number <= len(persona.buttons):
            self.console.print(f"[yellow]Choose #1 to #{len(persona.buttons)}.[/yellow]")
            return
        button = persona.buttons[number - 1]
        pressed = await self.client.press(
            persona.user_id,
            persona.user_id,
            persona.buttons_message,
            data=str(button["callback_data"]),
        )
        self._sent(pressed)
        answers = await self.client.wait_calls("answerCallbackQuery", timeout=5)
        notice = answers[-1]["params"].get("text") if answers else None
        if notice:
            self.console.print(f"[dim]({escape(str(notice))})[/dim]")


async def prepare_database(settings: Settings) -> Settings:
    """The try-it-out database: migrated, with the sample union tree loaded once."""
    from storage.db import create_engine, create_sessionmaker
    from storage.schema import upgrade
    from storage.units_import import import_units

    path = os.path.abspath(settings.tryit.database)  # noqa: ASYNC240  (no I/O: string work)
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    engine = create_engine(url)
    try:
        from sqlalchemy import func, select

        from storage.models import Unit

        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session:
            count = (await session.execute(select(func.count(Unit.id)))).scalar_one()
        if count == 0:
            await import_units(sessionmaker, SAMPLE_TREE)
    finally:
        await engine.dispose()
    return replace(settings, database=replace(settings.database, url=url))


async def issue_invites(settings: Settings) -> tuple[str, str]:
    from storage.db import create_engine, create_sessionmaker
    from storage.invites import create_invite
    from storage.models import RoleKind
    from storage.repositories import UnitRepository

    engine = create_engine(settings.database.url)
    try:
        async with create_sessionmaker(engine)() as session:
            unit = await UnitRepository(session).by_code(SAMPLE_UNIT)
            assert unit is not None, f"the sample tree has no unit {SAMPLE_UNIT}"
            member, _ = await create_invite(
                session,
                unit_id=unit.id,
                role=RoleKind.MEMBER,
                max_uses=None,
                expires_at=None,
                note="try-it-out",
            )
            support, _ = await create_invite(
                session,
                unit_id=unit.id,
                role=RoleKind.SUPPORT,
                max_uses=None,
                expires_at=None,
                note="try-it-out",
            )
            await session.commit()
    finally:
        await engine.dispose()
    return member, support


async def read_lines(queue: asyncio.Queue[str | None]) -> None:
    """Feed typed lines to the chat without blocking the event loop."""
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            await queue.put(None)
            return
        await queue.put(line)


async def run_tryit(settings: Settings) -> None:
    from bot.logs import configure_logging

    console = Console(highlight=False)
    configure_logging("WARNING")
    settings = await prepare_database(settings)
    member_token, support_token = await issue_invites(settings)
    async with StandinServer(port=0) as server:
        settings = replace(
            settings,
            telegram=replace(
                settings.telegram, token=TRYIT_TOKEN, api_base=server.base_url, polling_timeout=1
            ),
        )
        stop = asyncio.Event()
        bot = asyncio.create_task(run_bot(settings, stop=stop), name="bot")
        client = server.client()
        engine = create_engine(settings.database.url)

        async def handled(update_id: int) -> bool:
            """The update is handled and every message it queued has gone (the replies
            wait for the send limits, a second a message in a private chat)."""
            async with engine.connect() as conn:
                found = await conn.scalar(
                    text(
                        "SELECT 1 FROM processed_updates "
                        "WHERE channel = 'telegram' AND update_id = :id"
                    ),
                    {"id": update_id},
                )
                waiting = await conn.scalar(
                    text("SELECT count(*) FROM outbox WHERE status = 'pending'")
                )
            return found is not None and not waiting

        try:
            await client.upsert_user(1001, "Lan", last_name="Nguyễn", language_code="vi")
            await client.upsert_user(1002, "Bình", last_name="Trần", language_code="vi")
            await client.wait_calls("getUpdates", timeout=30)
            chat = TerminalChat(client, console, member_token, handled=handled)
            await client.start(1002, support_token)  # the support member joins the team
            await client.wait_messages(1002, 1)
            chat.personas["support"].seen = {
                int(m["message_id"]): chat._render(m) for m in await client.messages(1002)
            }
            console.print(HELP)
            console.print(
                f"Your union's invite link would be t.me/sangkien_bot?start={member_token} "
                "(type /link to open it), or type /start to find your unit by name."
            )
            await _chat_loop(chat, console, bot)
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(bot, 15)
            await client.close()
            await engine.dispose()


async def _chat_loop(chat: TerminalChat, console: Console, bot: asyncio.Task[None]) -> None:
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    reader = asyncio.create_task(read_lines(queue))
    try:
        while not bot.done():
            console.print(f"{chat.active.label} › ", end="")
            line = await queue.get()
            if line is None:
                console.print()
                break
            if not await chat.handle(line):
                break
            await chat.settle()
            await chat.show_new()
        await chat.settle()
        await chat.show_new()
    finally:
        reader.cancel()
