"""The try-it-out mode: the real bot, a local Bot API stand-in, and a chat in this terminal.

No Telegram and no token needed. You are a worker of a sample grassroots union;
``/as support`` makes you a member of its initiative support team, who receives
the new ideas, ``/as council`` the chair of its initiative council, who scores the
approved ones and records them recognised, and ``/as official`` an official of the
district above it, who follows the campaign's progress. Buttons show as numbered
choices: ``#12.1`` presses the first button of message 12, ``#1`` the first of the
newest message that has buttons.

What the bot sends is printed as it arrives, also while the prompt waits for a line:
a thread reads the terminal, so the event loop stays free to watch the stand-in.

The database is kept between runs (``tryit.database``); a new stand-in starts its
update ids past the newest one the database has recorded, or the bot would take the
new updates for ones it has already handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import run_bot
from bot.config import Settings
from standins.telegram.client import StandinClient
from standins.telegram.config import StandinConfig
from standins.telegram.server import StandinServer
from storage.db import create_engine

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "storage" / "sample"
SAMPLE_TREE = SAMPLE_DIR / "union_tree.csv"
SAMPLE_QUOTAS = SAMPLE_DIR / "quotas.csv"
SAMPLE_UNIT = "HCM-Q7-CTYMAY"
OFFICIAL_UNIT = "HCM-Q7"  # the district above the sample unit
SAMPLE_CAMPAIGN = "DUNG-THU"  # the campaign storage/sample/quotas.csv names
TRYIT_TOKEN = "1000001:TryItOutLocalTokenNotForTelegram0001"
POLL_SECONDS = 0.25
JSON = dict[str, Any]

HELP = "\n".join(
    [
        "[bold]Try it out[/bold]: you are chatting with the real bot through a local stand-in",
        "for Telegram. Type as you would in Telegram: /start, /idea, /myideas, /help …",
        "  [cyan]#12.1[/cyan] presses button 1 of message 12 (any message shown); "
        "[cyan]#1[/cyan] alone, button 1 of the newest message with buttons;",
        "  [cyan]/photo[/cyan] \\[caption], [cyan]/doc[/cyan], [cyan]/voice[/cyan], "
        "[cyan]/sticker[/cyan] send that kind of message;",
        "  [cyan]/as worker[/cyan], [cyan]/as support[/cyan] (the unit's initiative support "
        "team), [cyan]/as council[/cyan] (the chair of its initiative council: scores and "
        "recognises approved ideas) or [cyan]/as official[/cyan] (the district's official: "
        "/progress, /export, /dashboard) switches who you are;",
        "  [cyan]/link[/cyan] opens your union's invite link; [cyan]/quit[/cyan] leaves.",
    ]
)
SETTLE_SECONDS = 15.0
ANSWER_SECONDS = 5.0
SAMPLE_DOCUMENT = "Bản vẽ đề xuất (tệp mẫu của chế độ dùng thử)\n".encode()
PRESS = re.compile(r"#(?:(\d+)\.)?(\d+)")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def parse_press(line: str) -> tuple[int | None, int] | None:
    """``#12.3`` → (12, 3): button 3 of message 12; ``#3`` → (None, 3): of the newest."""
    match = PRESS.fullmatch(line.strip())
    if match is None:
        return None
    message = match.group(1)
    return (int(message) if message is not None else None), int(match.group(2))


def render(message: JSON) -> str:
    """A message as rich markup: a mark for its file, its text, its numbered buttons."""
    lines = []
    media = message.get("media") or {}
    if media:
        kind = str(media.get("type") or "file")
        name = media.get("file_name")
        mark = f"[{kind}: {name}]" if kind == "document" and name else f"[{kind}]"
        lines.append(f"[dim]{escape(mark)}[/dim]")
    body = message.get("text") or message.get("caption") or ""
    if body or not media:
        lines.append(escape(str(body)))
    key = message["message_id"]
    for index, button in enumerate(message.get("buttons") or [], start=1):
        lines.append(f"  [cyan]#{key}.{index}[/cyan] {escape(str(button['text']))}")
    return "\n".join(lines)


def file_name(persona: str, message: JSON, content: bytes) -> str:
    """Where a file the bot sent goes: the persona, the message and the file's own name."""
    media = message.get("media") or {}
    name = str(media.get("file_name") or "")
    if not name:
        extension = ".png" if content.startswith(PNG_SIGNATURE) else ".jpg"
        name = f"{media.get('type') or 'file'}{extension}"
    safe = re.sub(r"[^\w.-]+", "-", name).strip("-.") or "file"
    return f"{persona}-{message['message_id']}-{safe}"


