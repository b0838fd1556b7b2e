"""A council's group chat (issue 18): bound by a council or chair invite opened in a
group, never a support team's group, and its ``lc:`` buttons go to the lifecycle flow."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers import visibility
from handlers.buttons import LifecyclePress
from handlers.events import ChatRef
from storage.lifecycle_models import CouncilScore
from storage.models import Idea, IdeaStatus, Role, RoleKind, TeamChat, Unit
from storage.uow import UnitOfWork
from tests.flows.harness import Harness
from tests.flows.test_triage import ANH, OUTSIDER, submit, support
from tests.flows.test_worker_idea import invite

COUNCIL = ChatRef("telegram", "-100900", "group", "Hội đồng sáng kiến May Phú Mỹ")
CHI, HOA = 2101, 2102


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness


async def bind(h: Harness, user: int, unit: Unit, role: RoleKind, name: str) -> list[str]:
    token = await invite(h, unit, role)
    r = await h.feed(h.incoming(user, text=f"/start@sangkien_bot {token}", chat=COUNCIL, name=name))
    return r.texts


async def groups(h: Harness) -> list[tuple[int, str, str]]:
    async with h.sessionmaker() as session:
        rows = await session.execute(select(TeamChat).order_by(TeamChat.id))
        return [(g.unit_id, g.chat_id, g.body) for g in rows.scalars()]


async def roles(h: Harness, unit: Unit) -> set[str]:
    async with h.sessionmaker() as session:
        rows = await session.execute(
            select(Role.role).where(Role.unit_id == unit.id, Role.revoked_at.is_(None))
        )
        return set(rows.scalars())


@pytest.mark.parametrize("role", [RoleKind.COUNCIL, RoleKind.CHAIR])
async def test_a_council_invite_in_a_group_binds_the_councils_group(
    h: Harness, units: dict[str, Unit], role: RoleKind
) -> None:
    may = units["HCM-Q7-MAY"]
    said = await bind(h, CHI, may, role, "Chi")
    assert any("Hội đồng sáng kiến" in text and "chat riêng" in text for text in said), said
    assert not any("tổ hỗ trợ" in text for text in said), "not told it became a team's group"
    assert await groups(h) == [(may.id, COUNCIL.external_id, "council")]
    assert await roles(h, may) == {role.value}, "the person who added it holds the role"
    async with UnitOfWork(h.sessionmaker) as uow:
        found = await visibility.council_unit(uow, may)
        assert found is not None and found.id == may.id
        assert await uow.teams.group_of(may.id) is None, "no support team group"
        assert await visibility.serving_unit(uow, may) is None, "a council is no support team"


async def test_a_council_group_never_gets_the_support_teams_cards(
    h: Harness, units: dict[str, Unit]
) -> None:
    may = units["HCM-Q7-MAY"]
    await bind(h, CHI, may, RoleKind.COUNCIL, "Chi")
    await support(h, ANH, may, "Anh")
    idea = await submit(h, may)
    await h.deliver()
    assert [r for r in h.screen(ANH) if idea.ref_code in r.text], "the team has its card"
    assert not [r for r in h.screen(COUNCIL.external_id) if idea.ref_code in r.text]


async def test_a_second_council_invite_rebinds_the_same_group_once(
    h: Harness, units: dict[str, Unit]
) -> None:
    may = units["HCM-Q7-MAY"]
    await bind(h, CHI, may, RoleKind.COUNCIL, "Chi")
    await bind(h, HOA, may, RoleKind.CHAIR, "Hoa")
    assert await groups(h) == [(may.id, COUNCIL.external_id, "council")]
    assert await roles(h, may) == {RoleKind.COUNCIL.value, RoleKind.CHAIR.value}


@pytest.mark.parametrize("role", [RoleKind.MEMBER, RoleKind.OFFICIAL, RoleKind.ADMIN])
async def test_other_invites_in_a_group_bind_nothing(
    h: Harness, units: dict[str, Unit], role: RoleKind
) -> None:
    said = await bind(h, CHI, units["HCM-Q7-MAY"], role, "Chi")
    assert any("chat riêng với bot" in text for text in said), said
    assert await groups(h) == []
    assert await roles(h, units["HCM-Q7-MAY"]) == set()


async def test_a_used_or_forged_council_invite_binds_nothing(
    h: Harness, units: dict[str, Unit]
) -> None:
    token = await invite(h, units["HCM-Q7-MAY"], RoleKind.COUNCIL, max_uses=1)
    await h.send(CHI, f"/start {token}", name="Chi")  # used up in a private chat
    r = await h.feed(h.incoming(HOA, text=f"/start@sangkien_bot {token}", chat=COUNCIL))
    assert r.texts and await groups(h) == []
    r = await h.feed(h.incoming(HOA, text="/start@sangkien_bot notatoken123", chat=COUNCIL))
    assert r.texts and await groups(h) == []
    assert await roles(h, units["HCM-Q7-MAY"]) == {RoleKind.COUNCIL.value}


async def test_lifecycle_buttons_in_a_group_reach_the_lifecycle_flow(
    h: Harness, units: dict[str, Unit]
) -> None:
    """Not answered "message the bot privately" by the group router: the lifecycle
    flow's handlers decide (a group never scores); forged presses change nothing."""
    may = units["HCM-Q7-MAY"]
    await bind(h, CHI, may, RoleKind.COUNCIL, "Chi")
    idea = await submit(h, may)
    async with h.sessionmaker() as session:
        stored = await session.get(Idea, idea.id)
        assert stored is not None
        stored.status = IdeaStatus.APPROVED.value
        stored.confidential = True  # a group never sees it in full
        await session.commit()
    unknown = LifecyclePress(idea.id, "zz-no-such-step").pack()
    r = await h.feed(h.incoming(CHI, button=unknown, chat=COUNCIL))
    assert r.answer is not None and "Nút này đã cũ" in r.answer.text
    r = await h.feed(h.incoming(CHI, button="lc:not-an-id:op", chat=COUNCIL))
    assert r.answer is not None and "Nút này đã cũ" in r.answer.text
    for user in (CHI, OUTSIDER):  # a member of the council and a group member with no role
        for action in ("op", "sc", "rc", "nr", "ap"):
            for value in ("", "55555", "1"):
                press = LifecyclePress(idea.id, action, value).pack()
                r = await h.feed(h.incoming(user, button=press, chat=COUNCIL))
                assert r.answer is not None or r.replies
    async with h.sessionmaker() as session:
        stored = await session.get(Idea, idea.id)
        assert stored is not None and stored.status == IdeaStatus.APPROVED.value
        scores = (await session.execute(select(CouncilScore))).scalars().all()
        assert scores == [], "a group never scores"
    await h.deliver()
    shown = " ".join(r.text for r in h.screen(COUNCIL.external_id))
    assert idea.body not in shown and "Lắp cảm biến" not in shown
