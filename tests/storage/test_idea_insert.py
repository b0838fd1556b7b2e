"""A new idea is stored by one fixed INSERT (storage.repositories.ideas.add), not the ORM's
flush: on SQLite (inline) and PostgreSQL it must store what a flush stores, defaults
included, and leave the object the session's own, so that a later change in the same or
another transaction is written (with the version check the flush keeps)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from storage.folding import fold_name
from storage.models import Idea, IdeaStatus, Person, Unit, UnitKind
from storage.uow import UnitOfWork

NOW = datetime(2026, 12, 7, 9, 15, tzinfo=UTC)
COLUMNS = [c for c in Idea.__table__.c if c.name != "id"]


def _idea(number: int, author: int, unit: int, **extra: Any) -> Idea:
    return Idea(
        ref_code=f"SK-2026-{number:06d}",
        author_id=author,
        unit_id=unit,
        holder_unit_id=unit,
        title="Lắp cảm biến máy ép",
        body="Máy ép số 3 hay bị kẹt phôi, đề xuất lắp cảm biến.",
        category="technical",
        benefit="cost",
        benefit_amount=2_000_000,
        confidential=number % 2 == 0,
        language="vi",
        status=IdeaStatus.SUBMITTED.value,
        created_at=NOW,
        updated_at=NOW,
        waiting_since=NOW,
        similar=[[3, 0.61], [9, 0.5]],
        **extra,
    )


async def _author(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with UnitOfWork(sessionmaker) as uow:
        unit = Unit(
            code="A",
            name="Công đoàn A",
            name_folded=fold_name("Công đoàn A"),
            kind=UnitKind.GRASSROOTS.value,
            path="",
            depth=0,
            created_at=NOW,
        )
        uow.session.add(unit)
        await uow.flush()
        unit.path = f"/{unit.id}/"
        person = Person(display_name="Lan", unit_id=unit.id, created_at=NOW)
        uow.session.add(person)
        await uow.flush()
        await uow.commit()
        return person.id, unit.id


async def _row(sessionmaker: async_sessionmaker[AsyncSession], idea_id: int) -> dict[str, Any]:
    async with sessionmaker() as session:
        row = (await session.execute(select(*COLUMNS).where(Idea.id == idea_id))).one()
        return dict(row._mapping)


async def test_the_insert_stores_what_a_flush_stores(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    author, unit = await _author(sessionmaker)
    async with UnitOfWork(sessionmaker) as uow:
        flushed = _idea(1, author, unit)
        uow.session.add(flushed)  # the ORM's own way
        await uow.flush()
        inserted = await uow.ideas.add(_idea(2, author, unit))
        assert inserted.id == flushed.id + 1
        await uow.commit()
    by_flush, by_insert = (
        await _row(sessionmaker, flushed.id),
        await _row(sessionmaker, inserted.id),
    )
    differing = {k for k in by_flush if by_flush[k] != by_insert[k]}
    assert differing == {"ref_code", "confidential"}  # what the two were given apart
    assert by_insert["version"] == 1 and by_insert["title_given"] is False  # the defaults
    assert by_insert["similar"] == [[3, 0.61], [9, 0.5]]
    assert by_insert["reminded_at"] is None


async def test_a_list_of_similar_ideas_left_out_is_null_as_after_a_flush(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    author, unit = await _author(sessionmaker)
    async with UnitOfWork(sessionmaker) as uow:
        flushed, inserted = _idea(1, author, unit), _idea(2, author, unit)
        del flushed.similar, inserted.similar  # never given
        uow.session.add(flushed)
        await uow.flush()
        await uow.ideas.add(inserted)
        await uow.commit()
    async with sessionmaker() as session:
        nulls = select(Idea.ref_code).where(Idea.similar.is_(None)).order_by(Idea.id)
        assert list(await session.scalars(nulls)) == ["SK-2026-000001", "SK-2026-000002"]


async def test_the_idea_is_the_sessions_own_and_its_changes_are_written(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    author, unit = await _author(sessionmaker)
    async with UnitOfWork(sessionmaker) as uow:
        idea = await uow.ideas.add(_idea(1, author, unit, title_given=True))
        assert await uow.ideas.get(idea.id) is idea  # the identity map holds it
        assert idea not in uow.session.dirty and idea not in uow.session.new
        idea.status = IdeaStatus.APPROVED.value  # in the same transaction
        await uow.commit()
    async with UnitOfWork(sessionmaker) as uow:
        again = await uow.ideas.get(idea.id)
        assert again is not None
        assert (again.status, again.version, again.title_given) == ("approved", 2, True)


async def test_a_stale_copy_of_the_idea_is_refused_as_before(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    author, unit = await _author(sessionmaker)
    async with UnitOfWork(sessionmaker) as uow:
        idea = await uow.ideas.add(_idea(1, author, unit))
        await uow.commit()
    async with UnitOfWork(sessionmaker) as other:  # another team member's decision
        mine = await other.ideas.get(idea.id)
        assert mine is not None
        mine.status = IdeaStatus.DECLINED.value
        await other.commit()
    async with UnitOfWork(sessionmaker) as uow:
        uow.session.add(idea)  # the copy from before that decision, version 1
        idea.status = IdeaStatus.APPROVED.value
        try:
            await uow.commit()
        except StaleDataError:
            pass
        else:
            raise AssertionError("a stale version was written over a newer decision")
