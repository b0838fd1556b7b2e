"""An official of a province steers by numbers: real bot process, stand-in Bot API.

The tree is the sample one; ideas are seeded straight into the database by this
test (and two more are sent and approved through the bot), so the figures the bot
shows are checked against counts the test computes from its own seed.
"""

from __future__ import annotations

import asyncio
import io
import random
import re
import sqlite3
import struct
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from standins.telegram.client import StandinClient
from standins.telegram.server import StandinServer
from tests.e2e.harness import (
    BotProcess,
    Person,
    base_env,
    button_data,
    cli,
    labels,
    link_token,
    migrated_with_sample_tree,
    text_of,
)

VIETNAM = timezone(timedelta(hours=7))
OFFICIAL, WORKER, SUPPORT = 9101, 9102, 9103
JSON = dict[str, Any]
QUOTAS = {"HCM-Q7-CTYMAY": 12, "HCM-Q7-CKTT": 6, "HCM-Q7-TPSGX": 4, "HCM-CTNBT": 5, "HN": 30}
LEAVES = [
    "HCM-Q7-CTYMAY",
    "HCM-Q7-CTYMAY-T01",
    "HCM-Q7-CTYMAY-T02",
    "HCM-Q7-CKTT",
    "HCM-Q7-TPSGX",
    "HCM-CTNBT",
    "HN-DTTL",
    "LA-KCN-THEP",
]


@dataclass
class Seeded:
    """What the test wrote, and so what the bot must show."""

    ref: str
    unit: str
    counted: bool  # inside the campaign
    approved: bool
    confidential: bool
    title: str


@dataclass
class World:
    server: StandinServer
    client: StandinClient
    bot: BotProcess
    env: dict[str, str]
    tmp: Path
    seeded: list[Seeded]
    paths: dict[str, str]  # unit code -> materialised path
    ids: dict[str, int]
    names: dict[str, str]


def _db(env: dict[str, str]) -> sqlite3.Connection:
    return sqlite3.connect(env["DATABASE_URL"].split("///", 1)[1])


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def seed_ideas(env: dict[str, str], start: date) -> list[Seeded]:
    """Ideas written as rows, on days inside the campaign and before it."""
    rnd = random.Random(4)
    db = _db(env)
    try:
        units = {code: uid for uid, code in db.execute("SELECT id, code FROM units")}
        campaign = db.execute("SELECT id FROM campaigns").fetchone()[0]
        now = _stamp(datetime.now(UTC))
        author = db.execute(
            "INSERT INTO people (display_name, unreachable, created_at) VALUES (?, 0, ?)",
            ("Trần Văn Seed", now),
        ).lastrowid
        seeded = []
        for n in range(40):
            code = rnd.choice(LEAVES)
            counted = n % 8 != 0
            day = start + timedelta(days=rnd.randrange(0, 20)) if counted else start - timedelta(3)
            created = datetime(day.year, day.month, day.day, 9, 30, tzinfo=VIETNAM)
            approved = counted and rnd.random() < 0.45
            confidential = n % 5 == 2
            ref = f"SK-2026-5{n:05d}"
            title = f"Sáng kiến mẫu số {n}: giảm hao hụt nguyên liệu"
            cursor = db.execute(
                "INSERT INTO ideas (ref_code, author_id, unit_id, holder_unit_id, title, body,"
                " category, benefit, benefit_amount, confidential, language, status, version,"
                " created_at, updated_at, waiting_since, campaign_id)"
                " VALUES (?, ?, ?, ?, ?, ?, 'technical', 'cost', 12000000, ?, 'vi', ?, 1,"
                " ?, ?, ?, ?)",
                (
                    ref,
                    author,
                    units[code],
                    units[code],
                    title,
                    f"Nội dung bí mật số {n}" if confidential else f"Mô tả chi tiết số {n}",
                    int(confidential),
                    "approved" if approved else "submitted",
                    _stamp(created),
                    _stamp(created + timedelta(hours=2)),
                    _stamp(created),
                    campaign if counted else None,
                ),
            )
            if approved:
                db.execute(
                    "INSERT INTO idea_events (idea_id, kind, actor_id, at) VALUES (?, ?, ?, ?)",
                    (cursor.lastrowid, "approved", author, _stamp(created + timedelta(hours=2))),
                )
            seeded.append(Seeded(ref, code, counted, approved, confidential, title))
        db.commit()
        return seeded
    finally:
        db.close()


