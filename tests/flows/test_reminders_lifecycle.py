"""Reminders of the waits after approval (issue 18): for the council, and to be applied.

Approved but not evaluated: the council members who have not scored are reminded
(the chair, once the quorum has scored, to record the outcome), then the council
above is told, else the officials above; a unit with no council anywhere above gets
its officials told once. Recognised but not applied: the team after
``apply_working_days``, then the team above. Nothing reaches a chat beyond what the
visibility policy lets it see.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from handlers.buttons import LifecyclePress
from handlers.events import ChatRef
from handlers.reminders import ReminderPolicy, ReminderRun, add_working_days, run_reminders
from storage.lifecycle_models import CouncilScore, IdeaResult
from storage.models import Idea, IdeaEvent, IdeaStatus, Identity, Role, RoleKind, Unit
from tests.flows.harness import Harness, Reply
from tests.flows.test_triage import ANH, DUNG, submit, support
from tests.flows.test_worker_idea import invite

C1, C2, CHAIR, UPPER, OFFICIAL, FAR_OFFICIAL, SIBLING = 2201, 2202, 2203, 2301, 2401, 2402, 2501
SECRET = "Đổi nhiệt độ lò sấy xuống 160 độ, gọi tôi 0912 345 678"
# Per harness: the messages each chat showed right after an idea's submission.
FIRST_CARDS: dict[Harness, dict[str, set[str]]] = {}
POLICY = ReminderPolicy(working_days=3, apply_working_days=20, council_quorum=2)


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness


async def take_role(h: Harness, user: int, unit: Unit, role: RoleKind, name: str) -> None:
    await h.send(user, f"/start {await invite(h, unit, role)}", name=name)


async def person(h: Harness, user: int) -> int:
    async with h.sessionmaker() as session:
        query = select(Identity.person_id).where(Identity.external_id == str(user))
        return int((await session.execute(query)).scalar_one())


async def waiting(
    h: Harness,
    unit: Unit,
    status: IdeaStatus,
    *,
    council: Unit | None = None,
    confidential: bool = False,
) -> Idea:
    """An idea of ``unit`` that has just entered ``status`` (as the council flow leaves it)."""
    idea = await submit(h, unit, SECRET)
    await h.deliver()
    for chat, messages in h.screens.items():  # the team's triage card, sent at submission
        FIRST_CARDS.setdefault(h, {}).setdefault(chat, set()).update(messages)
    async with h.sessionmaker() as session:
        await session.execute(
            update(Idea)
            .where(Idea.id == idea.id)
            .values(
                status=status.value,
                confidential=confidential,
                waiting_since=h.now,
                reminded_at=None,
                escalated_at=None,
            )
        )
        if council is not None or status is IdeaStatus.RECOGNISED:
            recognised = status is IdeaStatus.RECOGNISED or None
            council_id = council.id if council else None
            session.add(
                IdeaResult(idea_id=idea.id, council_unit_id=council_id, recognised=recognised)
            )
        await session.commit()
        fresh = await session.get(Idea, idea.id)
        assert fresh is not None
        return fresh


async def score(h: Harness, idea: Idea, user: int, council: Unit) -> None:
    async with h.sessionmaker() as session:
        session.add(
            CouncilScore(
                idea_id=idea.id,
                person_id=await person(h, user),
                council_unit_id=council.id,
                scores={"novelty": 4},
                total=4,
                comment=None,
                at=h.now,
            )
        )
        await session.commit()


async def run(h: Harness, at: datetime) -> ReminderRun:
    result = await run_reminders(h.sessionmaker, h.dispatcher.catalogue, at, POLICY)
    await h.deliver()
    return result


def about(h: Harness, chat: int | str, idea: Idea) -> list[Reply]:
    """What a chat was told about the idea by the reminders (not the team's first card)."""
    shown = [r for r in h.screen(chat) if idea.ref_code in r.text]
    first = FIRST_CARDS.get(h, {}).get(str(chat), set())
    return [r for r in shown if r.message_id not in first]


def due(idea: Idea, days: int, times: int = 1) -> datetime:
    assert idea.waiting_since is not None
    moment = idea.waiting_since
    for _ in range(times):
        moment = add_working_days(moment, days, POLICY.weekdays)
    return moment


async def wait_events(h: Harness, idea: Idea) -> list[tuple[str, object]]:
    async with h.sessionmaker() as session:
        rows = await session.execute(
            select(IdeaEvent).where(IdeaEvent.idea_id == idea.id).order_by(IdeaEvent.id)
        )
        return [(e.kind, (e.data or {}).get("wait")) for e in rows.scalars() if e.actor_id is None]


async def test_council_members_who_have_not_scored_are_reminded_then_the_chair(
    h: Harness, units: dict[str, Unit]
) -> None:
    may = units["HCM-Q7-MAY"]
    for user, role, name in ((C1, RoleKind.COUNCIL, "Cường"), (C2, RoleKind.COUNCIL, "Châu")):
        await take_role(h, user, may, role, name)
    await take_role(h, CHAIR, may, RoleKind.CHAIR, "Chính")
    first = await waiting(h, may, IdeaStatus.APPROVED, council=may)
    idea = await waiting(h, may, IdeaStatus.APPROVED, council=may)  # a few seconds later
    await score(h, first, C1, may)
    await score(h, first, C2, may)  # the quorum (2) has scored the first idea

    early = await run(h, due(idea, 3) - timedelta(minutes=1))
    assert (early.reminded, early.escalated) == (0, 0)
    assert not any(about(h, user, idea) for user in (C1, C2, CHAIR))
    result = await run(h, due(idea, 3))
    assert (result.reminded, result.escalated) == (2, 0)
    for user in (C1, C2, CHAIR):
        [reminder] = about(h, user, idea)
        assert "chưa chấm điểm" in reminder.text and "3 ngày làm việc" in reminder.text
        assert reminder.button(idea.ref_code) == LifecyclePress(idea.id, "op").pack()
    # The first idea: its scorers are left alone, the chair is asked for the outcome.
    assert not about(h, C1, first) and not about(h, C2, first)
    [to_chair] = about(h, CHAIR, first)
    assert "Chủ tịch Hội đồng ghi kết quả" in to_chair.text and "2 thành viên" in to_chair.text
    assert to_chair.button(first.ref_code) == LifecyclePress(first.id, "op").pack()
    assert not about(h, ANH, idea), "the support team is not the council"

    again = await run(h, due(idea, 3) + timedelta(hours=2))
    assert (again.reminded, again.escalated) == (0, 0), "one reminder, not one per pass"
    assert len(about(h, C1, idea)) == 1
    assert ("reminded", "council") in await wait_events(h, idea)


async def test_still_waiting_the_council_above_is_told_with_a_read_only_summary(
    h: Harness, units: dict[str, Unit]
) -> None:
    may, district = units["HCM-Q7-MAY"], units["HCM-Q7"]
    await take_role(h, C1, may, RoleKind.COUNCIL, "Cường")
    await take_role(h, UPPER, district, RoleKind.CHAIR, "Quận")
    await take_role(h, SIBLING, units["HCM-Q7-DIEN"], RoleKind.COUNCIL, "Điện")
    idea = await waiting(h, may, IdeaStatus.APPROVED, council=may, confidential=True)
    await run(h, due(idea, 3))
    assert not about(h, UPPER, idea), "the council above hears only at the escalation"
    [reminder] = about(h, C1, idea)
    assert SECRET[:30] in reminder.text, "the grassroots council sees its own idea in full"

    later = await run(h, due(idea, 3, times=2))
    assert (later.reminded, later.escalated) == (0, 1)
    told = about(h, UPPER, idea)
    assert any("chưa có kết quả" in r.text and may.name in r.text for r in told), told
    assert all(not r.message.buttons for r in told), "read-only: the idea's council evaluates"
    assert all(SECRET[:20] not in r.text and "0912" not in r.text for r in told), "summary only"
    assert not about(h, SIBLING, idea)
    again = await run(h, due(idea, 3, times=3))
    assert (again.reminded, again.escalated) == (0, 0)
    assert len(about(h, UPPER, idea)) == len(told)


async def test_no_council_above_the_officials_above_are_told_without_content(
    h: Harness, units: dict[str, Unit]
) -> None:
    may, district = units["HCM-Q7-MAY"], units["HCM-Q7"]
    await take_role(h, C1, may, RoleKind.COUNCIL, "Cường")
    await take_role(h, OFFICIAL, district, RoleKind.OFFICIAL, "Quang")
    await take_role(h, FAR_OFFICIAL, units["HCM-Q7-DIEN"], RoleKind.OFFICIAL, "Xa")
    idea = await waiting(h, may, IdeaStatus.APPROVED, council=may)
    await run(h, due(idea, 3))
    result = await run(h, due(idea, 3, times=2))
    assert result.escalated == 1
    [note] = about(h, OFFICIAL, idea)
    assert "chưa có kết quả" in note.text and "chưa có Hội đồng sáng kiến" in note.text
    assert SECRET[:20] not in note.text and not note.message.buttons
    assert not about(h, FAR_OFFICIAL, idea)


async def test_a_unit_without_any_council_has_its_officials_told_once(
    h: Harness, units: dict[str, Unit]
) -> None:
    may, district = units["HCM-Q7-MAY"], units["HCM-Q7"]
    await support(h, ANH, may, "Anh")
    await take_role(h, OFFICIAL, district, RoleKind.OFFICIAL, "Quang")
    await take_role(h, FAR_OFFICIAL, units["HCM-Q7-DIEN"], RoleKind.OFFICIAL, "Xa")
    idea = await waiting(h, may, IdeaStatus.APPROVED, confidential=True)
    first = await run(h, due(idea, 3))
    assert (first.reminded, first.without_council) == (0, 1)
    [note] = about(h, OFFICIAL, idea)
    assert "chưa có Hội đồng sáng kiến" in note.text and may.name in note.text
    assert SECRET[:20] not in note.text and "0912" not in note.text
    assert not about(h, FAR_OFFICIAL, idea) and not about(h, ANH, idea)
    for times in (2, 3, 4):
        later = await run(h, due(idea, 3, times=times))
        assert (later.reminded, later.escalated, later.without_council) == (0, 0, 0)
    assert len(about(h, OFFICIAL, idea)) == 1, "told once, not every pass"


async def test_a_council_formed_after_the_approval_takes_up_the_idea(
    h: Harness, units: dict[str, Unit]
) -> None:
    may = units["HCM-Q7-MAY"]
    idea = await waiting(h, may, IdeaStatus.APPROVED)
    await take_role(h, C1, may, RoleKind.COUNCIL, "Cường")
    result = await run(h, due(idea, 3))
    assert result.reminded == 1
    [reminder] = about(h, C1, idea)
    assert reminder.button(idea.ref_code) == LifecyclePress(idea.id, "op").pack()
    async with h.sessionmaker() as session:
        stored = await session.get(IdeaResult, idea.id)
        assert stored is not None and stored.council_unit_id == may.id


async def test_a_revoked_member_and_a_role_less_group_hear_nothing_in_full(
    h: Harness, units: dict[str, Unit]
) -> None:
    may = units["HCM-Q7-MAY"]
    await take_role(h, C1, may, RoleKind.COUNCIL, "Cường")
    group = ChatRef("telegram", "-100901", "group", "Hội đồng SK")
    token = await invite(h, may, RoleKind.COUNCIL)
    await h.feed(h.incoming(C2, text=f"/start@sangkien_bot {token}", chat=group, name="Châu"))
    async with h.sessionmaker() as session:  # both members lose the role
        await session.execute(update(Role).where(Role.unit_id == may.id).values(revoked_at=h.now))
        await session.commit()
    idea = await waiting(h, may, IdeaStatus.APPROVED, council=may, confidential=True)
    result = await run(h, due(idea, 3))
    assert not about(h, C1, idea) and not about(h, C2, idea)
    # The council's group (nobody reachable privately) gets the summary, never the text.
    told = about(h, group.external_id, idea)
    assert result.reminded == 1 and told
    assert all(SECRET[:20] not in r.text and "0912" not in r.text for r in told)


async def test_a_recognised_idea_not_applied_reminds_the_team_then_the_team_above(
    h: Harness, units: dict[str, Unit]
) -> None:
    may = units["HCM-Q7-MAY"]
    await support(h, ANH, may, "Anh")
    await support(h, DUNG, units["HCM-Q7"], "Dũng")
    await take_role(h, C1, may, RoleKind.COUNCIL, "Cường")
    idea = await waiting(h, may, IdeaStatus.RECOGNISED, council=may, confidential=True)
    early = await run(h, due(idea, 3, times=6))  # 18 working days: applying takes longer
    assert (early.reminded, early.escalated) == (0, 0)
    first = await run(h, due(idea, 20))
    assert (first.reminded, first.escalated) == (1, 0)
    [reminder] = about(h, ANH, idea)
    assert "chưa được ghi nhận áp dụng" in reminder.text and "20 ngày làm việc" in reminder.text
    assert reminder.button(idea.ref_code) == LifecyclePress(idea.id, "ap").pack()
    assert not about(h, C1, idea) and not about(h, DUNG, idea)
    assert (await run(h, due(idea, 20) + timedelta(days=3))).escalated == 0
    later = await run(h, due(idea, 20, times=2))
    assert (later.reminded, later.escalated) == (0, 1)
    told = about(h, DUNG, idea)
    assert any("chưa ghi nhận áp dụng" in r.text for r in told), told
    assert all(not r.message.buttons for r in told), "read-only for the team above"
    assert all(SECRET[:20] not in r.text for r in told), "a confidential idea: the summary"
    assert (await run(h, due(idea, 20, times=3))).escalated == 0
    assert ("escalated", "apply") in await wait_events(h, idea)


async def test_the_team_queue_wait_is_unchanged(h: Harness, units: dict[str, Unit]) -> None:
    may = units["HCM-Q7-MAY"]
    await support(h, ANH, may, "Anh")
    await take_role(h, C1, may, RoleKind.COUNCIL, "Cường")
    idea = await waiting(h, may, IdeaStatus.SUBMITTED)
    result = await run(h, due(idea, 3))
    assert result.reminded == 1
    [reminder] = about(h, ANH, idea)
    assert "Nhắc việc" in reminder.text and reminder.button(idea.ref_code).startswith("tr:")
    assert not about(h, C1, idea)
    declined = await waiting(h, may, IdeaStatus.DECLINED)
    applied = await waiting(h, may, IdeaStatus.APPLIED)
    quiet = await run(h, due(declined, 20, times=3))
    assert not about(h, ANH, declined) and not about(h, ANH, applied)
    assert quiet.reminded == 0, "a declined or applied idea waits for nobody"


def test_the_wait_to_be_applied_is_configured_with_the_others() -> None:
    from pathlib import Path

    from bot.config import ConfigError, load_settings
    from bot.runtime.periodic import reminder_policy

    config = Path(__file__).resolve().parents[2] / "config.yaml"
    policy = reminder_policy(load_settings(config, env={}))
    assert (policy.working_days, policy.apply_working_days, policy.council_quorum) == (3, 20, 3)
    env = {"REMINDER_APPLY_WORKING_DAYS": "15", "COUNCIL_QUORUM": "2"}
    policy = reminder_policy(load_settings(config, env=env))
    assert (policy.apply_working_days, policy.council_quorum) == (15, 2)
    for wrong in ("0", "-3", "251"):
        with pytest.raises(ConfigError, match="apply_working_days must be 1-250"):
            load_settings(config, env={"REMINDER_APPLY_WORKING_DAYS": wrong})


async def test_many_ideas_of_a_unit_without_a_council_make_one_note_per_unit(
    h: Harness, units: dict[str, Unit]
) -> None:
    """A unit that never invited a council does not flood its officials: one note per
    pass names the unit's waiting ideas; another unit's ideas get a note of their own."""
    may, dien, district = units["HCM-Q7-MAY"], units["HCM-Q7-DIEN"], units["HCM-Q7"]
    await support(h, ANH, may, "Anh")
    await take_role(h, OFFICIAL, district, RoleKind.OFFICIAL, "Quang")
    first = [await waiting(h, may, IdeaStatus.APPROVED) for _ in range(3)]
    other = await waiting(h, dien, IdeaStatus.APPROVED)
    result = await run(h, max(due(idea, 3) for idea in [*first, other]))
    assert result.without_council == 4
    notes = [r for r in h.screen(OFFICIAL) if "chưa có Hội đồng sáng kiến" in r.text]
    assert len(notes) == 2, [n.text for n in notes]
    [for_may] = [n for n in notes if may.name in n.text]
    assert all(idea.ref_code in for_may.text for idea in first)
    assert other.ref_code not in for_may.text
    again = await run(h, max(due(idea, 3, times=3) for idea in [*first, other]))
    assert again.without_council == 0
    assert len([r for r in h.screen(OFFICIAL) if "chưa có Hội đồng" in r.text]) == 2
