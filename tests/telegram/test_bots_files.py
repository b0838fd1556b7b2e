"""Several bots of one deployment (issue #22): a file is good only for the bot that
received it, so a further bot's file ids carry its route, and a file one bot received is
fetched through it and uploaded by the bot that sends it on (both adapters, two
stand-ins: one per token, as Telegram keeps files per bot)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import pytest

from bot.runtime.errors import PermanentSendError
from bot.telegram.adapter import TelegramAdapterBase, file_origin
from bot.telegram.aiogram_adapter import AiogramTelegram
from bot.telegram.ptb_adapter import PtbTelegram
from handlers.events import AttachmentKind, FileRef, Incoming, OutMessage
from standins.telegram import EXAMPLE_TOKEN, StandinClient, StandinServer
from tests.telegram.fakeapi import GET_UPDATES_WARNING

pytestmark = [
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
    pytest.mark.filterwarnings(GET_UPDATES_WARNING),
]

NORTH_TOKEN = "555000111:AAHTheDeploymentsNorthernBot0000000"
AN = 1001


@dataclass
class Bot:
    adapter: TelegramAdapterBase
    standin: StandinClient
    seen: list[Incoming]

    async def pump(self) -> list[Incoming]:
        before = len(self.seen)
        assert isinstance(self.adapter, AiogramTelegram | PtbTelegram)
        for raw in await self.adapter.fetch(None, 0):
            await self.adapter.process(raw)
        return self.seen[before:]


@asynccontextmanager
async def two_bots(kind: str) -> AsyncIterator[tuple[Bot, Bot]]:
    """The main bot and "north", each against a stand-in of its own, sharing one peers table."""
    peers: dict[str, TelegramAdapterBase] = {}
    bots = []
    async with AsyncExitStack() as stack:
        for route, token in (("telegram", EXAMPLE_TOKEN), ("telegram.north", NORTH_TOKEN)):
            server = await stack.enter_async_context(StandinServer(port=0))
            standin = await stack.enter_async_context(server.client())
            maker = AiogramTelegram if kind == "aiogram" else PtbTelegram
            adapter = maker(token, server.base_url, request_timeout=5.0)
            adapter.channel, adapter.peers = route, peers
            peers[route] = adapter
            seen: list[Incoming] = []

            async def on_incoming(incoming: Incoming, seen: list[Incoming] = seen) -> None:
                seen.append(incoming)

            await adapter.start(on_incoming)
            stack.push_async_callback(adapter.close)
            bots.append(Bot(adapter, standin, seen))
        yield bots[0], bots[1]


@pytest.mark.parametrize("kind", ["aiogram", "ptb"])
async def test_a_photo_sent_to_one_bot_reaches_a_chat_of_another(kind: str) -> None:
    async with two_bots(kind) as (main, north):
        await north.standin.send_photo(AN, caption="Máng hứng dầu", width=64, height=48)
        (incoming,) = await north.pump()
        # The update is north's; the person is Telegram's, the same on every bot.
        assert incoming.channel == "telegram.north" and incoming.sender.channel == "telegram"
        (photo,) = incoming.files
        assert photo.file_id.startswith("telegram.north:")
        original = await north.standin.file_content(photo.file_id.removeprefix("telegram.north:"))
        card = OutMessage(text="SK-1 Máng hứng dầu", file=photo)

        # Through north itself: its own id, no upload.
        await north.adapter.send(str(AN), card)
        calls = await north.standin.calls("sendPhoto")
        assert calls[-1]["params"]["photo"] == photo.file_id.removeprefix("telegram.north:")

        # Through the main bot (which AN started too): fetched from north, uploaded.
        await main.standin.start(AN)
        await main.adapter.send(str(AN), card)
        (sent,) = await main.standin.messages(AN)
        assert sent["caption"] == "SK-1 Máng hứng dầu" and sent["media"]["type"] == "photo"
        assert await main.standin.file_content(sent["media"]["file_id"]) == original


@pytest.mark.parametrize("kind", ["aiogram"])
async def test_a_file_of_a_bot_no_longer_served_is_refused_for_good(kind: str) -> None:
    async with two_bots(kind) as (main, _north):
        gone = FileRef(AttachmentKind.PHOTO, "telegram.south:AgADBAAD", "u1")
        with pytest.raises(PermanentSendError) as caught:
            await main.adapter.send(str(AN), OutMessage(text="x", file=gone))
        assert caught.value.reason == "file_of_another_bot"


def test_file_origin_tells_whose_file_it_is() -> None:
    assert file_origin("AgADBAADr6cxG") == ("telegram", "AgADBAADr6cxG")
    assert file_origin("telegram.north:AgAD") == ("telegram.north", "AgAD")
    assert file_origin("https://example.vn/a.jpg") is None  # a URL goes as it is
    assert file_origin("zalo:abc") is None
