"""One worker floods the bot while another asks for /help: the real bot process, the stand-in.

The other person is answered while the flood is still being worked through, and the
flooder is told exactly once to slow down; what went over the rate is recorded, not
handled.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from handlers.i18n import Catalogue
from standins.telegram.server import StandinServer
from tests.e2e.conftest import World
from tests.e2e.harness import BotProcess, base_env, migrated_with_sample_tree, text_of

FLOODER, OTHER = 7101, 7102
FLOOD = 200
BURST = 10  # answered at about one a second: the flood takes ~8 s to work through


@pytest.fixture
async def flood_world(tmp_path: Path, framework: str) -> AsyncIterator[World]:
    async with StandinServer(port=0) as server:
        env = base_env(tmp_path, server.base_url, framework)
        # A small burst and no refill to speak of, so what is admitted does not depend
        # on how fast this machine sends the flood.
        env.update(RUNTIME_INPUT_BURST=str(BURST), RUNTIME_INPUT_PER_SECOND="0.001")
        migrated_with_sample_tree(env)
        bot = BotProcess(env, tmp_path / "bot.log")
        client = server.client()
        try:
            await bot.start()
            yield World(server, client, bot, env, tmp_path)
        finally:
            await bot.stop()
            await client.close()
            assert "Traceback" not in bot.full_log()


async def test_a_flood_neither_delays_another_person_nor_gets_more_than_one_slow_down(
    flood_world: World,
) -> None:
    c = flood_world.client
    await c.upsert_user(FLOODER, "Tùng", language_code="vi")
    await c.upsert_user(OTHER, "Hoa", language_code="vi")
    await asyncio.gather(*(c.send_text(FLOODER, f"tin rác số {n}") for n in range(FLOOD)))

    sent = await c.send_text(OTHER, "/help")
    [help_page] = await c.wait_reply(sent, 1, timeout=30.0)
    flooder_then = [text_of(m) for m in await c.messages(FLOODER)]
    slow_down = Catalogue.load().for_lang("vi")("common.slow_down")
    assert text_of(help_page) and text_of(help_page) != slow_down

    texts = flooder_then
    for _ in range(600):  # the admitted messages are answered at about one a second
        if slow_down in texts:
            break
        await asyncio.sleep(0.1)
        texts = [text_of(m) for m in await c.messages(FLOODER)]
    await c.wait_quiet(1.0, timeout=30.0)
    texts = [text_of(m) for m in await c.messages(FLOODER)]
    # The other person was answered while the flood was still being worked through.
    assert slow_down not in flooder_then and len(flooder_then) < len(texts)
    # One "slow down", after the answers to what was admitted; nothing for the rest.
    assert texts.count(slow_down) == 1 and texts[-1] == slow_down
    log = flood_world.bot.full_log()
    assert log.count("dropped: the sender is too fast") == FLOOD - BURST