@pytest.fixture
async def world(tmp_path: Path, framework: str) -> AsyncIterator[World]:
    async with StandinServer(port=0) as server:
        env = base_env(tmp_path, server.base_url, framework)
        env["REPORTS_DIRECTORY"] = str(tmp_path / "reports")
        env["REPORTS_CHECK_SECONDS"] = "0.2"
        migrated_with_sample_tree(env)
        today = datetime.now(VIETNAM).date()
        start, end = today - timedelta(days=20), today + timedelta(days=40)
        out = cli(
            env,
            "campaigns",
            "add",
            "E2E-P1",
            "--name",
            "Đợt thử nghiệm",
            "--start",
            start.isoformat(),
            "--end",
            end.isoformat(),
        )
        assert "E2E-P1 added" in out
        quotas = tmp_path / "quotas.csv"
        quotas.write_text(
            "unit_code,campaign,target\n"
            + "".join(f"{code},E2E-P1,{target}\n" for code, target in QUOTAS.items()),
            encoding="utf-8",
        )
        cli(env, "quotas", "import", str(quotas))
        seeded = seed_ideas(env, start)
        assert "ideas counted" in cli(env, "progress", "rebuild")
        db = _db(env)
        rows = db.execute("SELECT code, id, path, name FROM units").fetchall()
        db.close()
        bot = BotProcess(env, tmp_path / "bot.log")
        client = server.client()
        try:
            await bot.start()
            yield World(
                server,
                client,
                bot,
                env,
                tmp_path,
                seeded,
                paths={code: path for code, _, path, _ in rows},
                ids={code: uid for code, uid, _, _ in rows},
                names={code: name for code, _, _, name in rows},
            )
        finally:
            await bot.stop()
            await client.close()
            log = bot.full_log()
            assert "Traceback" not in log, log


def expected(world: World, code: str) -> dict[str, tuple[int, int]]:
    """(submitted, approved) in the unit and each direct sub-unit, from the test's own seed."""
    top = world.paths[code]
    wanted = [code] + [
        c
        for c, p in world.paths.items()
        if p.startswith(top) and p.count("/") == top.count("/") + 1
    ]
    result = {}
    for unit in wanted:
        mine = [
            s
            for s in world.seeded
            if s.counted and world.paths[s.unit].startswith(world.paths[unit])
        ]
        result[unit] = (len(mine), sum(s.approved for s in mine))
    return result


def shown(world: World, text: str) -> dict[str, tuple[int, int]]:
    """(submitted, approved) per unit as the official reads them (plain text)."""
    codes = {name: code for code, name in world.names.items()}
    found = {}
    head = re.search(r"📊 (.+)\n", text)
    counts = re.search(r"Đã gửi: ([\d.]+).*?Đã duyệt: ([\d.]+)", text, re.S)
    assert head and counts, text
    found[codes[head.group(1).strip()]] = (int(counts.group(1)), int(counts.group(2)))
    for line in text.splitlines():
        m = re.match(r"\d+\. \S+ (.*?): ✅ (\d+)(?:/\d+ \([^)]*\))? · 📨 (\d+)", line)
        if m:
            found[codes[m.group(1)]] = (int(m.group(3)), int(m.group(2)))
    return found


async def wait_for(world: World, chat: int, wanted: Callable[[JSON], bool]) -> JSON:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while loop.time() < deadline:
        for message in reversed(await world.client.messages(chat)):
            if wanted(message):
                return message
        await world.client.wait_quiet(0.2)
    texts = [text_of(m)[:60] for m in await world.client.messages(chat)]
    raise AssertionError(f"the awaited message never reached chat {chat}: {texts}")


