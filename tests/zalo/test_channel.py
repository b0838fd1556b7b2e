"""The Zalo channel in the bot's runtime, in-process: long polling and webhook."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import storage.db
from bot import app
from bot.app import channels_for, make_limiter, run_bot
from bot.config import DatabaseSettings, Settings, ZaloSettings
from bot.runtime import periodic as periodic_passes
from bot.runtime.channel import Core
from bot.runtime.sender import OutboxSender
from bot.runtime.transport import Transport
from bot.zalo.channel import ZaloChannel
from bot.zalo.files import ForeignFiles
from handlers.i18n import Catalogue
from standins.zalo import EXAMPLE_TOKEN, ZaloStandinClient, ZaloStandinServer
from storage.schema import upgrade

USER = "c0ffee000001"


class NoTelegram:
    channel = "telegram"

    async def send(self, chat_id: str, message: object) -> str:
        raise AssertionError("nothing goes to Telegram here")

    async def answer_callback(self, callback_id: str, text: str, alert: bool) -> None:
        return None

    async def set_commands(self, commands: object, language: str | None) -> None:
        return None


async def run_channel(
    settings: Settings,
    db: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
) -> AsyncIterator[tuple[ZaloChannel, dict[str, Transport]]]:
    limiter = make_limiter(settings)
    transports: dict[str, Transport] = {"telegram": NoTelegram()}
    sender = OutboxSender(db, transports, limiter, max_attempts=3, catalogue=catalogue)
    stop = asyncio.Event()
    channel = ZaloChannel(settings)
    try:
        await channel.start(
            Core(settings, db, catalogue, sender, transports, stop, time.monotonic())
        )
        receiving = asyncio.create_task(channel.run())
        sender_task = asyncio.create_task(sender.run())
        try:
            yield channel, transports
        finally:
            stop.set()
            await receiving
            sender.stop()
            await sender_task
    finally:
        await channel.close()
        await limiter.close()


def zalo_settings(server: ZaloStandinServer, scratch: Path, **changes: object) -> Settings:
    zalo = ZaloSettings(token=EXAMPLE_TOKEN, api_base=server.base_url, polling_timeout=2)
    return replace(
        Settings(),
        zalo=replace(zalo, **changes),  # type: ignore[arg-type]
        reports=replace(Settings().reports, directory=str(scratch)),
    )


async def help_pages(people: ZaloStandinClient) -> None:
    sent = await people.send_text(USER, "trợ giúp")
    [page1] = await people.wait_reply(sent)
    assert "Gửi sáng kiến trong 1 phút" in page1["text"] and "<b>" not in page1["text"]
    assert page1["text"].rstrip().endswith("1. Tiếp →") or "\n1. " in page1["text"]
    sent = await people.send_text(USER, "1")
    [page2] = await people.wait_reply(sent)
    assert page2["text"] != page1["text"] and "\n1. " in page2["text"]


async def test_polling(
    server: ZaloStandinServer,
    people: ZaloStandinClient,
    db: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    tmp_path: Path,
) -> None:
    assert [c.name for c in channels_for(Settings())] == ["telegram"]  # no token: no Zalo
    async for channel, transports in run_channel(zalo_settings(server, tmp_path), db, catalogue):
        assert channel.webhook is None and channel.bot_name == "bot.SangKien"
        assert isinstance(transports["telegram"], ForeignFiles)
        assert transports["zalo"] is channel.transport
        await help_pages(people)
        # Sent twice (a redelivery): handled once.
        sent = await people.send_text(USER, "/help")
        await people.wait_reply(sent)
        update = sent["update"]
        server.world.push_update(update)
        await people.wait_quiet(0.5)
        assert len(await people.wait_messages(USER, 1, after_seq=sent["message"]["seq"])) == 1


async def test_webhook(
    server: ZaloStandinServer,
    people: ZaloStandinClient,
    db: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    unused_tcp_port: int,
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}/zalo/webhook"
    settings = zalo_settings(
        server,
        tmp_path,
        webhook_url=url,
        webhook_secret="s3cret-token",
        webhook_port=unused_tcp_port,
    )
    async for channel, _ in run_channel(settings, db, catalogue):
        assert channel.webhook is not None
        assert await people.calls("getUpdates") == []  # not polling
        assert (await people.state())["webhook"]["url"] == url
        await help_pages(people)
        for _ in range(100):  # the 200 comes once the reply is out: it may trail a little
            deliveries = (await people.updates())["deliveries"]
            if len(deliveries) == 2:
                break
            await asyncio.sleep(0.05)
        assert [d["status"] for d in deliveries] == [200, 200]
        import aiohttp

        async with aiohttp.ClientSession() as session:
            for secret in ("wrong-secret", None):
                headers = {"X-Bot-Api-Secret-Token": secret} if secret else {}
                async with session.post(url, json={"x": 1}, headers=headers) as response:
                    assert response.status == 401
            headers = {"X-Bot-Api-Secret-Token": "s3cret-token"}
            async with session.post(url, data=b"{not json", headers=headers) as response:
                assert response.status == 400


async def test_zalo_alone_runs_the_whole_bot_without_telegram(
    server: ZaloStandinServer,
    people: ZaloStandinClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'alone.db'}"
    await upgrade(url)
    settings = replace(zalo_settings(server, tmp_path), database=DatabaseSettings(url=url))
    assert settings.telegram.token == ""
    # The periodic passes run on their own engine, as beside Telegram (issue 17: Zalo
    # alone used to run them on the engine of the updates, inline on the event loop).
    inline: list[AsyncEngine] = []
    periodic: list[AsyncEngine] = []

    def create_engine(url: str, **kw: Any) -> AsyncEngine:
        engine = storage.db.create_engine(url, **kw)
        if kw.get("sqlite_inline"):
            inline.append(engine)
        return engine

    def start_periodic(settings: Settings, sessionmaker: Any, *rest: Any) -> Any:
        periodic.append(sessionmaker.kw["bind"])
        return periodic_passes.start_periodic(settings, sessionmaker, *rest)

    monkeypatch.setattr(app, "create_engine", create_engine)
    monkeypatch.setattr(app, "start_periodic", start_periodic)
    stop = asyncio.Event()
    running = asyncio.create_task(run_bot(settings, stop=stop))
    try:
        sent = await people.send_text(USER, "/help")
        [reply] = await people.wait_reply(sent, timeout=15)
        assert "Gửi sáng kiến" in reply["text"]
    finally:
        stop.set()
        await asyncio.wait_for(running, 20)
    assert len(inline) == 1 and len(periodic) == 1 and periodic[0] is not inline[0]


async def test_a_message_taken_by_the_poll_open_at_a_clean_stop_is_handled(
    server: ZaloStandinServer,
    people: ZaloStandinClient,
    db: async_sessionmaker[AsyncSession],
    catalogue: Catalogue,
    tmp_path: Path,
) -> None:
    """Zalo hands an update to the open getUpdates call and forgets it: a stopping bot
    must take what its last poll brings and handle it, or the message is lost."""
    settings = zalo_settings(server, tmp_path)
    limiter = make_limiter(settings)
    transports: dict[str, Transport] = {"telegram": NoTelegram()}
    sender = OutboxSender(db, transports, limiter, max_attempts=3, catalogue=catalogue)
    stop = asyncio.Event()
    channel = ZaloChannel(settings)
    await channel.start(Core(settings, db, catalogue, sender, transports, stop, time.monotonic()))
    receiving = asyncio.create_task(channel.run())
    sender_task = asyncio.create_task(sender.run())
    try:
        for _ in range(200):  # until a long poll is open at the stand-in
            polls = await people.calls("getUpdates")
            if polls and polls[-1].get("status") is None:
                break
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.sleep(0.05)  # the polling loop has seen the stop
        sent = await people.send_text(USER, "/help")
        await receiving
        assert not server.world.pending  # the open poll took it off Zalo's queue
        [reply] = await people.wait_reply(sent, timeout=5)
        assert "Gửi sáng kiến" in reply["text"]
    finally:
        stop.set()
        await receiving
        sender.stop()
        await sender_task
        await channel.close()
        await limiter.close()
