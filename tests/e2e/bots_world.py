"""Two Telegram bots served by one bot process (issue #22), each played by its own stand-in.

The main bot (``telegram.token``, the route "telegram") and "north" (``telegram.bots``, the
route "telegram.north", serving the unit HN and everything below it) run in one
``python -m bot run``; the config is a YAML file named by SANGKIEN_CONFIG, the rest comes
from the environment as in :func:`tests.e2e.harness.base_env`. Tests talk to each bot only
through its stand-in, as people would through Telegram, and read what each bot sent.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from standins.telegram.client import StandinClient
from standins.telegram.config import StandinConfig
from standins.telegram.server import StandinServer
from storage.db import create_engine, create_sessionmaker
from storage.models import Idea, Person
from tests.e2e.harness import (
    ROOT,
    BotProcess,
    base_env,
    button_data,
    cli,
    migrated_with_sample_tree,
    text_of,
)

MAIN_USERNAME = "sangkien_bot"
NORTH = "north"
NORTH_USERNAME = "sangkien_north_bot"
NORTH_TOKEN = "987654321:AAHe2eNorthTokenForTheStandInServer1"
NORTH_UNITS = "HN"
REF = re.compile(r"SK-\d{4}-\d{6}")
CONFIRMATION = "Mã sáng kiến"
STEP_TIMEOUT = 90.0
POLL = 0.3
JSON = dict[str, Any]


def write_config(path: Path, north_api_base: str) -> Path:
    """config.yaml as shipped, plus north in ``telegram.bots`` pointing at its stand-in."""
    raw = yaml.safe_load((ROOT / "config.yaml").read_text("utf-8")) or {}
    raw.setdefault("telegram", {})["bots"] = [
        {"name": NORTH, "token": NORTH_TOKEN, "api_base": north_api_base, "units": NORTH_UNITS}
    ]
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), "utf-8")
    return path


@dataclass
class BotsWorld:
    main: StandinClient  # the main bot's Telegram
    north: StandinClient  # north's Telegram
    bot: BotProcess
    env: dict[str, str]
    tmp: Path

    async def invite(self, unit: str, role: str = "member") -> str:
        """``python -m bot invite`` as an operator types it: no --bot-username, so the link
        names the bot that serves the unit, asked of that bot (its stand-in answers in this
        event loop: the CLI runs in a thread)."""
        return await asyncio.to_thread(cli, self.env, "invite", "--unit", unit, "--role", role)

    def client(self, route: str) -> StandinClient:
        return self.north if route == NORTH else self.main

    async def restart(self, timeout: float = 60.0) -> None:
        """Start the bot again and wait until it polls both bots."""
        before = [len(await c.calls("getUpdates")) for c in (self.main, self.north)]
        await self.bot.start(timeout=timeout)
        await wait_polling(self, before, timeout)

    async def ideas(self) -> dict[str, list[str]]:
        """Each stored idea's reference code -> its authors' display names (one, if stored
        once)."""
        engine = create_engine(self.env["DATABASE_URL"])
        try:
            async with create_sessionmaker(engine)() as session:
                rows = (
                    await session.execute(
                        select(Idea.ref_code, Person.display_name).join(
                            Person, Person.id == Idea.author_id
                        )
                    )
                ).all()
        finally:
            await engine.dispose()
        found: dict[str, list[str]] = {}
        for ref, name in rows:
            found.setdefault(ref, []).append(name)
        return found

    async def idea_status(self, ref: str) -> str:
        engine = create_engine(self.env["DATABASE_URL"])
        try:
            async with create_sessionmaker(engine)() as session:
                query = select(Idea.status).where(Idea.ref_code == ref)
                return str((await session.execute(query)).scalar_one())
        finally:
            await engine.dispose()


async def wait_polling(world: BotsWorld, before: list[int], timeout: float = 60.0) -> None:
    """Until each stand-in has had a getUpdates beyond ``before`` (its count earlier)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    for client, seen in zip((world.main, world.north), before, strict=True):
        while len(await client.calls("getUpdates")) <= seen:
            if loop.time() > deadline:
                raise AssertionError(f"the bot does not poll both bots:\n{world.bot.new_log()}")
            await asyncio.sleep(0.1)


