"""The INSERTs every update makes (its update id, its conversation, its replies), and the
writes of every poll (the inbox's rows) and every sent reply (its record), go straight to
sqlite3 on the bot's inline SQLite (storage.repositories.base): they must store exactly what
SQLAlchemy's own execution stores, keep exactly-once, and count as writes for the unit of
work's memo."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage.db import create_engine, create_sessionmaker
from storage.inbox import Inbox
from storage.schema import upgrade
from storage.uow import UnitOfWork

NOW = datetime(2026, 12, 7, 8, 30, 15, 123456, tzinfo=UTC)
PAYLOAD = {"text": "Đã nhận ý tưởng “Lò nung” ✅", "buttons": [[{"text": "Xong", "data": "a:b"}]]}


async def _store(url: str, *, inline: bool) -> None:
    engine = create_engine(url, sqlite_inline=inline)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with UnitOfWork(sessionmaker) as uow:
            assert await uow.updates.claim("telegram.north", 41, NOW)
            assert not await uow.updates.claim("telegram.north", 41, NOW)  # once only
            person, _ = await uow.people.resolve(
                channel="telegram",
                external_id="501",
                display_name="Chị Lan",
                platform_language="vi",
                private_chat_id="501",
                now=NOW,
                conversation_key="telegram:501",
            )
            await uow.conversations.save(
                "telegram:501",
                person_id=person.id,
                flow="idea",
                step="body",
                data={"a": [1, "ư"]},
                now=NOW,
            )
            await uow.conversations.save(
                "telegram:501",
                person_id=person.id,
                flow="idea",
                step="done",
                data={"b": None},
                now=NOW,
            )
            row = await uow.outbox.add_row(
                channel="telegram.north",
                chat_id="501",
                payload=PAYLOAD,
                priority=1,
                now=NOW,
                person_id=person.id,
                claimed_by="bot-1",
                claimed_until=NOW,
            )
            assert row.id == 1 and row.payload == PAYLOAD
            second = await uow.outbox.add_row(
                channel="telegram.north", chat_id="501", payload={}, priority=1, now=NOW
            )
            await uow.commit()
        async with UnitOfWork(sessionmaker) as uow:
            await uow.outbox.mark_sent_many([(row.id, "77"), (second.id, None)], now=NOW)
            await uow.commit()
        inbox = Inbox(sessionmaker, "telegram.north")
        await inbox.store([(7, {"update_id": 7, "t": "ý"}), (8, {"update_id": 8})], now=NOW)
        # 8 again (a batch fetched twice) stays as it was; 7, handled, goes.
        await inbox.store([(8, {"update_id": 8, "t": "x"}), (9, {})], now=NOW, forget=[7])
        await inbox.forget([9])
    finally:
        await engine.dispose()


def _rows(database: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(database)
    try:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("processed_updates", "conversations", "outbox", "inbox")
        }
    finally:
        conn.close()


async def test_fixed_writes_store_what_sqlalchemy_stores(tmp_path: Path) -> None:
    stored = {}
    for inline in (True, False):
        database = tmp_path / f"{inline}.db"
        url = f"sqlite+aiosqlite:///{database}"
        await upgrade(url)
        await _store(url, inline=inline)
        stored[inline] = _rows(database)
    assert stored[True] == stored[False]
    assert len(stored[True]["processed_updates"]) == 1
    assert [r[3] for r in stored[True]["conversations"]] == ["done"]
    assert [r[1] for r in stored[True]["inbox"]] == [8]
    assert [r[2] for r in stored[True]["inbox"]] == ['{"update_id":8}']
    sent = [r for r in stored[True]["outbox"] if r[8] == "sent"]
    assert [(r[0], r[13]) for r in sent] == [(1, "77"), (2, None)]


async def test_a_fixed_write_counts_as_a_write_for_the_memo(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade(url)
    engine = create_engine(url, sqlite_inline=True)
    computed: list[int] = []

    async def count_rows() -> int:
        computed.append(1)
        return len(computed)

    try:
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            assert await uow.memo("replies", ("outbox",), count_rows) == 1
            assert await uow.memo("replies", ("outbox",), count_rows) == 1  # kept
            await uow.outbox.add_row(
                channel="telegram", chat_id="1", payload={}, priority=1, now=NOW
            )
            assert await uow.memo("replies", ("outbox",), count_rows) == 2  # forgotten
            await uow.updates.claim("telegram", 1, NOW)
            assert await uow.memo("replies", ("outbox",), count_rows) == 2  # another table
            await uow.outbox.mark_sent_many([(1, "5")], now=NOW)  # an executemany
            assert await uow.memo("replies", ("outbox",), count_rows) == 3  # forgotten
    finally:
        await engine.dispose()
