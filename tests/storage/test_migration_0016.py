"""Migration 0016 (issue #22) adds people.questions_at, filled for the questions open when
it runs: the idea form then looks for a team's question only when one came since it was
opened. Going back to 0015 removes it and leaves people and ideas as they were. On SQLite
and on PostgreSQL (``db_url``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import inspect, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_sessionmaker
from storage.schema import current_revision, head_revision, upgrade
from storage.uow import UnitOfWork
from tests.storage.test_migration_0011 import _downgrade, _sync
from tests.storage.test_migration_0013 import _fill_at_0012, _tables

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
ASKED = T0 + timedelta(days=2)


def _fill_at_0015(sync_conn: Connection) -> None:
    """Person 1 with ideas: the team asked about one of them (still open), not the others."""
    _fill_at_0012(sync_conn)
    ideas = _tables(sync_conn)["ideas"]
    sync_conn.execute(
        update(ideas).where(ideas.c.id == 1).values(status="info_requested", updated_at=ASKED)
    )


def _people(sync_conn: Connection) -> list[tuple[Any, ...]]:
    people = _tables(sync_conn)["people"]
    return [tuple(r) for r in sync_conn.execute(select(people.c.id, people.c.display_name))]


def _ideas(sync_conn: Connection) -> list[tuple[Any, ...]]:
    ideas = _tables(sync_conn)["ideas"]
    query = select(ideas.c.id, ideas.c.status, ideas.c.updated_at).order_by(ideas.c.id)
    return [tuple(r) for r in sync_conn.execute(query)]


def _columns(sync_conn: Connection) -> set[str]:
    return {str(c["name"]) for c in inspect(sync_conn).get_columns("people")}


async def test_0016_remembers_the_open_questions_and_goes_back(
    db_url: str, engine: AsyncEngine
) -> None:
    await upgrade(db_url, "0015")
    await _sync(engine, _fill_at_0015, commit=True)
    people, ideas = await _sync(engine, _people), await _sync(engine, _ideas)
    await upgrade(db_url)
    assert await current_revision(engine) == head_revision()
    assert await _sync(engine, _people) == people
    assert await _sync(engine, _ideas) == ideas
    async with UnitOfWork(create_sessionmaker(engine)) as uow:
        person = await uow.people.get(1)
        assert person is not None and person.questions_at == ASKED
        assert [i.id for i in await uow.ideas.awaiting_answer(1)] == [1]

    await _downgrade(db_url, "0015")
    assert await current_revision(engine) == "0015"
    assert "questions_at" not in await _sync(engine, _columns)
    assert await _sync(engine, _people) == people
    assert await _sync(engine, _ideas) == ideas
    await upgrade(db_url)  # and forth again
    assert "questions_at" in await _sync(engine, _columns)
