"""An operator's restart (issue 16): SIGTERM's stop cuts the open long poll and the
outbox round in hand instead of waiting them out, and the next start loses nothing:
what the poll did not confirm is fetched again, what the sender did not send goes then,
once each and in order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.app import run_bot
from bot.config import DatabaseSettings, Settings, TelegramSettings, ZaloSettings
from handlers.events import OutMessage
from standins.telegram import EXAMPLE_TOKEN, StandinServer
from standins.telegram.client import StandinClient
from storage.db import create_engine, create_sessionmaker
from storage.schema import upgrade
from storage.uow import UnitOfWork

USER = 1001
NOTES = [f"note {n}" for n in range(1, 9)]


async def texts(client: StandinClient) -> list[str]:
    return [m.get("text", "") for m in await client.messages(USER)]


async def until(
    client: StandinClient, done: Callable[[list[str]], bool], seconds: float = 30.0
) -> list[str]:
    async with asyncio.timeout(seconds):
        while True:
            found = await texts(client)
            if done(found):
                return found
            await asyncio.sleep(0.05)


async def test_a_stop_cuts_the_long_poll_and_the_round_and_a_restart_loses_nothing(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade(url)
    engine = create_engine(url)
    try:
        async with StandinServer(port=0) as standin:
            client = standin.client()
            settings = Settings(
                # The default long poll: a stop that waited for it would take up to 30 s.
                telegram=TelegramSettings(
                    token=EXAMPLE_TOKEN, api_base=standin.base_url, polling_timeout=30
                ),
                database=DatabaseSettings(url=url),
                zalo=ZaloSettings(enabled=False),
                reports=replace(Settings().reports, directory=str(tmp_path)),
            )
            stop = asyncio.Event()
            bot = asyncio.create_task(run_bot(settings, stop=stop))
            await client.wait_reply(await client.start(USER), timeout=30)
            # Eight notifications for one private chat: about one a second after a burst.
            async with UnitOfWork(create_sessionmaker(engine)) as uow:
                for text in NOTES:
                    await uow.outbox.add_row(
                        channel="telegram",
                        chat_id=str(USER),
                        payload=OutMessage(text=text).to_json(),
                        priority=5,
                        now=datetime.now(UTC),
                    )
                await uow.commit()
            await until(client, lambda found: NOTES[0] in found)
            stop.set()  # as SIGTERM does
            await asyncio.wait_for(bot, 25)  # generous, yet under the long poll's 30 s
            before = [t for t in await texts(client) if t in NOTES]
            assert before and len(before) < len(NOTES), "the stop did not wait out the round"

            # While the bot is down, the worker writes; the next start answers it.
            down = await client.send_text(USER, "/help")
            stop = asyncio.Event()
            bot = asyncio.create_task(run_bot(settings, stop=stop))
            try:
                found = await until(client, lambda f: all(n in f for n in NOTES), 60)
                await client.wait_reply(down, timeout=30)
            finally:
                stop.set()
                await asyncio.wait_for(bot, 25)
            assert [t for t in found if t in NOTES] == NOTES, "each once, in order"
            await client.close()
    finally:
        await engine.dispose()
