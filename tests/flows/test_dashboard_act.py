"""A support member decides on the dashboard's page: the chat's own triage, the same events,
the same messages, every card in the chat redrawn (handlers/dashboard/act.py)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import func, select, update

from handlers.dashboard.act import act
from handlers.dashboard.base import ActRequest, BadRequest, Decided, Denied, Deps
from handlers.flows.triage import MAX_NOTE_CHARS
from storage.models import IdeaEvent, OutboxMessage, ProcessedUpdate, Role, RoleKind, Unit
from tests.flows.harness import Harness
from tests.flows.test_triage import (
    ANH,
    BINH,
    DUNG,
    OUTSIDER,
    WORKER,
    card_of,
    events,
    idea_now,
    submit,
    support,
)
from tests.flows.test_worker_idea import invite, join_by_link
from tests.flows.trust import _person_id

_requests = itertools.count(7_000_000_001)


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness


def page(h: Harness) -> Deps:
    return Deps(
        sessionmaker=h.sessionmaker,
        reader=h.sessionmaker,
        catalogue=h.dispatcher.catalogue,
        clock=h.clock,
    )


async def decide(h: Harness, user: int, idea_id: int, action: str, **kw: Any) -> dict[str, Any]:
    """POST /api/ideas/<id>/action as ``user``, then the fake Telegram delivers the outbox."""
    kw.setdefault("request_id", next(_requests))
    answer = await act(page(h), await _person_id(h, user), idea_id, ActRequest(action, **kw))
    await h.deliver()
    return answer


async def footprint(h: Harness) -> tuple[int, int, int]:
    """Events, outbox rows and web requests recorded: what a refused request must not add."""
    async with h.sessionmaker() as session:
        return (
            int(await session.scalar(select(func.count(IdeaEvent.id))) or 0),
            int(await session.scalar(select(func.count(OutboxMessage.id))) or 0),
            int(
                await session.scalar(select(func.count()).where(ProcessedUpdate.channel == "web"))
                or 0
            ),
        )


def shown(h: Harness, chat: int, message_id: str) -> str:
    """What a message of a chat shows now, and whether it still has buttons."""
    message = next(m for m in h.screen(chat) if m.message_id == message_id)
    return ("buttons " if message.message.buttons else "no buttons ") + message.text


async def test_approve_on_the_page_is_the_chat_button(h: Harness, units: dict[str, Unit]) -> None:
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    await support(h, BINH, units["HCM-Q7-MAY"], "Bình")
    in_chat = await submit(h, units["HCM-Q7-MAY"], "Sáng kiến duyệt trong chat: tắt đèn kho")
    on_page = await submit(h, units["HCM-Q7-MAY"], "Sáng kiến duyệt trên trang: tắt quạt kho")
    cards = {
        (user, idea.id): card_of(h, user, idea.ref_code).message_id
        for user in (ANH, BINH)
        for idea in (in_chat, on_page)
    }
    r = await h.click(ANH, card_of(h, ANH, in_chat.ref_code), "Duyệt")
    await h.click(ANH, r.last, "Đúng, duyệt")
    answer = await decide(h, ANH, on_page.id, "approve")
    assert answer == {"ok": True, "status": "approved", "message": "Đã duyệt sáng kiến."}
    anh = await _person_id(h, ANH)
    assert (
        (await events(h, in_chat.id))[1:]
        == (await events(h, on_page.id))[1:]
        == [("approved", anh)]
    )
    told = [m.text for m in h.screen(WORKER) if "đã được tổ hỗ trợ duyệt" in m.text]
    for idea in (in_chat, on_page):
        assert (await idea_now(h, idea.id)).status == "approved"
        assert sum(idea.ref_code in t for t in told) == 1
        # Every member's card in the chat shows the decision, with no buttons left: the
        # presser's own card too when the press came from the page.
        for user in (ANH, BINH):
            now_shows = shown(h, user, cards[(user, idea.id)])
            assert now_shows.startswith("no buttons") and "Đã duyệt" in now_shows
            assert "Anh" in now_shows


async def test_forward_on_the_page_reaches_the_team_above(
    h: Harness, units: dict[str, Unit]
) -> None:
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    await support(h, DUNG, units["HCM-Q7"], "Dũng")
    idea = await submit(h, units["HCM-Q7-MAY"])
    grassroots_card = card_of(h, ANH, idea.ref_code).message_id
    answer = await decide(h, ANH, idea.id, "forward", unit_id=units["HCM-Q7"].id)
    assert answer["status"] == "forwarded" and "Quận 7" in str(answer["message"])
    assert (await idea_now(h, idea.id)).holder_unit_id == units["HCM-Q7"].id
    assert shown(h, ANH, grassroots_card).startswith("no buttons")
    upper = card_of(h, DUNG, idea.ref_code)
    assert "Anh chuyển lên Liên đoàn Lao động Quận 7" in upper.text
    assert any("chuyển lên" in m.text and "Quận 7" in m.text for m in h.screen(WORKER))
    # The receiving team decides it from the chat as usual.
    r = await h.click(DUNG, upper, "Duyệt")
    await h.click(DUNG, r.last, "Đúng")
    assert (await idea_now(h, idea.id)).status == "approved"


async def test_decline_for_a_listed_reason_and_in_words(h: Harness, units: dict[str, Unit]) -> None:
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    listed = await submit(h, units["HCM-Q7-MAY"], "Sáng kiến một: sơn lại vạch kẻ đường")
    worded = await submit(h, units["HCM-Q7-MAY"], "Sáng kiến hai: thêm bình chữa cháy")
    answer = await decide(h, ANH, listed.id, "decline", reason="duplicate")
    assert answer == {"ok": True, "status": "declined", "message": "Đã từ chối sáng kiến."}
    answer = await decide(h, ANH, worded.id, "decline", text="  Kho đã có đủ bình từ tháng 9  ")
    assert answer["status"] == "declined" and worded.ref_code in str(answer["message"])
    anh = await _person_id(h, ANH)
    async with h.sessionmaker() as session:
        rows = await session.execute(select(IdeaEvent).where(IdeaEvent.kind == "declined"))
        declined = {e.idea_id: e for e in rows.scalars()}
    assert declined[listed.id].data == {"reason": "duplicate"}
    assert declined[worded.id].note == "Kho đã có đủ bình từ tháng 9"
    assert {e.actor_id for e in declined.values()} == {anh}
    told = [m.text for m in h.screen(WORKER) if "chưa thể chấp nhận" in m.text]
    assert any(listed.ref_code in t and "Trùng với một sáng kiến đã có" in t for t in told)
    assert any(worded.ref_code in t and "Kho đã có đủ bình từ tháng 9" in t for t in told)
    for idea in (listed, worded):
        assert not [m for m in h.screen(ANH) if idea.ref_code in m.text and m.message.buttons]


async def test_ask_on_the_page_while_a_question_waits_in_the_chat(
    h: Harness, units: dict[str, Unit]
) -> None:
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    in_chat = await submit(h, units["HCM-Q7-MAY"], "Sáng kiến A: thu gom vải vụn")
    on_page = await submit(h, units["HCM-Q7-MAY"], "Sáng kiến B: đổi ca trực kho")
    # Anh starts a question in the chat, then asks another on the page.
    r = await h.click(ANH, card_of(h, ANH, in_chat.ref_code), "Hỏi thêm")
    assert r.last.message.force_reply
    answer = await decide(h, ANH, on_page.id, "ask", text="Đổi sang mấy giờ?")
    assert answer["status"] == "info_requested" and on_page.ref_code in str(answer["message"])
    question = [m for m in h.screen(WORKER) if "Đổi sang mấy giờ?" in m.text][-1]
    assert question.labels == ["✍️ Trả lời"]
    # The worker answers in the chat: the answer flow resumes as for a chat question.
    r = await h.click(WORKER, question, "Trả lời")
    r = await h.send(WORKER, "Sang 6 gio sang")
    r = await h.click(WORKER, r.last, "Gửi trả lời")
    assert "Đã gửi câu trả lời" in r.last.text
    assert "Sang 6 gio sang" in card_of(h, ANH, on_page.ref_code).text
    assert (await idea_now(h, on_page.id)).status == "submitted"
    # The chat's own question was left waiting: Anh's typed reply still goes to idea A.
    r = await h.send(ANH, "Mỗi tháng bao nhiêu kg?", name="Anh")
    assert "Đã gửi câu hỏi" in r.last.text and in_chat.ref_code in r.last.text
    assert [k for k, _ in await events(h, on_page.id)] == [
        "submitted",
        "info_requested",
        "info_added",
    ]
    assert [k for k, _ in await events(h, in_chat.id)] == ["submitted", "info_requested"]


async def test_a_repeated_request_is_done_once(h: Harness, units: dict[str, Unit]) -> None:
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    await support(h, OUTSIDER, units["HCM-Q7-DIEN"], "Người ngoài")
    idea = await submit(h, units["HCM-Q7-MAY"])
    first = await decide(h, ANH, idea.id, "approve", request_id=42)
    before = await footprint(h)
    again = await decide(h, ANH, idea.id, "approve", request_id=42)
    assert first["status"] == again["status"] == "approved" and again["repeat"] is True
    assert await footprint(h) == before
    assert [k for k, _ in await events(h, idea.id)] == ["submitted", "approved"]
    told = [m for m in h.screen(WORKER) if "đã được tổ hỗ trợ duyệt" in m.text]
    assert len(told) == 1
    # Someone else replaying that request id learns nothing about the idea.
    with pytest.raises(Denied):
        await decide(h, OUTSIDER, idea.id, "approve", request_id=42)


async def test_decided_meanwhile_gets_409(h: Harness, units: dict[str, Unit]) -> None:
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    await support(h, BINH, units["HCM-Q7-MAY"], "Bình")
    idea = await submit(h, units["HCM-Q7-MAY"])
    r = await h.click(ANH, card_of(h, ANH, idea.ref_code), "Duyệt")
    await h.click(ANH, r.last, "Đúng, duyệt")
    before = await footprint(h)
    for action, kw in (("decline", {"reason": "duplicate"}), ("ask", {"text": "Còn gì?"})):
        with pytest.raises(Decided) as refused:
            await decide(h, BINH, idea.id, action, **kw)
        assert idea.ref_code in refused.value.message and "Anh" in refused.value.message
    assert await footprint(h) == before
    # A flood of fresh requests for one idea: the first decides, the rest are told.
    other = await submit(h, units["HCM-Q7-MAY"], "Sáng kiến khác: đèn cảm ứng hành lang")
    results = []
    for _ in range(20):
        try:
            results.append((await decide(h, BINH, other.id, "approve"))["status"])
        except Decided:
            results.append("decided")
    assert results == ["approved"] + ["decided"] * 19
    assert [k for k, _ in await events(h, other.id)] == ["submitted", "approved"]


async def test_attackers_change_nothing(h: Harness, units: dict[str, Unit]) -> None:
    official, member, nobody, revoked = 6001, 6002, 6003, 6004
    await support(h, ANH, units["HCM-Q7-MAY"], "Anh")
    await support(h, OUTSIDER, units["HCM-Q7-DIEN"], "Tổ khác")  # another unit's team
    await support(h, DUNG, units["HCM-Q7"], "Dũng")  # the team above, not the holder
    await h.send(official, f"/start {await invite(h, units['HCM-Q7-MAY'], RoleKind.OFFICIAL)}")
    await join_by_link(h, member, units["HCM-Q7-MAY"])
    await h.send(nobody, "/help")
    await support(h, revoked, units["HCM-Q7-MAY"], "Đã rời tổ")
    async with h.sessionmaker() as session:
        revoked_id = await _person_id(h, revoked)
        await session.execute(
            update(Role).where(Role.person_id == revoked_id).values(revoked_at=h.now)
        )
        await session.commit()
    idea = await submit(h, units["HCM-Q7-MAY"])
    above = units["HCM-Q7"].id
    attempts: list[tuple[str, dict[str, object]]] = [
        ("approve", {}),
        ("ask", {"text": "Cho xem thêm?"}),
        ("forward", {"unit_id": above}),
        ("decline", {"reason": "duplicate"}),
        ("decline", {"text": "Không phù hợp"}),
    ]
    before = await footprint(h)
    for user in (OUTSIDER, DUNG, official, member, WORKER, nobody, revoked):
        for action, kw in attempts:
            with pytest.raises(Denied):
                await decide(h, user, idea.id, action, **kw)
    for missing in (idea.id + 1000, -1):
        with pytest.raises(Denied):
            await decide(h, ANH, missing, "approve")
    with pytest.raises(Denied):  # no such person (the web side never sends one)
        await act(page(h), 999_999, idea.id, ActRequest("approve", next(_requests)))
    # The deciding team's member, with forged or malformed requests.
    catalogue = h.dispatcher.catalogue
    sideways, itself = units["HCM-Q7-DIEN"].id, units["HCM-Q7-MAY"].id
    malformed: list[tuple[str, dict[str, object], str]] = [
        ("forward", {"unit_id": sideways}, "bad_unit"),
        ("forward", {"unit_id": itself}, "bad_unit"),
        ("forward", {"unit_id": 987_654}, "bad_unit"),
        ("forward", {}, "need_unit"),
        ("decline", {"reason": "made_up"}, "bad_reason"),
        ("decline", {"reason": "other"}, "bad_reason"),
        ("decline", {}, "need_reason"),
        ("decline", {"text": "x" * 20_000}, "text_too_long"),
        ("ask", {"text": "x" * 20_000}, "text_too_long"),
        ("ask", {"text": "x" * (MAX_NOTE_CHARS + 1)}, "text_too_long"),
        ("ask", {"text": " \n\t "}, "need_text"),
        ("ask", {}, "need_text"),
        ("delete", {}, "unknown_action"),
        ("approve", {"request_id": 0}, "bad_request_id"),
        ("approve", {"request_id": 2**63}, "bad_request_id"),
    ]
    for action, kw, key in malformed:
        with pytest.raises(BadRequest) as refused:
            await decide(h, ANH, idea.id, action, **kw)
        assert refused.value.key == f"dashboard_act.{key}"
        for lang in ("vi", "en"):
            assert catalogue.for_lang(lang)(refused.value.key) != refused.value.key
    assert str(MAX_NOTE_CHARS) in catalogue.for_lang("vi")("dashboard_act.text_too_long")
    assert await footprint(h) == before
    fresh = await idea_now(h, idea.id)
    assert fresh.status == "submitted" and fresh.holder_unit_id == units["HCM-Q7-MAY"].id
    # The member may still decide it, and the note at the limit is taken.
    answer = await decide(h, ANH, idea.id, "ask", text="x" * MAX_NOTE_CHARS)
    assert answer["status"] == "info_requested"
