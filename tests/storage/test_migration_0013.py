"""Migration 0013 (issue 20) folds every stored idea for the dashboard's search and adds
its credential tables; going back to 0012 leaves the ideas as they were.
On SQLite and on PostgreSQL (the ``db_url`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine, create_sessionmaker
from storage.models import Base
from storage.repositories.dashboard import IdeaFilter, Search
from storage.schema import UNMODELLED_TABLES, current_revision, head_revision, upgrade
from storage.uow import UnitOfWork
from tests.storage.test_migration_0011 import _downgrade, _sync

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
IDEAS = (
    ("Lắp thêm quạt hút bụi", "Xưởng may số 2 nóng và bụi; đề xuất lắp quạt hút ĐÔI."),
    ("Giảm giấy in", "In hai mặt cho các biểu mẫu nội bộ"),
    ("Shared tool board", "A shadow board for the maintenance team's tools"),
)


def _tables(sync_conn: Connection) -> dict[str, Table]:
    meta = MetaData()
    meta.reflect(sync_conn)
    return dict(meta.tables)


def _fill_at_0012(sync_conn: Connection) -> None:
    t = _tables(sync_conn)
    sync_conn.execute(
        insert(t["units"]),
        [
            {
                "id": 1,
                "code": "CS-MAY",
                "name": "CĐCS Công ty May",
                "name_folded": "cdcs cong ty may",
                "kind": "grassroots",
                "parent_id": None,
                "path": "/1/",
                "depth": 0,
                "created_at": T0,
            }
        ],
    )
    sync_conn.execute(
        insert(t["people"]),
        [{"id": 1, "display_name": "An", "unit_id": 1, "unreachable": False, "created_at": T0}],
    )
    sync_conn.execute(
        insert(t["ideas"]),
        [
            {
                "id": n,
                "ref_code": f"SK-2026-{n:06d}",
                "author_id": 1,
                "unit_id": 1,
                "holder_unit_id": 1,
                "title": title,
                "title_given": True,
                "body": body,
                "category": "technical",
                "benefit": "cost",
                "confidential": n == 1,
                "language": "vi",
                "status": "submitted",
                "version": 1,
                "created_at": T0 + timedelta(hours=n),
                "updated_at": T0 + timedelta(hours=n),
            }
            for n, (title, body) in enumerate(IDEAS, start=1)
        ],
    )


def _search_rows(sync_conn: Connection) -> dict[int, tuple[str, str]]:
    search = _tables(sync_conn)["idea_search"]
    rows = sync_conn.execute(select(search.c.idea_id, search.c.title, search.c.text))
    return {idea_id: (title, text) for idea_id, title, text in rows}


def _ideas(sync_conn: Connection) -> list[tuple[Any, ...]]:
    ideas = _tables(sync_conn)["ideas"]
    rows = sync_conn.execute(select(ideas.c.id, ideas.c.title, ideas.c.body, ideas.c.status))
    return sorted(tuple(row) for row in rows)


def _table_names(sync_conn: Connection) -> set[str]:
    return set(inspect(sync_conn).get_table_names())


async def test_0013_folds_the_stored_ideas_and_goes_back(db_url: str, engine: AsyncEngine) -> None:
    await upgrade(db_url, "0012")
    await _sync(engine, _fill_at_0012, commit=True)
    before = await _sync(engine, _ideas)
    await upgrade(db_url)
    assert await current_revision(engine) == head_revision()
    search = await _sync(engine, _search_rows)
    assert search[1] == (
        "lap them quat hut bui",
        "xuong may so 2 nong va bui; de xuat lap quat hut doi.",
    )
    assert search[2][0] == "giam giay in"
    assert search[3] == ("shared tool board", "a shadow board for the maintenance team's tools")
    assert {"web_sign_ins", "web_sessions"} <= await _sync(engine, _table_names)
    assert await _sync(engine, _ideas) == before
    # The stored ideas are in the full-text index: found by their words' beginnings.
    assert await _found(engine, "quat hut") == [1]
    assert await _found(engine, "xuong doi") == [1]  # words of the title and the text
    assert await _found(engine, "gia i") == [2]
    assert await _found(engine, "tool boa") == [3]
    assert await _found(engine, "board bui") == []
    await _downgrade(db_url, "0012")
    assert await current_revision(engine) == "0012"
    names = await _sync(engine, _table_names)
    assert not names & {"idea_search", "web_sign_ins", "web_sessions", *UNMODELLED_TABLES}
    assert await _sync(engine, _ideas) == before
    await upgrade(db_url)  # and forth again
    assert await _found(engine, "quat hut") == [1]


async def _found(engine: AsyncEngine, words: str) -> list[int]:
    """The ideas the dashboard's search finds (the author's own: seen in full)."""
    search = Search(words, person_id=1)
    async with UnitOfWork(create_sessionmaker(engine), read_only=True) as uow:
        rows = await uow.dashboard.ideas(IdeaFilter(scope=["/1/"], search=search), limit=50)
    return [row.idea.id for row in rows]


def _sqlite_search_index(sync_conn: Connection) -> list[tuple[str, str, str]]:
    rows = sync_conn.exec_driver_sql(
        "SELECT type, name, sql FROM sqlite_master WHERE name LIKE 'idea_fts%' ORDER BY name"
    )
    return [tuple(row) for row in rows]


async def test_sqlite_models_make_the_search_index_the_migration_makes(tmp_path: Path) -> None:
    """Tests that build the schema from the models (create_all) get the same FTS5
    table and triggers as a migrated database (web_models.SQLITE_SEARCH_INDEX)."""
    migrated_url = f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
    await upgrade(migrated_url)
    created = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'created.db'}")
    migrated = create_engine(migrated_url)
    try:
        async with created.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        index = await _sync(created, _sqlite_search_index)
        assert [name for _, name, _ in index] == [
            "idea_fts",
            "idea_fts_config",
            "idea_fts_data",
            "idea_fts_delete",
            "idea_fts_docsize",
            "idea_fts_idx",
            "idea_fts_insert",
            "idea_fts_update",
        ]
        assert index == await _sync(migrated, _sqlite_search_index)
    finally:
        await created.dispose()
        await migrated.dispose()
