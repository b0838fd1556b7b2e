"""Similar ideas' storage and lookup (issue #21) on SQLite and on PostgreSQL: the words
stored with each new idea, the repository's reads (uow.similar), what a submission
records, and a draft's lookup through handlers.similar.for_draft: it finds the unit's
idea typed without diacritics and never shows a worker a confidential idea of someone
else or an idea of another unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import similar, similar_score
from storage.folding import fold_name
from storage.models import Idea, IdeaStatus, Person, RoleKind, Unit, UnitKind
from storage.similar_models import SimilarText
from storage.similar_words import idea_hashes, word_hashes
from storage.uow import UnitOfWork

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
JAM = "Máy ép số 3 hay bị kẹt phôi, đề xuất lắp cảm biến để máy tự dừng khi phôi bị lệch."
JAM_TYPED = "may ep so 3 hay bi ket phoi, lap cam bien cho may tu dung khi phoi lech"
OTHER_TEXTS = (
    "Thay bóng đèn huỳnh quang ở xưởng may 2 bằng đèn LED để tiết kiệm điện.",
    "Nhà ăn nên có bảng đăng ký suất ăn trước một ngày để bếp nấu vừa đủ.",
    "Phòng hành chính nên cài máy in mặc định in hai mặt để tiết kiệm giấy.",
    "Kẻ vạch sơn vàng phân làn đường đi bộ trong xưởng cơ khí.",
    "Máy ép số 3 nên thay dầu thủy lực định kỳ hàng tháng.",
)

TREE = [  # code, kind, parent
    ("D", UnitKind.DISTRICT, None),
    ("A", UnitKind.GRASSROOTS, "D"),
    ("B", UnitKind.GRASSROOTS, "D"),
    ("E", UnitKind.DISTRICT, None),
    ("C", UnitKind.GRASSROOTS, "E"),
]


@dataclass
class World:
    sessionmaker: async_sessionmaker[AsyncSession]
    units: dict[str, Unit]
    people: dict[str, Person]
    minutes: int = 0  # each idea a minute after the one before

    async def idea(
        self,
        unit: str,
        author: str,
        body: str,
        *,
        title: str | None = None,
        confidential: bool = False,
        language: str = "vi",
    ) -> Idea:
        self.minutes += 1
        at = NOW + timedelta(minutes=self.minutes)
        async with UnitOfWork(self.sessionmaker) as uow:
            number = await uow.ideas.next_number("2026")
            idea = await uow.ideas.add(
                Idea(
                    ref_code=f"SK-2026-{number:06d}",
                    author_id=self.people[author].id,
                    unit_id=self.units[unit].id,
                    holder_unit_id=self.units[unit].id,
                    title=title or body[:40],
                    title_given=title is not None,
                    body=body,
                    category="technical",
                    benefit="cost",
                    confidential=confidential,
                    language=language,
                    status=IdeaStatus.SUBMITTED.value,
                    created_at=at,
                    updated_at=at,
                    waiting_since=at,
                )
            )
            await uow.commit()
            return idea


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    units: dict[str, Unit] = {}
    people: dict[str, Person] = {}
    async with UnitOfWork(sessionmaker) as uow:
        for code, kind, parent_code in TREE:
            parent = units[parent_code] if parent_code else None
            name = f"Công đoàn {code}"
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
            uow.session.add(unit)
            await uow.flush()
            unit.path = f"{parent.path if parent else '/'}{unit.id}/"
            units[code] = unit
        # worker and colleague in A, neighbour in B, stranger in C, boss at D
        for name, code in (("worker", "A"), ("colleague", "A"), ("neighbour", "B")):
            people[name] = Person(display_name=name, unit_id=units[code].id, created_at=NOW)
        people["stranger"] = Person(display_name="s", unit_id=units["C"].id, created_at=NOW)
        people["boss"] = Person(display_name="b", unit_id=units["D"].id, created_at=NOW)
        uow.session.add_all(people.values())
        await uow.flush()
        await uow.commit()
    return World(sessionmaker, units, people)


async def _words_rows(w: World) -> dict[int, tuple[int, bytes]]:
    async with w.sessionmaker() as session:
        rows = await session.execute(
            select(SimilarText.idea_id, SimilarText.unit_id, SimilarText.hashes)
        )
        return {i: (u, bytes(h)) for i, u, h in rows.all()}


async def test_adding_an_idea_stores_its_words_under_its_unit(world: World) -> None:
    w = world
    vi = await w.idea("A", "worker", JAM, title="Kẹt phôi máy ép")
    en = await w.idea("B", "neighbour", "Fit sensors on press 3", language="en")
    rows = await _words_rows(w)
    assert rows == {
        vi.id: (w.units["A"].id, idea_hashes("Kẹt phôi máy ép", JAM, "vi")),
        en.id: (w.units["B"].id, idea_hashes(en.title, en.body, "en")),
    }
    assert rows[vi.id][1].startswith(word_hashes("ket phoi may ep so 3"))
    assert rows[en.id][1].startswith(word_hashes("instal sensor"))  # "fit" as "install"


async def test_in_units_only_those_units_newest_first_capped(world: World) -> None:
    w = world
    a1 = await w.idea("A", "worker", OTHER_TEXTS[0])
    b1 = await w.idea("B", "neighbour", OTHER_TEXTS[1])
    a2 = await w.idea("A", "colleague", OTHER_TEXTS[2])
    c1 = await w.idea("C", "stranger", OTHER_TEXTS[3])
    d1 = await w.idea("D", "boss", OTHER_TEXTS[4])
    async with UnitOfWork(w.sessionmaker, read_only=True) as uow:
        a, b, c, d = (w.units[k].id for k in "ABCD")
        assert await uow.similar.in_units([a]) == [
            (a2.id, idea_hashes(a2.title, a2.body, "vi")),
            (a1.id, idea_hashes(a1.title, a1.body, "vi")),
        ]
        ids = [i for i, _ in await uow.similar.in_units([a, d])]
        assert ids == [d1.id, a2.id, a1.id]
        assert [i for i, _ in await uow.similar.in_units([a, b, c, d], limit=2)] == [
            d1.id,
            c1.id,
        ]
        assert [i for i, _ in await uow.similar.in_units([b])] == [b1.id]
        assert await uow.similar.in_units([]) == []
        assert await uow.similar.in_units([w.units["E"].id]) == []


async def test_of_author_only_the_authors_newest_first(world: World) -> None:
    w = world
    mine = [await w.idea("A", "worker", t) for t in OTHER_TEXTS[:3]]
    await w.idea("A", "colleague", OTHER_TEXTS[3])
    await w.idea("B", "neighbour", OTHER_TEXTS[4])
    async with UnitOfWork(w.sessionmaker, read_only=True) as uow:
        found = await uow.similar.of_author(w.people["worker"].id)
        assert [i for i, _ in found] == [i.id for i in reversed(mine)]
        assert found[0][1] == idea_hashes(mine[2].title, mine[2].body, "vi")
        assert [i for i, _ in await uow.similar.of_author(w.people["worker"].id, limit=1)] == [
            mine[2].id
        ]
        assert await uow.similar.of_author(w.people["boss"].id) == []


async def test_record_and_found_for_round_trip_most_alike_first(world: World) -> None:
    w = world
    ideas = [await w.idea("A", "worker", t) for t in OTHER_TEXTS]
    new, x, y, z, other = ideas
    async with UnitOfWork(w.sessionmaker) as uow:
        await uow.similar.record(new.id, [(x.id, 0.5), (y.id, 0.912), (z.id, 0.5)])
        await uow.similar.record(other.id, [(x.id, 0.7)])
        await uow.commit()
    async with UnitOfWork(w.sessionmaker, read_only=True) as uow:
        found = await uow.similar.found_for(new.id)
        assert [i for i, _ in found] == [y.id, *sorted((x.id, z.id))]
        assert [s for _, s in found] == pytest.approx([0.912, 0.5, 0.5])
        assert [(i, round(s, 6)) for i, s in await uow.similar.found_for(other.id)] == [(x.id, 0.7)]
        assert await uow.similar.found_for(x.id) == []


async def _draft(w: World, who: str, text: str, title: str = "") -> similar.DraftMatches:
    async with UnitOfWork(w.sessionmaker, read_only=True) as uow:
        person = await uow.session.get(Person, w.people[who].id)
        assert person is not None and person.unit_id is not None
        unit = await uow.units.get(person.unit_id)
        assert unit is not None
        return await similar.for_draft(uow, person, unit, title, text, "vi")


async def test_a_draft_without_diacritics_finds_the_units_idea(world: World) -> None:
    w = world
    for text in OTHER_TEXTS:
        await w.idea("A", "colleague", text)
    shared = await w.idea("A", "colleague", JAM)
    found = await _draft(w, "worker", JAM_TYPED)
    assert [f.idea.id for f in found.for_worker] == [shared.id]
    assert found.for_worker[0].score >= similar_score.THRESHOLD
    assert [i for i, _ in found.for_team] == [shared.id]
    # Something else entirely finds nothing; an empty draft neither.
    assert (await _draft(w, "worker", "xin thêm tủ thuốc y tế ở nhà xe")).for_worker == []
    assert await _draft(w, "worker", "ko dc") == similar.DraftMatches([], [])


async def test_a_worker_is_never_shown_a_confidential_idea_of_someone_else_or_another_units(
    world: World,
) -> None:
    w = world
    for text in OTHER_TEXTS:
        await w.idea("A", "colleague", text)
        await w.idea("B", "neighbour", text)
    secret = await w.idea("A", "colleague", JAM, confidential=True)
    sibling = await w.idea("B", "neighbour", JAM)
    above = await w.idea("D", "boss", JAM)
    far = await w.idea("C", "stranger", JAM)
    own_secret = await w.idea("C", "worker", JAM, confidential=True)  # sent from elsewhere
    # The worker also holds a role above their unit: it changes nothing here.
    async with UnitOfWork(w.sessionmaker) as uow:
        for role in (RoleKind.SUPPORT.value, RoleKind.OFFICIAL.value):
            await uow.roles.grant(
                person_id=w.people["worker"].id, unit_id=w.units["D"].id, role=role, now=NOW
            )
        await uow.commit()
    found = await _draft(w, "worker", JAM_TYPED)
    assert [f.idea.id for f in found.for_worker] == [own_secret.id]
    # The team is told of every match in the unit and the unit above, confidential or not.
    assert sorted(i for i, _ in found.for_team) == sorted((secret.id, above.id))
    assert not {sibling.id, far.id, own_secret.id} & {i for i, _ in found.for_team}
    # The colleague sees their own confidential idea; the neighbour only their unit's.
    assert [f.idea.id for f in (await _draft(w, "colleague", JAM_TYPED)).for_worker] == [secret.id]
    assert [f.idea.id for f in (await _draft(w, "neighbour", JAM_TYPED)).for_worker] == [sibling.id]
    # The stranger in another district: their unit's shareable idea only.
    assert [f.idea.id for f in (await _draft(w, "stranger", JAM_TYPED)).for_worker] == [far.id]


async def test_at_most_three_shown_and_five_kept_for_the_team(world: World) -> None:
    w = world
    for text in OTHER_TEXTS:
        await w.idea("A", "colleague", text)
    copies = [await w.idea("A", "colleague", f"{JAM} Lần {n}.") for n in range(7)]
    found = await _draft(w, "worker", JAM_TYPED)
    assert len(found.for_worker) == similar.SHOWN_TO_WORKER == 3
    assert len(found.for_team) == similar.KEPT_FOR_TEAM == 5
    assert {f.idea.id for f in found.for_worker} <= {c.id for c in copies}
    scores = [s for _, s in found.for_team]
    assert scores == sorted(scores, reverse=True)
