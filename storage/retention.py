"""Pruning handled update ids (``processed_updates``) and inbox rows past the retention window,
and the dashboard's expired sessions and sign-in links.

An update's id is what makes its redelivery harmless, so it must outlive every
redelivery: Telegram keeps an unconfirmed update (long polling or webhook) at most
24 hours, and the window is at least :data:`MIN_KEEP`. Inbox rows older than the
window go first, and an id is deleted only while no inbox row of its update remains,
so a restart's inbox replay (:meth:`storage.inbox.Inbox.pending`) never meets an
update whose id is gone. Each chunk is its own short transaction: SQLite's single
writer is held for one chunk at a time, and on PostgreSQL two instances pruning at
once take different rows (``FOR UPDATE SKIP LOCKED``) instead of waiting on each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, exists, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from storage.models import InboxUpdate, ProcessedUpdate
from storage.uow import UnitOfWork

#: The shortest window allowed: twice Telegram's 24 hours of redelivery.
MIN_KEEP = timedelta(days=2)
#: Rows per transaction.
CHUNK = 1000


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one pass deleted."""

    inbox: int = 0  # inbox rows
    never_handled: int = 0  # of which the update was never handled
    processed: int = 0  # handled update ids
    web: int = 0  # expired dashboard sessions and sign-in links
    chunks: int = 0  # transactions that deleted something or found the end


def _always() -> bool:
    return True


async def prune(
    sessionmaker: async_sessionmaker[AsyncSession],
    now: datetime,
    *,
    keep: timedelta,
    chunk: int = CHUNK,
    keep_going: Callable[[], bool] = _always,
) -> Pruned:
    """Delete inbox rows received and update ids handled before ``now - keep``.

    ``keep_going`` is asked before each chunk; a pass stopped early leaves the rest
    for the next one.
    """
    if keep < MIN_KEEP:
        raise ValueError(f"the retention window must be at least {MIN_KEEP.days} days")
    cutoff = now - keep
    inbox = never_handled = processed = chunks = 0
    # The inbox first: an id goes only once no inbox row can bring its update back.
    inbox_done = False
    while not inbox_done and keep_going():
        deleted, unhandled = await _inbox_chunk(sessionmaker, cutoff, chunk)
        inbox, never_handled, chunks = inbox + deleted, never_handled + unhandled, chunks + 1
        inbox_done = deleted < chunk
    while inbox_done and keep_going():
        deleted = await _processed_chunk(sessionmaker, cutoff, chunk)
        processed, chunks = processed + deleted, chunks + 1
        if deleted < chunk:
            break
    web = await _web_credentials(sessionmaker, now) if keep_going() else 0
    return Pruned(inbox, never_handled, processed, web, chunks)


async def _web_credentials(sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Delete the dashboard's expired sessions and sign-in links (useless once expired:
    nothing keeps them for redelivery), in one short transaction."""
    async with UnitOfWork(sessionmaker) as uow:
        deleted = await uow.web.prune(now=now)
        await uow.commit()
    return deleted


def _skip_locked(query: Select[str, int], session: AsyncSession) -> Select[str, int]:
    """Rows another instance's pass holds are left to it (PostgreSQL; SQLite has one
    writer at a time anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


async def _inbox_chunk(
    sessionmaker: async_sessionmaker[AsyncSession], cutoff: datetime, chunk: int
) -> tuple[int, int]:
    """Delete up to ``chunk`` inbox rows received before ``cutoff``; (deleted, of which
    never handled)."""
    handled = (
        exists()
        .where(
            ProcessedUpdate.channel == InboxUpdate.channel,
            ProcessedUpdate.update_id == InboxUpdate.update_id,
        )
        .correlate(InboxUpdate)
    )
    async with UnitOfWork(sessionmaker) as uow:
        session = uow.session
        stale = _skip_locked(
            select(InboxUpdate.channel, InboxUpdate.update_id)
            .where(InboxUpdate.received_at < cutoff)
            .order_by(InboxUpdate.received_at)
            .limit(chunk),
            session,
        )
        keys = [(channel, update_id) for channel, update_id in await session.execute(stale)]
        if not keys:
            return 0, 0
        which = tuple_(InboxUpdate.channel, InboxUpdate.update_id).in_(keys)
        unhandled = await session.scalar(
            select(func.count()).select_from(InboxUpdate).where(which, ~handled)
        )
        result = await session.execute(
            delete(InboxUpdate).where(which).execution_options(synchronize_session=False)
        )
        await uow.commit()
    return int(getattr(result, "rowcount", 0) or 0), int(unhandled or 0)


async def _processed_chunk(
    sessionmaker: async_sessionmaker[AsyncSession], cutoff: datetime, chunk: int
) -> int:
    """Delete up to ``chunk`` ids handled before ``cutoff`` whose update has no inbox row."""
    old = aliased(ProcessedUpdate, name="old")
    in_inbox = (
        exists()
        .where(InboxUpdate.channel == old.channel, InboxUpdate.update_id == old.update_id)
        .correlate(old)
    )
    async with UnitOfWork(sessionmaker) as uow:
        session = uow.session
        oldest = _skip_locked(
            select(old.channel, old.update_id)
            .where(old.processed_at < cutoff, ~in_inbox)
            .order_by(old.processed_at)
            .limit(chunk),
            session,
        )
        result = await session.execute(
            delete(ProcessedUpdate)
            .where(tuple_(ProcessedUpdate.channel, ProcessedUpdate.update_id).in_(oldest))
            .execution_options(synchronize_session=False)
        )
        await uow.commit()
    return int(getattr(result, "rowcount", 0) or 0)
