"""The support team triages from inside Telegram: real bot process, stand-in Bot API."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.conftest import World
from tests.e2e.harness import Person, button_data, cli, labels, link_token, text_of

WORKER, ANH, BINH, DUNG, OUTSIDER = 8001, 8002, 8003, 8004, 8005
GROUP = -100777
UNIT, DISTRICT = "HCM-Q7-CTYMAY", "HCM-Q7"
REF = re.compile(r"SK-\d{4}-\d{6}")
JSON = dict[str, Any]


async def people(world: World) -> dict[int, Person]:
    c = world.client
    for user, name in (
        (WORKER, "Lan"),
        (ANH, "Anh"),
        (BINH, "Bình"),
        (DUNG, "Dũng"),
        (OUTSIDER, "Khách"),
    ):
        await c.upsert_user(user, name, language_code="vi")
    return {user: Person(c, user) for user in (WORKER, ANH, BINH, DUNG, OUTSIDER)}


async def submit_idea(world: World, worker: Person, text: str) -> str:
    await worker.say("/idea")
    [ack] = await worker.say(text)
    question = await worker.press(ack, "Xong")
    question = await worker.press(question, "Giải pháp kỹ thuật")
    question = await worker.press(question, "Tăng năng suất")
    question = await worker.press(question, "Bỏ qua")
    review = await worker.press(question, "Có thể chia sẻ")
    done = await worker.press(review, "Gửi")
    ref = REF.search(text_of(done))
    assert ref, text_of(done)
    return ref.group()


async def card_in(world: World, chat: int, ref: str, count: int = 1) -> JSON:
    """The newest message in ``chat`` about ``ref`` that carries the triage buttons."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while loop.time() < deadline:
        cards = [
            m
            for m in await world.client.messages(chat)
            if ref in text_of(m) and "Duyệt" in " ".join(labels(m))
        ]
        if len(cards) >= count:
            return cards[-1]
        await world.client.wait_quiet(0.2)
    raise AssertionError(f"no card for {ref} in chat {chat}")


async def press_in(world: World, user: int, chat: int, message: JSON, label: str) -> JSON:
    """Press a button and return the callback answer the bot gave."""
    before = len(await world.client.calls("answerCallbackQuery"))
    data = button_data(message, label)
    await world.client.press(user, chat, message["message_id"], data=data)
    answers = await world.client.wait_calls("answerCallbackQuery", count=before + 1)
    await world.client.wait_quiet(0.3)
    return dict(answers[-1]["params"])


async def decide(world: World, user: int, chat: int, message: JSON, label: str) -> JSON:
    """A decision: the button, then the confirmation's Yes on the same message."""
    await press_in(world, user, chat, message, label)
    confirm = await world.client.message(chat, message["message_id"])
    assert "Đúng" in " ".join(labels(confirm)), text_of(confirm)
    return await press_in(world, user, chat, confirm, "Đúng")


async def forced_reply_prompt(world: World, chat: int, needle: str, count: int = 1) -> JSON:
    """The bot's question to a team member, sent with a forced reply (privacy mode safe)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while loop.time() < deadline:
        prompts = [m for m in await world.client.messages(chat) if needle in text_of(m)]
        if len(prompts) >= count:
            prompt = prompts[-1]
            calls = await world.client.calls("sendMessage", chat_id=chat)
            sent = next(
                c for c in calls if c["response"]["result"]["message_id"] == prompt["message_id"]
            )
            assert "force_reply" in str(sent["params"]["reply_markup"])
            return prompt
        await world.client.wait_quiet(0.2)
    raise AssertionError(f"no prompt {needle!r} in chat {chat}")


async def texts(world: World, chat: int) -> list[str]:
    return [text_of(m) for m in await world.client.messages(chat)]


async def wait_for(world: World, chat: int, wanted: Callable[[JSON], bool]) -> JSON:
    """The first message in ``chat`` that ``wanted`` accepts, waiting up to 10 s for it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while loop.time() < deadline:
        for message in await world.client.messages(chat):
            if wanted(message):
                return message
        await world.client.wait_quiet(0.2)
    raise AssertionError(
        f"the awaited message never reached chat {chat}: {await texts(world, chat)}"
    )


async def wait_text(world: World, chat: int, needle: str) -> str:
    return text_of(await wait_for(world, chat, lambda m: needle in text_of(m)))


