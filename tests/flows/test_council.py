"""The initiative council scores an approved idea and its chair records the outcome
(issue 18), through the dispatcher with a fake Telegram and a real SQLite database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from handlers.buttons import LifecyclePress
from handlers.flows.council_outcome import parse_decision
from storage.lifecycle_models import CouncilScore, IdeaResult
from storage.models import IdeaEvent, IdeaStatus, ReportJob, RoleKind
from tests.flows.council_world import (
    ANH,
    C1,
    C2,
    C3,
    CHAIR,
    COUNCIL_GROUP,
    DIEN_COUNCIL,
    DISTRICT_COUNCIL,
    LURKER,
    OFFICIAL,
    OUTSIDER,
    SCORES,
    SECRET,
    WORKER,
    XD_SUPPORT,
    World,
    approve,
    council_card,
    count,
    current,
    events,
    make_world,
    new_idea,
    result_of,
    score,
    scores,
)
from tests.flows.harness import Harness, Result
from tests.flows.test_worker_idea import invite


@pytest.fixture
async def w(harness: Harness) -> World:
    return await make_world(harness)


def alert(r: Result) -> str:
    assert r.answer is not None and r.answer.text, "no answer to the press"
    return r.answer.text


def leaks(text: str) -> bool:
    return SECRET[:25] in text or "0912" in text


async def decide(w: World, idea_id: int, text: str) -> Result:
    """The chair presses Recognised on their card and types the decision."""
    h = w.h
    card = council_card(h, CHAIR, (await current(h, idea_id)).ref_code)
    r = await h.click(CHAIR, card, "🏅 Công nhận")
    assert "số và ngày" in r.last.text
    return await h.send(CHAIR, text)


# ---------------------------------------------------------------- the happy path


async def test_three_members_score_and_the_chair_records_recognition(w: World) -> None:
    h = w.h
    idea = await new_idea(w)
    await approve(w, idea)
    stored = await current(h, idea.id)
    result = await result_of(h, idea.id)
    assert result is not None and result.council_unit_id == w.units["HCM-Q7-MAY"].id
    [approved] = [e for e in await events(h, idea.id) if e.kind == "approved"]
    assert stored.waiting_since == approved.at, "the council's wait starts at the approval"
    assert stored.reminded_at is None and stored.escalated_at is None

    # Every member and the chair got the card privately, in full (a shareable idea).
    for user in (C1, C2, C3, CHAIR):
        card = council_card(h, user, idea.ref_code)
        assert SECRET in card.text and "Đã chấm: <b>0/3</b>" in card.text, card.text
        assert "✍️ Chấm điểm" in card.labels and "🏅 Công nhận" not in card.labels

    r = await score(w, C1, idea)
    assert "Đã lưu điểm" in alert(r)
    assert "Tính mới trong đơn vị <b>4</b>" in r.last.text and "<b>16/20</b>" in r.last.text
    assert "Đã chấm: <b>1/3</b>" in council_card(h, C2, idea.ref_code).text

    # The same member again: a clear refusal, and the first scores stand.
    again = await h.press(C1, LifecyclePress(idea.id, "s", "1111").pack())
    assert "đã chấm" in alert(again) and again.answer is not None and again.answer.alert
    r = await h.click(C1, council_card(h, C1, idea.ref_code), "Thêm nhận xét")
    assert "nhận xét" in r.last.text
    await h.send(C1, "Nên thử ở chuyền 2 trước")

    await score(w, C2, idea, "3333")
    # Two of three: the chair may not decide yet, and is told how many have scored.
    early = await h.press(CHAIR, LifecyclePress(idea.id, "rq").pack())
    assert "2/3" in alert(early)
    assert (await current(h, idea.id)).status == IdeaStatus.APPROVED.value

    await score(w, C3, idea, "5555")
    told = await h.notifications(str(CHAIR))
    assert any("Đủ 3 thành viên" in m.text for m in told), [m.text for m in told]
    chair_card = council_card(h, CHAIR, idea.ref_code)
    assert "🏅 Công nhận" in chair_card.labels and "✖️ Không công nhận" in chair_card.labels
    assert "Chi Hội đồng" in chair_card.text and "Nên thử ở chuyền 2 trước" in chair_card.text
    assert "🏅 Công nhận" not in council_card(h, C1, idea.ref_code).labels  # members don't decide
    [mine] = [s for s in await scores(h, idea.id) if s.person_id == w.people[C1]]
    assert (mine.total, mine.comment) == (16, "Nên thử ở chuyền 2 trước")
    assert list(mine.scores) == ["novelty", "applicability", "benefit", "safety"]

    # Three weeks later the unit head signs; a date in the future is refused first.
    h.now += timedelta(days=21)
    r = await decide(w, idea.id, "số 12/QĐ-CĐ ngày 30/12/2026")
    assert "chưa tới" in r.last.text
    r = await h.send(CHAIR, "12/QĐ-CĐ 01/01/2026")
    assert "sớm hơn ngày gửi" in r.last.text
    r = await h.send(CHAIR, "số 12/QĐ-CĐ ngày 5/12/2026")
    assert "12/QĐ-CĐ" in r.last.text and "05/12/2026" in r.last.text
    assert (await current(h, idea.id)).status == IdeaStatus.APPROVED.value, "not before Yes"
    r = await h.click(CHAIR, r.last, "Xác nhận")
    assert "Đã ghi" in r.last.text

    done = await current(h, idea.id)
    assert done.status == IdeaStatus.RECOGNISED.value and done.waiting_since == done.updated_at
    result = await result_of(h, idea.id)
    assert result is not None and result.recognised is True
    assert (result.decision_no, result.decision_date) == ("12/QĐ-CĐ", date(2026, 12, 5))
    assert result.decided_by == w.people[CHAIR] and result.decided_at is not None
    assert result.recognised_campaign_id is not None, "counted in the running campaign"
    [recognised] = [e for e in await events(h, idea.id) if e.kind == "recognised"]
    assert recognised.actor_id == w.people[CHAIR] and recognised.at == result.decided_at
    assert recognised.note is not None and "12/QĐ-CĐ" in recognised.note
    scored = [e.actor_id for e in await events(h, idea.id) if e.kind == "council_scored"]
    assert scored == [w.people[C1], w.people[C2], w.people[C3]]
    assert await count(h, ReportJob, ReportJob.idea_id == idea.id) == 1, "the certificate"

    worker = [m.text for m in await h.notifications(str(WORKER))]
    assert any("đã được công nhận" in t and "12/QĐ-CĐ" in t for t in worker), worker
    team = [m for m in await h.notifications(str(ANH)) if "Hội đồng sáng kiến công nhận" in m.text]
    assert team and team[-1].buttons[0][0].data == LifecyclePress(idea.id, "ap").pack()
    for user in (C1, C2, C3, CHAIR):  # every card shows the outcome, without buttons
        card = council_card(h, user, idea.ref_code)
        assert not card.labels and "Được công nhận" in card.text, card.text
        assert "Hoa Chủ tịch ghi công nhận" in card.text

    # A step out of order: scoring or deciding a recognised idea changes nothing.
    late = await h.press(CHAIR, LifecyclePress(idea.id, "s", "5555").pack())
    assert "không còn chờ" in alert(late)
    late = await h.press(CHAIR, LifecyclePress(idea.id, "nk", "council_not_new").pack())
    assert "không còn chờ" in alert(late)
    assert len(await scores(h, idea.id)) == 3
    assert (await current(h, idea.id)).status == IdeaStatus.RECOGNISED.value


async def test_the_chair_records_not_recognised_with_a_typed_reason(w: World) -> None:
    h = w.h
    idea = await new_idea(w)
    await approve(w, idea)
    for user in (C1, C2, CHAIR):
        await score(w, user, idea, "2222")
    r = await h.click(CHAIR, council_card(h, CHAIR, idea.ref_code), "Không công nhận")
    assert "Chưa có tính mới trong đơn vị" in r.last.labels
    r = await h.click(CHAIR, r.last, "Lý do khác")
    r = await h.send(CHAIR, "Đã có giải pháp tương tự từ 2024")
    assert (await current(h, idea.id)).status == IdeaStatus.APPROVED.value
    r = await h.click(CHAIR, r.last, "Xác nhận")
    assert (await current(h, idea.id)).status == IdeaStatus.NOT_RECOGNISED.value
    result = await result_of(h, idea.id)
    assert result is not None and result.recognised is False
    assert result.decided_by == w.people[CHAIR] and result.decision_no is None
    [event] = [e for e in await events(h, idea.id) if e.kind == "not_recognised"]
    assert (event.actor_id, event.note) == (w.people[CHAIR], "Đã có giải pháp tương tự từ 2024")
    worker = [m.text for m in await h.notifications(str(WORKER))]
    assert any("chưa công nhận" in t and "tương tự từ 2024" in t for t in worker), worker
    assert await count(h, ReportJob, ReportJob.idea_id == idea.id) == 0, "no certificate"
    assert not council_card(h, C1, idea.ref_code).labels


async def test_a_standard_reason_is_told_in_the_workers_language(w: World) -> None:
    h = w.h
    await h.send(WORKER, "/help", lang="en")  # the worker's Telegram is in English
    idea = await new_idea(w)
    await approve(w, idea)
    for user in (C1, C2, C3):
        await score(w, user, idea, "1111")
    r = await h.click(CHAIR, council_card(h, CHAIR, idea.ref_code), "Không công nhận")
    r = await h.click(CHAIR, r.last, "Điểm đánh giá")
    r = await h.click(CHAIR, r.last, "Xác nhận")
    assert (await current(h, idea.id)).status == IdeaStatus.NOT_RECOGNISED.value
    worker = [m.text for m in await h.notifications(str(WORKER))]
    assert any("did not recognise" in t and "scores fell short" in t for t in worker), worker


# ---------------------------------------------------------------- who sees what


async def test_a_confidential_idea_in_full_to_the_grassroots_council_only(w: World) -> None:
    h = w.h
    mine = await new_idea(w, confidential=True)
    await approve(w, mine)
    assert SECRET in council_card(h, C1, mine.ref_code).text  # MAY's own council, privately
    # An idea of XD, which has no council: the district's evaluates it, as the summary.
    theirs = await new_idea(w, "HCM-Q7-XD", confidential=True)
    await approve(w, theirs, XD_SUPPORT)
    result = await result_of(h, theirs.id)
    assert result is not None and result.council_unit_id == w.units["HCM-Q7"].id
    card = council_card(h, DISTRICT_COUNCIL, theirs.ref_code)
    assert not leaks(card.text) and "✍️ Chấm điểm" in card.labels, card.text
    await score(w, DISTRICT_COUNCIL, theirs)  # it may score what it may not read in full
    r = await h.press(DISTRICT_COUNCIL, LifecyclePress(theirs.id, "op").pack())
    assert r.answer is not None and not r.answer.alert
    for message in h.screen(DISTRICT_COUNCIL):  # the card, the scoring, the card opened again
        assert not leaks(message.text), message.text
    # MAY's council is not XD's: its members see nothing of it and score nothing.
    assert not [m for m in h.screen(C1) if theirs.ref_code in m.text]


async def test_a_council_group_gets_the_summary_and_scoring_goes_private(w: World) -> None:
    h = w.h
    token = await invite(h, w.units["HCM-Q7-MAY"], RoleKind.COUNCIL)
    await h.feed(h.incoming(C1, text=f"/start@sangkien_bot {token}", chat=COUNCIL_GROUP))
    idea = await new_idea(w, confidential=True)
    await approve(w, idea)
    card = council_card(h, COUNCIL_GROUP.external_id, idea.ref_code)
    assert not leaks(card.text), card.text
    assert card.labels == ["✍️ Chấm điểm (nhắn riêng)"]
    assert not [m for m in h.screen(C2) if idea.ref_code in m.text], "the group only"

    # A group member without a role: refused, and nothing reaches their chat.
    r = await h.click(LURKER, card, "Chấm điểm")
    assert "Chỉ thành viên Hội đồng" in alert(r)
    assert not [m for m in h.screen(LURKER) if idea.ref_code in m.text]
    # A forged score pressed in the group: scoring is private.
    r = await h.feed(
        h.incoming(C2, button=LifecyclePress(idea.id, "s", SCORES).pack(), chat=COUNCIL_GROUP)
    )
    assert "chat riêng" in alert(r)
    assert await scores(h, idea.id) == []

    r = await h.click(C2, card, "Chấm điểm")
    assert "chat riêng" in alert(r)
    private = council_card(h, C2, idea.ref_code)
    assert SECRET in private.text, "a member of the grassroots council reads it whole privately"
    again = await h.click(C2, card, "Chấm điểm")
    assert len([m for m in h.screen(C2) if idea.ref_code in m.text]) == 1, again.replies
    await score(w, C2, idea)
    assert "Đã chấm: <b>1/3</b>" in council_card(h, COUNCIL_GROUP.external_id, idea.ref_code).text


async def test_an_english_member_reads_english(harness: Harness) -> None:
    w = await make_world(harness, english_member=True)
    h = w.h
    idea = await new_idea(w)
    await approve(w, idea)
    card = council_card(h, C3, idea.ref_code)
    assert "Initiative council" in card.text and "Scored: <b>0/3</b>" in card.text
    r = await score(w, C3, idea, lang="en")
    assert "Novelty within the unit <b>4</b>" in r.last.text and "total <b>16/20</b>" in r.last.text
    r = await h.press(C3, LifecyclePress(idea.id, "s", "1111").pack(), lang="en")
    assert "You scored this idea" in alert(r)
    r = await h.press(C3, LifecyclePress(idea.id, "rq").pack(), lang="en")
    assert "Only the chair" in alert(r)
    r = await h.send(C3, "/council", lang="en")
    assert "Ideas waiting for the council" in r.last.text and "you scored" in r.last.text


# ---------------------------------------------------------------- bad input and attackers


async def test_scores_out_of_range_or_out_of_order_change_nothing(w: World) -> None:
    h = w.h
    idea = await new_idea(w)
    for value in ("4534",):  # not approved yet: not waiting for the council
        r = await h.press(C1, LifecyclePress(idea.id, "s", value).pack())
        assert "không còn chờ" in alert(r)
    await approve(w, idea)
    for value in ("4539", "0534", "45341", "45a4", "9"):
        r = await h.press(C1, LifecyclePress(idea.id, "s", value).pack())
        assert "từ 1 đến 5" in alert(r), value
    r = await h.press(C1, LifecyclePress(idea.id, "cm").pack())
    assert "chấm điểm trước" in alert(r)
    assert await scores(h, idea.id) == []
    declined = await new_idea(w)
    async with h.sessionmaker() as session:
        stored = await session.get(type(declined), declined.id)
        assert stored is not None
        stored.status = IdeaStatus.DECLINED.value
        await session.commit()
    r = await h.press(C1, LifecyclePress(declined.id, "s", SCORES).pack())
    assert "không còn chờ" in alert(r) and "Chưa được chấp nhận" in alert(r)
    assert await count(h, CouncilScore) == 0
    assert await count(h, IdeaResult, IdeaResult.idea_id == declined.id) == 0


ATTACKS = (
    ("op", ""),
    ("sc", ""),
    ("s", SCORES),
    ("cm", ""),
    ("rq", ""),
    ("nq", ""),
    ("nr", "o"),
    ("nk", "council_low_score"),
)


@pytest.mark.parametrize(
    "attacker",
    [ANH, OFFICIAL, WORKER, LURKER, DIEN_COUNCIL, DISTRICT_COUNCIL, OUTSIDER],
    ids=[
        "support",
        "official above",
        "author",
        "no role",
        "other council",
        "district council",
        "outsider",
    ],
)
async def test_nobody_outside_the_ideas_council_scores_or_decides(w: World, attacker: int) -> None:
    h = w.h
    idea = await new_idea(w, confidential=True)
    await approve(w, idea)
    for user in (C1, C2, C3):
        await score(w, user, idea)  # the quorum is there: only the policy stands in the way
    before = [(e.kind, e.actor_id) for e in await events(h, idea.id)]
    for action, value in ATTACKS:
        r = await h.press(attacker, LifecyclePress(idea.id, action, value).pack())
        assert "Chỉ thành viên Hội đồng" in alert(r), (action, r.answer)
        assert r.answer is not None and r.answer.alert
        r = await h.press(attacker, LifecyclePress(idea.id + 999, action, value).pack())
        assert "Chỉ thành viên Hội đồng" in alert(r), (
            "the same answer for an idea that is not there"
        )
    assert (await current(h, idea.id)).status == IdeaStatus.APPROVED.value
    assert len(await scores(h, idea.id)) == 3
    assert [(e.kind, e.actor_id) for e in await events(h, idea.id)] == before
    council_cards = [
        m for m in h.screen(attacker) if idea.ref_code in m.text and "Đã chấm" in m.text
    ]
    assert not council_cards, "no council card reached the attacker"
    result = await result_of(h, idea.id)
    assert result is not None and result.recognised is None


async def test_a_member_is_not_the_chair_and_a_council_not_another_units(w: World) -> None:
    h = w.h
    idea = await new_idea(w)
    await approve(w, idea)
    for user in (C1, C2, C3):
        await score(w, user, idea)
    for action, value in (("rq", ""), ("nq", ""), ("nk", "council_low_score")):
        r = await h.press(C1, LifecyclePress(idea.id, action, value).pack())
        assert "Chỉ Chủ tịch" in alert(r)
    # A forged button for an idea of another unit, evaluated by another council.
    theirs = await new_idea(w, "HCM-Q7-XD")
    await approve(w, theirs, XD_SUPPORT)
    for action, value in (("op", ""), ("sc", ""), ("s", SCORES)):
        r = await h.press(C1, LifecyclePress(theirs.id, action, value).pack())
        assert "Chỉ thành viên Hội đồng" in alert(r)
        r = await h.press(CHAIR, LifecyclePress(theirs.id, "nk", "council_low_score").pack())
        assert "Chỉ thành viên Hội đồng" in alert(r)
    assert await scores(h, theirs.id) == []
    assert (await current(h, theirs.id)).status == IdeaStatus.APPROVED.value
    assert (await current(h, idea.id)).status == IdeaStatus.APPROVED.value


async def test_a_decision_that_cannot_be_read_is_asked_again(w: World) -> None:
    h = w.h
    idea = await new_idea(w)
    await approve(w, idea)
    for user in (C1, C2, C3):
        await score(w, user, idea)
    r = await decide(w, idea.id, "quyết định 12")
    assert "chưa thấy ngày" in r.last.text
    r = await h.send(CHAIR, "12/QĐ-CĐ 31/02/2026")
    assert "không có trên lịch" in r.last.text
    r = await h.send(CHAIR, "ngày 20/11/2026")
    assert "chưa thấy số" in r.last.text
    r = await h.send(CHAIR, "/cancel")
    assert (await current(h, idea.id)).status == IdeaStatus.APPROVED.value
    assert await count(h, IdeaEvent, IdeaEvent.kind == "recognised") == 0


# ---------------------------------------------------------------- /council and no council


async def test_council_lists_the_waiting_ideas_and_opens_their_cards(w: World) -> None:
    h = w.h
    first, second = await new_idea(w), await new_idea(w)
    await approve(w, first)
    await approve(w, second)
    await score(w, C1, second)
    r = await h.send(C1, "/council")
    text = r.last.text
    assert text.index(first.ref_code) < text.index(second.ref_code), "oldest wait first"
    assert "bạn chưa chấm" in text and "bạn đã chấm" in text and "1/3" in text
    listing = r.last
    await h.click(C1, listing, first.ref_code)
    opened = council_card(h, C1, first.ref_code)
    assert opened.message_id == listing.message_id, "the list turned into the card"
    assert "✍️ Chấm điểm" in opened.labels
    r = await h.send(ANH, "/council")
    assert "dành cho thành viên Hội đồng" in r.last.text


async def test_without_a_council_the_idea_simply_stays_approved(harness: Harness) -> None:
    h = harness
    w = World(h, h.units)
    from tests.flows.council_world import grant, person_id
    from tests.flows.test_worker_idea import join_by_link

    await join_by_link(h, WORKER, h.units["HCM-Q7-DIEN"])
    await grant(h, ANH, h.units["HCM-Q7-DIEN"], RoleKind.SUPPORT, "Anh")
    w.people[WORKER] = await person_id(h, WORKER)
    idea = await new_idea(w, "HCM-Q7-DIEN")
    await approve(w, idea)
    result = await result_of(h, idea.id)
    assert result is not None and result.council_unit_id is None
    assert (await current(h, idea.id)).status == IdeaStatus.APPROVED.value
    assert not [
        m
        for chat in h.screens.values()
        for m in chat.values()
        if "Hội đồng sáng kiến</b>" in m.text
    ]


# ---------------------------------------------------------------- the decision typed


@pytest.mark.parametrize(
    ("typed", "number", "day"),
    [
        ("12/QĐ-CĐ 05/12/2026", "12/QĐ-CĐ", date(2026, 12, 5)),
        ("số 12/QĐ-CĐ ngày 5/12/2026", "12/QĐ-CĐ", date(2026, 12, 5)),
        ("Quyết định số 123/2026/QĐ-UBND ngày 05.12.2026", "123/2026/QĐ-UBND", date(2026, 12, 5)),
        ("12/QĐ-CĐ 2026-12-05", "12/QĐ-CĐ", date(2026, 12, 5)),
        ("QĐ số 7/QĐ-CĐCS, ngày 5 tháng 12 năm 2026", "7/QĐ-CĐCS", date(2026, 12, 5)),
        ("05/12/2026 số 12/QĐ-CĐ", "12/QĐ-CĐ", date(2026, 12, 5)),
        ("No. 45/QD-CD dated 2026-12-05", "45/QD-CD", date(2026, 12, 5)),
    ],
)
def test_decisions_typed_the_ways_people_write_them(typed: str, number: str, day: date) -> None:
    assert parse_decision(typed) == (number, day)


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("12/QĐ-CĐ", "council.decision_no_date"),
        ("12/QĐ-CĐ 31/02/2026", "council.decision_bad_date"),
        ("ngày 05/12/2026", "council.decision_no_number"),
        ("x" * 80 + " 05/12/2026", "council.decision_number_too_long"),
    ],
)
def test_decisions_that_cannot_be_read(typed: str, problem: str) -> None:
    assert parse_decision(typed) == problem


async def test_an_idea_approved_before_councils_existed_reaches_the_council(w: World) -> None:
    """Approved before the upgrade (no result row): its council is the one found now."""
    h = w.h
    idea = await new_idea(w)
    async with h.sessionmaker() as session:
        stored = await session.get(type(idea), idea.id)
        assert stored is not None
        stored.status = IdeaStatus.APPROVED.value
        await session.commit()
    r = await h.press(C1, LifecyclePress(idea.id, "op").pack())
    assert r.answer is not None and not r.answer.alert
    result = await result_of(h, idea.id)
    assert result is not None and result.council_unit_id == w.units["HCM-Q7-MAY"].id
    await score(w, C1, idea)
    assert [s.person_id for s in await scores(h, idea.id)] == [w.people[C1]]
    r = await h.send(C2, "/council")
    assert idea.ref_code in r.last.text and "1/3" in r.last.text