@dataclass
class Persona:
    name: str
    user_id: int
    label: str
    seen: dict[int, str] = field(default_factory=dict)  # message id → rendered state
    buttons: dict[int, list[JSON]] = field(default_factory=dict)  # message id → its buttons
    newest: int | None = None  # the newest message with buttons


class TerminalChat:
    def __init__(
        self,
        client: StandinClient,
        console: Console,
        invite_token: str,
        handled: Callable[[int], Awaitable[bool]] | None = None,
        files: Path | None = None,
    ) -> None:
        self.client = client
        self.console = console
        # Whether the bot has handled an update and sent what it queued, and the
        # newest update this chat made: the stand-in's queue empties as soon as the bot
        # has stored a batch in its inbox, before the bot has handled it.
        self.handled = handled
        self.last_update: int | None = None
        self.invite_token = invite_token
        self.files = files  # where files the bot sends are saved; None: not saved
        self.personas = {
            "worker": Persona("worker", 1001, "[green]Bạn (người lao động)[/green]"),
            "support": Persona("support", 1002, "[magenta]Tổ hỗ trợ sáng kiến[/magenta]"),
            "official": Persona("official", 1003, "[blue]Cán bộ công đoàn[/blue]"),
            "council": Persona("council", 1004, "[yellow]Chủ tịch Hội đồng sáng kiến[/yellow]"),
        }
        self.active = self.personas["worker"]
        self.prompting = False  # the prompt is on screen, waiting for a line
        self.busy = False  # a typed line is being handled: its answers print after it
        self._pressed: str | None = None  # the callback query of the last press
        self._printing = asyncio.Lock()

    def prompt(self) -> None:
        self.console.print(f"{self.active.label} › ", end="")
        self.prompting = True

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

    def mark_seen(self, persona: Persona, messages: list[JSON]) -> None:
        """Messages sent before the chat starts: known, not printed."""
        for message in messages:
            key = int(message["message_id"])
            persona.seen[key] = render(message)
            self._note_buttons(persona, key, message)

    def _note_buttons(self, persona: Persona, key: int, message: JSON) -> None:
        if message.get("buttons"):
            persona.buttons[key] = list(message["buttons"])
            persona.newest = key if persona.newest is None else max(persona.newest, key)
        else:
            persona.buttons.pop(key, None)
            if persona.newest == key:
                persona.newest = max(persona.buttons, default=None)

    async def show_new(self) -> None:
        """Print every message the bot sent or changed since the last look."""
        async with self._printing:
            for persona in self.personas.values():
                for message in await self.client.messages(persona.user_id):
                    await self._show(persona, message)

    async def _show(self, persona: Persona, message: JSON) -> None:
        rendered = render(message)
        key = int(message["message_id"])
        if persona.seen.get(key) == rendered:
            return
        edited = key in persona.seen
        persona.seen[key] = rendered
        self._note_buttons(persona, key, message)
        interrupted = self.prompting
        if interrupted:  # a message that came while the prompt waited: on its own lines
            self.console.print()
            self.prompting = False
        who = f"🤖 → {persona.label}" + (" [dim](edited)[/dim]" if edited else "")
        self.console.print(who)
        self.console.print(rendered)
        if not edited:
            await self._save_file(persona, message)
        if interrupted:
            self.prompt()

    async def _save_file(self, persona: Persona, message: JSON) -> None:
        media = message.get("media") or {}
        file_id = media.get("file_id")
        if self.files is None or not file_id or media.get("url"):
            return
        try:
            content = await self.client.file_content(str(file_id))
        except Exception as exc:  # a file that cannot be fetched is said, not fatal
            self.console.print(f"[yellow](the file could not be fetched: {exc})[/yellow]")
            return
        path = self.files / file_name(persona.name, message, content)
        await asyncio.to_thread(_write_file, path, content)
        self.console.print(f"[dim]saved to {escape(_shown_path(path))}[/dim]", soft_wrap=True)

    async def watch(self) -> None:
        """Print what arrives between typed lines: late answers, reports, the team's questions."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            if not self.busy:
                with contextlib.suppress(Exception):  # the stand-in stopping under us
                    await self.show_new()

    async def after_line(self) -> None:
        """Once a line is handled: its pop-up first, then what the bot sent."""
        await self.settle()
        await self.show_answer()
        await self.show_new()

    async def show_answer(self) -> None:
        """The pop-up (callback answer) of the last press, with that press."""
        query, self._pressed = self._pressed, None
        if query is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ANSWER_SECONDS
        while True:
            answers = await self.client.callback_answers(query)
            if (answers and answers[0].get("answered")) or loop.time() >= deadline:
                break
            await asyncio.sleep(POLL_SECONDS / 4)
        notice = ((answers[0].get("answer") or {}) if answers else {}).get("text")
        if notice:
            self.console.print(f"[dim]({escape(str(notice))})[/dim]")

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
                self.console.print("Use /as worker, /as support, /as council or /as official.")
            return True
        press = parse_press(line)
        if line == "/link":
            self._sent(await self.client.start(persona.user_id, self.invite_token))
        elif press is not None:
            await self._press(persona, *press)
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

    async def _press(self, persona: Persona, key: int | None, number: int) -> None:
        key = persona.newest if key is None else key
        if key is None:
            self.console.print("[yellow]There is no message with buttons yet.[/yellow]")
            return
        buttons = persona.buttons.get(key)
        if not buttons:
            self.console.print(f"[yellow]Message {key} has no buttons (now).[/yellow]")
            return
        if not 1 <= number <= len(buttons):
            self.console.print(f"[yellow]Choose #{key}.1 to #{key}.{len(buttons)}.[/yellow]")
            return
        pressed = await self.client.press(
            persona.user_id, persona.user_id, key, data=str(buttons[number - 1]["callback_data"])
        )
        self._sent(pressed)
        self._pressed = str(pressed["callback_query_id"])


def _write_file(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _shown_path(path: Path) -> str:
    """The path as the person can type it from here: relative when it is below."""
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path.resolve())


async def prepare_database(settings: Settings) -> tuple[Settings, int]:
    """The try-it-out database: migrated, with the sample union tree loaded once and a
    sample campaign covering today; and the newest Telegram update id it has recorded."""
    from storage.db import create_sessionmaker
    from storage.progress import vietnam_day
    from storage.repositories.progress import ProgressRepository
    from storage.repositories.units import UnitRepository
    from storage.repositories.updates import UpdateLog
    from storage.schema import upgrade
    from storage.units_import import import_units

    path = os.path.abspath(settings.tryit.database)  # noqa: ASYNC240  (no I/O: string work)
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    engine = create_engine(url)
    today = vietnam_day(datetime.now(UTC))
    try:
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session:
            count = await UnitRepository(session).count()
            campaign = await ProgressRepository(session).campaign_on(today)
            newest = await UpdateLog(session).newest("telegram")
        if count == 0:
            await import_units(sessionmaker, SAMPLE_TREE)
        if campaign is None:
            await add_sample_campaign(sessionmaker, today.year)
    finally:
        await engine.dispose()
    return replace(settings, database=replace(settings.database, url=url)), int(newest or 0)


async def add_sample_campaign(sessionmaker: async_sessionmaker[AsyncSession], year: int) -> None:
    """This year's sample campaign, with the sample quotas (storage/sample/quotas.csv
    names the campaign ``DUNG-THU``; it becomes this year's code)."""
    from storage.progress import CampaignError, add_campaign
    from storage.quotas_import import import_quotas

    code = f"{SAMPLE_CAMPAIGN}-{year}"
    try:
        await add_campaign(
            sessionmaker,
            code=code,
            name=f"Đợt dùng thử năm {year}",
            starts_on=date(year, 1, 1),
            ends_on=date(year, 12, 31),
        )
    except CampaignError:
        return  # someone added campaigns of their own to this database: keep theirs
    sample = await asyncio.to_thread(SAMPLE_QUOTAS.read_text, encoding="utf-8")
    with tempfile.TemporaryDirectory() as folder:
        quotas = Path(folder) / "quotas.csv"
        await asyncio.to_thread(quotas.write_text, sample.replace(SAMPLE_CAMPAIGN, code), "utf-8")
        await import_quotas(sessionmaker, quotas)


