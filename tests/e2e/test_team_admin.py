"""The support team managed in the chat (issue #19): real bot process, stand-in Bot API.

A support member invites a colleague from the chat (the QR code is a PNG that decodes
to the link the bot wrote, and the link makes the colleague a member), removes another
member whose next press on a card is refused, and an idea of a grassroots union with
no team reaches the district's team, told why.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from standins.telegram.server import StandinServer
from tests.e2e.conftest import World
from tests.e2e.harness import (
    BotProcess,
    Person,
    base_env,
    button_data,
    labels,
    link_token,
    migrated_with_sample_tree,
    text_of,
)
from tests.e2e.test_triage import card_in, press_in, submit_idea, wait_for, wait_text

WORKER, WORKER2, ANH, BINH, CUONG, DUNG = 8101, 8102, 8103, 8104, 8105, 8106
UNIT, EMPTY, DISTRICT = "HCM-Q7-CTYMAY", "HCM-Q7-CKTT", "HCM-Q7"
LINK = re.compile(r"https://t\.me/sangkien_bot\?start=[A-Za-z0-9_-]+")


@pytest.fixture
async def world(tmp_path: Path, framework: str) -> AsyncIterator[World]:
    async with StandinServer(port=0) as server:
        env = base_env(tmp_path, server.base_url, framework)
        env["REPORTS_DIRECTORY"] = str(tmp_path / "reports")  # where the QR code waits
        migrated_with_sample_tree(env)
        bot = BotProcess(env, tmp_path / "bot.log")
        client = server.client()
        try:
            await bot.start()
            yield World(server, client, bot, env, tmp_path)
        finally:
            await bot.stop()
            await client.close()
            log = bot.full_log()
            assert "Traceback" not in log, log


async def test_a_support_member_manages_the_team_from_the_chat(world: World) -> None:
    c = world.client
    names = {WORKER: "Lan", WORKER2: "Hoa", ANH: "Anh", BINH: "Bình", CUONG: "Cường", DUNG: "Dũng"}
    for user, name in names.items():
        await c.upsert_user(user, name, language_code="vi")
    p = {user: Person(c, user) for user in names}
    await p[ANH].start(link_token(world.invite(UNIT, "support")))
    await p[BINH].start(link_token(world.invite(UNIT, "support")))
    await p[DUNG].start(link_token(world.invite(DISTRICT, "support")))

    # Anh invites a colleague from the chat: the link as text, its QR code as a picture.
    [view] = await p[ANH].say("/team")
    assert "Anh" in text_of(view) and "Bình" in text_of(view)
    await p[ANH].press(view, "Mời thành viên")
    invite = await wait_for(world, ANH, lambda m: LINK.search(text_of(m)) is not None)
    link = LINK.search(text_of(invite))
    assert link is not None and "một lần" in text_of(invite)
    photo = await wait_for(world, ANH, lambda m: (m.get("media") or {}).get("type") == "photo")
    png = await c.file_content(photo["media"]["file_id"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    decoded = zxingcpp.read_barcode(Image.open(io.BytesIO(png)))
    assert decoded is not None and decoded.text == link.group()
    [joined] = await p[CUONG].start(link.group().split("?start=", 1)[1])
    assert "tổ hỗ trợ" in text_of(joined)

    # An idea: the three members get its card. Anh removes Bình, whose next press is refused.
    await p[WORKER].start(link_token(world.invite(UNIT)))
    ref = await submit_idea(world, p[WORKER], "Dùng cảm biến để tắt đèn kho khi không có người")
    binh_card = await card_in(world, BINH, ref)
    await card_in(world, CUONG, ref)
    [view] = await p[ANH].say("/team")
    assert "Cường" in text_of(view)
    pick = await p[ANH].press(view, "Bớt một thành viên")
    confirm = await p[ANH].press(pick, "Bình")
    assert "Bớt Bình" in text_of(confirm)
    done = await p[ANH].press(confirm, "Đúng, bớt")
    assert "Đã bớt Bình" in text_of(done)
    await wait_text(world, CUONG, "Anh đã bớt Bình")
    # His card lost its buttons at once; a press of the old button (a phone that still
    # shows it) is refused.
    shown = await c.message(BINH, binh_card["message_id"])
    assert not labels(shown)
    before = len(await c.calls("answerCallbackQuery"))
    data = button_data(binh_card, "Duyệt")
    await c.press(BINH, BINH, binh_card["message_id"], data=data, forge=True)
    answers = await c.wait_calls("answerCallbackQuery", count=before + 1)
    refused = answers[-1]["params"]
    assert refused.get("show_alert") and "Chỉ tổ hỗ trợ sáng kiến" in refused.get("text", "")
    # Cường, still on the team, decides it.
    card = await card_in(world, CUONG, ref)
    await press_in(world, CUONG, CUONG, card, "Duyệt")
    confirm = await c.message(CUONG, card["message_id"])
    await press_in(world, CUONG, CUONG, confirm, "Đúng")
    await wait_text(world, WORKER, "đã được tổ hỗ trợ duyệt")

    # A grassroots union with no team: its idea reaches the district's team, told why.
    await p[WORKER2].start(link_token(world.invite(EMPTY)))
    ref2 = await submit_idea(world, p[WORKER2], "Lắp quạt hút ở xưởng sơn để giảm bụi")
    await card_in(world, DUNG, ref2)
    why = await wait_text(world, DUNG, f"{ref2}:")
    assert "chưa có tổ hỗ trợ sáng kiến" in why
