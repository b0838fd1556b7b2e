"""Several Telegram bots in one deployment (issue #22): one person on every bot, reached
through the bot they wrote to last (identities.bots), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Identity
from storage.repositories.people import route_of, used_last
from storage.uow import UnitOfWork

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


async def write(
    sessionmaker: async_sessionmaker[AsyncSession], user: str, route: str | None
) -> tuple[int, list[tuple[int, str, str]]]:
    """The person behind a Telegram message through ``route`` (None: in a group)."""
    async with UnitOfWork(sessionmaker) as uow:
        person, _ = await uow.people.resolve(
            channel="telegram",
            external_id=user,
            display_name="An",
            platform_language="vi",
            private_chat_id=user if route else None,
            now=NOW,
            conversation_key=f"{route or 'telegram'}:{user}",
            route=route,
        )
        chats = await uow.people.private_chats([person.id])
        await uow.commit()
        return person.id, chats


async def test_one_person_on_every_bot_reached_through_the_last_one_used(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first, chats = await write(sessionmaker, "701", "telegram.north")
    assert chats == [(first, "telegram.north", "701")]
    again, chats = await write(sessionmaker, "701", "telegram")
    assert again == first  # the same person: Telegram's user ids are global
    assert chats == [(first, "telegram", "701")]
    # A message in a group says nothing of which bots the person started.
    _, chats = await write(sessionmaker, "701", None)
    assert chats == [(first, "telegram", "701")]
    _, chats = await write(sessionmaker, "701", "telegram.north")
    assert chats == [(first, "telegram.north", "701")]


async def test_an_account_on_the_main_bot_only_stays_as_it_was(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    person, chats = await write(sessionmaker, "702", "telegram")
    await write(sessionmaker, "702", "telegram")
    assert chats == [(person, "telegram", "702")]
    async with sessionmaker() as session:
        bots = await session.scalar(select(Identity.bots).where(Identity.person_id == person))
    assert bots is None  # nothing written for a deployment of one bot


def test_used_last_keeps_the_routes_last_used_first() -> None:
    assert used_last(None, "telegram", "telegram") is None
    assert used_last(None, "telegram.north", "telegram") == "telegram.north telegram"
    assert used_last("telegram.north telegram", "telegram", "telegram") == "telegram telegram.north"
    assert used_last("telegram telegram.north", "telegram", "telegram") == "telegram telegram.north"
    assert used_last("telegram.north telegram", "telegram.north", "telegram") == (
        "telegram.north telegram"
    )
    many = " ".join(f"telegram.b{i}" for i in range(40))
    assert len(used_last(many, "telegram.new", "telegram") or "") <= 200
    assert route_of("telegram", None) == "telegram"
    assert route_of("zalo", None) == "zalo"
    assert route_of("telegram", "telegram.north telegram") == "telegram.north"