async def issue_invites(settings: Settings) -> dict[str, str]:
    """Fresh invite tokens (stored only as hashes): the worker's, the team's, the council
    chair's, the official's."""
    from storage.db import create_sessionmaker
    from storage.models import RoleKind
    from storage.repositories.invites import InviteRepository
    from storage.repositories.units import UnitRepository

    wanted = {
        "worker": (SAMPLE_UNIT, RoleKind.MEMBER),
        "support": (SAMPLE_UNIT, RoleKind.SUPPORT),
        "official": (OFFICIAL_UNIT, RoleKind.OFFICIAL),
        "council": (SAMPLE_UNIT, RoleKind.CHAIR),
    }
    tokens = {}
    engine = create_engine(settings.database.url)
    try:
        async with create_sessionmaker(engine)() as session:
            for persona, (code, role) in wanted.items():
                unit = await UnitRepository(session).by_code(code)
                assert unit is not None, f"the sample tree has no unit {code}"
                tokens[persona], _ = await InviteRepository(session).create(
                    unit_id=unit.id,
                    role=role,
                    max_uses=None,
                    expires_at=None,
                    note="try-it-out",
                )
            await session.commit()
    finally:
        await engine.dispose()
    return tokens


def free_port(host: str, wanted: int) -> int:
    """``wanted`` if nothing listens there, else any free port (another try-it-out, say)."""
    with socket.socket() as probe:
        try:
            probe.bind((host, wanted))
        except OSError:
            probe.bind((host, 0))
        return int(probe.getsockname()[1])


