"""The unit of work: one transaction per use case, with its repositories."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Collection, Hashable, Iterable
from types import TracebackType
from typing import Any, TypeVar, cast

from sqlalchemy import Table, event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from storage.db import SQLITE_BEGIN_OPTION
from storage.repositories.announcements import AnnouncementRepository
from storage.repositories.base import MEMO_KEY
from storage.repositories.channels import ChannelRepository
from storage.repositories.conversations import ConversationRepository
from storage.repositories.council import CouncilRepository
from storage.repositories.dashboard import DashboardRepository
from storage.repositories.ideas import IdeaRepository
from storage.repositories.invites import InviteRepository
from storage.repositories.links import LinkRepository
from storage.repositories.nudges import NudgeRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.people import PersonRepository
from storage.repositories.progress import ProgressRepository
from storage.repositories.roles import RoleRepository
from storage.repositories.similar import SimilarRepository
from storage.repositories.teams import TeamChatRepository
from storage.repositories.units import UnitRepository
from storage.repositories.updates import UpdateLog
from storage.repositories.web import WebRepository

# SQLite lets one writer in at a time, and its busy handler is not fair: under a
# steady crowd of writers one transaction can wait past the busy timeout. Queueing
# this process's transactions on an asyncio lock first makes the wait fair and
# keeps SQLite's own waiting for other processes (a CLI run, a second bot). The lock
# is per database file (and event loop), so that the bot's two engines on one file
# (storage.db: inline for updates, threaded for reports) queue in the same line.
_SQLITE_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


T = TypeVar("T")
_MEMO = MEMO_KEY


class TransactionMemo:
    """Answers computed once in a transaction and kept while nothing they depend on is
    written in it (see :meth:`UnitOfWork.memo`)."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[Any, Collection[str]]] = {}

    def get(self, key: Hashable) -> tuple[bool, Any]:
        entry = self._entries.get(key)
        return (False, None) if entry is None else (True, entry[0])

    def put(self, key: Hashable, value: Any, tables: Collection[str]) -> None:
        self._entries[key] = (value, tables)

    def written(self, tables: Iterable[str] | None) -> None:
        """Forget what depends on these tables (None: on any)."""
        if not self._entries:
            return
        if tables is None:
            self._entries.clear()
            return
        touched = set(tables)
        if touched:
            self._entries = {
                key: entry for key, entry in self._entries.items() if touched.isdisjoint(entry[1])
            }


def _statement_tables(state: ORMExecuteState) -> set[str] | None:
    table = getattr(state.statement, "table", None)
    return {table.name} if isinstance(table, Table) else None


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    """A statement that may write (anything but a SELECT) forgets what depends on its
    table; one whose table is not known (a text statement), everything."""
    memo = state.session.info.get(_MEMO)
    if memo is not None and not state.is_select:
        memo.written(_statement_tables(state))


@event.listens_for(Session, "before_flush")
def _on_flush(session: Session, flush: UOWTransaction, instances: object) -> None:
    memo = session.info.get(_MEMO)
    if memo is not None:
        memo.written(_pending_tables(session))


def _pending_tables(session: Session) -> set[str]:
    """The tables of the changes made through the ORM and not flushed yet."""
    return {obj.__table__.name for obj in (*session.new, *session.dirty, *session.deleted)}


def _writer_lock(sessionmaker: async_sessionmaker[AsyncSession]) -> asyncio.Lock | None:
    bind = sessionmaker.kw.get("bind")
    if bind is None or bind.dialect.name != "sqlite":
        return None
    database = str(bind.url.database or "")
    if database in ("", ":memory:"):  # each engine's memory database is its own
        database = f"memory:{id(bind.sync_engine)}"
    locks = _SQLITE_LOCKS.setdefault(asyncio.get_running_loop(), {})
    lock = locks.get(database)
    if lock is None:
        lock = locks[database] = asyncio.Lock()
    return lock


