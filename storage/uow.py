"""The unit of work: one transaction per use case, with its repositories."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories import (
    ConversationRepository,
    IdeaRepository,
    OutboxRepository,
    PersonRepository,
    RoleRepository,
    TeamChatRepository,
    UnitRepository,
    UpdateLog,
)


class UnitOfWork:
    """Opens a session, exposes the repositories, and commits once.

    Leaving the ``async with`` block without :meth:`commit` rolls everything back,
    so a failure half-way through an update leaves no trace.
    """

    session: AsyncSession

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessionmaker()
        self.units = UnitRepository(self.session)
        self.people = PersonRepository(self.session)
        self.roles = RoleRepository(self.session)
        self.teams = TeamChatRepository(self.session)
        self.ideas = IdeaRepository(self.session)
        self.conversations = ConversationRepository(self.session)
        self.outbox = OutboxRepository(self.session)
        self.updates = UpdateLog(self.session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed and detaches the objects
        # without expiring them, so rows read here stay readable afterwards.
        await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def flush(self) -> None:
        await self.session.flush()