async def test_approve_and_two_concurrent_decisions(world: World) -> None:
    p = await people(world)
    support = link_token(world.invite(UNIT, "support"))
    await p[ANH].start(support)
    await p[BINH].start(support)
    await p[WORKER].start(link_token(world.invite(UNIT)))
    ref = await submit_idea(world, p[WORKER], "Gan cam bien tat may nen khi khi chuyen dung")
    card_a, card_b = await card_in(world, ANH, ref), await card_in(world, BINH, ref)
    assert labels(card_a) == ["✅ Duyệt", "❓ Hỏi thêm", "⏫ Chuyển lên", "✖️ Từ chối"]
    # Approve asks first; nothing is decided yet.
    await press_in(world, ANH, ANH, card_a, "Duyệt")
    confirm = await world.client.message(ANH, card_a["message_id"])
    assert "Duyệt" in text_of(confirm) and "?" in text_of(confirm)
    # Both press at the same moment, different buttons: exactly one decision wins.
    c = world.client
    before = len(await c.calls("answerCallbackQuery"))
    await asyncio.gather(
        c.press(ANH, ANH, card_a["message_id"], data=button_data(confirm, "Đúng")),
        c.press(BINH, BINH, card_b["message_id"], data=button_data(card_b, "Hỏi thêm")),
    )
    answers = await c.wait_calls("answerCallbackQuery", count=before + 2)
    await c.wait_quiet(0.5)
    notices = [a["params"].get("text", "") for a in answers[before:]]
    approved_first = any("Đã duyệt" in n for n in notices)
    if approved_first:
        # Bình's question came too late: told who decided, and no question goes out.
        assert any("Anh" in n and "đã được xử lý" in n for n in notices), notices
        await wait_text(world, WORKER, "đã được tổ hỗ trợ duyệt")
        [mine] = await p[WORKER].say("/myideas")
        assert "Đã duyệt" in text_of(mine)
    else:
        # Bình's question went first; Anh's approval still stands afterwards.
        await wait_text(world, WORKER, "Tổ hỗ trợ sáng kiến hỏi")
    final_b = await c.message(BINH, card_b["message_id"])
    assert ref in text_of(final_b)


async def test_request_details_twice_with_a_photo_answer(world: World) -> None:
    p = await people(world)
    await p[ANH].start(link_token(world.invite(UNIT, "support")))
    await p[WORKER].start(link_token(world.invite(UNIT)))
    ref = await submit_idea(world, p[WORKER], "Doi vi tri ke hang de giam quang duong xe nang")
    c = world.client
    for round_, question, answer in (
        (1, "Kệ nào, ở kho nào?", "Ke so 4 o kho thanh pham"),
        (2, "Cho xin ảnh hiện trạng?", None),
    ):
        card = await card_in(world, ANH, ref, count=round_)
        await press_in(world, ANH, ANH, card, "Hỏi thêm")
        prompt = await forced_reply_prompt(world, ANH, "hãy gõ câu hỏi", round_)
        await c.send_text(ANH, question, reply_to=prompt["message_id"])
        asked = await wait_text(world, WORKER, question)
        assert ref in asked
        if answer is not None:
            [ack] = await p[WORKER].say(answer)
        else:
            worker_msgs = await c.messages(WORKER)
            question_msg = next(m for m in reversed(worker_msgs) if question in text_of(m))
            await p[WORKER].press(question_msg, "Trả lời")
            await p[WORKER].send_photo(caption="anh hien trang ke")
            ack = (await c.messages(WORKER))[-1]
        done = await p[WORKER].press(ack, "Gửi trả lời")
        assert "Đã gửi câu trả lời" in text_of(done)
    newest = await card_in(world, ANH, ref, count=3)
    assert "Ke so 4" in text_of(newest) and "anh hien trang ke" in text_of(newest)
    await wait_for(world, ANH, lambda m: (m.get("media") or {}).get("type") == "photo")
    await decide(world, ANH, ANH, newest, "Duyệt")
    [mine] = await p[WORKER].say("/myideas")
    assert "Đã duyệt" in text_of(mine)


