"""Migration 0015 (issue #22) adds identities.bots, empty for every account stored so far
(they are reached through their channel's own bot, as before); going back to 0014 removes
it and leaves the accounts as they were. On SQLite and on PostgreSQL (``db_url``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_sessionmaker
from storage.schema import current_revision, head_revision, upgrade
from storage.uow import UnitOfWork
from tests.storage.test_migration_0011 import _downgrade, _sync
from tests.storage.test_migration_0013 import _tables

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def _fill_at_0014(sync_conn: Connection) -> None:
    t = _tables(sync_conn)
    sync_conn.execute(
        insert(t["people"]),
        [
            {"id": n, "display_name": f"P{n}", "unreachable": False, "created_at": T0}
            for n in (1, 2)
        ],
    )
    sync_conn.execute(
        insert(t["identities"]),
        [
            {"id": 1, "person_id": 1, "channel": "telegram", "external_id": "501",
             "private_chat_id": "501"},
            {"id": 2, "person_id": 2, "channel": "zalo", "external_id": "z9",
             "private_chat_id": "z9"},
        ],
    )  # fmt: skip


def _identities(sync_conn: Connection) -> list[tuple[Any, ...]]:
    t = _tables(sync_conn)["identities"]
    query = select(t.c.id, t.c.person_id, t.c.channel, t.c.external_id, t.c.private_chat_id)
    return [tuple(row) for row in sync_conn.execute(query.order_by(t.c.id))]


def _columns(sync_conn: Connection) -> set[str]:
    return {str(c["name"]) for c in inspect(sync_conn).get_columns("identities")}


async def test_0015_adds_the_bots_of_each_account_and_goes_back(
    db_url: str, engine: AsyncEngine
) -> None:
    await upgrade(db_url, "0014")
    await _sync(engine, _fill_at_0014, commit=True)
    before = await _sync(engine, _identities)
    await upgrade(db_url)
    assert await current_revision(engine) == head_revision()
    assert "bots" in await _sync(engine, _columns)
    assert await _sync(engine, _identities) == before
    async with UnitOfWork(create_sessionmaker(engine)) as uow:
        # Stored accounts are reached through their channel's own bot, as before.
        assert await uow.people.private_chats([1, 2]) == [(1, "telegram", "501"), (2, "zalo", "z9")]
        await uow.people.resolve(
            channel="telegram",
            external_id="501",
            display_name="P1",
            platform_language=None,
            private_chat_id="501",
            now=T0,
            conversation_key="telegram.north:501",
            route="telegram.north",
        )
        assert await uow.people.private_chats([1]) == [(1, "telegram.north", "501")]
        await uow.commit()

    await _downgrade(db_url, "0014")
    assert await current_revision(engine) == "0014"
    assert "bots" not in await _sync(engine, _columns)
    assert await _sync(engine, _identities) == before
    await upgrade(db_url)  # and forth again
    assert "bots" in await _sync(engine, _columns)
