"""A person and the chat's conversation are read together (PersonRepository.resolve),
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Identity, Person
from storage.uow import UnitOfWork

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


async def resolve(
    sessionmaker: async_sessionmaker[AsyncSession],
    external_id: str,
    key: str,
    *,
    name: str = "An",
    save: tuple[str | None, str | None, dict[str, object]] | None = None,
) -> tuple[int, tuple[str | None, str | None, dict[str, object]] | None]:
    async with UnitOfWork(sessionmaker) as uow:
        person, saved = await uow.people.resolve(
            channel="telegram",
            external_id=external_id,
            display_name=name,
            platform_language="vi",
            private_chat_id=external_id,
            now=NOW,
            conversation_key=key,
        )
        if save is not None:
            flow, step, data = save
            await uow.conversations.save(
                key, person_id=person.id, flow=flow, step=step, data=data, now=NOW
            )
        await uow.commit()
        return person.id, (saved.flow, saved.step, saved.data) if saved else None


async def test_resolve_reads_the_person_with_their_conversation(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first, none_yet = await resolve(sessionmaker, "501", "telegram:501", save=("idea", "body", {}))
    assert none_yet is None
    data = {"n": "ab12cd", "body": ["Lắp mái che"], "files": []}
    again, saved = await resolve(
        sessionmaker, "501", "telegram:501", name="An Nguyễn", save=("idea", "category", data)
    )
    assert again == first and saved == ("idea", "body", {})
    _, saved = await resolve(sessionmaker, "501", "telegram:501")
    assert saved == ("idea", "category", data)
    # another chat of the same person has a conversation of its own, none yet
    _, elsewhere = await resolve(sessionmaker, "501", "telegram:-100:501")
    assert elsewhere is None
    # a finished conversation is still a saved one: its row is there, with no flow
    await resolve(sessionmaker, "501", "telegram:501", save=(None, None, {}))
    _, finished = await resolve(sessionmaker, "501", "telegram:501")
    assert finished == (None, None, {})
    async with sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(Person))).scalar() == 1
        person = (await session.execute(select(Person))).scalar_one()
        identity = (await session.execute(select(Identity))).scalar_one()
    assert person.display_name == "An" and identity.private_chat_id == "501"


async def test_a_new_person_gets_a_conversation_saved_under_the_key(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # a group conversation saved for someone whose identity is not there yet
    async with UnitOfWork(sessionmaker) as uow:
        await uow.conversations.save(
            "telegram:-100:777", person_id=None, flow="idea", step="body", data={"n": "x"}, now=NOW
        )
        await uow.commit()
    person_id, saved = await resolve(sessionmaker, "777", "telegram:-100:777")
    assert person_id > 0 and saved == ("idea", "body", {"n": "x"})