async def press(world: World, user: int, message: JSON, label: str) -> tuple[JSON, JSON]:
    """Press a button; returns (the callback answer, the pressed message as it is now)."""
    c = world.client
    before = len(await c.calls("answerCallbackQuery"))
    await c.press(user, user, message["message_id"], data=button_data(message, label))
    answers = await c.wait_calls("answerCallbackQuery", count=before + 1)
    await c.wait_quiet(0.3)
    return dict(answers[-1]["params"]), await c.message(user, message["message_id"])


async def send_and_approve_one(world: World) -> None:
    """One idea through the bot itself: a worker sends it, the team approves it."""
    c, unit = world.client, "HCM-Q7-CKTT"
    worker, support = Person(c, WORKER), Person(c, SUPPORT)
    await support.start(
        link_token(await run_cli(world, "invite", "--unit", unit, "--role", "support"))
    )
    await worker.start(link_token(await run_cli(world, "invite", "--unit", unit)))
    await worker.say("/idea")
    [ack] = await worker.say("Lap dat bo thu hoi nhiet tu may nen khi de say kho linh kien")
    question = await worker.press(ack, "Xong")
    question = await worker.press(question, "Giải pháp kỹ thuật")
    question = await worker.press(question, "Tăng năng suất")
    question = await worker.press(question, "Bỏ qua")
    review = await worker.press(question, "Có thể chia sẻ")
    done = await worker.press(review, "Gửi")
    ref = re.search(r"SK-\d{4}-\d{6}", text_of(done))
    assert ref
    card = await wait_for(world, SUPPORT, lambda m: ref.group() in text_of(m) and labels(m))
    _, confirm = await press(world, SUPPORT, card, "Duyệt")
    await press(world, SUPPORT, confirm, "Đúng, duyệt")
    world.seeded.append(Seeded(ref.group(), unit, True, True, False, "live"))


async def run_cli(world: World, *args: str) -> str:
    """The CLI in a thread: the stand-in lives in this event loop and must keep answering."""
    return await asyncio.to_thread(cli, world.env, *args)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def next_slot(now: datetime) -> datetime:
    """The next Monday 08:00 in Vietnam (the default digest time) after ``now``."""
    local = now.astimezone(VIETNAM)
    # Early on a Monday (before 08:00 in Vietnam) the next one is today's.
    monday = local.date() + timedelta(days=(7 - local.weekday()) % 7)
    moment = datetime(monday.year, monday.month, monday.day, 8, 0, tzinfo=VIETNAM)
    return moment if moment > local else moment + timedelta(days=7)


