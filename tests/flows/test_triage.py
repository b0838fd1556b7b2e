"""The support team triages ideas from inside the chat (neutral flows, fake Telegram)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from handlers.events import ChatRef
from handlers.reminders import ReminderPolicy, add_working_days, run_reminders
from storage.models import Idea, IdeaEvent, RoleKind, Unit
from tests.flows.harness import Harness, Reply, photo
from tests.flows.test_worker_idea import fill_form, invite, join_by_link

WORKER, ANH, BINH, DUNG, OUTSIDER = 1001, 2001, 2002, 3001, 4001
BUTTONS_VI = ["✅ Duyệt", "❓ Hỏi thêm", "⏫ Chuyển lên", "✖️ Từ chối"]


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness


async def support(h: Harness, user: int, unit: Unit, name: str) -> None:
    await h.send(user, f"/start {await invite(h, unit, RoleKind.SUPPORT)}", name=name)


async def submit(
    h: Harness, unit: Unit, text: str = "Lắp cảm biến tắt máy nén khí khi dừng chuyền"
) -> Idea:
    await join_by_link(h, WORKER, unit)
    r = await fill_form(h, WORKER, text)
    await h.press(WORKER, r.last.button("Gửi"), message_id=r.last.message_id)
    async with h.sessionmaker() as session:
        return (await session.execute(select(Idea).order_by(Idea.id.desc()))).scalars().first()  # type: ignore[return-value]


def card_of(h: Harness, chat: int, ref: str) -> Reply:
    cards = [r for r in h.screen(chat) if ref in r.text and r.message.buttons]
    assert cards, (
        f"no card with buttons for {ref} in chat {chat}: {[r.text[:40] for r in h.screen(chat)]}"
    )
    return cards[-1]


async def idea_now(h: Harness, idea_id: int) -> Idea:
    async with h.sessionmaker() as session:
        idea = await session.get(Idea, idea_id)
        assert idea is not None
        return idea


async def events(h: Harness, idea_id: int) -> list[tuple[str, int | None]]:
    async with h.sessionmaker() as session:
        rows = await session.execute(
            select(IdeaEvent).where(IdeaEvent.idea_id == idea_id).order_by(IdeaEvent.id)
        )
        return [(e.kind, e.actor_id) for e in rows.scalars()]


async def test_approve_updates_every_card_and_tells_the_worker(
    h: Harness, units: dict[str, Unit]
) -> None:
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    await support(h, BINH, units["HCM-Q7-MAY"], "Bình")
    idea = await submit(h, units["HCM-Q7-MAY"])
    card_a, card_b = card_of(h, ANH, idea.ref_code), card_of(h, BINH, idea.ref_code)
    assert card_a.labels == BUTTONS_VI
    r = await h.click(ANH, card_a, "Duyệt")
    r = await h.click(ANH, r.last, "Đúng, duyệt")
    assert r.answer is not None and "duyệt" in r.answer.text
    assert not r.last.message.buttons and "Đã duyệt" in r.last.text and "Anh" in r.last.text
    await h.deliver()
    # Bình's copy of the card now shows the decision, with no buttons left.
    shown_b = next(m for m in h.screen(BINH) if m.message_id == card_b.message_id)
    assert not shown_b.message.buttons and "Đã duyệt" in shown_b.text
    # Bình presses the old button anyway: told who decided, nothing changes.
    late = await h.click(BINH, card_b, "Từ chối")
    assert late.answer is not None and late.answer.alert and "Anh" in late.answer.text
    assert (await idea_now(h, idea.id)).status == "approved"
    told = [r.text for r in h.screen(WORKER) if "đã được tổ hỗ trợ duyệt" in r.text]
    assert told and idea.ref_code in told[0]
    r = await h.send(WORKER, "/myideas")
    assert "Đã duyệt" in r.last.text
    kinds = await events(h, idea.id)
    assert [k for k, _ in kinds] == ["submitted", "approved"]


async def test_request_details_two_rounds_with_photo(h: Harness, units: dict[str, Unit]) -> None:
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    idea = await submit(h, units["HCM-Q7-MAY"])
    r = await h.click(ANH, card_of(h, ANH, idea.ref_code), "Hỏi thêm")
    assert r.last.message.force_reply and "câu hỏi" in r.last.text
    r = await h.send(ANH, "Máy nén nào, ở xưởng nào?", name="Anh")
    assert "Đã gửi câu hỏi" in r.last.text
    question = [m for m in h.screen(WORKER) if "Máy nén nào" in m.text][-1]
    assert question.labels == ["✍️ Trả lời"]
    assert (await idea_now(h, idea.id)).status == "info_requested"
    # Round 1: the worker simply writes back.
    r = await h.send(WORKER, "May nen so 2 o xuong det")
    assert "Đã nhận phần trả lời" in r.last.text
    r = await h.click(WORKER, r.last, "Gửi trả lời")
    assert "Đã gửi câu trả lời" in r.last.text
    card = card_of(h, ANH, idea.ref_code)
    assert "May nen so 2" in card.text and "Máy nén nào" in card.text
    assert (await idea_now(h, idea.id)).status == "submitted"
    # Round 2: a photo this time, through the Answer button.
    await h.click(ANH, card, "Hỏi thêm")
    await h.send(ANH, "Cho xin ảnh vị trí lắp?", name="Anh")
    question = [m for m in h.screen(WORKER) if "Cho xin ảnh" in m.text][-1]
    r = await h.click(WORKER, question, "Trả lời")
    r = await h.send(WORKER, None, files=(photo(7),))
    r = await h.send(WORKER, "anh day a")
    r = await h.click(WORKER, r.last, "Gửi trả lời")
    screen = h.screen(ANH)
    assert any(m.message.file and m.message.file.file_id == "photo-file-7" for m in screen)
    card = card_of(h, ANH, idea.ref_code)
    assert "anh day a" in card.text
    assert [k for k, _ in await events(h, idea.id)] == [
        "submitted",
        "info_requested",
        "info_added",
        "info_requested",
        "info_added",
    ]


async def test_question_during_a_new_form_resumes_the_form(
    h: Harness, units: dict[str, Unit]
) -> None:
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    idea = await submit(h, units["HCM-Q7-MAY"])
    await h.send(WORKER, "/idea")
    await h.send(WORKER, "Sáng kiến thứ hai: dùng lại nước làm mát")
    await h.click(ANH, card_of(h, ANH, idea.ref_code), "Hỏi thêm")
    await h.send(ANH, "Tiết kiệm bao nhiêu điện?", name="Anh")
    question = [m for m in h.screen(WORKER) if "Tiết kiệm bao nhiêu" in m.text][-1]
    await h.click(WORKER, question, "Trả lời")
    r = await h.send(WORKER, "Khoang 10%")
    r = await h.click(WORKER, r.last, "Gửi trả lời")
    assert "Quay lại việc bạn đang làm dở" in r.texts[-2]
    assert "Đã nhận" in r.last.text and "Xong" in r.last.labels  # the second idea's draft
    r = await h.click(WORKER, r.last, "Xong")
    assert "loại nào" in r.last.text


async def test_forward_up_then_approve_there(h: Harness, units: dict[str, Unit]) -> None:
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    await support(h, DUNG, units["HCM-Q7"], "Dũng")
    idea = await submit(h, units["HCM-Q7-MAY"])
    grassroots_card = card_of(h, ANH, idea.ref_code)
    r = await h.click(ANH, grassroots_card, "Chuyển lên")
    assert "Liên đoàn Lao động Quận 7" in r.last.labels[0]
    r = await h.click(ANH, r.last, "Quận 7")
    r = await h.click(ANH, r.last, "Đúng, chuyển lên")
    assert not r.last.message.buttons and "Đã chuyển lên cấp trên" in r.last.text
    upper = card_of(h, DUNG, idea.ref_code)
    assert "Anh chuyển lên Liên đoàn Lao động Quận 7" in upper.text  # history travels along
    assert "Nguyễn Văn An" in upper.text  # shareable: the whole idea
    # The grassroots team can no longer decide; the district team can.
    refused = await h.click(ANH, grassroots_card, "Duyệt")
    assert refused.answer is not None and refused.answer.alert
    r = await h.click(DUNG, upper, "Duyệt")
    r = await h.click(DUNG, r.last, "Đúng")
    assert (await idea_now(h, idea.id)).status == "approved"
    worker_texts = [m.text for m in h.screen(WORKER)]
    assert any("chuyển lên" in t and "Quận 7" in t for t in worker_texts)
    assert any("đã được tổ hỗ trợ duyệt" in t for t in worker_texts)


async def test_decline_with_a_typed_reason(h: Harness, units: dict[str, Unit]) -> None:
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    idea = await submit(h, units["HCM-Q7-MAY"])
    r = await h.click(ANH, card_of(h, ANH, idea.ref_code), "Từ chối")
    assert "Trùng với một sáng kiến đã có" in r.last.labels
    r = await h.click(ANH, r.last, "Lý do khác")
    assert r.last.message.force_reply
    r = await h.send(ANH, "Công ty đã lắp hệ thống này từ tháng trước", name="Anh")
    assert (await idea_now(h, idea.id)).status == "declined"
    told = [m.text for m in h.screen(WORKER) if "chưa thể chấp nhận" in m.text]
    assert told and "đã lắp hệ thống này" in told[0] and "Cảm ơn" in told[0]
    r = await h.send(WORKER, "/myideas")
    assert "Chưa được chấp nhận" in r.last.text


async def test_outsiders_and_forged_buttons_change_nothing(
    h: Harness, units: dict[str, Unit]
) -> None:
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    await support(h, OUTSIDER, units["HCM-Q7-DIEN"], "Người ngoài")
    idea = await submit(h, units["HCM-Q7-MAY"])
    for user in (WORKER, OUTSIDER):
        r = await h.press(user, f"tr:{idea.id}:ok")
        assert r.answer is not None and r.answer.alert and "tổ hỗ trợ" in r.answer.text
    sideways = units["HCM-Q7-DIEN"].id  # not above the holder: no one may forward there
    for forged in (
        f"tr:{idea.id}:fwdto:{sideways}",
        "tr:999999:ok",
        "tr:abc:ok",
        "tr:",
        f"tr:{idea.id}:zz",
        f"tr:{idea.id}:nor:made_up",
    ):
        await h.press(ANH, forged)
    fresh = await idea_now(h, idea.id)
    assert fresh.status == "submitted" and fresh.holder_unit_id == units["HCM-Q7-MAY"].id
    assert [k for k, _ in await events(h, idea.id)] == ["submitted"]


async def test_group_chat_binding_and_triage_in_the_group(
    h: Harness, units: dict[str, Unit]
) -> None:
    group = ChatRef("telegram", "-100500", "group", "Tổ hỗ trợ SK")
    token = await invite(h, units["HCM-Q7-MAY"], RoleKind.SUPPORT)
    await h.feed(h.incoming(ANH, chat=group, name="Anh", update_id=None, text=None, button=None))
    r = await h.feed(h.incoming(ANH, text=f"/start@sangkien_bot {token}", chat=group, name="Anh"))
    assert "Nhóm này đã trở thành nhóm" in r.last.text
    idea = await submit(h, units["HCM-Q7-MAY"])
    card = card_of(h, "-100500", idea.ref_code)
    assert not [m for m in h.screen(ANH) if idea.ref_code in m.text], "cards go to the group only"
    stranger = await h.click(OUTSIDER, card, "Duyệt")
    assert stranger.answer is not None and stranger.answer.alert
    r = await h.click(ANH, card, "Hỏi thêm")
    assert r.last.message.force_reply and "tg://user?id=2001" in r.last.text
    r = await h.feed(h.incoming(ANH, text="Chi phí lắp đặt bao nhiêu?", chat=group, name="Anh"))
    assert "Đã gửi câu hỏi" in r.last.text
    assert (await idea_now(h, idea.id)).status == "info_requested"


async def test_queue_lists_waiting_ideas_oldest_first(h: Harness, units: dict[str, Unit]) -> None:
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    first = await submit(h, units["HCM-Q7-MAY"], "Ý tưởng thứ nhất về tiết kiệm điện")
    second = await submit(h, units["HCM-Q7-MAY"], "Ý tưởng thứ hai về an toàn kho")
    r = await h.send(ANH, "/queue", name="Anh")
    assert r.last.text.index(first.ref_code) < r.last.text.index(second.ref_code)
    r = await h.click(ANH, r.last, f"Mở {second.ref_code}")
    assert card_of(h, ANH, second.ref_code).labels == BUTTONS_VI
    r = await h.send(WORKER, "/queue")
    assert "dành cho tổ hỗ trợ" in r.last.text


async def test_reminder_then_escalation_with_the_clock_moved(
    h: Harness, units: dict[str, Unit]
) -> None:
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    await support(h, DUNG, units["HCM-Q7"], "Dũng")
    idea = await submit(h, units["HCM-Q7-MAY"])
    policy = ReminderPolicy(working_days=3)
    assert idea.waiting_since is not None
    due = add_working_days(idea.waiting_since, 3, policy.weekdays)
    catalogue = h.dispatcher.catalogue
    early = await run_reminders(h.sessionmaker, catalogue, due - timedelta(minutes=1), policy)
    assert (early.reminded, early.escalated) == (0, 0)
    first = await run_reminders(h.sessionmaker, catalogue, due, policy)
    assert (first.reminded, first.escalated) == (1, 0)
    await h.deliver()
    assert any("Nhắc việc" in m.text for m in h.screen(ANH))
    again = await run_reminders(h.sessionmaker, catalogue, due + timedelta(hours=1), policy)
    assert (again.reminded, again.escalated) == (0, 0), "one reminder, not one per pass"
    later = add_working_days(due, 3, policy.weekdays)
    second = await run_reminders(h.sessionmaker, catalogue, later, policy)
    assert (second.reminded, second.escalated) == (0, 1)
    await h.deliver()
    told = [m.text for m in h.screen(DUNG) if idea.ref_code in m.text]
    assert any("chưa xử lý" in t for t in told)


def test_working_days_skip_the_weekend() -> None:
    from datetime import datetime

    from handlers.cards import VIETNAM

    friday = datetime(2026, 11, 27, 9, 0, tzinfo=VIETNAM)
    assert add_working_days(friday, 3, frozenset(range(5))).astimezone(VIETNAM).day == 2  # Wed
    assert add_working_days(friday, 1, frozenset(range(6))).astimezone(VIETNAM).day == 28  # Sat
