"""The running bot prunes handled update ids and inbox rows past the retention window
(storage/retention.py): Telegram by long polling, Zalo alone, and the loop's own stop."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import run_bot
from bot.config import (
    DatabaseSettings,
    RetentionSettings,
    Settings,
    TelegramSettings,
    ZaloSettings,
)
from bot.runtime import periodic
from standins.telegram import EXAMPLE_TOKEN, StandinServer
from standins.zalo import EXAMPLE_TOKEN as ZALO_TOKEN
from standins.zalo import ZaloStandinServer
from storage.db import create_engine, create_sessionmaker
from storage.inbox import Inbox
from storage.models import InboxUpdate, ProcessedUpdate
from storage.schema import upgrade
from storage.uow import UnitOfWork

# A pass every 30 ms, so that the test sees several.
OFTEN = RetentionSettings(days=7, check_minutes=0.0005)


async def seed(sessionmaker: async_sessionmaker[AsyncSession], channel: str) -> None:
    """Ids 1-3 handled 10 days ago (1 with an inbox row a crash left), 4 an hour ago."""
    now = datetime.now(UTC)
    await Inbox(sessionmaker, channel).store([(1, {"update_id": 1})], now=now - timedelta(days=10))
    async with UnitOfWork(sessionmaker) as uow:
        for update_id in (1, 2, 3):
            await uow.updates.claim(channel, update_id, now - timedelta(days=10))
        await uow.updates.claim(channel, 4, now - timedelta(hours=1))
        await uow.commit()


async def kept(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[list[int], list[int]]:
    async with UnitOfWork(sessionmaker) as uow:
        ids = await uow.session.scalars(select(ProcessedUpdate.update_id).order_by("update_id"))
        inbox = await uow.session.scalars(select(InboxUpdate.update_id))
        return list(ids), list(inbox)


async def until_pruned(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> tuple[list[int], list[int]]:
    for _ in range(300):
        found = await kept(sessionmaker)
        if found[0] == [4]:
            return found
        await asyncio.sleep(0.05)
    return await kept(sessionmaker)


async def test_the_loop_prunes_every_pass_and_stops_between_passes(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessionmaker, "telegram")
    settings = replace(Settings(), retention=OFTEN)
    stop = asyncio.Event()
    task = asyncio.create_task(periodic.prune_periodically(settings, sessionmaker, stop))
    try:
        assert await until_pruned(sessionmaker) == ([4], [])
    finally:
        stop.set()
        await periodic.stop_periodic([task])
    assert task.done() and not task.cancelled() and task.exception() is None


async def test_the_bot_prunes_while_it_polls_telegram(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade(url)
    engine = create_engine(url)
    try:
        db = create_sessionmaker(engine)
        await seed(db, "telegram")
        async with StandinServer(port=0) as standin:
            settings = Settings(
                telegram=TelegramSettings(
                    token=EXAMPLE_TOKEN, api_base=standin.base_url, polling_timeout=1
                ),
                database=DatabaseSettings(url=url),
                zalo=ZaloSettings(enabled=False),
                retention=OFTEN,
            )
            stop = asyncio.Event()
            bot = asyncio.create_task(run_bot(settings, stop=stop))
            try:
                assert await until_pruned(db) == ([4], [])
            finally:
                stop.set()
                await asyncio.wait_for(bot, 20)
    finally:
        await engine.dispose()


async def test_zalo_alone_prunes_too(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade(url)
    engine = create_engine(url)
    try:
        db = create_sessionmaker(engine)
        await seed(db, "zalo")
        async with ZaloStandinServer() as standin:
            settings = replace(
                Settings(),
                zalo=ZaloSettings(token=ZALO_TOKEN, api_base=standin.base_url, polling_timeout=1),
                database=DatabaseSettings(url=url),
                reports=replace(Settings().reports, directory=str(tmp_path)),
                retention=OFTEN,
            )
            assert settings.telegram.token == ""
            stop = asyncio.Event()
            bot = asyncio.create_task(run_bot(settings, stop=stop))
            try:
                assert await until_pruned(db) == ([4], [])
            finally:
                stop.set()
                await asyncio.wait_for(bot, 20)
    finally:
        await engine.dispose()
