"""The dashboard's list of ideas, one idea's card and the queue (issue #20): what each
viewer may see of a confidential idea, search, filters, paging, and forged requests."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from handlers import visibility
from handlers.dashboard import ideas as dashboard_ideas
from handlers.dashboard.base import BadRequest, Denied, IdeaQuery
from handlers.dashboard.service import Dashboard
from handlers.i18n import Catalogue
from storage.models import Idea, IdeaStatus, RoleKind
from storage.repositories import dashboard as dashboard_repository
from storage.uow import UnitOfWork
from tests.flows.harness import Harness
from tests.flows.test_worker_idea import invite
from tests.flows.trust import (
    AUTHOR,
    AUTHOR_NAME,
    SECRET_TEXT,
    TYPED_TITLE,
    World,
    _person_id,
    make_world,
)

# Words of the confidential text only (not of its typed title), folded and not.
TEXT_WORDS = ("gọi tôi", "goi toi", "0912 345")
TITLE_WORDS = ("giảm nhiệt", "GIAM NHIET")


@pytest.fixture
async def world(harness: Harness) -> World:
    return await make_world(harness)


def board(w: World, catalogue: Catalogue) -> Dashboard:
    h = w.h
    return Dashboard(
        sessionmaker=h.sessionmaker, reader=h.sessionmaker, catalogue=catalogue, clock=lambda: h.now
    )


async def add_idea(
    w: World,
    *,
    code: str = "HCM-Q7-MAY",
    body: str = SECRET_TEXT,
    title: str | None = None,
    confidential: bool = False,
    category: str = "technical",
    status: str = IdeaStatus.SUBMITTED.value,
    minutes_ago: int = 0,
) -> Idea:
    """An idea stored as the form stores it (its search text too, IdeaRepository.add)."""
    h, unit = w.h, w.units[code]
    at = h.now - timedelta(minutes=minutes_ago)
    author = await _person_id(h, AUTHOR)
    async with UnitOfWork(h.sessionmaker) as uow:
        number = await uow.ideas.next_number("test")
        idea = await uow.ideas.add(
            Idea(
                ref_code=f"SK-2026-{number:06d}",
                author_id=author,
                unit_id=unit.id,
                holder_unit_id=unit.id,
                title=title or body[:40],
                title_given=title is not None,
                body=body,
                category=category,
                benefit="cost",
                confidential=confidential,
                language="vi",
                status=status,
                created_at=at,
                updated_at=at,
                waiting_since=at,
            )
        )
        await uow.commit()
        return idea


async def viewer(w: World, role: str, relation: str) -> int:
    return await _person_id(w.h, w.viewers[(role, relation)])


async def listed(b: Dashboard, person: int, **query: object) -> list[dict[str, object]]:
    page = await b.ideas(person, IdeaQuery(**query))  # type: ignore[arg-type]
    return page["ideas"]  # type: ignore[no-any-return]


async def test_a_confidential_idea_above_its_union_is_its_summary_and_unsearchable(
    world: World, catalogue: Catalogue
) -> None:
    w, b = world, board(world, catalogue)
    derived = await add_idea(w, confidential=True)
    typed = await add_idea(w, confidential=True, title=TYPED_TITLE, minutes_ago=1)
    above = await viewer(w, "official", "parent")
    inside = await viewer(w, "official", "own")

    rows = await listed(b, above)
    assert [r["id"] for r in rows] == [derived.id, typed.id]
    assert [(r["title"], r["sight"]) for r in rows] == [(None, "summary"), (TYPED_TITLE, "summary")]
    everything = json.dumps(rows, ensure_ascii=False) + json.dumps(
        [await b.idea(above, i.id) for i in (derived, typed)], ensure_ascii=False
    )
    for secret in (SECRET_TEXT[:20], SECRET_TEXT[-12:], AUTHOR_NAME):
        assert secret not in everything
    card = await b.idea(above, derived.id)
    assert "body" not in card["idea"] and card["idea"]["history"] == []
    assert card["actions"] == []

    for word in TEXT_WORDS:  # the text: found by the union's own official only
        assert await listed(b, above, text=word) == []
        found = await listed(b, inside, text=word)
        assert [r["id"] for r in found] == [derived.id, typed.id]
    for word in TITLE_WORDS:  # a typed title travels above the union
        assert [r["id"] for r in await listed(b, above, text=word)] == [typed.id]
    full = await listed(b, inside)
    assert [(r["title"], r["sight"]) for r in full] == [
        (SECRET_TEXT[:40], "full"),
        (TYPED_TITLE, "full"),
    ]
    assert (await b.idea(inside, derived.id))["idea"]["body"] == SECRET_TEXT


async def test_search_ignores_diacritics_and_case_and_matches_word_beginnings(
    world: World, catalogue: Catalogue
) -> None:
    w, b = world, board(world, catalogue)
    accented = await add_idea(w, body="Cải tiến khâu đóng gói giảm 15% hao hụt")
    lamp = await add_idea(w, body="Lắp đèn tiết kiệm điện cho xưởng")
    official = await viewer(w, "official", "parent")
    found = (
        "cai tien",
        "CẢI TIẾN",
        "Cai  Tien",
        "15%",
        "đóng gói",
        "cai tie",  # the beginnings of words
        "ca ti dong g",
        "tien cai",  # in any order
        "giam 1",
    )
    for words in found:
        assert [r["id"] for r in await listed(b, official, text=words)] == [accented.id], words
    assert [r["id"] for r in await listed(b, official, text="tiet ki")] == [lamp.id]
    assert [r["id"] for r in await listed(b, official, text="ti")] == [lamp.id, accented.id]
    # Every word must start a word of the idea: not its middle, not one missing.
    for words in ("ien", "oi", "5", "cai tien den", "50", "g_i", "15%x"):
        assert await listed(b, official, text=words) == [], words
    # No letter or digit to search: nothing found (not everything).
    for words in ("%", "_", '"', "*", "-", "%%"):
        assert await listed(b, official, text=words) == [], words
    assert len(await listed(b, official, text="  ")) == 2  # blank: no search


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ('"cải tiến"', True),  # quotes are no phrase syntax
        ('cai" tien', True),
        ("cai*", True),
        ("*cai", True),
        ("-hao", True),  # no NOT
        ("cai -hao", True),
        ("^cai", True),
        ("(cai) (tien)", True),
        ("cai + tien", True),
        ("{text}: cai", False),  # "text" is a word to find, no column filter
        ("title: cai", False),
        ("cai OR đèn", False),  # "or" is a word to find, no operator
        ("cai AND tien", False),
        ("NOT hao", False),
        ("NEAR(cai tien)", False),
        ("NEAR(", False),
        ('"', False),
        ("cai " * 25, True),  # 100 characters, the longest search taken
        ("c a i t e n k h d o g 1 5 u", False),
        ("a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9", False),
    ],
)
async def test_search_takes_every_sign_typed_literally(
    world: World, catalogue: Catalogue, typed: str, found: bool
) -> None:
    """Full-text syntax typed into the search box is no syntax: never an error, and
    only letters and digits are searched, each as the beginning of a word."""
    w, b = world, board(world, catalogue)
    accented = await add_idea(w, body="Cải tiến khâu đóng gói giảm 15% hao hụt")
    await add_idea(w, body="Lắp đèn tiết kiệm điện cho xưởng")
    official = await viewer(w, "official", "parent")
    rows = await listed(b, official, text=typed)
    assert [r["id"] for r in rows] == ([accented.id] if found else [])


async def test_filters_and_the_scope(world: World, catalogue: Catalogue) -> None:
    w, b = world, board(world, catalogue)
    old = await add_idea(w, body="Ý tưởng cũ", minutes_ago=3 * 24 * 60, category="safety")
    declined = await add_idea(w, body="Đã từ chối", status=IdeaStatus.DECLINED.value)
    dien = await add_idea(w, code="HCM-Q7-DIEN", body="Ý tưởng của Điện tử")
    hanoi = await add_idea(w, code="HN-X", body="Ý tưởng ở Hà Nội")
    q7 = await viewer(w, "official", "parent")

    def ids(rows: list[dict[str, object]]) -> set[object]:
        return {r["id"] for r in rows}

    assert ids(await listed(b, q7)) == {old.id, declined.id, dien.id}  # not Hà Nội's
    assert ids(await listed(b, q7, unit_id=w.units["HCM-Q7-DIEN"].id)) == {dien.id}
    assert ids(await listed(b, q7, status="declined")) == {declined.id}
    assert ids(await listed(b, q7, status="declined,submitted")) == {
        old.id,
        declined.id,
        dien.id,
    }
    assert ids(await listed(b, q7, category="safety")) == {old.id}
    # Vietnam days: the harness's now is 15:00 on 20/11 in Vietnam; "old" was on 17/11.
    assert ids(await listed(b, q7, since="2026-11-18")) == {declined.id, dien.id}
    assert ids(await listed(b, q7, until="2026-11-17")) == {old.id}
    assert ids(await listed(b, q7, since="2026-11-17", until="2026-11-17")) == {old.id}
    hn = await viewer(w, "official", "province")
    assert ids(await listed(b, hn)) == {hanoi.id}
    # Another province's unit, a unit above the official's, a unit that does not exist.
    for unit_id in (w.units["HN-X"].id, w.units["HCM"].id, 10**6):
        with pytest.raises(Denied):
            await listed(b, q7, unit_id=unit_id)
    row = (await listed(b, q7, status="declined"))[0]
    assert row["status_text"] == "✖️ Chưa được chấp nhận" and row["category_text"]
    assert row["unit"] == {"id": w.units["HCM-Q7-MAY"].id, "name": w.units["HCM-Q7-MAY"].name}


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ({"status": "approved;drop table"}, "dashboard_views.bad_status"),
        ({"status": "submitted,submitted"}, "dashboard_views.bad_status"),
        ({"status": ",".join(["submitted"] * 200)}, "dashboard_views.bad_status"),
        ({"status": "submitted,"}, "dashboard_views.bad_status"),
        ({"category": "technical'"}, "dashboard_views.bad_category"),
        ({"since": "2026-13-01"}, "dashboard_views.bad_date"),
        ({"until": "20/11/2026"}, "dashboard_views.bad_date"),
        ({"since": "2026-11-20", "until": "2026-11-01"}, "dashboard_views.bad_date"),
        ({"text": "a" * 101}, "dashboard_views.bad_search"),
        ({"cursor": "abc"}, "dashboard_views.bad_cursor"),
        ({"cursor": "1.2.3"}, "dashboard_views.bad_cursor"),
        ({"cursor": "-5.3"}, "dashboard_views.bad_cursor"),
        ({"cursor": "999999999999999999.1"}, "dashboard_views.bad_cursor"),
    ],
)
async def test_malformed_requests_are_refused_politely(
    world: World, catalogue: Catalogue, query: dict[str, str], key: str
) -> None:
    b = board(world, catalogue)
    with pytest.raises(BadRequest) as refused:
        await b.ideas(await viewer(world, "official", "parent"), IdeaQuery(**query))  # type: ignore[arg-type]
    assert refused.value.key == key
    for lang in ("vi", "en"):
        assert catalogue.text(lang, key)


async def test_paging_returns_each_idea_once_newest_first(
    world: World, catalogue: Catalogue
) -> None:
    w, b = world, board(world, catalogue)
    made = []
    for n in range(120):  # many at the same moment: the id breaks the tie
        made.append(await add_idea(w, body=f"Ý tưởng số {n}", minutes_ago=n // 7))
    official = await viewer(w, "official", "parent")
    seen: list[object] = []
    cursor = None
    pages = 0
    while True:
        page = await b.ideas(official, IdeaQuery(cursor=cursor))
        seen += [r["id"] for r in page["ideas"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    newest_first = sorted(made, key=lambda i: (i.created_at, i.id), reverse=True)
    assert seen == [i.id for i in newest_first]
    assert pages == 3
    # The cursor with a filter and a search keeps its own order.
    page = await b.ideas(official, IdeaQuery(text="y tuong so 1"))
    assert len(page["ideas"]) == 31 and page["next"] is None  # 1, 10-19, 100-119


async def test_the_card_offers_the_deciding_team_its_decisions(
    world: World, catalogue: Catalogue
) -> None:
    w, b = world, board(world, catalogue)
    idea = await add_idea(w, confidential=True, title=TYPED_TITLE)
    team = await viewer(w, "support", "own")
    card = await b.idea(team, idea.id)
    assert card["actions"] == ["approve", "ask", "forward", "decline"]
    assert [u["id"] for u in card["forward_to"]] == [w.units[c].id for c in ("HCM-Q7", "HCM", "VN")]
    assert [r["key"] for r in card["decline_reasons"]] == [
        "duplicate",
        "not_feasible",
        "out_of_scope",
        "no_answer",
    ]
    assert card["idea"]["body"] == SECRET_TEXT
    # The team above sees the summary and decides nothing; outsiders see nothing.
    above = await b.idea(await viewer(w, "support", "parent"), idea.id)
    assert above["actions"] == [] and "body" not in above["idea"]
    for role, relation in (("official", "province"), ("support", "sibling"), ("official", "child")):
        with pytest.raises(Denied):
            await b.idea(await viewer(w, role, relation), idea.id)
    with pytest.raises(Denied):  # the same refusal for an idea that does not exist
        await b.idea(team, 10**6)
    decided = await add_idea(w, status=IdeaStatus.APPROVED.value)
    assert (await b.idea(team, decided.id))["actions"] == []


async def test_the_queue_is_the_chats_queue_oldest_first(
    world: World, catalogue: Catalogue
) -> None:
    w, b = world, board(world, catalogue)
    newer = await add_idea(w, body="Mới gửi", minutes_ago=5)
    older = await add_idea(w, body="Gửi từ lâu", minutes_ago=3 * 24 * 60, confidential=True)
    await add_idea(w, body="Đã duyệt", status=IdeaStatus.APPROVED.value)
    team = await viewer(w, "support", "own")
    queue = (await b.queue(team))["ideas"]
    assert [q["id"] for q in queue] == [older.id, newer.id]
    assert queue[0]["waiting_text"] == "15:00 ngày 17/11 (3 ngày trước)"
    assert queue[0]["sight"] == "full"  # the union's own team sees it whole
    chat = (await w.h.send(w.viewers[("support", "own")], "/queue")).last.text
    assert chat.index(older.ref_code) < chat.index(newer.ref_code)
    for role, relation in (("official", "own"), ("member", "own"), ("outsider", "none")):
        with pytest.raises(Denied):
            await b.queue(await viewer(w, role, relation))


async def test_search_and_paging_agree_whichever_way_the_ideas_are_found(
    world: World, catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A country's search walks the newest ideas first, then the matches; a district's
    walks its own newest ideas first. Small windows and pages make every way run here."""
    w, b = world, board(world, catalogue)
    made = []
    for n in range(14):
        body = "Thay bơm nước tiết kiệm điện" if n % 3 == 0 else f"Sắp xếp kho số {n}"
        made.append(
            await add_idea(w, body=body, minutes_ago=n, code=("HCM-Q7-MAY", "HCM-Q7-DIEN")[n % 2])
        )
    pumps = [i.id for i in made if "bơm" in i.body]  # newest first already
    national = 8201
    await w.h.send(national, f"/start {await invite(w.h, w.units['VN'], RoleKind.OFFICIAL)}")
    officials = [await _person_id(w.h, national), await viewer(w, "official", "parent")]
    monkeypatch.setattr(dashboard_repository, "SEARCH_WINDOWS", (2, 3))
    monkeypatch.setattr(dashboard_repository, "FEW_WINDOWS", (2, 3))
    monkeypatch.setattr(dashboard_ideas, "PAGE", 2)
    for official in officials:
        for text, expected in (("BOM NUOC", pumps), (None, [i.id for i in made])):
            seen: list[object] = []
            cursor = None
            while True:
                page = await b.ideas(official, IdeaQuery(text=text, cursor=cursor))
                seen += [r["id"] for r in page["ideas"]]
                cursor = page["next"]
                if cursor is None:
                    break
            assert seen == expected


async def test_a_pages_home_paths_are_the_policys(world: World) -> None:
    units = list(world.units.values())
    async with UnitOfWork(world.h.sessionmaker) as uow:
        homes = await dashboard_ideas.home_paths(uow, units)
        for unit in units:
            assert homes[unit.id] == await visibility.home_path(uow, unit)
