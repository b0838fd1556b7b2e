"""The dashboard's tree and who may open it (issue #20): the same numbers as /progress,
the same ranking, drill-down, and a refusal for everyone outside an official's scope."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from handlers.dashboard.service import Dashboard, Denied
from handlers.i18n import Catalogue
from storage.models import Role, RoleKind
from storage.uow import UnitOfWork
from tests.flows import test_progress
from tests.flows.harness import Harness
from tests.flows.test_progress import (
    OFFICIAL_HCM,
    OFFICIAL_Q7,
    SUPPORT_MAY,
    WORKER_HN,
    WORKERS,
    World,
    seed_live,
    shown_counts,
)
from tests.flows.test_worker_idea import invite, join_by_link
from tests.flows.trust import _person_id

world = test_progress.world  # the progress tests' world: the same units, quotas and roles


def dashboard(h: Harness, catalogue: Catalogue) -> Dashboard:
    return Dashboard(
        sessionmaker=h.sessionmaker, reader=h.sessionmaker, catalogue=catalogue, clock=lambda: h.now
    )


def counts(figures: dict[str, object]) -> tuple[int, int]:
    return int(figures["submitted"]), int(figures["approved"])  # type: ignore[call-overload]


async def test_the_tree_shows_progress_numbers_and_ranking_and_drills_down(world: World) -> None:
    w, h = world, world.h
    await seed_live(w)
    board = dashboard(h, w.catalogue)
    official = await _person_id(h, OFFICIAL_HCM)
    by_id = {unit.id: code for code, unit in w.units.items()}

    for code, user in (("HCM", OFFICIAL_HCM), ("HCM-Q7", OFFICIAL_HCM), ("HCM-Q7", OFFICIAL_Q7)):
        text = (await h.send(user, f"/progress {code}")).last.text
        chat = shown_counts(text, w.units)
        person = await _person_id(h, user)
        unit_id = None if (code, user) == ("HCM-Q7", OFFICIAL_Q7) else w.units[code].id
        tree = await board.tree(person, unit_id)
        assert tree["unit"]["id"] == w.units[code].id
        page = {by_id[tree["own"]["unit_id"]]: counts(tree["own"])}
        page |= {by_id[c["unit_id"]]: counts(c) for c in tree["children"]}
        assert page == chat  # exactly /progress's figures, unit by unit
        ranked = [by_id[c["unit_id"]] for c in tree["children"]]
        names = [m for m in re.findall(r"^\d+\. \S+ (.*?):", text, re.M)]
        assert ranked == [next(c for c, u in w.units.items() if u.name == n) for n in names]
        assert tree["campaign"]["name"] == w.p2.name  # the campaign /progress picks

    # Drill-down from the province to the district: the crumbs run from the
    # official's own unit down, and laggards come first (a quota not reached first).
    tree = await board.tree(official, w.units["HCM-Q7"].id)
    assert [c["id"] for c in tree["crumbs"]] == [w.units["HCM"].id, w.units["HCM-Q7"].id]
    first, *_ = tree["children"]
    assert first["attainment"] is not None
    assert [c["has_children"] for c in tree["children"]] == [
        by_id[c["unit_id"]] == "HCM-Q7-MAY" for c in tree["children"]
    ]
    attainments = [c["attainment"] for c in tree["children"] if c["attainment"] is not None]
    assert attainments == sorted(attainments)

    # The trend: this week's submissions (all ideas came today), none in earlier weeks.
    assert len(tree["weeks"]) == 8 and tree["weeks"][-1] == "2026-11-16"
    assert tree["own"]["trend"] == [0] * 7 + [tree["own"]["submitted"]]
    for child in tree["children"]:
        assert child["trend"][-1] == child["submitted"] == child["week_submitted"]


async def test_the_trend_counts_each_iso_week(world: World) -> None:
    w, h = world, world.h
    board = dashboard(h, w.catalogue)
    official = await _person_id(h, OFFICIAL_Q7)
    async with UnitOfWork(h.sessionmaker) as uow:
        path = [w.units[c].id for c in ("VN", "HCM", "HCM-Q7", "HCM-Q7-DIEN")]
        for day, n in ((datetime(2026, 11, 2).date(), 2), (datetime(2026, 11, 8).date(), 1)):
            await uow.progress.bump(path, w.p2.id, day, submitted=n)
        await uow.progress.bump(path, w.p2.id, datetime(2026, 11, 19).date(), submitted=4)
        await uow.progress.bump(path, w.p2.id, datetime(2026, 9, 1).date(), submitted=9)
        await uow.commit()
    tree = await board.tree(official, None)
    dien = next(c for c in tree["children"] if c["unit_id"] == w.units["HCM-Q7-DIEN"].id)
    # Mondays 28/9 … 16/11: 2 + 1 in the week of 2/11 (Sunday 8/11 included), 4 this
    # week; the 9 of September are older than eight weeks.
    assert dien["trend"] == [0, 0, 0, 0, 0, 3, 0, 4]
    assert tree["own"]["trend"] == dien["trend"]
    assert dien["submitted"] == 16


async def test_who_may_not_open_the_tree(world: World) -> None:
    w, h = world, world.h
    await seed_live(w)
    board = dashboard(h, w.catalogue)
    q7 = await _person_id(h, OFFICIAL_Q7)
    # Above the official's own unit, another province, a unit that does not exist.
    for unit in (w.units["HCM"].id, w.units["HN"].id, w.units["VN"].id, 10**6):
        with pytest.raises(Denied):
            await board.tree(q7, unit)
    # A support member, a worker, a person with no role, nobody at all.
    for user in (SUPPORT_MAY, WORKERS["HCM-Q7-MAY"], WORKER_HN):
        person = await _person_id(h, user)
        for call in (board.tree(person, None), board.tree(person, w.units["HCM-Q7"].id)):
            with pytest.raises(Denied):
                await call
    with pytest.raises(Denied):
        await board.tree(10**6, None)
    # A council member of the district, and an official whose role was revoked.
    member = 8101
    await h.send(member, f"/start {await invite(h, w.units['HCM-Q7'], RoleKind.COUNCIL)}")
    council = await _person_id(h, member)
    async with UnitOfWork(h.sessionmaker) as uow:
        assert [r.role for r, _ in await uow.roles.roles_of(council)] == ["council"]
    async with h.sessionmaker() as session:
        await session.execute(
            update(Role)
            .where(Role.person_id == q7)
            .values(revoked_at=datetime(2026, 11, 20, tzinfo=UTC))
        )
        await session.commit()
    for person in (council, q7):
        q7_unit = w.units["HCM-Q7"].id
        for view in (board.me(person), board.tree(person, q7_unit), board.queue(person)):
            with pytest.raises(Denied):
                await view


async def test_me_names_the_views_of_each_role(world: World) -> None:
    w, h = world, world.h
    board = dashboard(h, w.catalogue)
    official = await board.me(await _person_id(h, OFFICIAL_HCM))
    assert official["views"] == ["tree", "ideas", "export"]
    assert official["units"] == {
        "official": [{"id": w.units["HCM"].id, "name": w.units["HCM"].name}],
        "support": [],
    }
    assert official["lang"] == "vi" and official["name"] == "Cán bộ"
    assert all(key.startswith("web.") for key in official["texts"])
    support = await board.me(await _person_id(h, SUPPORT_MAY))
    assert support["views"] == ["queue"]
    await join_by_link(h, WORKER_HN, w.units["HN-X"])  # a worker: a member, no role
    await h.send(8102, "/help")  # someone who only talked to the bot
    for user in (WORKER_HN, 8102):
        with pytest.raises(Denied):
            await board.me(await _person_id(h, user))


def test_the_page_texts_keep_their_placeholders_in_the_persons_language() -> None:
    catalogue = Catalogue.from_mapping(
        {
            "vi": {"web.title": "Bảng theo dõi", "web.count": "{count} ý tưởng", "x.y": "Khác"},
            "en": {"web.title": "Dashboard"},
        }
    )
    assert catalogue.templates("en", "web.") == {
        "web.count": "{count} ý tưởng",  # missing in English: the Vietnamese text
        "web.title": "Dashboard",
    }
    assert catalogue.templates("vi", "web.")["web.title"] == "Bảng theo dõi"