async def test_forward_up_then_approve_and_decline_with_reason(world: World) -> None:
    p = await people(world)
    await p[ANH].start(link_token(world.invite(UNIT, "support")))
    await p[DUNG].start(link_token(world.invite(DISTRICT, "support")))
    await p[WORKER].start(link_token(world.invite(UNIT)))
    first = await submit_idea(world, p[WORKER], "Tu dong hoa khau dan nhan bang may in nhiet")
    card = await card_in(world, ANH, first)
    await press_in(world, ANH, ANH, card, "Chuyển lên")
    options = await world.client.message(ANH, card["message_id"])
    await decide(world, ANH, ANH, options, "Quận 7")
    upper = await card_in(world, DUNG, first)
    assert "Anh chuyển lên" in text_of(upper)
    await decide(world, DUNG, DUNG, upper, "Duyệt")
    await wait_text(world, WORKER, "chuyển lên")
    await wait_text(world, WORKER, "đã được tổ hỗ trợ duyệt")

    second = await submit_idea(world, p[WORKER], "Thay toan bo den trong xuong bang den nang luong")
    card = await card_in(world, ANH, second)
    await press_in(world, ANH, ANH, card, "Từ chối")
    reasons = await world.client.message(ANH, card["message_id"])
    await press_in(world, ANH, ANH, reasons, "Lý do khác")
    prompt = await forced_reply_prompt(world, ANH, "hãy gõ lý do")
    await world.client.send_text(ANH, "Mái xưởng không đủ chịu lực", reply_to=prompt["message_id"])
    told = await wait_text(world, WORKER, "chưa thể chấp nhận")
    assert "Mái xưởng không đủ chịu lực" in told
    [mine] = await p[WORKER].say("/myideas")
    assert "Chưa được chấp nhận" in text_of(mine) and "Đã duyệt" in text_of(mine)


async def test_group_binding_with_privacy_mode_and_an_outsider(world: World) -> None:
    p = await people(world)
    c = world.client
    await c.create_group("Tổ hỗ trợ SK May Nam Sài Gòn", [ANH, OUTSIDER], chat_id=GROUP)
    token = link_token(world.invite(UNIT, "support"))
    await c.startgroup(ANH, GROUP, token)
    bound = await wait_text(world, GROUP, "Nhóm này đã trở thành nhóm")
    assert "tổ hỗ trợ sáng kiến" in bound
    # With privacy mode on, ordinary chatter in the group never reaches the bot.
    await c.send_text(OUTSIDER, "chào cả nhà", chat_id=GROUP)
    await p[WORKER].start(link_token(world.invite(UNIT)))
    ref = await submit_idea(world, p[WORKER], "Lap them binh chua chay o hanh lang xuong 3")
    card = await card_in(world, GROUP, ref)
    assert not [t for t in await texts(world, ANH) if ref in t], "cards go to the group"
    refusal = await press_in(world, OUTSIDER, GROUP, card, "Duyệt")
    assert refusal.get("show_alert") in (True, "true") and "tổ hỗ trợ" in refusal["text"]
    forged = f"tr:{button_data(card, 'Duyệt').split(':')[1]}:ok"
    before = len(await c.calls("answerCallbackQuery"))
    await c.press(OUTSIDER, GROUP, card["message_id"], data=forged, forge=True)
    await c.wait_calls("answerCallbackQuery", count=before + 1)
    await press_in(world, ANH, GROUP, card, "Hỏi thêm")
    prompt = await forced_reply_prompt(world, GROUP, "hãy gõ câu hỏi")
    await c.send_text(ANH, "Bình loại nào, mấy kg?", chat_id=GROUP, reply_to=prompt["message_id"])
    await wait_text(world, WORKER, "Bình loại nào")
    [mine] = await p[WORKER].say("/myideas")
    assert "Cần bổ sung thông tin" in text_of(mine)


async def test_reminder_then_escalation_when_the_clock_moves(world: World) -> None:
    p = await people(world)
    await p[ANH].start(link_token(world.invite(UNIT, "support")))
    await p[DUNG].start(link_token(world.invite(DISTRICT, "support")))
    await p[WORKER].start(link_token(world.invite(UNIT)))
    ref = await submit_idea(world, p[WORKER], "Bo tri lai loi thoat hiem o xuong cat")
    now = datetime.now(UTC)
    out = cli(world.env, "reminders", "--now", (now + timedelta(days=1)).isoformat())
    assert "0 reminded" in out
    out = cli(world.env, "reminders", "--now", (now + timedelta(days=6)).isoformat())
    assert "1 reminded" in out
    reminder = await wait_text(world, ANH, "Nhắc việc")
    assert ref in reminder
    out = cli(world.env, "reminders", "--now", (now + timedelta(days=12)).isoformat())
    assert "1 escalated" in out
    escalation = await wait_text(world, DUNG, "chưa xử lý")
    assert ref in escalation
