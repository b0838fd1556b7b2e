"""The found leaks, tried again through the real bot process against the stand-in.

1. A district support member forges ``tr:<id>:open`` for a confidential idea below.
2. The same member forges ``tr:<id>:ok`` for an idea the grassroots team still holds.
7. In the team's group, a member without a role reads the confidential card.
"""

from __future__ import annotations

import re

from tests.e2e.conftest import World
from tests.e2e.harness import Person, button_data, labels, link_token, text_of
from tests.e2e.test_triage import card_in, press_in, texts, wait_for

WORKER, ANH, DUNG, LURKER = 8101, 8102, 8103, 8104
GROUP = -100888
UNIT, DISTRICT = "HCM-Q7-CTYMAY", "HCM-Q7"
REF = re.compile(r"SK-\d{4}-\d{6}")
SECRET = "Doi nhiet do lo say xuong 160 do, goi toi 0912 345 678"
WORKER_NAME = "Trần Thị Mật"


async def confidential_idea(worker: Person) -> str:
    await worker.say("/idea")
    [ack] = await worker.say(SECRET)
    question = await worker.press(ack, "Xong")
    question = await worker.press(question, "Giải pháp kỹ thuật")
    question = await worker.press(question, "Tiết kiệm chi phí")
    question = await worker.press(question, "Bỏ qua")
    question = await worker.press(question, "Bảo mật")
    [review] = await worker.say("Giam nhiet lo say")
    done = await worker.press(review, "Gửi")
    ref = REF.search(text_of(done))
    assert ref, text_of(done)
    return ref.group()


def leaks(text: str) -> bool:
    return "0912" in text or "160 do" in text or WORKER_NAME in text


async def test_found_leaks_stay_shut(world: World) -> None:
    c = world.client
    for user, name in ((WORKER, WORKER_NAME), (ANH, "Anh"), (DUNG, "Dũng"), (LURKER, "Khách")):
        await c.upsert_user(user, name, language_code="vi")
    worker, anh, dung, lurker = (Person(c, u) for u in (WORKER, ANH, DUNG, LURKER))
    support = link_token(world.invite(UNIT, "support"))
    await anh.start(support)
    await dung.start(link_token(world.invite(DISTRICT, "support")))
    await lurker.start()
    await c.create_group("Tổ hỗ trợ SK", [ANH, LURKER], chat_id=GROUP)
    await c.startgroup(ANH, GROUP, link_token(world.invite(UNIT, "support")))
    await wait_for(world, GROUP, lambda m: "Nhóm này đã trở thành nhóm" in text_of(m))
    await worker.start(link_token(world.invite(UNIT)))
    ref = await confidential_idea(worker)

    # 7. The group gets the summary only, with a button to read it privately.
    card = await card_in(world, GROUP, ref)
    assert not leaks(text_of(card)) and "🔒 Xem đầy đủ (nhắn riêng)" in labels(card)
    refusal = await press_in(world, LURKER, GROUP, card, "Xem đầy đủ")
    assert refusal.get("show_alert") in (True, "true")
    assert not [t for t in await texts(world, LURKER) if ref in t]
    told = await press_in(world, ANH, GROUP, card, "Xem đầy đủ")
    assert "tin nhắn riêng" in told.get("text", "")
    private = await card_in(world, ANH, ref)
    assert "0912 345 678" in text_of(private) and WORKER_NAME in text_of(private)

    # 1 and 2. The district's member forges open and approve on the idea's id.
    idea_id = button_data(card, "Duyệt").split(":")[1]
    welcome = (await c.messages(DUNG))[0]["message_id"]  # any message of theirs will carry it
    for action in ("ok", "fwdto:1", "nor:duplicate", "ask"):
        before = len(await c.calls("answerCallbackQuery"))
        await c.press(DUNG, DUNG, welcome, data=f"tr:{idea_id}:{action}", forge=True)
        [*_, answer] = await c.wait_calls("answerCallbackQuery", count=before + 1)
        assert answer["params"].get("show_alert") in (True, "true"), action
    await c.wait_quiet(0.5)
    assert not [t for t in await texts(world, DUNG) if ref in t], "nothing reached the district"
    # Opening it brings the district what may leave the unit: the summary, no buttons.
    await c.press(DUNG, DUNG, welcome, data=f"tr:{idea_id}:open", forge=True)
    summary = await wait_for(world, DUNG, lambda m: ref in text_of(m))
    assert "Giam nhiet lo say" in text_of(summary) and not leaks(text_of(summary))
    assert not labels(summary)
    [mine] = await worker.say("/myideas")
    assert "Đã gửi" in text_of(mine), "still waiting for its own team"
    assert not [t for t in await texts(world, WORKER) if "đã được tổ hỗ trợ duyệt" in t]
    assert not leaks(world.bot.full_log())
