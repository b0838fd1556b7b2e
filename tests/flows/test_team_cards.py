"""The support team's cards as a busy member on a phone meets them (issue 16, items 8-10, 13).

Decisions wait for a confirmation, the worker's answer sits at the top of the card, an
opened card is one card, times read as a Vietnamese reader says them, no edit repeats
what a message already shows, and a team's group speaks the language it chose.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers.events import ChatRef, OutMessage
from storage.models import OutboxMessage, RoleKind, Unit
from tests.flows.harness import Harness
from tests.flows.test_confidential_cards import card_to_team, group_card
from tests.flows.test_triage import (
    ANH,
    BINH,
    BUTTONS_VI,
    DUNG,
    OUTSIDER,
    WORKER,
    card_of,
    events,
    idea_now,
    submit,
    support,
)
from tests.flows.test_worker_idea import invite
from tests.flows.trust import AUTHOR, make_world, new_idea
from tests.flows.trust import GROUP as GROUP_T

GROUP = ChatRef("telegram", "-100700", "group", "Tổ hỗ trợ SK")


async def test_approve_waits_for_yes_and_back_undoes_a_mis_tap(
    harness: Harness, units: dict[str, Unit]
) -> None:
    h = harness
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    idea = await submit(h, units["HCM-Q7-MAY"])
    told_before = len(h.screen(WORKER))
    r = await h.click(ANH, card_of(h, ANH, idea.ref_code), "Duyệt")
    confirm = r.last
    assert f"Duyệt {idea.ref_code}?" in confirm.text
    assert confirm.labels == ["✅ Đúng, duyệt", "« Quay lại"]
    assert (await idea_now(h, idea.id)).status == "submitted"
    # Someone outside the team forges the confirmation's button: refused, as every press.
    forged = await h.press(OUTSIDER, confirm.button("Đúng"))
    assert forged.answer is not None and forged.answer.alert
    r = await h.click(ANH, confirm, "Quay lại")  # the mis-tap, undone
    assert r.last.labels == BUTTONS_VI
    await h.deliver()
    assert len(h.screen(WORKER)) == told_before, "the worker heard nothing of the mis-tap"
    r = await h.click(ANH, r.last, "Duyệt")
    r = await h.click(ANH, r.last, "Đúng, duyệt")
    assert (await idea_now(h, idea.id)).status == "approved"
    assert any("đã được tổ hỗ trợ duyệt" in m.text for m in h.screen(WORKER))
    # A second Yes (a double tap) decides nothing more.
    again = await h.click(ANH, confirm, "Đúng")
    assert again.answer is not None and "Anh" in again.answer.text
    assert [k for k, _ in await events(h, idea.id)] == ["submitted", "approved"]


async def test_forward_names_the_unit_and_waits_for_yes(
    harness: Harness, units: dict[str, Unit]
) -> None:
    h = harness
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    await support(h, DUNG, units["HCM-Q7"], "Dũng")
    idea = await submit(h, units["HCM-Q7-MAY"])
    r = await h.click(ANH, card_of(h, ANH, idea.ref_code), "Chuyển lên")
    r = await h.click(ANH, r.last, "Quận 7")
    assert f"Chuyển {idea.ref_code} lên Liên đoàn Lao động Quận 7?" in r.last.text
    assert (await idea_now(h, idea.id)).holder_unit_id == units["HCM-Q7-MAY"].id
    r = await h.click(ANH, r.last, "Đúng, chuyển lên")
    assert (await idea_now(h, idea.id)).holder_unit_id == units["HCM-Q7"].id
    assert card_of(h, DUNG, idea.ref_code).labels == BUTTONS_VI


async def answer_a_question(h: Harness, idea_ref: str, card_chat: int | str) -> None:
    r = await h.click(ANH, card_of(h, card_chat, idea_ref), "Hỏi thêm")
    if card_chat == ANH:
        await h.send(ANH, "Máy nén nào, ở xưởng nào?", name="Anh")
    else:
        await h.feed(h.incoming(ANH, text="Máy nén nào, ở xưởng nào?", chat=GROUP, name="Anh"))
    assert r.last.message.force_reply
    r = await h.send(WORKER, "May nen so 2 o xuong det")
    await h.click(WORKER, r.last, "Gửi trả lời")
    await h.deliver()


async def test_the_card_shows_the_workers_answer_at_the_top(
    harness: Harness, units: dict[str, Unit]
) -> None:
    h = harness
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    idea = await submit(h, units["HCM-Q7-MAY"])
    await answer_a_question(h, idea.ref_code, ANH)
    cards = [m for m in h.screen(ANH) if idea.ref_code in m.text and m.message.buttons]
    for card in cards:  # the older card too: none still says details were requested
        assert "Cần bổ sung thông tin" not in card.text.split("\n")[0]
        top = card.text.split("\n\n")[0] + card.text.split("\n\n")[1]
        assert "Tác giả đã trả lời" in top and "May nen so 2" in top, card.text


async def test_a_summary_card_says_answered_without_the_answer(harness: Harness) -> None:
    w = await make_world(harness)
    h, member = w.h, w.viewers[("support", "own")]
    idea = await new_idea(w, confidential=True)
    await card_to_team(w, idea)
    r = await h.click(member, group_card(h, idea.ref_code), "Hỏi thêm")
    assert r.last.message.force_reply
    await h.feed(h.incoming(member, text="Lò sấy nào?", chat=GROUP_T))
    r = await h.send(AUTHOR, "Lo say so 2 o xuong det")
    await h.click(AUTHOR, r.last, "Gửi trả lời")
    await h.deliver()
    cards = [
        m for m in h.screen(GROUP_T.external_id) if m.text.startswith(f"🔒 <b>{idea.ref_code}")
    ]
    assert cards and all("Tác giả đã trả lời" in m.text for m in cards)
    assert not any("Lo say so 2" in m.text for m in cards)


async def test_open_from_queue_brings_one_card_that_decisions_update(
    harness: Harness, units: dict[str, Unit]
) -> None:
    h = harness
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    idea = await submit(h, units["HCM-Q7-MAY"])
    queue = (await h.send(ANH, "/queue", name="Anh")).last
    for _ in range(4):  # a member taps Open again and again on the same message
        await h.press(ANH, queue.button("Mở"), message_id=queue.message_id)
    shown = [m for m in h.screen(ANH) if idea.ref_code in m.text]
    assert len(shown) == 2, "the first card, and the /queue message turned into the card"
    opened = next(m for m in shown if m.message_id == queue.message_id)
    assert opened.labels == BUTTONS_VI
    r = await h.click(ANH, opened, "Từ chối")
    r = await h.click(ANH, r.last, "Trùng")
    await h.click(ANH, r.last, "Đúng")
    await h.deliver()
    shown = [m for m in h.screen(ANH) if idea.ref_code in m.text]
    assert len(shown) == 2 and all("Chưa được chấp nhận" in m.text for m in shown)


async def test_open_privately_twice_sends_one_private_card(harness: Harness) -> None:
    w = await make_world(harness)
    h, member = w.h, w.viewers[("support", "own")]
    idea = await new_idea(w, confidential=True)
    await card_to_team(w, idea)
    for _ in range(3):
        await h.click(member, group_card(h, idea.ref_code), "Xem đầy đủ")
    await h.deliver()
    assert len([m for m in h.screen(member) if idea.ref_code in m.text]) == 1


async def test_queue_says_today_and_yesterday(harness: Harness, units: dict[str, Unit]) -> None:
    h = harness
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    await submit(h, units["HCM-Q7-MAY"])
    r = await h.send(ANH, "/queue", name="Anh")
    assert "hôm nay" in r.last.text and "0 ngày" not in r.last.text
    h.now += timedelta(days=1)
    r = await h.send(ANH, "/queue", name="Anh")
    assert "hôm qua" in r.last.text
    h.now += timedelta(days=3)
    r = await h.send(ANH, "/queue", name="Anh")
    assert "4 ngày" in r.last.text
    r = await h.send(ANH, "/queue", name="Anh", lang="en")
    await h.send(ANH, "/lang en", name="Anh")
    r = await h.send(ANH, "/queue", name="Anh")
    assert "4 days ago" in r.last.text


async def test_two_members_one_decision_never_repeat_an_edit(
    harness: Harness, units: dict[str, Unit]
) -> None:
    h = harness
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    await support(h, BINH, units["HCM-Q7-MAY"], "Bình")
    idea = await submit(h, units["HCM-Q7-MAY"])
    card_a, card_b = card_of(h, ANH, idea.ref_code), card_of(h, BINH, idea.ref_code)
    confirm_a = (await h.click(ANH, card_a, "Duyệt")).last
    confirm_b = (await h.click(BINH, card_b, "Duyệt")).last
    await h.click(ANH, confirm_a, "Đúng")
    late = await h.click(BINH, confirm_b, "Đúng")  # loses the race
    assert late.answer is not None and late.answer.alert and "Anh" in late.answer.text
    await h.deliver()
    async with h.sessionmaker() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
        shown: dict[tuple[str, str], OutMessage] = {}
        for row in rows:
            message = OutMessage.from_json(row.payload)
            key = (row.chat_id, message.edit_message_id or row.message_id or "")
            before = shown.get(key)
            if message.edit_message_id is not None and before is not None:
                same = (before.text, before.buttons) == (message.text, message.buttons)
                assert not same, f"an edit that changes nothing in chat {row.chat_id}"
            shown[key] = message


async def test_a_group_chooses_its_language(harness: Harness, units: dict[str, Unit]) -> None:
    h = harness
    token = await invite(h, units["HCM-Q7-MAY"], RoleKind.SUPPORT)
    await h.feed(
        h.incoming(ANH, text=f"/start@sangkien_bot {token}", chat=GROUP, name="Anh", lang="en")
    )
    first = await submit(h, units["HCM-Q7-MAY"])
    await h.deliver()
    assert "Duyệt" in card_of(h, GROUP.external_id, first.ref_code).labels[0]  # default
    r = await h.feed(h.incoming(ANH, text="/lang@sangkien_bot", chat=GROUP, name="Anh", lang="en"))
    r = await h.click(ANH, r.last, "English")
    assert "English" in r.last.text
    second = await submit(h, units["HCM-Q7-MAY"], "Reuse the cooling water of line 2")
    await h.deliver()
    assert card_of(h, GROUP.external_id, second.ref_code).labels[0] == "Approve"
    # A stranger in the group cannot switch it back.
    r = await h.feed(
        h.incoming(OUTSIDER, text="/lang@sangkien_bot", chat=GROUP, name="Lạ", lang="vi")
    )
    r = await h.click(OUTSIDER, r.last, "Tiếng Việt")
    assert r.answer is not None and r.answer.alert
