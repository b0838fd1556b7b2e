"""A recognised initiative put into use, its benefit revised, evidence, the reward, and the
worker's view of the whole life (issue #18; neutral flows, fake Telegram).

Recognised ideas are set up directly in the database (status, result with the
decision, council unit), so these tests do not depend on the council's own flow.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from handlers.buttons import LifecyclePress
from storage.lifecycle_models import CouncilScore, IdeaResult
from storage.models import (
    Attachment,
    Campaign,
    Idea,
    IdeaEvent,
    IdeaStatus,
    ProgressDaily,
    ProgressTotal,
    Role,
    RoleKind,
)
from tests.flows.harness import Harness, Result, photo
from tests.flows.trust import AUTHOR, GROUP, World, _person_id, make_world, new_idea

DECISION_NO = "15/QĐ-CĐCS"
DECISION_DAY = date(2026, 11, 10)
COUNCIL_OWN, COUNCIL_SIBLING, CHAIR_NAME = 7001, 7002, "Chủ tịch Hội đồng Lê Văn Chấm"
NOT_ALLOWED = "không có quyền"


@pytest.fixture
async def w(harness: Harness) -> World:
    world = await make_world(harness)
    await _grant(world, COUNCIL_OWN, "HCM-Q7-MAY", RoleKind.COUNCIL, "Hội đồng Mai")
    await _grant(world, COUNCIL_SIBLING, "HCM-Q7-DIEN", RoleKind.COUNCIL, "Hội đồng Điện")
    return world


async def _grant(w: World, user: int, code: str, role: RoleKind, name: str) -> None:
    await w.h.send(user, "/help", name=name)
    person = await _person_id(w.h, user)
    async with w.h.sessionmaker() as session:
        session.add(
            Role(person_id=person, unit_id=w.units[code].id, role=role.value, granted_at=w.h.now)
        )
        await session.commit()


async def recognised_idea(w: World, *, status: str = IdeaStatus.RECOGNISED.value) -> Idea:
    """An idea the team approved and the council recognised, as those steps store it."""
    idea = await new_idea(w, confidential=False)
    chair = await _person_id(w.h, COUNCIL_OWN)
    async with w.h.sessionmaker() as session:
        row = await session.get(Idea, idea.id)
        assert row is not None
        row.status = status
        approved = datetime(2026, 11, 5, 3, 0, tzinfo=UTC)
        session.add(IdeaEvent(idea_id=idea.id, kind="approved", actor_id=None, at=approved))
        result = IdeaResult(idea_id=idea.id, council_unit_id=w.units["HCM-Q7-MAY"].id)
        if status != IdeaStatus.APPROVED.value:
            decided = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
            result.recognised = True
            result.decision_no, result.decision_date = DECISION_NO, DECISION_DAY
            result.decided_at, result.decided_by = decided, chair
            session.add(IdeaEvent(idea_id=idea.id, kind="recognised", actor_id=chair, at=decided))
            session.add(
                CouncilScore(
                    idea_id=idea.id,
                    person_id=chair,
                    council_unit_id=w.units["HCM-Q7-MAY"].id,
                    scores={"novelty": 2, "applicability": 3, "benefit": 4, "safety": 5},
                    total=14,
                    comment="SCORE-COMMENT-NOT-FOR-THE-WORKER",
                    at=decided,
                )
            )
        session.add(result)
        await session.commit()
    return idea


def lc(idea: Idea | int, action: str, value: str = "") -> str:
    return LifecyclePress(idea if isinstance(idea, int) else idea.id, action, value).pack()


async def snapshot(h: Harness, idea_id: int) -> tuple[Any, ...]:
    """Everything these steps may change, to assert that a refusal changed nothing."""
    async with h.sessionmaker() as session:
        idea = await session.get(Idea, idea_id)
        result = await session.get(IdeaResult, idea_id)
        assert idea is not None and result is not None
        events = await session.scalar(
            select(func.count()).select_from(IdeaEvent).where(IdeaEvent.idea_id == idea_id)
        )
        files = await session.scalar(
            select(func.count()).select_from(Attachment).where(Attachment.idea_id == idea_id)
        )
        totals = (
            await session.execute(select(ProgressTotal).order_by(ProgressTotal.unit_id))
        ).all()
        return (
            idea.status,
            idea.version,
            result.applied_on,
            result.applied_where,
            result.benefit_vnd,
            result.reward_vnd,
            events,
            files,
            [(t.unit_id, t.applied, t.benefit) for (t,) in totals],
        )


async def result_of(h: Harness, idea_id: int) -> IdeaResult:
    async with h.sessionmaker() as session:
        result = await session.get(IdeaResult, idea_id)
        assert result is not None
        return result


async def events_of(h: Harness, idea_id: int) -> list[IdeaEvent]:
    async with h.sessionmaker() as session:
        query = select(IdeaEvent).where(IdeaEvent.idea_id == idea_id).order_by(IdeaEvent.id)
        return list((await session.execute(query)).scalars())


async def totals(h: Harness, unit_id: int) -> tuple[int, int]:
    async with h.sessionmaker() as session:
        campaign = await session.scalar(select(Campaign).where(Campaign.code == "2026-P2"))
        assert campaign is not None
        row = await session.get(ProgressTotal, (unit_id, campaign.id))
        return (row.applied, row.benefit) if row is not None else (0, 0)


def alert(r: Result) -> str:
    assert r.answer is not None and r.answer.text, "no alert"
    return r.answer.text


# ---------------------------------------------------------------- the happy path


async def test_team_records_application_with_photo_and_revises_benefit(w: World) -> None:
    h, team = w.h, w.viewers[("support", "own")]
    idea = await recognised_idea(w)
    may, district = w.units["HCM-Q7-MAY"].id, w.units["HCM-Q7"].id
    r = await h.press(team, lc(idea, "ap"))
    assert "Ghi nhận áp dụng" in r.last.text and idea.ref_code in r.last.text
    assert r.last.labels == ["📅 Hôm nay", "✖️ Hủy"]
    # A day out of order: in the future, before the decision, not a day at all.
    r = await h.send(team, "25/11/2026")
    assert "chưa tới" in r.last.text and "Hôm nay" in r.last.labels[0]
    r = await h.send(team, "01/11/2026")
    assert "trước ngày quyết định" in r.last.text and "10/11/2026" in r.last.text
    r = await h.send(team, "ngày mai nhé")
    assert "chưa đọc được ngày" in r.last.text
    r = await h.send(team, "15/11/2026")
    assert "ở đâu" in r.last.text and r.last.message.force_reply
    r = await h.send(team, "x" * 201)
    assert "201" in r.last.text and "200" in r.last.text
    r = await h.send(team, "Phân xưởng <b>may</b> 2")
    assert "làm lợi" in r.last.text and r.last.message.force_reply
    # Benefits that cannot be taken: each answered politely, naming the forms accepted.
    for typed, said in (
        ("nhiều lắm", "chưa đọc được số tiền"),
        ("-5 triệu", "không thể âm"),
        ("2.000.000 tỷ", "gõ nhầm"),
    ):
        r = await h.send(team, typed)
        assert said in r.last.text and "1,5 tỷ" in r.last.text and r.last.message.force_reply
    r = await h.send(team, "1,5 tỷ")
    assert "minh chứng" in r.last.text and "Chưa có tệp" in r.last.labels
    r = await h.send(team, "đây là ảnh")
    assert "gửi ảnh hoặc tài liệu" in r.last.text
    r = await h.send(team, None, files=(photo(3),))
    assert "Đã nhận 1 tệp" in r.last.text
    r = await h.press(team, r.last.button("Xong"), message_id=r.last.message_id)
    summary = r.last.text
    assert "15/11/2026" in summary and "1.500.000.000 đ" in summary
    assert "Phân xưởng &lt;b&gt;may&lt;/b&gt; 2" in summary  # the typed text, escaped
    assert (await result_of(h, idea.id)).benefit_vnd is None  # nothing recorded before Record
    r = await h.press(team, r.last.button("Ghi nhận"), message_id=r.last.message_id)
    assert "Đã ghi nhận" in r.last.text and "1.500.000.000 đ" in r.last.text
    assert "Cập nhật giá trị làm lợi" in r.last.labels[0]

    async with h.sessionmaker() as session:
        stored = await session.get(Idea, idea.id)
        assert stored is not None
        assert stored.status == "applied" and stored.waiting_since is None
    result = await result_of(h, idea.id)
    assert result.applied_on == date(2026, 11, 15)
    assert result.applied_where == "Phân xưởng <b>may</b> 2"
    assert result.benefit_vnd == 1_500_000_000
    assert result.applied_by == await _person_id(h, team)
    applied = [e for e in await events_of(h, idea.id) if e.kind == "applied"]
    assert len(applied) == 1 and applied[0].data == {
        "benefit": 1_500_000_000,
        "on": "2026-11-15",
        "where": "Phân xưởng <b>may</b> 2",
    }
    async with h.sessionmaker() as session:
        files = list((await session.execute(select(Attachment))).scalars())
    assert [(f.file_id, f.event_id) for f in files] == [("photo-file-3", applied[0].id)]
    # Counted in the campaign of the day it started, in its unit and every unit above.
    assert await totals(h, may) == (1, 1_500_000_000)
    assert await totals(h, district) == (1, 1_500_000_000)
    told = [m.text for m in await h.notifications(str(AUTHOR)) if "áp dụng" in m.text]
    assert told and "1.500.000.000 đ" in told[-1] and "15/11/2026" in told[-1]
    assert "&lt;b&gt;may" in told[-1]

    # Pressed again: already applied, nothing changes.
    before = await snapshot(h, idea.id)
    r = await h.press(team, lc(idea, "ap"))
    assert "đã được ghi nhận áp dụng" in alert(r)
    assert await snapshot(h, idea.id) == before

    # Revised to 2 tỷ: the counters move by the difference only.
    r = await h.press(team, lc(idea, "bn"))
    assert "1.500.000.000 đ" in r.last.text and r.last.message.force_reply
    r = await h.send(team, "âm 2 tỷ")
    assert "không thể âm" in r.last.text
    r = await h.send(team, "2 tỷ")
    assert "1.500.000.000 đ → <b>2.000.000.000 đ</b>" in r.last.text
    assert (await result_of(h, idea.id)).benefit_vnd == 2_000_000_000
    assert await totals(h, may) == (1, 2_000_000_000)
    async with h.sessionmaker() as session:
        daily = await session.execute(select(ProgressDaily).where(ProgressDaily.unit_id == may))
        by_day = {row.day: row.benefit for (row,) in daily.all()}
    assert by_day == {date(2026, 11, 15): 1_500_000_000, date(2026, 11, 20): 500_000_000}
    revised = [e for e in await events_of(h, idea.id) if e.kind == "benefit_revised"]
    assert [e.data for e in revised] == [{"old": 1_500_000_000, "new": 2_000_000_000}]
    told = [m.text for m in await h.notifications(str(AUTHOR)) if "cập nhật" in m.text]
    assert told and "2.000.000.000 đ" in told[-1]
    # The same figure again changes nothing; editable any number of times otherwise.
    before = await snapshot(h, idea.id)
    await h.press(team, lc(idea, "bn"))
    r = await h.send(team, "2.000.000.000")
    assert "không có gì thay đổi" in r.last.text
    assert await snapshot(h, idea.id) == before
    council = COUNCIL_OWN  # the idea's council may revise it too
    await h.press(council, lc(idea, "bn"))
    await h.send(council, "1.8 ty")
    assert (await result_of(h, idea.id)).benefit_vnd == 1_800_000_000
    assert await totals(h, may) == (1, 1_800_000_000)


async def test_council_member_records_with_today_and_no_files(w: World) -> None:
    h = w.h
    idea = await recognised_idea(w)
    r = await h.press(COUNCIL_OWN, lc(idea, "ap"))
    r = await h.press(COUNCIL_OWN, r.last.button("Hôm nay"), message_id=r.last.message_id)
    assert "ở đâu" in r.last.text
    await h.send(COUNCIL_OWN, "Dây chuyền 3")
    r = await h.send(COUNCIL_OWN, "0")  # in use, its benefit not counted in money yet
    r = await h.press(COUNCIL_OWN, r.last.button("Chưa có tệp"), message_id=r.last.message_id)
    assert "20/11/2026" in r.last.text and "0 đ" in r.last.text
    await h.press(COUNCIL_OWN, r.last.button("Ghi nhận"), message_id=r.last.message_id)
    result = await result_of(h, idea.id)
    assert result.applied_on == date(2026, 11, 20) and result.benefit_vnd == 0
    assert await totals(h, w.units["HCM-Q7-MAY"].id) == (1, 0)


async def test_cancel_at_any_step_changes_nothing(w: World) -> None:
    h, team = w.h, w.viewers[("support", "own")]
    idea = await recognised_idea(w)
    before = await snapshot(h, idea.id)
    r = await h.press(team, lc(idea, "ap"))
    r = await h.press(team, r.last.button("Hủy"), message_id=r.last.message_id)
    assert "Đã hủy" in r.last.text
    await h.press(team, lc(idea, "ap"))
    await h.send(team, "hôm nay")
    r = await h.send(team, "/cancel")
    assert "hủy" in r.last.text.lower()
    r = await h.send(team, "Phân xưởng 1")  # no longer a step of anything
    assert "ở đâu" not in r.last.text and "làm lợi" not in r.last.text
    assert await snapshot(h, idea.id) == before


async def test_a_press_never_overwrites_work_in_progress(w: World) -> None:
    h, team = w.h, w.viewers[("support", "own")]
    idea = await recognised_idea(w)
    await h.press(team, lc(idea, "ap"))
    await h.send(team, "hôm nay")
    r = await h.press(team, lc(idea, "ap"))  # the same press again: the same question
    assert "ở đâu" in r.last.text
    other = await recognised_idea(w)
    r = await h.press(team, lc(other, "ap"))
    assert "đang làm dở" in alert(r) and "ở đâu" in r.last.text
    r = await h.send(team, "Kho vải")
    assert "làm lợi" in r.last.text


async def test_role_revoked_midway_is_refused_at_the_next_step(w: World) -> None:
    h, team = w.h, w.viewers[("support", "own")]
    idea = await recognised_idea(w)
    await h.press(team, lc(idea, "ap"))
    await h.send(team, "hôm nay")
    await h.send(team, "Phân xưởng 1")
    before = await snapshot(h, idea.id)
    async with h.sessionmaker() as session:
        person = await _person_id(h, team)
        for role in (await session.execute(select(Role).where(Role.person_id == person))).scalars():
            role.revoked_at = h.now
        await session.commit()
    r = await h.send(team, "1 tỷ")
    assert NOT_ALLOWED in r.last.text
    r = await h.send(team, "1 tỷ")
    assert NOT_ALLOWED not in r.last.text  # the flow has ended
    assert await snapshot(h, idea.id) == before


async def test_evidence_added_later_by_author_and_team(w: World) -> None:
    h, team = w.h, w.viewers[("support", "own")]
    idea = await recognised_idea(w)
    r = await h.press(AUTHOR, lc(idea, "ev"))
    assert "minh chứng" in r.last.text
    r = await h.press(AUTHOR, r.last.button("Hủy"), message_id=r.last.message_id)
    r = await h.press(AUTHOR, lc(idea, "ev"))
    r = await h.send(AUTHOR, None, files=(photo(1),))
    r = await h.send(AUTHOR, None, files=(photo(2),))
    assert "Đã nhận 2 tệp" in r.last.text
    r = await h.press(AUTHOR, r.last.button("Xong"), message_id=r.last.message_id)
    assert "Đã thêm 2 tệp" in r.last.text
    await h.press(team, lc(idea, "ev"))
    r = await h.send(team, None, files=(photo(5),))
    await h.press(team, r.last.button("Xong"), message_id=r.last.message_id)
    added = [e for e in await events_of(h, idea.id) if e.kind == "evidence_added"]
    assert [e.data for e in added] == [{"files": 2}, {"files": 1}]
    async with h.sessionmaker() as session:
        files = list((await session.execute(select(Attachment).order_by(Attachment.id))).scalars())
    assert [(f.file_id, f.event_id) for f in files] == [
        ("photo-file-1", added[0].id),
        ("photo-file-2", added[0].id),
        ("photo-file-5", added[1].id),
    ]
    assert (await result_of(h, idea.id)).benefit_vnd is None  # evidence changes nothing else


# ---------------------------------------------------------------- the worker


async def test_worker_sees_the_life_and_records_the_reward_in_english(w: World) -> None:
    h = w.h
    idea = await recognised_idea(w)
    team = w.viewers[("support", "own")]
    await h.press(team, lc(idea, "ap"))
    await h.send(team, "12/11/2026")
    await h.send(team, "Sewing line 2")
    r = await h.send(team, "200.000.000")
    r = await h.press(team, r.last.button("Chưa có tệp"), message_id=r.last.message_id)
    await h.press(team, r.last.button("Ghi nhận"), message_id=r.last.message_id)

    await h.send(AUTHOR, "/lang en")
    r = await h.send(AUTHOR, "/myideas")
    r = await h.press(AUTHOR, r.last.button(idea.ref_code), message_id=r.last.message_id)
    life = r.last.text
    assert idea.ref_code in life and "Put into use" in life
    assert f"decision no. {DECISION_NO} of 10/11/2026" in life
    assert "In use from 12/11/2026 at Sewing line 2; benefit 200,000,000 VND a year" in life
    assert "Approved by the support team" in life
    # Never the council's scores, their comments or who scored.
    assert "SCORE-COMMENT" not in life and "Hội đồng Mai" not in life and "novelty" not in life
    assert r.last.labels == ["📎 Add evidence", "🎁 Record the reward I received", "« The list"]
    r = await h.press(AUTHOR, r.last.button("Record the reward"), message_id=r.last.message_id)
    assert "How much reward" in r.last.text and r.last.message.force_reply
    for typed, said in (
        ("a lot", "could not read that amount"),
        ("-5 million", "cannot be negative"),
        ("0", "must be above 0"),
        ("5000000 billion", "surely a typo"),
    ):
        r = await h.send(AUTHOR, typed)
        assert said in r.last.text
    assert (await result_of(h, idea.id)).reward_vnd is None
    r = await h.send(AUTHOR, "5 million")
    assert "5,000,000 VND" in r.last.text
    result = await result_of(h, idea.id)
    assert result.reward_vnd == 5_000_000 and result.rewarded_at is not None
    rewarded = [e for e in await events_of(h, idea.id) if e.kind == "rewarded"]
    assert [e.data for e in rewarded] == [{"reward": 5_000_000, "old": None}]
    r = await h.send(AUTHOR, "/myideas")
    r = await h.press(AUTHOR, r.last.button(idea.ref_code), message_id=r.last.message_id)
    assert "Reward received: 5,000,000 VND" in r.last.text
    r = await h.press(AUTHOR, r.last.button("The list"), message_id=r.last.message_id)
    assert "Your ideas" in r.last.text or idea.ref_code in r.last.text


async def test_team_member_in_english(w: World) -> None:
    h, team = w.h, w.viewers[("support", "own")]
    idea = await recognised_idea(w)
    await h.send(team, "/lang en")
    r = await h.press(team, lc(idea, "ap"))
    assert "From which day has it been in use?" in r.last.text
    assert r.last.labels == ["📅 Today", "✖️ Cancel"]
    r = await h.send(team, "31/02/2026")
    assert "could not read that day" in r.last.text
    await h.send(team, "today")
    r = await h.send(team, "Line 1")
    assert "measured benefit a year" in r.last.text
    r = await h.send(team, "1.5 ty")
    r = await h.press(team, r.last.button("No files yet"), message_id=r.last.message_id)
    assert "1,500,000,000 VND a year" in r.last.text
    r = await h.press(team, r.last.button("Record"), message_id=r.last.message_id)
    assert "Recorded" in r.last.text and "1,500,000,000 VND" in r.last.text
    # The worker is told in their own language (Vietnamese here).
    told = [m.text for m in await h.notifications(str(AUTHOR)) if "áp dụng" in m.text]
    assert told and "1.500.000.000 đ" in told[-1]


async def test_detail_view_of_an_idea_still_waiting(w: World) -> None:
    h = w.h
    idea = await new_idea(w, confidential=True)
    r = await h.send(AUTHOR, "/myideas")
    r = await h.press(AUTHOR, r.last.button(idea.ref_code), message_id=r.last.message_id)
    assert idea.ref_code in r.last.text and "Đã gửi" in r.last.text
    assert r.last.labels == ["« Danh sách"]  # no evidence or reward before recognition


# ---------------------------------------------------------------- who may not


REFUSED_AP = [
    ("support", "parent"),
    ("support", "child"),
    ("support", "sibling"),
    ("support", "province"),
    ("official", "own"),
    ("official", "parent"),
    ("admin", "own"),
    ("member", "own"),
    ("group member", "group"),
    ("outsider", "none"),
]


async def test_attacker_matrix(w: World) -> None:
    h = w.h
    idea = await recognised_idea(w)
    applied = await recognised_idea(w)
    team = w.viewers[("support", "own")]
    await h.press(team, lc(applied, "ap"))
    await h.send(team, "hôm nay")
    await h.send(team, "Xưởng 1")
    r = await h.send(team, "1 tỷ")
    r = await h.press(team, r.last.button("Chưa có tệp"), message_id=r.last.message_id)
    await h.press(team, r.last.button("Ghi nhận"), message_id=r.last.message_id)
    before = (await snapshot(h, idea.id), await snapshot(h, applied.id))

    async def refused(user: int, data: str) -> None:
        r = await h.press(user, data)
        assert NOT_ALLOWED in alert(r), (user, data, r.answer)
        r = await h.send(user, "hôm nay")  # no flow was started for them
        assert not any("ở đâu" in t or "làm lợi" in t for t in r.texts), r.texts

    people = [w.viewers[v] for v in REFUSED_AP] + [COUNCIL_SIBLING, AUTHOR]
    for user in people:
        await refused(user, lc(idea, "ap"))
        await refused(user, lc(applied, "bn"))
    for user in [w.viewers[v] for v in REFUSED_AP] + [COUNCIL_SIBLING]:
        await refused(user, lc(idea, "ev"))
    # The reward is the author's alone: not the team's, the council's, another worker's.
    for user in (team, COUNCIL_OWN, w.viewers[("member", "own")], COUNCIL_SIBLING):
        await refused(user, lc(idea, "rw"))
    # Ideas that do not exist are refused in the same words.
    await refused(team, lc(999_999, "ap"))
    await refused(AUTHOR, lc(999_999, "rw"))
    # Only the author opens an idea's life, even the deciding team may not.
    for user in (team, COUNCIL_OWN, w.viewers[("member", "own")]):
        r = await h.press(user, lc(idea, "ad", "0"))
        assert "Chỉ tác giả" in alert(r) and not r.replies
    # Malformed data is a stale button.
    for data in ("lc:abc:ap", "lc:1", "lc::ap", f"lc:{idea.id}:zz"):
        r = await h.press(team, data)
        assert r.answer is not None and "cũ" in r.answer.text
    assert (await snapshot(h, idea.id), await snapshot(h, applied.id)) == before


async def test_steps_out_of_order(w: World) -> None:
    h, team = w.h, w.viewers[("support", "own")]
    waiting = await recognised_idea(w, status=IdeaStatus.APPROVED.value)
    recognised = await recognised_idea(w)
    before = (await snapshot(h, waiting.id), await snapshot(h, recognised.id))
    r = await h.press(team, lc(waiting, "ap"))
    assert "sau khi Hội đồng sáng kiến công nhận" in alert(r) and not r.replies
    r = await h.press(AUTHOR, lc(waiting, "ev"))
    assert "sau khi Hội đồng sáng kiến công nhận" in alert(r)
    r = await h.press(AUTHOR, lc(waiting, "rw"))
    assert "sau khi Hội đồng sáng kiến công nhận" in alert(r)
    r = await h.press(team, lc(recognised, "bn"))
    assert "chưa được ghi nhận áp dụng" in alert(r) and not r.replies
    assert (await snapshot(h, waiting.id), await snapshot(h, recognised.id)) == before


async def test_pressed_in_a_group_the_steps_go_to_the_private_chat(w: World) -> None:
    h, team = w.h, w.viewers[("support", "own")]
    idea = await recognised_idea(w)
    before = await snapshot(h, idea.id)
    r = await h.press(team, lc(idea, "ap"), chat=GROUP)
    assert "chat riêng" in alert(r)
    assert not [x for x in r.replies if x.chat_id == GROUP.external_id]
    await h.deliver()
    handed = [m for m in h.screen(team) if "Tiếp tục với sáng kiến" in m.text]
    assert handed and handed[-1].labels == ["🏭 Ghi nhận áp dụng"]
    r = await h.click(team, handed[-1], "Ghi nhận áp dụng")
    assert "Sáng kiến bắt đầu được áp dụng từ ngày nào" in r.last.text
    assert r.last.chat_id == str(team)
    # A role-less group member gets the refusal, and nothing in any chat.
    lurker = w.viewers[("group member", "group")]
    r = await h.press(lurker, lc(idea, "ap"), chat=GROUP)
    assert NOT_ALLOWED in alert(r) and not r.replies
    # The author's own view never opens in a group (a confidential idea would be read there).
    r = await h.press(AUTHOR, lc(idea, "ad", "0"), chat=GROUP)
    assert "Chỉ tác giả" in alert(r) and not r.replies
    assert await snapshot(h, idea.id) == before