def _reading(sessionmaker: async_sessionmaker[AsyncSession], read_only: bool) -> dict[str, Any]:
    """The session's bind for a read-only unit of work: SQLite begins DEFERRED;
    PostgreSQL a READ ONLY transaction at REPEATABLE READ, so that a view's queries
    see one snapshot, as SQLite's reader does in WAL (at READ COMMITTED each saw the
    writers' latest commits), and a write is refused before it can lock a row."""
    bind = sessionmaker.kw.get("bind")
    if not read_only or bind is None:
        return {}
    if bind.dialect.name == "sqlite":
        return {"bind": bind.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"})}
    if bind.dialect.name == "postgresql":
        options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        return {"bind": bind.execution_options(**options)}
    return {}


class UnitOfWork:
    """Opens a session, exposes the repositories, and commits once.

    Leaving the ``async with`` block without :meth:`commit` rolls everything back,
    so a failure half-way through an update leaves no trace.

    ``read_only=True`` (the dashboard's views): no place in the writers' line and, on
    SQLite, a plain ``BEGIN DEFERRED`` that WAL lets run beside the writer, so a long
    read never holds up an update (on PostgreSQL a READ ONLY, REPEATABLE READ
    transaction: one snapshot too); :meth:`commit` is refused.
    """

    session: AsyncSession

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, read_only: bool = False
    ) -> None:
        self._sessionmaker = sessionmaker
        self._read_only = read_only

    async def __aenter__(self) -> UnitOfWork:
        self._lock = None if self._read_only else _writer_lock(self._sessionmaker)
        if self._lock is not None:
            await self._lock.acquire()
        self.session = self._sessionmaker(**_reading(self._sessionmaker, self._read_only))
        self._memo = TransactionMemo()
        self.session.sync_session.info[_MEMO] = self._memo
        self.units = UnitRepository(self.session)
        self.people = PersonRepository(self.session)
        self.roles = RoleRepository(self.session)
        self.teams = TeamChatRepository(self.session)
        self.ideas = IdeaRepository(self.session)
        self.conversations = ConversationRepository(self.session)
        self.outbox = OutboxRepository(self.session)
        self.updates = UpdateLog(self.session)
        self.progress = ProgressRepository(self.session)
        self.channels = ChannelRepository(self.session)
        self.links = LinkRepository(self.session)
        self.invites = InviteRepository(self.session)
        self.council = CouncilRepository(self.session)
        self.announcements = AnnouncementRepository(self.session)
        self.nudges = NudgeRepository(self.session)
        self.web = WebRepository(self.session)
        self.dashboard = DashboardRepository(self.session)
        self.similar = SimilarRepository(self.session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed and detaches the objects
        # without expiring them, so rows read here stay readable afterwards.
        try:
            await self.session.close()
        finally:
            if self._lock is not None:
                self._lock.release()

    async def lock_chat(self, chat_key: str) -> None:
        """Hold the chat until this transaction ends, so one chat's updates are handled
        one at a time even when several bot instances receive them.

        PostgreSQL: a transaction-scoped advisory lock on the key's hash. SQLite: the
        transaction already holds the database's single write lock.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                {"key": f"chat:{chat_key}"},
            )

    async def memo(
        self, key: Hashable, tables: Collection[str], compute: Callable[[], Awaitable[T]]
    ) -> T:
        """``compute()``'s answer, computed once in this transaction: kept until a
        statement or flush of the transaction writes one of ``tables`` (the tables the
        answer is read from), or one whose tables are not known. For answers asked for
        many times in one update, such as the team that serves a unit.

        Changes made through the ORM and not yet flushed (a role added, a row deleted)
        count as written: the answer a query would give after its autoflush is the one
        returned."""
        self._memo.written(_pending_tables(self.session.sync_session))
        found, value = self._memo.get(key)
        if found:
            return cast(T, value)
        value = await compute()
        self._memo.put(key, value, tables)
        return value

    async def commit(self) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work commits nothing")
        await self.session.commit()

    async def flush(self) -> None:
        await self.session.flush()
