"""A worker sends an idea from Telegram, end to end: real bot process, stand-in Bot API."""

from __future__ import annotations

import re

from tests.e2e.conftest import World
from tests.e2e.harness import TOKEN, Person, cli, labels, link_token, text_of

WORKER, SUPPORT = 7001, 7002
REF = re.compile(r"SK-\d{4}-\d{6}")


async def test_worker_joins_by_link_and_sends_unaccented_idea_with_photo(world: World) -> None:
    c = world.client
    await c.upsert_user(WORKER, "Lan", last_name="Phạm", language_code="vi")
    await c.upsert_user(SUPPORT, "Bình", last_name="Trần", language_code="vi")
    worker, support = Person(c, WORKER), Person(c, SUPPORT)

    support_token = link_token(world.invite("HCM-Q7-CTYMAY", "support"))
    [welcome] = await support.start(support_token)
    assert "tổ hỗ trợ sáng kiến" in text_of(welcome)

    [joined] = await worker.start(link_token(world.invite("HCM-Q7-CTYMAY")))
    assert "Công ty" in text_of(joined)

    [ask] = await worker.say("/idea")
    assert "Sáng kiến của bạn là gì" in text_of(ask)
    [ack] = await worker.say("De xuat lap mang che nang o bai xe de xe may cong nhan khong bi nong")
    [ack] = await worker.send_photo(caption="anh bai xe hien tai")
    assert labels(ack) == ["Xong", "Hủy"]
    question = await worker.press(ack, "Xong")
    question = await worker.press(question, "Khác")
    question = await worker.press(question, "Môi trường")
    [question] = await worker.say("2 trieu")
    review = await worker.press(question, "Có thể chia sẻ")
    assert "Xem lại sáng kiến" in text_of(review)
    assert labels(review) == ["Gửi", "Sửa", "Hủy"]
    done = await worker.press(review, "Gửi")
    ref = REF.search(text_of(done))
    assert ref, text_of(done)
    assert not labels(done), "the submitted card has no buttons left"

    card, photo = (await c.wait_messages(SUPPORT, 3))[1:]
    assert ref.group() in text_of(card) and "Lan Phạm" in text_of(card)
    assert "mang che nang" in text_of(card)
    assert (photo["media"] or {}).get("type") == "photo", photo

    [mine] = await worker.say("/myideas")
    assert ref.group() in text_of(mine)
    assert TOKEN.split(":")[1] not in world.bot.full_log()
    assert "mang che nang" not in world.bot.full_log(), "idea text must not reach the logs"


async def test_english_worker_end_to_end(world: World) -> None:
    c = world.client
    await c.upsert_user(WORKER, "Mary", language_code="en")
    await c.upsert_user(SUPPORT, "Bình", language_code="vi")
    worker, support = Person(c, WORKER), Person(c, SUPPORT)
    await support.start(link_token(world.invite("HN-DTTL", "support")))
    [joined] = await worker.start(link_token(world.invite("HN-DTTL")))
    assert "You have joined" in text_of(joined)
    [ask] = await worker.say("/idea")
    assert labels(ask) == ["Cancel"]
    [ack] = await worker.say("Label the spare parts shelves by machine so changeovers are faster")
    assert labels(ack) == ["Done", "Cancel"]
    question = await worker.press(ack, "Done")
    question = await worker.press(question, "Operations")
    question = await worker.press(question, "Raises productivity")
    assert labels(question) == ["Skip"]
    question = await worker.press(question, "Skip")
    question = await worker.press(question, "Confidential")
    # Confidential: a short title is asked for, with what goes to higher levels.
    assert "short title" in text_of(question) and "go to higher levels" in text_of(question)
    assert labels(question) == ["🌐 Make it shareable instead", "Cancel"]
    [review] = await worker.say("Shelf labels by machine")
    assert "Shelf labels by machine" in text_of(review)
    assert "go to higher levels" in text_of(review)
    assert labels(review) == ["Submit", "Edit", "Cancel"]
    done = await worker.press(review, "Submit")
    assert "Your idea has been submitted" in text_of(done)
    ref = REF.search(text_of(done))
    assert ref
    [card] = (await c.wait_messages(SUPPORT, 2))[1:]
    # The team member reads Vietnamese, the card is in Vietnamese; same unit: full card.
    assert "Đã gửi, chờ xem xét" in text_of(card) and "Mary" in text_of(card)
    [mine] = await worker.say("/myideas")
    assert ref.group() in text_of(mine) and "Submitted" in text_of(mine)


