"""An official schedules an announcement to a district: real bot process, stand-in Bot API.

The official of Quận 7 (sample tree: three grassroots units below it) writes the
announcement in the chat, picks the district, all members and a time typed in Vietnam
time, and confirms. Two members of each unit joined by invite links; one muted, one
blocked the bot. When the time comes, every other member receives it exactly once,
and the official's report counts match.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from standins.telegram.client import StandinClient
from standins.telegram.server import StandinServer
from tests.e2e.harness import (
    BotProcess,
    Person,
    base_env,
    cli,
    link_token,
    migrated_with_sample_tree,
    text_of,
)

VIETNAM = timezone(timedelta(hours=7))
JSON = dict[str, Any]
OFFICIAL = 9401
MEMBERS = {
    "HCM-Q7-CTYMAY": (9411, 9412),
    "HCM-Q7-CKTT": (9421, 9422),
    "HCM-Q7-TPSGX": (9431, 9432),
}
OUTSIDE = ("HN-DTTL", 9441)  # another province: never reached
MUTED, BLOCKED = 9412, 9422
TEXT = "Đại hội công đoàn quận họp lúc 8 giờ sáng thứ Hai tại hội trường"


@dataclass
class World:
    client: StandinClient
    bot: BotProcess
    env: dict[str, str]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with StandinServer(port=0) as server:
        env = base_env(tmp_path, server.base_url, "aiogram")
        migrated_with_sample_tree(env)
        bot = BotProcess(env, tmp_path / "bot.log")
        client = server.client()
        try:
            await bot.start()
            yield World(client, bot, env)
        finally:
            await bot.stop()
            await client.close()
            log = bot.full_log()
            assert "Traceback" not in log, log
            assert TEXT not in log  # ids only in the logs


async def join(world: World, user: int, code: str, role: str) -> Person:
    await world.client.upsert_user(user, "Đoàn viên", language_code="vi")
    out = await asyncio.to_thread(cli, world.env, "invite", "--unit", code, "--role", role)
    person = Person(world.client, user)
    await person.start(link_token(out))
    return person


def is_announcement(message: JSON) -> bool:
    return TEXT in text_of(message)


def is_report(message: JSON) -> bool:
    return "Báo cáo gửi thông báo" in text_of(message)


async def wait_until(world: World, check: Any, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if await check():
            return
        await world.client.wait_quiet(0.5)
    raise AssertionError("waited in vain")


def next_minute() -> datetime:
    """The next whole minute in Vietnam time, at least 5 s away (the typed time's grain)."""
    now = datetime.now(VIETNAM)
    moment = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return moment if (moment - now).total_seconds() >= 5 else moment + timedelta(minutes=1)


async def test_an_official_schedules_an_announcement_to_a_district(world: World) -> None:
    official = await join(world, OFFICIAL, "HCM-Q7", "official")
    for code, users in MEMBERS.items():
        for user in users:
            await join(world, user, code, "member")
    await join(world, OUTSIDE[1], OUTSIDE[0], "member")
    await Person(world.client, MUTED).say("/mute")
    await world.client.set_blocked(BLOCKED)

    await official.say("/announce")
    [ask_unit] = await official.say(TEXT)
    ask_audience = await official.press(ask_unit, "Quận 7")
    ask_when = await official.press(ask_audience, "Toàn thể đoàn viên")
    assert "Khi nào gửi?" in text_of(ask_when)
    moment = next_minute()
    preview = await official.say(moment.strftime("%d/%m/%Y %H:%M"), count=2)
    assert is_announcement(preview[0])  # the message as members will see it
    summary = text_of(preview[1])
    assert "Số người nhận: 5" in summary and "không tính 1 người" in summary
    assert moment.strftime("%d/%m/%Y %H:%M") in summary
    confirmed = await official.press(preview[1], "Xác nhận")
    assert "Đã hẹn gửi" in text_of(confirmed)

    # Nothing before the time; then each member but the muted and the blocked one, once.
    await world.client.wait_quiet(1.0)
    assert not [
        m for m in await world.client.messages(MEMBERS["HCM-Q7-CKTT"][0]) if is_announcement(m)
    ]

    async def reported() -> bool:
        return any(is_report(m) for m in await official.all())

    await wait_until(world, reported, (moment - datetime.now(VIETNAM)).total_seconds() + 30)
    assert datetime.now(VIETNAM) >= moment
    for user in [u for users in MEMBERS.values() for u in users]:
        got = [m for m in await world.client.messages(user) if is_announcement(m)]
        assert len(got) == (0 if user in (MUTED, BLOCKED) else 1), user
    assert not [m for m in await world.client.messages(OUTSIDE[1]) if is_announcement(m)]
    [report] = [m for m in await official.all() if is_report(m)]
    for line in ("Đã nhận: 4", "Đã chặn bot: 1", "Lỗi: 0", "Đã tắt thông báo: 1"):
        assert line in text_of(report), text_of(report)
