"""Migration 0014 (issue #21) stores every stored idea's matching words under its unit
(similar_texts) and adds ideas.similar; going back to 0013 removes both and leaves the
ideas as they were. On SQLite and on PostgreSQL (the ``db_url`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_sessionmaker
from storage.models import Idea, IdeaStatus
from storage.schema import current_revision, head_revision, upgrade
from storage.similar_words import HASH_BYTES, HASH_DTYPE, idea_hashes, word_hashes
from storage.uow import UnitOfWork
from tests.storage.test_migration_0011 import _downgrade, _sync
from tests.storage.test_migration_0013 import _ideas, _tables

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
# id, unit, title, body, language
IDEAS = (
    (1, 1, "Kẹt phôi máy ép", "Máy ép số 3 hay bị kẹt phôi, đề xuất lắp cảm biến.", "vi"),
    (2, 2, "Giảm giấy in", "May in phong ke toan ko in 2 mat dc, ton giay", "vi"),
    (3, 1, "Sensors on the press", "Fit sensors so the press stops when jammed", "en"),
    (4, 2, "Đèn LED", "Thay đèn huỳnh quang ở xưởng may 2 bằng đèn LED.", "vi"),
)


def _fill_at_0013(sync_conn: Connection) -> None:
    t = _tables(sync_conn)
    sync_conn.execute(
        insert(t["units"]),
        [
            {
                "id": n,
                "code": code,
                "name": name,
                "name_folded": name.lower(),
                "kind": "grassroots",
                "parent_id": None,
                "path": f"/{n}/",
                "depth": 0,
                "created_at": T0,
            }
            for n, code, name in ((1, "CS-CK", "CDCS Co khi"), (2, "CS-MAY", "CDCS May"))
        ],
    )
    sync_conn.execute(
        insert(t["people"]),
        [
            {"id": n, "display_name": f"P{n}", "unit_id": n, "unreachable": False, "created_at": T0}
            for n in (1, 2)
        ],
    )
    sync_conn.execute(
        insert(t["ideas"]),
        [
            {
                "id": n,
                "ref_code": f"SK-2026-{n:06d}",
                "author_id": unit,
                "unit_id": unit,
                "holder_unit_id": unit,
                "title": title,
                "title_given": True,
                "body": body,
                "category": "technical",
                "benefit": "cost",
                "confidential": n == 1,
                "language": lang,
                "status": "submitted",
                "version": 1,
                "created_at": T0 + timedelta(hours=n),
                "updated_at": T0 + timedelta(hours=n),
            }
            for n, unit, title, body, lang in IDEAS
        ],
    )


def _similar_texts(sync_conn: Connection) -> dict[int, tuple[int, str]]:
    texts = _tables(sync_conn)["similar_texts"]
    rows = sync_conn.execute(select(texts.c.idea_id, texts.c.unit_id, texts.c.hashes))
    return {idea_id: (unit_id, bytes(hashes)) for idea_id, unit_id, hashes in rows}


def _table_names(sync_conn: Connection) -> set[str]:
    return set(inspect(sync_conn).get_table_names())


def _idea_columns(sync_conn: Connection) -> set[str]:
    return {str(c["name"]) for c in inspect(sync_conn).get_columns("ideas")}


def _index_names(sync_conn: Connection) -> set[str]:
    return {str(ix["name"]) for ix in inspect(sync_conn).get_indexes("similar_texts")}


def _words(hashes: bytes) -> set[int]:
    return set(np.frombuffer(hashes, dtype=HASH_DTYPE).tolist())


def _hashed(words: str) -> set[int]:
    return _words(word_hashes(words))


async def test_0014_stores_the_stored_ideas_words_and_goes_back(
    db_url: str, engine: AsyncEngine
) -> None:
    await upgrade(db_url, "0013")
    await _sync(engine, _fill_at_0013, commit=True)
    before: list[tuple[Any, ...]] = await _sync(engine, _ideas)
    await upgrade(db_url)
    assert await current_revision(engine) == head_revision()
    texts = await _sync(engine, _similar_texts)
    assert texts == {
        n: (unit, idea_hashes(title, body, lang)) for n, unit, title, body, lang in IDEAS
    }
    # What the words are, as a worker's lookup would compare them.
    assert texts[1][1] == word_hashes("ket phoi may ep so 3 lap cam bien")
    assert _words(texts[2][1]) >= _hashed("may in phong ke toan 2 mat giay")
    assert not _words(texts[2][1]) & _hashed("ko dc khong duoc")
    assert texts[3][1][: 2 * HASH_BYTES] == word_hashes("sensor press")
    assert _hashed("den") <= _words(texts[4][1])
    indexes = await _sync(engine, _index_names)
    assert "ix_similar_texts_idea_id" in indexes
    # On PostgreSQL a lookup reads a unit's hashes from an index, not from the table.
    assert ("ix_similar_texts_unit_hashes" in indexes) == db_url.startswith("postgresql")
    assert "similar_texts" in await _sync(engine, _table_names)
    assert "similar" in await _sync(engine, _idea_columns)
    assert await _sync(engine, _ideas) == before
    # The repository reads the migrated rows: unit 1's ideas, the newest first.
    async with UnitOfWork(create_sessionmaker(engine), read_only=True) as uow:
        assert [i for i, _ in await uow.similar.in_units([1])] == [3, 1]
        assert [i for i, _ in await uow.similar.of_author(2)] == [4, 2]

    await _downgrade(db_url, "0013")
    assert await current_revision(engine) == "0013"
    assert "similar_texts" not in await _sync(engine, _table_names)
    assert "similar" not in await _sync(engine, _idea_columns)
    assert await _sync(engine, _ideas) == before

    await upgrade(db_url)  # and forth again
    assert await _sync(engine, _similar_texts) == texts
    # A new idea gets its row as the form stores it, beside the migrated ones.
    async with UnitOfWork(create_sessionmaker(engine)) as uow:
        idea = await uow.ideas.add(
            Idea(
                id=5,  # the ids above were given: PostgreSQL's sequence did not move
                ref_code="SK-2026-000005",
                author_id=1,
                unit_id=1,
                holder_unit_id=1,
                title="Kẹt phôi",
                title_given=True,
                body="may ep so 3 ket phoi",
                category="technical",
                benefit="cost",
                confidential=False,
                language="vi",
                status=IdeaStatus.SUBMITTED.value,
                created_at=T0 + timedelta(days=1),
                updated_at=T0 + timedelta(days=1),
                waiting_since=T0 + timedelta(days=1),
            )
        )
        await uow.commit()
    assert (await _sync(engine, _similar_texts))[idea.id] == (
        1,
        word_hashes("ket phoi may ep so 3"),
    )
