"""The dashboard's queries and its read-only unit of work on SQLite and on PostgreSQL
(issue #20): the migrated schema, ideas stored as the form stores them, read through
``handlers.dashboard.service.Dashboard`` as the web server reads them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from handlers.dashboard import ideas as dashboard_ideas
from handlers.dashboard.base import IdeaQuery
from handlers.dashboard.service import Dashboard
from handlers.i18n import Catalogue
from handlers.reports.view import load_view
from storage.db import create_engine, create_sessionmaker
from storage.folding import fold_name
from storage.models import Counter, Idea, IdeaStatus, Person, RoleKind, Unit, UnitKind
from storage.progress import add_campaign, vietnam_day
from storage.repositories import dashboard as dashboard_repository
from storage.uow import UnitOfWork

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # 15:00 on 20/11 in Vietnam
SECRET = "Bí mật: gọi tôi số 0912 345 678 về quạt hút ca đêm"
TYPED = "Giảm nhiệt lò sấy"

TREE = [  # code, name, kind, parent
    ("VN", "Tổng Liên đoàn Lao động Việt Nam", UnitKind.NATIONAL, None),
    ("HN", "Liên đoàn Lao động TP. Hà Nội", UnitKind.PROVINCE, "VN"),
    ("HCM", "Liên đoàn Lao động TP. Hồ Chí Minh", UnitKind.PROVINCE, "VN"),
    ("HN-BD", "Liên đoàn Lao động Quận Ba Đình", UnitKind.DISTRICT, "HN"),
    ("HCM-Q7", "Liên đoàn Lao động Quận 7", UnitKind.DISTRICT, "HCM"),
    ("HN-BD-CK", "Công đoàn cơ sở Công ty Cơ khí Ba Đình", UnitKind.GRASSROOTS, "HN-BD"),
    ("HCM-Q7-MAY", "Công đoàn cơ sở Công ty May Phú Mỹ", UnitKind.GRASSROOTS, "HCM-Q7"),
    ("HCM-Q7-DIEN", "Công đoàn cơ sở Công ty Điện tử Tân Thuận", UnitKind.GRASSROOTS, "HCM-Q7"),
]


@dataclass
class World:
    sessionmaker: async_sessionmaker[AsyncSession]
    board: Dashboard
    units: dict[str, Unit]
    national: int  # an official of the national unit
    inside: int  # an official of the Hà Nội grassroots union
    author: int
    ideas: dict[str, Idea]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


@pytest.fixture
async def reader(db_url: str, migrated_engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """A second engine on the same database, as the bot's views read (Deps.reader)."""
    engine = create_engine(db_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def world(
    sessionmaker: async_sessionmaker[AsyncSession], reader: AsyncEngine, catalogue: Catalogue
) -> World:
    units = await _tree(sessionmaker)
    async with UnitOfWork(sessionmaker) as uow:
        people = []
        for name, code in (("Quan chuc TW", "VN"), ("Chu tich CK", "HN-BD-CK"), ("Tac gia", None)):
            person = Person(
                display_name=name,
                unit_id=units[code].id if code else units["HN-BD-CK"].id,
                language="vi",
                created_at=NOW,
            )
            uow.session.add(person)
            await uow.flush()
            people.append(person.id)
            if code is not None:
                role = RoleKind.OFFICIAL.value
                await uow.roles.grant(
                    person_id=person.id, unit_id=units[code].id, role=role, now=NOW
                )
        await uow.commit()
    national, inside, author = people
    ideas: dict[str, tuple[str, str | None, str, dict[str, Any]]] = {
        "quat": ("HN-BD-CK", "Quạt hút bụi cho xưởng hàn", "Lắp quạt hút ở góc xưởng hàn", {}),
        "dong_goi": (
            "HCM-Q7-MAY",
            "Cải tiến khâu đóng gói",
            "Đóng gói theo lô giảm 15% hao hụt",
            {"status": IdeaStatus.APPROVED.value},
        ),
        "ten_file": (
            "HCM-Q7-DIEN",
            "Đặt tên_file theo mã máy",
            "Tên_file có mã máy và ngày",
            {"status": IdeaStatus.DECLINED.value},
        ),
        "typed": ("HN-BD-CK", TYPED, SECRET, {"confidential": True}),
        "derived": ("HN-BD-CK", None, SECRET, {"confidential": True}),
        "den": ("HCM-Q7-MAY", "Đèn tiết kiệm điện", "Thay đèn LED cho xưởng may", {}),
    }
    # Newest first: quat, dong_goi; then typed and derived at the very same moment
    # (the order falls back to the id); the others days earlier.
    ages = {"quat": 10, "dong_goi": 60, "typed": 120, "derived": 120, "den": 3 * 1440}
    ages["ten_file"] = 10 * 1440
    stored: dict[str, Idea] = {}
    for key, (code, title, body, extra) in ideas.items():
        stored[key] = await _add_idea(
            sessionmaker, units[code], author, title, body, minutes_ago=ages[key], **extra
        )
    # The campaign takes in the ideas already sent and builds their counters.
    await add_campaign(
        sessionmaker,
        code="2026",
        name="Sáng kiến 2026",
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
        now=NOW,
    )
    board = Dashboard(
        sessionmaker=sessionmaker,
        reader=create_sessionmaker(reader),
        catalogue=catalogue,
        clock=lambda: NOW,
    )
    return World(sessionmaker, board, units, national, inside, author, stored)


async def _tree(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    async with sessionmaker() as session:
        for code, name, kind, parent_code in TREE:
            parent = units[parent_code] if parent_code else None
            unit = Unit(
                code=code,
                name=name,
                name_folded=fold_name(name),
                kind=kind.value,
                parent_id=parent.id if parent else None,
                path="",
                depth=parent.depth + 1 if parent else 0,
                created_at=NOW,
            )
            session.add(unit)
            await session.flush()
            unit.path = f"{parent.path if parent else '/'}{unit.id}/"
            units[code] = unit
        await session.commit()
    return units


async def _add_idea(
    sessionmaker: async_sessionmaker[AsyncSession],
    unit: Unit,
    author: int,
    title: str | None,
    body: str,
    *,
    minutes_ago: int,
    status: str = IdeaStatus.SUBMITTED.value,
    confidential: bool = False,
) -> Idea:
    """Stored as the form stores it: IdeaRepository.add fills idea_search too."""
    at = NOW - timedelta(minutes=minutes_ago)
    async with UnitOfWork(sessionmaker) as uow:
        number = await uow.ideas.next_number("2026")
        idea = await uow.ideas.add(
            Idea(
                ref_code=f"SK-2026-{number:06d}",
                author_id=author,
                unit_id=unit.id,
                holder_unit_id=unit.id,
                title=title or body[:40],
                title_given=title is not None,
                body=body,
                category="technical",
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


async def ids(board: Dashboard, person: int, **query: object) -> list[int]:
    page = await board.ideas(person, IdeaQuery(**query))  # type: ignore[arg-type]
    return [int(row["id"]) for row in page["ideas"]]


async def test_the_national_officials_tree_has_progress_numbers(world: World) -> None:
    w = world
    tree = await w.board.tree(w.national, None)
    assert tree["unit"]["id"] == w.units["VN"].id
    assert tree["campaign"]["name"] == "Sáng kiến 2026"
    figures = {f["unit_id"]: f for f in [tree["own"], *tree["children"]]}
    async with UnitOfWork(w.sessionmaker) as uow:
        view = await load_view(
            uow, w.units["VN"], (await uow.progress.campaigns())[0], vietnam_day(NOW)
        )
    for f in [view.own, *view.children]:
        shown = figures[f.unit.id]
        assert (shown["submitted"], shown["approved"], shown["week_submitted"]) == (
            f.submitted,
            f.approved,
            f.week_submitted,
        )
    assert [c["unit_id"] for c in tree["children"]] == [c.unit.id for c in view.children]
    # Six ideas: three in Hà Nội (two of them confidential), three in Hồ Chí Minh City.
    hn, hcm = w.units["HN"].id, w.units["HCM"].id
    assert (tree["own"]["submitted"], tree["own"]["approved"]) == (6, 1)
    assert (figures[hn]["submitted"], figures[hcm]["submitted"]) == (3, 3)
    assert (figures[hn]["approved"], figures[hcm]["approved"]) == (0, 1)
    assert all(f["has_children"] for f in figures.values())
    # The trend from the daily counters: the idea of ten days ago in the week before.
    assert tree["own"]["trend"][-2:] == [1, 5]


async def test_the_list_newest_first_with_filters(world: World) -> None:
    w, b = world, world.board
    i = {key: idea.id for key, idea in w.ideas.items()}
    same = sorted((i["typed"], i["derived"]), reverse=True)
    assert await ids(b, w.national) == [i["quat"], i["dong_goi"], *same, i["den"], i["ten_file"]]
    assert await ids(b, w.national, status="approved") == [i["dong_goi"]]
    assert await ids(b, w.national, status="declined,approved") == [i["dong_goi"], i["ten_file"]]
    assert await ids(b, w.national, unit_id=w.units["HCM"].id) == [
        i["dong_goi"],
        i["den"],
        i["ten_file"],
    ]
    # Vietnam days: "den" on 17/11, "ten_file" on 10/11, the others on 20/11.
    assert await ids(b, w.national, since="2026-11-18") == [i["quat"], i["dong_goi"], *same]
    assert await ids(b, w.national, until="2026-11-17") == [i["den"], i["ten_file"]]
    assert await ids(b, w.national, since="2026-11-11", until="2026-11-17") == [i["den"]]
    assert await ids(b, w.national, since="2026-11-21") == []


async def test_search_matches_word_beginnings_ignoring_diacritics(world: World) -> None:
    w, b = world, world.board
    i = {key: idea.id for key, idea in w.ideas.items()}
    for words in ("quat hut", "QUẠT HÚT", "Quat  Hut", "xuong han", "qua hu", "han xuong q"):
        assert await ids(b, w.national, text=words) == [i["quat"]], words
    assert await ids(b, w.national, text="15%") == [i["dong_goi"]]
    assert await ids(b, w.national, text="ten_file") == [i["ten_file"]]
    assert await ids(b, w.national, text="ten%file") == [i["ten_file"]]
    assert await ids(b, w.national, text="xuo") == [i["quat"], i["den"]]
    # Not the middle of a word, not a word missing; signs alone find nothing.
    for words in ("uat", "ut bui", "quat hut z", "50%", "%", "_", "%%", '"'):
        assert await ids(b, w.national, text=words) == [], words
    # A district's list searches through its units (the other form of the query).
    q7 = w.units["HCM-Q7"].id
    assert await ids(b, w.national, unit_id=q7, text="DEN") == [i["den"]]
    assert await ids(b, w.national, unit_id=q7, text="den_led") == [i["den"]]
    assert await ids(b, w.national, unit_id=q7, text="den z") == []
    assert await ids(b, w.national, unit_id=q7, text="ma") == [i["den"], i["ten_file"]]


@pytest.mark.parametrize("district", [False, True])
@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ('"', False),  # nothing but signs: nothing found
        ("*", False),
        ('"quat', True),
        ("quat*", True),
        ("NEAR(quat hut)", False),  # "near" is a word to find
        ("NEAR(", False),
        ("-quat", True),  # no NOT
        ("quat -hut", True),
        ("title: quat", False),  # "title" is a word to find, no column filter
        ("{title}: quat", False),
        ("text:quat", False),
        ("^quat", True),
        ("quat OR hut", False),  # "or" is a word to find, no operator
        ("quat AND", False),
        ("(quat", True),
        ("quat)", True),
        ("'quat'", True),
        ("quat:*", True),  # PostgreSQL's tsquery syntax
        ("quat & !hut", True),
        ("quat | hut", True),
        ("quat <-> hut", True),
        ("\\quat", True),
        ("q" * 100, False),
        ("q " * 50, True),
    ],
)
async def test_search_syntax_typed_is_no_syntax(
    world: World, typed: str, found: bool, district: bool
) -> None:
    """Either database's full-text syntax in the input: never an error, only its
    letters and digits searched (each the beginning of a word, all of them)."""
    w, b = world, world.board
    unit = {"unit_id": w.units["HN-BD-CK"].id} if district else {}
    expected = [w.ideas["quat"].id] if found else []
    assert await ids(b, w.national, text=typed, **unit) == expected


async def test_a_confidential_text_is_not_searchable_above_its_union(world: World) -> None:
    w, b = world, world.board
    i = {key: idea.id for key, idea in w.ideas.items()}
    same = sorted((i["typed"], i["derived"]), reverse=True)
    for words in ("goi toi", "0912 345", "ca đêm"):  # only in the confidential text
        assert await ids(b, w.national, text=words) == []
        assert await ids(b, w.inside, text=words) == same
    # "quạt hút" is in the confidential text too: above the union, only the open idea.
    assert await ids(b, w.national, text="quat hut") == [i["quat"]]
    assert await ids(b, w.inside, text="quat hut") == [i["quat"], *same]
    # A typed title travels above the union; a title made from the text does not.
    assert await ids(b, w.national, text="giam nhiet") == [i["typed"]]
    assert await ids(b, w.national, text="bi mat") == []
    page = await b.ideas(w.national, IdeaQuery())
    titles = {row["id"]: row["title"] for row in page["ideas"]}
    assert (titles[i["typed"]], titles[i["derived"]]) == (TYPED, None)


@pytest.mark.parametrize("windows", [(2,), (2, 3), (1_000,)])
@pytest.mark.parametrize("few", [0, 2_000])  # PostgreSQL: windows, or the matches at once
async def test_paging_returns_each_idea_once(
    world: World, monkeypatch: pytest.MonkeyPatch, windows: tuple[int, ...], few: int
) -> None:
    w, b = world, world.board
    queries: list[dict[str, object]] = [
        {},
        {"text": "xuong"},
        {"text": "c"},
        {"unit_id": w.units["HN"].id},
        {"status": "submitted"},
        {"unit_id": w.units["HCM-Q7"].id, "text": "c"},  # a district's own windows
    ]
    whole = [await ids(b, w.national, **query) for query in queries]  # one page of 50
    # "c": not the confidential ones (their titles: no word with c; their texts: unseen)
    assert [len(ideas) for ideas in whole] == [6, 2, 4, 3, 4, 3]
    monkeypatch.setattr(dashboard_ideas, "PAGE", 2)
    monkeypatch.setattr(dashboard_repository, "SEARCH_WINDOWS", windows)
    monkeypatch.setattr(dashboard_repository, "FEW_WINDOWS", windows)
    monkeypatch.setattr(dashboard_repository, "PG_FEW_MATCHES", few)
    for query, expected in zip(queries, whole, strict=True):
        seen: list[int] = []
        cursor = None
        for _ in range(len(expected) + 1):
            page = await b.ideas(w.national, IdeaQuery(cursor=cursor, **query))  # type: ignore[arg-type]
            seen += [int(row["id"]) for row in page["ideas"]]
            cursor = page["next"]
            if cursor is None:
                break
        assert seen == expected, query
        assert cursor is None


async def test_a_read_only_unit_of_work_reads_and_keeps_nothing(world: World, dialect: str) -> None:
    w = world
    reader = w.board.reader
    async with UnitOfWork(reader, read_only=True) as uow:
        assert await uow.units.get(w.units["HN"].id) is not None
        assert await _count(uow, Idea) == len(w.ideas)
        with pytest.raises(RuntimeError):
            await uow.commit()
    async with UnitOfWork(reader, read_only=True) as uow:
        uow.session.add(Counter(name="written-while-reading", value=1))
        if dialect == "postgresql":  # refused before it could lock anything
            with pytest.raises(DBAPIError, match="read-only transaction"):
                await uow.flush()
        else:
            await uow.flush()
        with pytest.raises(RuntimeError):
            await uow.commit()
    # The pooled connection is a writer's again for an ordinary unit of work.
    async with UnitOfWork(reader) as uow:
        uow.session.add(Counter(name="written", value=1))
        await uow.commit()
    async with UnitOfWork(w.sessionmaker) as uow:
        names = (await uow.session.execute(select(Counter.name))).scalars().all()
        assert "written" in names and "written-while-reading" not in names


async def test_a_read_only_unit_of_work_sees_one_snapshot(world: World) -> None:
    """A view's several queries agree: what writers commit meanwhile shows in the next view."""
    w = world
    async with UnitOfWork(w.board.reader, read_only=True) as uow:
        before = await _count(uow, Idea)
        await _add_idea(w.sessionmaker, w.units["HCM-Q7-MAY"], w.author, None, "Mới", minutes_ago=0)
        assert await _count(uow, Idea) == before
        assert await ids(w.board, w.national, text="moi") != []  # a new view sees it
    async with UnitOfWork(w.board.reader, read_only=True) as uow:
        assert await _count(uow, Idea) == before + 1


async def test_the_export_reads_in_read_only_units_of_work(world: World, tmp_path: Path) -> None:
    made = await world.board.export(world.national, None, tmp_path / "export.xlsx")
    assert (made["rows"], made["total"]) == (6, 6)
    assert (tmp_path / "export.xlsx").stat().st_size > 0


async def _count(uow: UnitOfWork, model: type[Idea]) -> int:
    return int((await uow.session.execute(select(func.count()).select_from(model))).scalar_one())