async def dashboard_link(settings: Settings, user_id: int) -> str:
    """A one-time sign-in link to the dashboard for the Telegram user (who has joined)."""
    from handlers.flows.dashboard import create_sign_in, sign_in_link
    from storage.db import create_sessionmaker
    from storage.uow import UnitOfWork

    engine = create_engine(settings.database.url)
    try:
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            person = await uow.people.by_private_chat("telegram", str(user_id))
            assert person is not None, "the official has not joined"
            token = await create_sign_in(
                uow, person.id, now=datetime.now(UTC), minutes=settings.web.sign_in_minutes
            )
            await uow.commit()
    finally:
        await engine.dispose()
    return sign_in_link(f"{settings.web.base_url}/app/", token)


def read_lines(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
    """Feed typed lines to the chat from a daemon thread: the event loop stays free to
    print what arrives, and leaving never waits for one more line."""

    def put(line: str | None) -> bool:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        except RuntimeError:  # the loop has closed: the chat is over
            return False
        return True

    def run() -> None:
        for line in iter(sys.stdin.readline, ""):
            if not put(line):
                return
        put(None)

    threading.Thread(target=run, name="tryit-stdin", daemon=True).start()


async def run_tryit(settings: Settings) -> None:
    from bot.logs import configure_logging
    from storage.db import create_sessionmaker
    from storage.repositories.outbox import OutboxRepository
    from storage.repositories.updates import UpdateLog

    console = Console(highlight=False)
    configure_logging("WARNING")
    settings, newest_update = await prepare_database(settings)
    tokens = await issue_invites(settings)
    files = Path(settings.tryit.database).parent / "tryit-files"
    # Update ids continue past the last run's: the bot remembers handled ids to drop
    # redeliveries, and would drop a new update that reused one.
    config = StandinConfig(first_update_id=newest_update + 1)
    async with StandinServer(port=0, config=config) as server:
        settings = replace(
            settings,
            telegram=replace(
                settings.telegram, token=TRYIT_TOKEN, api_base=server.base_url, polling_timeout=1
            ),
            web=replace(settings.web, port=free_port(settings.web.listen, settings.web.port)),
        )
        stop = asyncio.Event()
        bot = asyncio.create_task(run_bot(settings, stop=stop), name="bot")
        client = server.client()
        engine = create_engine(settings.database.url)

        async def handled(update_id: int) -> bool:
            """The update is handled and every message it queued has gone (the replies
            wait for the send limits, a second a message in a private chat)."""
            async with create_sessionmaker(engine)() as session:
                found = await UpdateLog(session).handled("telegram", update_id)
                waiting = await OutboxRepository(session).count_pending()
            return found and not waiting

        try:
            await client.upsert_user(1001, "Lan", last_name="Nguyễn", language_code="vi")
            await client.upsert_user(1002, "Bình", last_name="Trần", language_code="vi")
            await client.upsert_user(1003, "Hoa", last_name="Lê", language_code="vi")
            await client.upsert_user(1004, "Minh", last_name="Phạm", language_code="vi")
            await client.wait_calls("getUpdates", timeout=30)
            chat = TerminalChat(client, console, tokens["worker"], handled=handled, files=files)
            # The support member joins the team, the chair the council and the official
            # the district, as they would from their invite links.
            joining = [chat.personas[name] for name in ("support", "council", "official")]
            for persona in joining:
                await client.start(persona.user_id, tokens[persona.name])
            for persona in joining:
                await client.wait_messages(persona.user_id, 1)
            for persona in joining:
                chat.mark_seen(persona, await client.messages(persona.user_id))
            console.print(HELP)
            if settings.web.enabled:
                link = await dashboard_link(settings, chat.personas["official"].user_id)
                console.print(
                    f"The dashboard, as the district's official: {link} (works once; "
                    "/dashboard in the chat makes a new one)",
                    soft_wrap=True,
                )
            console.print(
                f"Your union's invite link would be t.me/sangkien_bot?start={tokens['worker']} "
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
    read_lines(asyncio.get_running_loop(), queue)
    watcher = asyncio.create_task(chat.watch(), name="tryit-watch")
    try:
        while not bot.done():
            chat.prompt()
            line = await queue.get()
            chat.prompting = False
            if line is None:  # end of input: what is on its way still gets printed
                console.print()
                chat.busy = True
                await chat.after_line()
                break
            chat.busy = True
            try:
                if not await chat.handle(line):
                    break  # /quit: at once
                await chat.after_line()
            finally:
                chat.busy = False
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
