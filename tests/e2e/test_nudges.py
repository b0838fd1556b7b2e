"""The weekly nudge reaches exactly the lagging teams: real bot process, stand-in Bot API.

A campaign and its quotas come from the command line; six approved ideas are written
as rows for the unit ahead (and counted by ``progress rebuild``), as in
tests/e2e/test_progress.py. The teams join by invite links through the bot. The pass
runs as ``python -m bot nudges --now <next Monday 09:00>`` against the running bot's
database; the running bot delivers what it queued.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
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
OFFICIAL_Q7, OFFICIAL_HCM = 9301, 9302
LAGGING = {"HCM-Q7-CTYMAY": 9311, "HN-DTTL": 9312}  # 0 approved of 30
AHEAD, NO_QUOTA = ("HCM-Q7-CKTT", 9313), ("HCM-Q7-TPSGX", 9314)
QUOTAS = {"HCM-Q7-CTYMAY": 30, "HN-DTTL": 30, "HCM-Q7-CKTT": 6, "HCM-CTNBT": 30}  # CTNBT: no team
ENGLISH = 9312


@dataclass
class World:
    client: StandinClient
    bot: BotProcess
    env: dict[str, str]
    names: dict[str, str]


def seed_approved(env: dict[str, str], code: str, count: int, day: datetime) -> None:
    """Approved ideas written as rows (with their approval events) for ``code``."""
    db = sqlite3.connect(env["DATABASE_URL"].split("///", 1)[1])
    try:
        unit = db.execute("SELECT id FROM units WHERE code = ?", (code,)).fetchone()[0]
        campaign = db.execute("SELECT id FROM campaigns").fetchone()[0]
        stamp = day.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        author = db.execute(
            "INSERT INTO people (display_name, unreachable, created_at) VALUES (?, 0, ?)",
            ("Trần Văn Seed", stamp),
        ).lastrowid
        for n in range(count):
            cursor = db.execute(
                "INSERT INTO ideas (ref_code, author_id, unit_id, holder_unit_id, title, body,"
                " category, benefit, confidential, language, status, version, created_at,"
                " updated_at, waiting_since, campaign_id)"
                " VALUES (?, ?, ?, ?, ?, ?, 'technical', 'cost', 0, 'vi', 'approved', 1,"
                " ?, ?, ?, ?)",
                (
                    f"SK-2026-6{n:05d}",
                    author,
                    unit,
                    unit,
                    f"Ý tưởng mẫu {n}",
                    f"Mô tả mẫu {n}",
                    stamp,
                    stamp,
                    stamp,
                    campaign,
                ),
            )
            db.execute(
                "INSERT INTO idea_events (idea_id, kind, actor_id, at)"
                " VALUES (?, 'approved', ?, ?)",
                (cursor.lastrowid, author, stamp),
            )
        db.commit()
    finally:
        db.close()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with StandinServer(port=0) as server:
        env = base_env(tmp_path, server.base_url, "aiogram")
        migrated_with_sample_tree(env)
        today = datetime.now(VIETNAM)
        start, end = (today - timedelta(days=20)).date(), (today + timedelta(days=40)).date()
        cli(
            env,
            "campaigns",
            "add",
            "E2E-N",
            "--name",
            "Đợt nhắc",
            "--start",
            str(start),
            "--end",
            str(end),
        )
        quotas = tmp_path / "quotas.csv"
        quotas.write_text(
            "unit_code,campaign,target\n"
            + "".join(f"{code},E2E-N,{target}\n" for code, target in QUOTAS.items()),
            encoding="utf-8",
        )
        cli(env, "quotas", "import", str(quotas))
        seed_approved(env, AHEAD[0], 6, today - timedelta(days=10))
        assert "ideas counted" in cli(env, "progress", "rebuild")
        db = sqlite3.connect(env["DATABASE_URL"].split("///", 1)[1])
        names = dict(db.execute("SELECT code, name FROM units").fetchall())
        db.close()
        bot = BotProcess(env, tmp_path / "bot.log")
        client = server.client()
        try:
            await bot.start()
            yield World(client, bot, env, names)
        finally:
            await bot.stop()
            await client.close()
            log = bot.full_log()
            assert "Traceback" not in log, log


async def run_cli(world: World, *args: str) -> str:
    """The CLI in a thread: the stand-in lives in this event loop and must keep answering."""
    return await asyncio.to_thread(cli, world.env, *args)


async def join(world: World, user: int, code: str, role: str, lang: str = "vi") -> None:
    await world.client.upsert_user(user, "Tổ HT", language_code=lang)
    out = await run_cli(world, "invite", "--unit", code, "--role", role)
    await Person(world.client, user).start(link_token(out))


async def wait_for(world: World, chat: int, wanted: Callable[[JSON], bool]) -> JSON:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while loop.time() < deadline:
        for message in await world.client.messages(chat):
            if wanted(message):
                return message
        await world.client.wait_quiet(0.2)
    texts = [text_of(m)[:60] for m in await world.client.messages(chat)]
    raise AssertionError(f"the awaited message never reached chat {chat}: {texts}")


def is_nudge(message: JSON) -> bool:
    text = text_of(message)
    return any(
        words in text for words in ("Nhắc nhẹ hằng tuần", "Your weekly nudge", "Đơn vị cần hỗ trợ")
    )


def next_monday_nine(now: datetime) -> datetime:
    """The next Monday 09:00 in Vietnam (the default nudge moment) after ``now``."""
    local = now.astimezone(VIETNAM)
    # Early on a Monday (before 09:00 in Vietnam) the next one is today's.
    monday = local.date() + timedelta(days=(7 - local.weekday()) % 7)
    moment = datetime(monday.year, monday.month, monday.day, 9, 0, tzinfo=VIETNAM)
    return moment if moment > local else moment + timedelta(days=7)


async def test_a_nudge_reaches_exactly_the_lagging_teams(world: World) -> None:
    await join(world, OFFICIAL_Q7, "HCM-Q7", "official")
    await join(world, OFFICIAL_HCM, "HCM", "official")
    for code, user in LAGGING.items():
        await join(world, user, code, "support", "en" if user == ENGLISH else "vi")
    for code, user in (AHEAD, NO_QUOTA):
        await join(world, user, code, "support")

    moment = next_monday_nine(datetime.now(UTC))
    out = await run_cli(world, "nudges", "--now", (moment - timedelta(minutes=1)).isoformat())
    assert out.startswith("0 teams nudged, 0 officials told")
    out = await run_cli(world, "nudges", "--now", moment.isoformat())
    assert out.startswith("2 teams nudged, 1 officials told, 1 units on track"), out

    may = await wait_for(world, LAGGING["HCM-Q7-CTYMAY"], is_nudge)
    assert "Ý tưởng được duyệt: 0 · cần đạt đến nay:" in text_of(may)
    assert "chỉ tiêu cả đợt: 30" in text_of(may)
    assert "áp phích có mã QR" in text_of(may)  # nothing sent this week
    english = await wait_for(world, ENGLISH, is_nudge)
    assert "Your weekly nudge" in text_of(english) and "target for the campaign: 30" in (
        text_of(english)
    )
    listing = await wait_for(world, OFFICIAL_Q7, is_nudge)
    assert f"1. {world.names['HCM-Q7-CTYMAY']} — ý tưởng được duyệt: 0/" in text_of(listing)
    assert world.names["HN-DTTL"] not in text_of(listing)

    # The same week again: nothing more; and nobody else ever heard.
    out = await run_cli(world, "nudges", "--now", (moment + timedelta(hours=2)).isoformat())
    assert out.startswith("0 teams nudged, 0 officials told")
    await world.client.wait_quiet(1.0)
    for user in (AHEAD[1], NO_QUOTA[1], OFFICIAL_HCM):
        assert not [m for m in await world.client.messages(user) if is_nudge(m)], user
    for user in (*LAGGING.values(), OFFICIAL_Q7):
        assert len([m for m in await world.client.messages(user) if is_nudge(m)]) == 1, user
