"""A small union tree with a viewer in every place around one grassroots unit's ideas.

Shared by the authorisation matrix and the confidential-card tests.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from handlers.events import ChatRef
from storage.models import Idea, IdeaStatus, Identity, RoleKind, Unit, UnitKind
from storage.progress import add_campaign
from tests.flows.harness import Harness
from tests.flows.test_progress import add_unit
from tests.flows.test_worker_idea import invite, join_by_link

AUTHOR = 1001
GROUP = ChatRef("telegram", "-100777", "group", "Tổ hỗ trợ SK May Phú Mỹ")
SECRET_TEXT = "Đổi nhiệt độ lò sấy xuống 160 độ, gọi tôi 0912 345 678"
AUTHOR_NAME = "Trần Thị Bí Mật"
TYPED_TITLE = "Giảm nhiệt lò sấy"

RELATIONS = {
    "own": "HCM-Q7-MAY",
    "child": "HCM-Q7-MAY-T1",
    "parent": "HCM-Q7",
    "sibling": "HCM-Q7-DIEN",
    "province": "HN-X",
}
ROLES = ("member", "support", "official", "admin")


@dataclass
class World:
    h: Harness
    units: dict[str, Unit]
    viewers: dict[tuple[str, str], int]


_users = itertools.count(5000)


async def make_world(harness: Harness) -> World:
    h, u = harness, harness.units
    await add_unit(h, "HCM-Q7-MAY-T1", "Tổ Công đoàn Chuyền may 1", UnitKind.TEAM, u["HCM-Q7-MAY"])
    hn = await add_unit(h, "HN", "Liên đoàn Lao động TP. Hà Nội", UnitKind.PROVINCE, u["VN"])
    await add_unit(h, "HN-X", "CĐCS Công ty Xi măng Hồng Hà", UnitKind.GRASSROOTS, hn)
    await add_campaign(
        h.sessionmaker,
        code="2026-P2",
        name="Đợt 2",
        starts_on=date(2026, 9, 1),
        ends_on=date(2026, 12, 31),
    )
    await join_by_link(h, AUTHOR, u["HCM-Q7-MAY"])
    await h.send(AUTHOR, "/lang", name=AUTHOR_NAME)
    viewers: dict[tuple[str, str], int] = {}
    for relation, code in RELATIONS.items():
        for role in ROLES:
            user = next(_users)
            if role == "member":
                await join_by_link(h, user, u[code])
            else:
                token = await invite(h, u[code], RoleKind(role))
                await h.send(user, f"/start {token}", name=f"{role} {relation}")
            viewers[(role, relation)] = user
    # The grassroots team's group chat, bound by a support invite; one of its members
    # holds no role at all.
    team_member = viewers[("support", "own")]
    token = await invite(h, u["HCM-Q7-MAY"], RoleKind.SUPPORT)
    await h.feed(h.incoming(team_member, text=f"/start@sangkien_bot {token}", chat=GROUP))
    lurker = next(_users)
    await h.send(lurker, "/start")  # has a private chat with the bot, and nothing else
    viewers[("group member", "group")] = lurker
    viewers[("outsider", "none")] = next(_users)
    await h.send(viewers[("outsider", "none")], "/help")
    return World(h, u, viewers)


async def new_idea(w: World, *, confidential: bool, title_given: bool = False) -> Idea:
    """An idea as the form stores it (the form itself is tested elsewhere)."""
    unit = w.units["HCM-Q7-MAY"]
    author_id = await _person_id(w.h, AUTHOR)
    async with w.h.sessionmaker() as session:
        number = int(await session.scalar(select(func.count(Idea.id))) or 0) + 1
        idea = Idea(
            ref_code=f"SK-2026-{number:06d}",
            author_id=author_id,
            unit_id=unit.id,
            holder_unit_id=unit.id,
            title=TYPED_TITLE if title_given else SECRET_TEXT[:40],
            title_given=title_given,
            body=SECRET_TEXT,
            category="technical",
            benefit="cost",
            confidential=confidential,
            language="vi",
            status=IdeaStatus.SUBMITTED.value,
            created_at=w.h.now,
            updated_at=w.h.now,
            waiting_since=w.h.now,
        )
        session.add(idea)
        await session.commit()
        return idea


async def _person_id(h: Harness, user: int) -> int:
    async with h.sessionmaker() as session:
        query = select(Identity.person_id).where(Identity.external_id == str(user))
        return int((await session.execute(query)).scalar_one())


async def current(h: Harness, idea_id: int) -> Idea:
    async with h.sessionmaker() as session:
        idea = await session.get(Idea, idea_id)
        assert idea is not None
        return idea