async def test_an_official_steers_a_province_by_numbers(world: World) -> None:
    c = world.client
    for user, name in ((OFFICIAL, "Cán bộ"), (WORKER, "Lan"), (SUPPORT, "Anh")):
        await c.upsert_user(user, name, language_code="vi")
    await send_and_approve_one(world)
    official = Person(c, OFFICIAL)
    token = link_token(await run_cli(world, "invite", "--unit", "HCM", "--role", "official"))
    await official.start(token)

    # The province: exact counts, the unit itself and each direct sub-unit.
    [report] = await official.say("/progress")
    text = text_of(report)
    assert shown(world, text) == expected(world, "HCM")
    assert expected(world, "HCM")["HCM"][0] > 10
    assert "Chỉ tiêu: 27 (tổng chỉ tiêu" in text  # 12 + 6 + 4 + 5: HCM has none of its own
    assert "còn 41 ngày" in text

    # Two levels down, and the figures at each.
    answer, district = await press(world, OFFICIAL, report, "LĐLĐ Quận 7")
    assert shown(world, text_of(district)) == expected(world, "HCM-Q7")
    answer, grassroots = await press(world, OFFICIAL, district, "May mặc Nam Sài Gòn")
    assert shown(world, text_of(grassroots)) == expected(world, "HCM-Q7-CTYMAY")
    assert "Chuyền may số 2" in text_of(grassroots)

    # Nothing outside the province: by code, and by a forged button.
    [refused] = await official.say("/progress HN")
    assert "Không tìm thấy đơn vị “HN” trong phạm vi bạn theo dõi" in text_of(refused)
    campaign = button_data(report, "Biểu đồ").split(":")[3]
    before = len(await c.calls("answerCallbackQuery"))
    forged = f"pg:v:{world.ids['HN']}:{campaign}"
    await c.press(OFFICIAL, OFFICIAL, grassroots["message_id"], data=forged, forge=True)
    answers = await c.wait_calls("answerCallbackQuery", count=before + 1)
    params = answers[-1]["params"]
    assert params.get("show_alert") in (True, "true") and "không có quyền" in params["text"]
    still = await c.message(OFFICIAL, grassroots["message_id"])
    assert text_of(still) == text_of(grassroots)

    # Back up to the province, then the chart.
    _, district = await press(world, OFFICIAL, grassroots, "⬆️")
    _, province = await press(world, OFFICIAL, district, "⬆️")
    assert shown(world, text_of(province)) == expected(world, "HCM")
    answer, _ = await press(world, OFFICIAL, province, "Biểu đồ")
    assert "biểu đồ" in answer.get("text", "")
    chart = await wait_for(world, OFFICIAL, lambda m: (m.get("media") or {}).get("type") == "photo")
    png = await c.file_content(chart["media"]["file_id"])
    width, height = png_size(png)
    assert width == 1080 and 400 <= height <= 3000 and 10_000 < len(png) < 1_000_000
    assert "Tỷ lệ đạt chỉ tiêu" in text_of(chart)

    # The spreadsheet of the province's ideas, confidential ones redacted.
    await press(world, OFFICIAL, province, "Bảng tính Excel")
    document = await wait_for(
        world, OFFICIAL, lambda m: (m.get("media") or {}).get("type") == "document"
    )
    assert document["media"]["file_name"] == "HCM-E2E-P1.xlsx"
    workbook = load_workbook(io.BytesIO(await c.file_content(document["media"]["file_id"])))
    rows = list(workbook["Sáng kiến"].iter_rows(values_only=True))
    header = rows[0]
    got = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:] if row[0]}
    hcm = world.paths["HCM"]
    want = {s.ref: s for s in world.seeded if s.counted and world.paths[s.unit].startswith(hcm)}
    assert set(got) == set(want)
    secret = [s for s in want.values() if s.confidential]
    assert secret, "the seed has confidential ideas in the province"
    for s in secret:
        row = got[s.ref]
        # Seeded without a typed title: a title of theirs may be the text, so it stays home.
        assert row["Tiêu đề"] == "(bảo mật)" and row["Lợi ích"] == "Tiết kiệm chi phí"
        assert row["Nội dung"] == "(bảo mật)" and row["Người gửi"] == "(bảo mật)"
    assert not any("bí mật" in str(v) for row in rows for v in row)
    for s in want.values():
        status = got[s.ref]["Trạng thái"]
        assert status.startswith("Đã duyệt" if s.approved else "Đã gửi"), s

    # The weekly digest, when the clock reaches Monday 08:00, once.
    [subscribed] = await official.say("/subscribe")
    assert "Mỗi tuần" in text_of(subscribed)
    slot = next_slot(datetime.now(UTC))
    out = await run_cli(world, "digest", "--now", (slot - timedelta(minutes=1)).isoformat())
    assert out.startswith("0 digests queued")
    out = await run_cli(world, "digest", "--now", slot.isoformat())
    assert out.startswith("1 digests queued")
    digest = await wait_for(world, OFFICIAL, lambda m: "Báo cáo tiến độ hằng tuần" in text_of(m))
    assert shown(world, text_of(digest)) == expected(world, "HCM")
    assert "Biểu đồ" in " ".join(labels(digest))
    out = await run_cli(world, "digest", "--now", (slot + timedelta(hours=3)).isoformat())
    assert out.startswith("0 digests queued")