@asynccontextmanager
async def bots_world(tmp: Path, framework: str) -> AsyncIterator[BotsWorld]:
    main_config = StandinConfig(bot_username=MAIN_USERNAME)
    north_config = StandinConfig(bot_username=NORTH_USERNAME, bot_first_name="Sáng kiến Bắc")
    async with (
        StandinServer(port=0, config=main_config) as main,
        StandinServer(port=0, config=north_config) as north,
    ):
        env = base_env(tmp, main.base_url, framework)
        env["SANGKIEN_CONFIG"] = str(write_config(tmp / "config.yaml", north.base_url))
        migrated_with_sample_tree(env)
        bot = BotProcess(env, tmp / "bot.log")
        world = BotsWorld(main.client(), north.client(), bot, env, tmp)
        try:
            await bot.start()
            await wait_polling(world, [0, 0])
            yield world
        finally:
            await bot.stop()
            await world.main.close()
            await world.north.close()
            log = bot.full_log()
            assert "Traceback" not in log, log
            assert NORTH_TOKEN.split(":")[1] not in log, "north's token in the log"


# ---------------------------------------------------------------- people, polling


async def wait_until(
    client: StandinClient, chat: int, wanted: Callable[[list[JSON]], JSON | None]
) -> JSON:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STEP_TIMEOUT
    while loop.time() < deadline:
        found = wanted(await client.messages(chat))
        if found is not None:
            return found
        await asyncio.sleep(POLL + random.random() * POLL)
    raise AssertionError(
        f"chat {chat}: the bot never got there: "
        f"{[text_of(m)[:40] for m in await client.messages(chat)]}"
    )


def message_with(
    needle: str, *, button: str | None = None, since: int = 0
) -> Callable[[list[JSON]], JSON | None]:
    """The newest message (after message id ``since``) with ``needle`` and the button."""

    def find(messages: list[JSON]) -> JSON | None:
        for message in reversed(messages):
            if message["message_id"] <= since:
                break
            labels = " ".join(b["text"] for b in message.get("buttons") or [])
            if needle in text_of(message) and (button is None or button in labels):
                return message
        return None

    return find


def own_cards(messages: list[JSON], ref: str) -> list[JSON]:
    """The team's cards of ``ref`` (its first line names it; other cards may name it as a
    possibly similar idea further down)."""
    return [m for m in messages if ref in text_of(m).split("\n", 1)[0] and m.get("buttons")]


@dataclass
class Worker:
    """A worker filling the idea form through one bot, robust to the bot being killed:
    every step waits for the bot's message, then presses."""

    user_id: int
    client: StandinClient
    ref: str | None = None
    steps: list[str] = field(default_factory=list)

    async def fill_form(self, token: str | None, text: str) -> str:
        """Join with the invite ``token`` (None: joined already), then the whole form; only
        the bot's messages from now on count."""
        c, me = self.client, self.user_id
        since = max((m["message_id"] for m in await c.messages(me)), default=0)
        if token is not None:
            await c.start(me, token)
            await wait_until(c, me, message_with("Chào mừng", since=since))
        self.steps.append("joined")
        await c.send_text(me, "/idea")
        await wait_until(c, me, message_with("Sáng kiến của bạn là gì", since=since))
        await c.send_text(me, text)
        for needle, label in (
            ("Đã nhận", "Xong"),
            ("loại nào", "An toàn lao động"),
            ("lợi ích gì", "Tiết kiệm chi phí"),
            ("giá trị làm lợi", "Bỏ qua"),
            ("cần bảo mật", "Có thể chia sẻ"),
            ("Xem lại sáng kiến", "Gửi"),
        ):
            message = await wait_until(c, me, message_with(needle, button=label, since=since))
            self.steps.append(needle)
            data = button_data(message, label)
            await c.press(me, me, message["message_id"], data=data)
        done = await wait_until(c, me, message_with(CONFIRMATION, since=since))
        found = REF.search(text_of(done))
        assert found is not None, text_of(done)
        self.ref = found.group()
        return self.ref

    async def confirmations(self) -> list[str]:
        return [
            text_of(m)
            for m in await self.client.messages(self.user_id)
            if CONFIRMATION in text_of(m)
        ]


async def sent_to(client: StandinClient, chat: int) -> list[JSON]:
    """Every message-sending call this bot made to ``chat`` (whatever it answered)."""
    methods = ("sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "copyMessage")
    return [call for method in methods for call in await client.calls(method, chat_id=chat)]
