"""A union tree with initiative councils around one grassroots unit, for the council tests.

Công ty May (MAY) has a support team, three council members and a chair; the district
(Q7) has a council of its own, which evaluates the ideas of a grassroots unit without
one (Xây dựng, XD); Điện tử (DIEN) has a council too, whose member must not touch
MAY's ideas. Everyone else the attacker matrix needs stands beside them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from handlers.buttons import CardPress
from handlers.events import ChatRef
from storage.lifecycle_models import CouncilScore, IdeaResult
from storage.models import Idea, IdeaEvent, IdeaStatus, Identity, RoleKind, Unit, UnitKind
from storage.progress import add_campaign
from tests.flows.harness import Harness, Reply, Result
from tests.flows.test_progress import add_unit
from tests.flows.test_worker_idea import invite, join_by_link

WORKER = 1001
ANH = 2001  # MAY's support team
XD_SUPPORT = 2002  # XD's support team
C1, C2, C3, CHAIR = 3001, 3002, 3003, 3009  # MAY's council
DISTRICT_COUNCIL = 3101  # a council member on the district (Q7)
DIEN_COUNCIL = 3201  # a council member on another grassroots unit
OFFICIAL = 4001  # an official on the district
LURKER = 4002  # in the council's group, no role
OUTSIDER = 4003
COUNCIL_GROUP = ChatRef("telegram", "-100555", "group", "Hội đồng sáng kiến May Phú Mỹ")
SECRET = "Đổi nhiệt độ lò sấy xuống 160 độ, gọi tôi 0912 345 678"
AUTHOR_NAME = "Trần Thị Bí Mật"
SCORES = "4534"  # novelty, applicability, benefit, safety

_numbers = itertools.count(1)


@dataclass
class World:
    h: Harness
    units: dict[str, Unit]
    people: dict[int, int] = field(default_factory=dict)  # user -> person id


async def person_id(h: Harness, user: int) -> int:
    async with h.sessionmaker() as session:
        query = select(Identity.person_id).where(Identity.external_id == str(user))
        return int((await session.execute(query)).scalar_one())


async def grant(
    h: Harness, user: int, unit: Unit, role: RoleKind, name: str, lang: str = "vi"
) -> None:
    token = await invite(h, unit, role)
    await h.send(user, f"/start {token}", name=name, lang=lang)


async def make_world(h: Harness, *, english_member: bool = False) -> World:
    u = h.units
    await add_unit(h, "HCM-Q7-XD", "CĐCS Công ty Xây dựng Số 7", UnitKind.GRASSROOTS, u["HCM-Q7"])
    await add_campaign(
        h.sessionmaker,
        code="2026-P2",
        name="Đợt 2",
        starts_on=date(2026, 9, 1),
        ends_on=date(2026, 12, 31),
    )
    await join_by_link(h, WORKER, u["HCM-Q7-MAY"])
    await h.send(WORKER, "/help", name=AUTHOR_NAME)
    await grant(h, ANH, u["HCM-Q7-MAY"], RoleKind.SUPPORT, "Anh Tổ hỗ trợ")
    await grant(h, XD_SUPPORT, u["HCM-Q7-XD"], RoleKind.SUPPORT, "Xuân Tổ XD")
    await grant(h, C1, u["HCM-Q7-MAY"], RoleKind.COUNCIL, "Chi Hội đồng")
    await grant(h, C2, u["HCM-Q7-MAY"], RoleKind.COUNCIL, "Dũng Hội đồng")
    lang3 = "en" if english_member else "vi"
    await grant(h, C3, u["HCM-Q7-MAY"], RoleKind.COUNCIL, "Emma Council", lang=lang3)
    await grant(h, CHAIR, u["HCM-Q7-MAY"], RoleKind.CHAIR, "Hoa Chủ tịch")
    await grant(h, DISTRICT_COUNCIL, u["HCM-Q7"], RoleKind.COUNCIL, "Khang Hội đồng Quận")
    await grant(h, DIEN_COUNCIL, u["HCM-Q7-DIEN"], RoleKind.COUNCIL, "Lan Hội đồng Điện")
    await grant(h, OFFICIAL, u["HCM-Q7"], RoleKind.OFFICIAL, "Minh Cán bộ")
    await h.send(LURKER, "/start", name="Người lạ trong nhóm")
    await h.send(OUTSIDER, "/help", name="Người ngoài")
    w = World(h, u)
    for user in (WORKER, ANH, XD_SUPPORT, C1, C2, C3, CHAIR, DISTRICT_COUNCIL, DIEN_COUNCIL):
        w.people[user] = await person_id(h, user)
    for user in (OFFICIAL, LURKER, OUTSIDER):
        w.people[user] = await person_id(h, user)
    return w


async def new_idea(w: World, unit_code: str = "HCM-Q7-MAY", *, confidential: bool = False) -> Idea:
    """An idea as the form stores it (the form is tested elsewhere), waiting for its team."""
    unit = w.units[unit_code]
    async with w.h.sessionmaker() as session:
        idea = Idea(
            ref_code=f"SK-2026-{900000 + next(_numbers)}",
            author_id=w.people[WORKER],
            unit_id=unit.id,
            holder_unit_id=unit.id,
            title=SECRET[:40],
            title_given=False,
            body=SECRET,
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


async def approve(w: World, idea: Idea, team_member: int = ANH) -> Result:
    """The support team approves (the Yes of the approval's confirmation)."""
    r = await w.h.press(team_member, CardPress(idea.id, "ok").pack())
    assert (await current(w.h, idea.id)).status == IdeaStatus.APPROVED.value, r.answer
    return r


async def current(h: Harness, idea_id: int) -> Idea:
    async with h.sessionmaker() as session:
        idea = await session.get(Idea, idea_id)
        assert idea is not None
        return idea


async def result_of(h: Harness, idea_id: int) -> IdeaResult | None:
    async with h.sessionmaker() as session:
        return await session.get(IdeaResult, idea_id)


async def scores(h: Harness, idea_id: int) -> list[CouncilScore]:
    async with h.sessionmaker() as session:
        rows = await session.execute(
            select(CouncilScore).where(CouncilScore.idea_id == idea_id).order_by(CouncilScore.id)
        )
        return list(rows.scalars())


async def events(h: Harness, idea_id: int) -> list[IdeaEvent]:
    async with h.sessionmaker() as session:
        rows = await session.execute(
            select(IdeaEvent).where(IdeaEvent.idea_id == idea_id).order_by(IdeaEvent.id)
        )
        return list(rows.scalars())


async def count(h: Harness, model: type, *where: object) -> int:
    async with h.sessionmaker() as session:
        query = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
        return int((await session.execute(query)).scalar_one())


def council_card(h: Harness, chat: int | str, ref: str) -> Reply:
    """The council card of ``ref`` in a chat (the newest, if several)."""
    cards = [
        r
        for r in h.screen(chat)
        if ref in r.text
        and ("Hội đồng sáng kiến</b>" in r.text or "Initiative council</b>" in r.text)
    ]
    assert cards, f"no council card for {ref} in {chat}: {[r.text[:60] for r in h.screen(chat)]}"
    return cards[-1]


async def score(
    w: World, user: int, idea: Idea, digits: str = SCORES, *, lang: str = "vi"
) -> Result:
    """Score from the council card in the member's private chat, one criterion at a time."""
    h = w.h
    label = "Score it" if lang == "en" else "Chấm điểm"
    r = await h.click(user, council_card(h, user, idea.ref_code), label, lang=lang)
    message = r.last
    for digit in digits:
        r = await h.click(user, message, digit, lang=lang)
        message = r.last
    return r
