"""Who joined through an invite is recorded, by a private /start and by a group binding."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from handlers.events import ChatRef
from storage.models import Invite, RoleKind, Unit
from storage.repositories.invites import InviteRepository
from tests.flows.harness import Harness
from tests.flows.test_worker_idea import invite

WORKER, ANH = 1001, 2001


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness


async def recorded(h: Harness) -> dict[int, list[tuple[str, datetime]]]:
    async with h.sessionmaker() as session:
        ids = list(await session.scalars(select(Invite.id).order_by(Invite.id)))
        return await InviteRepository(session).redemptions(ids)


async def test_a_private_join_and_a_refused_second_use(h: Harness, units: dict[str, Unit]) -> None:
    token = await invite(h, units["HCM-Q7-MAY"], RoleKind.MEMBER, max_uses=1)
    await h.send(WORKER, f"/start {token}", name="Phạm Thị Mai")
    await h.send(ANH, f"/start {token}", name="Võ Văn Anh")  # used up: not recorded
    [(names_and_times)] = (await recorded(h)).values()
    assert [name for name, _ in names_and_times] == ["Phạm Thị Mai"]


async def test_a_support_role_and_a_group_binding(h: Harness, units: dict[str, Unit]) -> None:
    token = await invite(h, units["HCM-Q7-MAY"], RoleKind.SUPPORT)
    await h.send(ANH, f"/start {token}", name="Võ Văn Anh")
    group = ChatRef("telegram", "-100500", "group", "Tổ hỗ trợ SK")
    r = await h.feed(
        h.incoming(ANH, text=f"/start@sangkien_bot {token}", chat=group, name="Võ Văn Anh")
    )
    assert "Nhóm này đã trở thành nhóm" in r.last.text
    [(names_and_times)] = (await recorded(h)).values()
    assert [name for name, _ in names_and_times] == ["Võ Văn Anh", "Võ Văn Anh"]
    assert names_and_times[0][1] < names_and_times[1][1]
