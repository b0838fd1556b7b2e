"""Workers on Zalo, support team on Telegram: the real bot process with both channels on,
against both stand-ins (in this process). The tests act only as people do, through the
stand-ins' control APIs, and read only what the bot sent."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from standins.telegram.client import StandinClient
from standins.telegram.server import StandinServer
from standins.zalo import EXAMPLE_TOKEN, ZaloStandinClient, ZaloStandinServer
from tests.e2e.conftest import World
from tests.e2e.harness import (
    BotProcess,
    Person,
    base_env,
    labels,
    link_token,
    migrated_with_sample_tree,
    text_of,
)
from tests.e2e.test_triage import (
    card_in,
    decide,
    forced_reply_prompt,
    press_in,
    wait_for,
    wait_text,
)

JSON = dict[str, Any]
UNIT = "HCM-Q7-CTYMAY"
ANH, TG_WORKER = 9002, 9003
ZALO_WORKER, ZALO_ANH = "7a1f0c9e2b4d6e8f0a1b", "3c5e7a9b1d2f4a6c8e0b"
REF = re.compile(r"SK-\d{4}-\d{6}")
ZALO_READY = "zalo: receiving"
MAX_ZALO_TEXT = 2000
TAG = re.compile(r"</?(b|i|u|s|a|code|pre|blockquote)\b[^>]*>")


@dataclass
class Both:
    telegram: World
    zalo_server: ZaloStandinServer
    zalo: ZaloStandinClient

    @property
    def tg(self) -> StandinClient:
        return self.telegram.client


class ZaloPerson:
    """Someone writing to the bot on Zalo, through the Zalo stand-in."""

    def __init__(self, client: ZaloStandinClient, user_id: str) -> None:
        self.client = client
        self.id = user_id

    async def say(self, text: str, count: int = 1) -> list[JSON]:
        return await self.client.wait_reply(await self.client.send_text(self.id, text), count, 15)

    async def photo(self, caption: str | None = None, count: int = 1) -> list[JSON]:
        sent = await self.client.send_photo(self.id, caption=caption, width=800, height=600)
        return await self.client.wait_reply(sent, count, 15)

    async def wait_text(self, needle: str) -> JSON:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while loop.time() < deadline:
            for message in await self.client.messages(self.id):
                if needle in (message["text"] or message["caption"] or ""):
                    return message
            await self.client.wait_quiet(0.2)
        texts = [m["text"] for m in await self.client.messages(self.id)]
        raise AssertionError(f"{needle!r} never reached the Zalo chat: {texts}")


@pytest.fixture(params=["aiogram", "ptb"])
async def both(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Both]:
    async with StandinServer(port=0) as telegram, ZaloStandinServer() as zalo:
        env = base_env(tmp_path, telegram.base_url, str(request.param))
        env.update(
            ZALO_BOT_TOKEN=EXAMPLE_TOKEN,
            ZALO_API_BASE=zalo.base_url,
            ZALO_POLLING_TIMEOUT="2",
            REPORTS_DIRECTORY=str(tmp_path / "reports"),
        )
        migrated_with_sample_tree(env)
        bot = BotProcess(env, tmp_path / "bot.log")
        client, people = telegram.client(), zalo.client()
        try:
            await bot.start()
            await _wait_log(bot, ZALO_READY)
            yield Both(World(telegram, client, bot, env, tmp_path), zalo, people)
        finally:
            await bot.stop()
            await client.close()
            await people.close()
            log = bot.full_log()
            assert "Traceback" not in log, log


async def _wait_log(bot: BotProcess, line: str, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while line not in bot.full_log():
        assert loop.time() < deadline, f"no {line!r} in the log:\n{bot.full_log()}"
        await asyncio.sleep(0.05)


async def zalo_texts_respect_the_limits(both: Both) -> None:
    """Every text the bot sent to Zalo: accepted, plain, at most 2,000 characters."""
    calls = await both.zalo.calls()
    sends = [c for c in calls if c["method"] in ("sendMessage", "sendPhoto")]
    assert sends, "the bot sent nothing to Zalo"
    refused = [(c["method"], c["response"]) for c in sends if c["status"] != 200]
    assert refused == []
    for call in sends:
        text = call["params"].get("text") or call["params"].get("caption") or ""
        assert len(text.encode("utf-16-le")) // 2 <= MAX_ZALO_TEXT
        assert not TAG.search(text), text
        assert "&lt;" not in text and "&amp;" not in text, text


async def test_zalo_worker_and_telegram_team(both: Both) -> None:
    """Done means: a Zalo worker joins by code, submits an idea with a photo, answers a
    request-details question and is told of the approval; a Telegram team handles it."""
    tg, world = both.tg, both.telegram
    await tg.upsert_user(ANH, "Anh", language_code="vi")
    anh = Person(tg, ANH)
    await anh.start(link_token(world.invite(UNIT, "support")))
    await both.zalo.upsert_user(ZALO_WORKER, "Nguyễn Thị Lan")
    lan = ZaloPerson(both.zalo, ZALO_WORKER)

    # Joins by the unit's code: the matches come as a numbered list, picked by number.
    [ask] = await lan.say("/join")
    assert "1." not in ask["text"]
    [found] = await lan.say(UNIT.lower())
    assert "\n1. " in found["text"]
    [confirm] = await lan.say("1")
    assert re.search(r"\n1\. Tham gia\n2\. ", confirm["text"]), confirm["text"]
    [joined] = await lan.say("một")
    assert "Công ty" in joined["text"] or "CĐCS" in joined["text"], joined["text"]

    # The idea in her own words, a photo, then the choices by number, "1." and words.
    [body] = await lan.say("gửi sáng kiến")
    assert "Hủy" in body["text"]
    [received] = await lan.say(
        "Gan cam bien tat may nen khi khi chuyen dung de tiet kiem dien vao gio nghi trua"
    )
    assert "1. Xong" in received["text"]
    [with_photo] = await lan.photo("anh may nen khi o xuong 2")
    assert "1. Xong" in with_photo["text"]
    [category] = await lan.say("xong")
    assert "1. 🔧 Giải pháp kỹ thuật" in category["text"]
    [benefit] = await lan.say("1.")
    [amount] = await lan.say("tang nang suat")
    assert "Bỏ qua" in amount["text"]
    [confidential] = await lan.say("bo qua")
    [review] = await lan.say("2")
    assert "Có thể chia sẻ" in review["text"] and "1. Gửi" in review["text"]
    [done] = await lan.say("1")
    ref_match = REF.search(done["text"])
    assert ref_match, done["text"]
    ref = ref_match.group()
    assert benefit["text"] and confidential["text"]

    # The Telegram team: the card with its buttons, and the photo uploaded from Zalo.
    card = await card_in(world, ANH, ref)
    assert "Gan cam bien" in text_of(card) and "Nguyễn Thị Lan" in text_of(card)
    assert labels(card) == ["✅ Duyệt", "❓ Hỏi thêm", "⏫ Chuyển lên", "✖️ Từ chối"]
    photo = await wait_for(world, ANH, lambda m: (m.get("media") or {}).get("type") == "photo")
    stored = await tg.file_info(photo["media"]["file_id"])
    assert stored["url"] is None  # an upload, not a link Telegram would have to fetch
    [zalo_photo] = [
        m for m in await both.zalo.messages(ZALO_WORKER, sender="user") if m["photo_url"]
    ]
    assert await tg.file_content(photo["media"]["file_id"]) == await both.zalo.media(
        zalo_photo["photo_url"]
    )

    # Anh asks for details; Lan answers on Zalo and sends it with "1".
    await press_in(world, ANH, ANH, card, "Hỏi thêm")
    prompt = await forced_reply_prompt(world, ANH, "hãy gõ câu hỏi")
    await tg.send_text(ANH, "Máy nén khí nào, ở xưởng mấy?", reply_to=prompt["message_id"])
    question = await lan.wait_text("Máy nén khí nào")
    assert ref in question["text"] and "1. ✍️ Trả lời" in question["text"]
    [collected] = await lan.say("May nen khi so 3 o xuong 2, chay 24/24")
    assert "1. Gửi trả lời" in collected["text"]
    [sent] = await lan.say("1")
    assert "Đã gửi câu trả lời" in sent["text"]

    # The answer reaches the team; Anh approves; Lan is told on Zalo.
    newest = await card_in(world, ANH, ref, count=2)
    assert "May nen khi so 3" in text_of(newest)
    await decide(world, ANH, ANH, newest, "Duyệt")
    approved = await lan.wait_text("đã được tổ hỗ trợ duyệt")
    assert ref in approved["text"]
    await zalo_texts_respect_the_limits(both)
    # (/myideas after the check: its Telegram HTML is escaped twice by my_ideas itself,
    # so its tags show as text on Telegram and on Zalo alike.)
    [mine] = await lan.say("/myideas")
    assert "Đã duyệt" in mine["text"]


async def test_linked_accounts_triage_from_zalo_an_idea_sent_on_telegram(both: Both) -> None:
    """A support member links Zalo to their Telegram account, and decides on Zalo."""
    tg, world = both.tg, both.telegram
    for user, name in ((ANH, "Anh"), (TG_WORKER, "Bình")):
        await tg.upsert_user(user, name, language_code="vi")
    anh, worker = Person(tg, ANH), Person(tg, TG_WORKER)
    await anh.start(link_token(world.invite(UNIT, "support")))
    [code_message] = await anh.say("/link")
    code = re.search(r"\b(\d{6})\b", text_of(code_message))
    assert code, text_of(code_message)
    await both.zalo.upsert_user(ZALO_ANH, "Anh (Zalo)")
    anh_zalo = ZaloPerson(both.zalo, ZALO_ANH)
    [linked] = await anh_zalo.say(f"liên kết {code.group(1)}")
    assert "Đã liên kết" in linked["text"] and "Telegram" in linked["text"]
    await wait_text(world, ANH, "Zalo")

    # A worker on Telegram sends an idea with a photo: the card reaches both of Anh's chats.
    await worker.start(link_token(world.invite(UNIT)))
    await worker.say("/idea")
    [ack] = await worker.say("Lap them binh chua chay o hanh lang xuong 3 gan kho son")
    await worker.send_photo(caption="hanh lang xuong 3")
    question = await worker.press(await worker.last(), "Xong")
    for label in ("An toàn lao động", "An toàn", "Bỏ qua", "Có thể chia sẻ", "Gửi"):
        question = await worker.press(question, label)
    ref_match = REF.search(text_of(question))
    assert ref_match and ack, text_of(question)
    ref = ref_match.group()
    telegram_card = await card_in(world, ANH, ref)
    zalo_card = await anh_zalo.wait_text(ref)
    assert "1. ✅ Duyệt\n2. ❓ Hỏi thêm" in zalo_card["text"]
    await anh_zalo.wait_text("chỉ xem được trên Telegram")  # a Telegram photo on Zalo

    # Anh decides on Zalo, in words; the worker on Telegram is told, the cards follow.
    [confirm] = await anh_zalo.say("duyet")  # a decision asks first
    assert f"Duyệt {ref}?" in confirm["text"] and "1. ✅ Đúng, duyệt" in confirm["text"]
    notice, card_now = await anh_zalo.say("1", count=2)
    assert notice["text"] == "Đã duyệt sáng kiến."  # Telegram's toast, as a message
    assert "Đã duyệt" in card_now["text"] and "1. ✅" not in card_now["text"]
    await wait_text(world, TG_WORKER, "đã được tổ hỗ trợ duyệt")
    await both.zalo.wait_quiet(0.5)
    final = await tg.message(ANH, telegram_card["message_id"])
    assert "Đã duyệt" in text_of(final) and labels(final) == []
    [late] = await anh_zalo.say("1")  # the Zalo card's choices went with the decision
    assert "Gửi sáng kiến: /idea" in late["text"] and "đã được xử lý" not in late["text"]
    await zalo_texts_respect_the_limits(both)
