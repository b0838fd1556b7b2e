"""The read every update makes (the person behind the account, with the chat's conversation)
goes straight to sqlite3 on the bot's inline SQLite (storage.repositories.base
``Repository._read``): it must give the flows what SQLAlchemy's own query gives, objects the
session tracks as if a query had loaded them, and see what the transaction changed before."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, inspect, select

from storage.db import create_engine, create_sessionmaker
from storage.folding import fold_name
from storage.models import Idea, IdeaStatus, Identity, Person, Unit, UnitKind
from storage.repositories import base
from storage.repositories.people import Resolved
from storage.schema import upgrade
from storage.uow import UnitOfWork

NOW = datetime(2026, 12, 7, 8, 30, 15, 123456, tzinfo=UTC)
LATER = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


async def _resolve(uow: UnitOfWork, **changes: Any) -> Resolved:
    arguments: dict[str, Any] = {
        "channel": "telegram",
        "external_id": "501",
        "display_name": "Chị Lan",
        "platform_language": "vi",
        "private_chat_id": "501",
        "now": NOW,
        "conversation_key": "telegram:501",
    }
    return await uow.people.resolve(**(arguments | changes))


async def _seed(url: str) -> None:
    """One person with an account, a conversation, a unit-less profile, asked a question."""
    engine = create_engine(url, sqlite_inline=False)
    try:
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            person, _ = await _resolve(uow)
            person.questions_at = NOW
            person.muted = True
            await uow.conversations.save(
                "telegram:501",
                person_id=person.id,
                flow="idea",
                step="body",
                data={"body": ["Lò nung ư"], "n": 3},
                now=NOW,
            )
            await uow.commit()
    finally:
        await engine.dispose()


def _seen(resolved: Resolved) -> dict[str, Any]:
    person = resolved.person
    columns = {c.key: getattr(person, c.key) for c in inspect(Person).column_attrs}
    return {"person": columns, "conversation": resolved.conversation}


@pytest.fixture
async def database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade(url)
    return url


async def test_the_direct_read_gives_what_the_query_gives(database: str) -> None:
    await _seed(database)
    seen = {}
    for inline in (False, True):
        engine = create_engine(database, sqlite_inline=inline)
        try:
            async with UnitOfWork(create_sessionmaker(engine)) as uow:
                resolved = await _resolve(uow)
                seen[inline] = _seen(resolved)
                session = uow.session.sync_session
                # Tracked as loaded, with nothing to write back.
                assert resolved.person in session and not session.dirty and not session.new
                assert inspect(resolved.person).persistent
        finally:
            await engine.dispose()
    assert seen[True] == seen[False]
    person = seen[True]["person"]
    assert person["created_at"] == NOW and person["questions_at"] == NOW
    assert person["muted"] is True and person["unreachable"] is False
    assert seen[True]["conversation"].data == {"body": ["Lò nung ư"], "n": 3}


async def test_a_change_to_the_person_read_is_written_and_read_back(database: str) -> None:
    await _seed(database)
    engine = create_engine(database, sqlite_inline=True)
    try:
        sessionmaker = create_sessionmaker(engine)
        async with UnitOfWork(sessionmaker) as uow:
            resolved = await _resolve(uow, display_name="Chị Lan Anh", private_chat_id="777")
            assert resolved.person.display_name == "Chị Lan Anh"
            resolved.person.language = "en"
            # Read again in the same transaction: the same object, the change flushed first
            # and kept (as the session's own query would).
            again = await _resolve(uow, display_name="Chị Lan Anh", private_chat_id="777")
            assert again.person is resolved.person and again.person.language == "en"
            await uow.commit()
        async with UnitOfWork(sessionmaker) as uow:
            person = (await _resolve(uow, display_name="", private_chat_id=None)).person
            assert (person.display_name, person.language) == ("Chị Lan Anh", "en")
            identity = await uow.session.get(Identity, 1)
            assert identity is not None and identity.private_chat_id == "777"
    finally:
        await engine.dispose()


async def test_a_conversation_saved_earlier_in_the_transaction_is_read(database: str) -> None:
    await _seed(database)
    engine = create_engine(database, sqlite_inline=True)
    try:
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            first = await _resolve(uow)
            await uow.conversations.save(
                "telegram:501",
                person_id=first.person.id,
                flow="idea",
                step="review",
                data={"n": 4},
                now=LATER,
            )
            second = await _resolve(uow)
            assert second.conversation is not None
            assert (second.conversation.step, second.conversation.data) == ("review", {"n": 4})
            # A new account: made, and read back by the next update's resolve.
            newcomer = await _resolve(uow, external_id="900", conversation_key="telegram:900")
            assert newcomer.conversation is None
            again = await _resolve(uow, external_id="900", conversation_key="telegram:900")
            assert again.person is newcomer.person
    finally:
        await engine.dispose()


async def _unit_world(database: str) -> int:
    engine = create_engine(database, sqlite_inline=False)
    try:
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            unit = Unit(
                code="HCM-Q7",
                name="Công đoàn Quận 7",
                name_folded=fold_name("Công đoàn Quận 7"),
                kind=UnitKind.DISTRICT.value,
                parent_id=None,
                path="/1/",
                depth=0,
                created_at=NOW,
            )
            uow.session.add(unit)
            await uow.commit()
            return unit.id
    finally:
        await engine.dispose()


async def test_a_unit_read_by_id_directly_is_the_one_the_session_would_give(
    database: str,
) -> None:
    unit_id = await _unit_world(database)
    seen = {}
    for inline in (False, True):
        engine = create_engine(database, sqlite_inline=inline)
        try:
            async with UnitOfWork(create_sessionmaker(engine)) as uow:
                unit = await uow.units.get(unit_id)
                assert unit is not None and inspect(unit).persistent
                seen[inline] = {c.key: getattr(unit, c.key) for c in inspect(Unit).column_attrs}
                assert await uow.units.get(unit_id) is unit  # the session's own, once
                assert await uow.units.get(unit_id + 1) is None
                unit.name = "Công đoàn Quận 7 mới"  # changed, not flushed: still the same
                assert (await uow.units.get(unit_id)) is unit
                assert not uow.session.sync_session.new
        finally:
            await engine.dispose()
    assert seen[True] == seen[False]
    assert seen[True]["created_at"] == NOW and seen[True]["kind"] == UnitKind.DISTRICT.value


async def test_what_an_object_held_unloaded_is_filled_in_from_the_direct_read(
    database: str,
) -> None:
    engine = create_engine(database, sqlite_inline=True)
    try:
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            newcomer = (await _resolve(uow, external_id="900", conversation_key="k")).person
            await uow.flush()
            uow.session.sync_session.expire(newcomer, ["muted", "display_name"])
            again = (await _resolve(uow, external_id="900", conversation_key="k")).person
            assert again is newcomer
            # Read without a further query (one in an async session would raise).
            assert "muted" not in inspect(again).unloaded
            assert again.__dict__["muted"] is False and again.__dict__["display_name"] == "Chị Lan"
    finally:
        await engine.dispose()


async def test_ideas_by_id_read_directly_are_the_ones_the_query_gives(database: str) -> None:
    unit_id = await _unit_world(database)
    seen = {}
    for inline in (False, True):
        engine = create_engine(database, sqlite_inline=inline)
        try:
            async with UnitOfWork(create_sessionmaker(engine)) as uow:
                if not inline:
                    author = (await _resolve(uow)).person
                    for n in range(3):
                        await uow.ideas.add(_idea(n, author.id, unit_id))
                    await uow.commit()
            async with UnitOfWork(create_sessionmaker(engine)) as uow:
                first = await uow.ideas.get(1)
                found = await uow.ideas.get_many([3, 1, 1, 99])
                assert set(found) == {1, 3} and found[1] is first
                seen[inline] = {
                    i: {c.key: getattr(idea, c.key) for c in inspect(Idea).column_attrs}
                    for i, idea in found.items()
                }
        finally:
            await engine.dispose()
    assert seen[True] == seen[False]
    assert seen[True][3]["similar"] == [[1, 0.5]] and seen[True][1]["confidential"] is True


def _idea(n: int, author_id: int, unit_id: int) -> Idea:
    return Idea(
        ref_code=f"SK-2026-{n + 1:06d}",
        author_id=author_id,
        unit_id=unit_id,
        holder_unit_id=unit_id,
        title=f"Lò nung {n}",
        title_given=False,
        body=f"Thu hồi nhiệt thừa từ lò nung số {n}",
        category="technical",
        benefit="cost",
        benefit_amount=2_000_000 if n else None,
        confidential=n == 0,
        language="vi",
        status=IdeaStatus.SUBMITTED.value,
        created_at=NOW,
        updated_at=NOW,
        waiting_since=NOW,
        similar=[[1, 0.5]] if n == 2 else None,
    )


async def test_a_statement_built_for_each_call_is_refused_before_it_fills_memory(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(base, "FIXED_STATEMENTS_MAX", len(base._compiled) + 2)
    engine = create_engine(database, sqlite_inline=True)
    try:
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            with pytest.raises(RuntimeError, match="module-level statements"):
                for n in range(5):
                    fresh = select(Person.__table__.c.id).where(  # type: ignore[attr-defined]
                        Person.__table__.c.id > bindparam("n")  # type: ignore[attr-defined]
                    )
                    await uow.people._read(fresh, {"n": n})
    finally:
        await engine.dispose()