async def test_restart_mid_form_resumes_where_it_was(world: World) -> None:
    c = world.client
    await c.upsert_user(WORKER, "Hùng", language_code="vi")
    worker = Person(c, WORKER)
    await worker.start(link_token(world.invite("LA-KCN-THEP")))
    await worker.say("/idea")
    [ack] = await worker.say("Thu hoi nhiet thua tu lo nung de say phoi thep, giam dien nang")
    question = await worker.press(ack, "Xong")
    assert "loại nào" in text_of(question)

    assert await world.bot.stop() == 0, "SIGTERM is a clean stop"
    await world.bot.start()

    question = await worker.press(question, "Giải pháp kỹ thuật")
    assert "lợi ích" in text_of(question)
    question = await worker.press(question, "Tiết kiệm chi phí")
    [question] = await worker.say("150tr")
    question = await worker.press(question, "Bảo mật")
    assert "tiêu đề ngắn" in text_of(question)
    [review] = await worker.say("Thu hoi nhiet lo nung")
    assert "150.000.000 đ" in text_of(review) and "Thu hoi nhiet thua" in text_of(review)
    done = await worker.press(review, "Gửi")
    assert REF.search(text_of(done))


async def test_bad_input_gets_polite_answers(world: World) -> None:
    c = world.client
    await c.upsert_user(WORKER, "Tú", language_code="vi")
    worker = Person(c, WORKER)
    [answer] = await worker.start("forged-token-that-does-not-exist")
    assert "không hợp lệ" in text_of(answer)
    [answer] = await worker.say("/khonglenh")
    assert "/khonglenh" in text_of(answer)
    [answer] = await c.wait_reply(await c.send_sticker(WORKER))
    assert "/idea" in text_of(answer)
    [answer] = await c.wait_reply(await c.send_location(WORKER, 10.76, 106.66))
    assert "chữ, ảnh" in text_of(answer)
    [answer] = await worker.say("<b>xin chao</b> & <i>")
    assert "/idea" in text_of(answer)
    need_unit, answer = await worker.say("/idea", count=2)  # no unit yet: find it first
    assert "đơn vị" in text_of(need_unit)
    before = len(await worker.all())
    forged = "idea:zzzzzz:review:submit"
    await c.press(WORKER, WORKER, answer["message_id"], data=forged, forge=True)
    [refusal] = await c.wait_calls("answerCallbackQuery")
    assert "cũ" in refusal["params"]["text"]
    # The current question is asked again.
    await c.wait_messages(WORKER, before + 1)
    [answer] = await worker.say("x" * 101)
    assert "quá dài" in text_of(answer)


async def test_revoked_invite_stops_working_and_tokens_stay_out_of_logs(world: World) -> None:
    c = world.client
    await c.upsert_user(WORKER, "Tú", language_code="vi")
    token = link_token(world.invite("HN-DTTL", "member", "--note", "poster A"))
    listing = cli(world.env, "invites", "list", "--unit", "HN-DTTL")
    invite_id = next(line.split()[1] for line in listing.splitlines() if "poster A" in line)
    assert "revoked" in cli(world.env, "invites", "revoke", invite_id)
    [answer] = await Person(c, WORKER).start(token)
    assert "không hợp lệ" in text_of(answer)
    assert token not in world.bot.full_log()
    assert "revoked" in cli(world.env, "invites", "list", "--unit", "HN-DTTL")
