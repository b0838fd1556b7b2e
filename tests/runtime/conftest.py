"""Fixtures shared by the runtime tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import create_engine, create_sessionmaker


@pytest.fixture
async def sessionmaker(
    tmp_path: Path,
    migrated_sqlite: Callable[[str], None],
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A SQLite database migrated to head (a copy of the session's migrated file)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    migrated_sqlite(url)
    engine = create_engine(url, sqlite_inline=True)  # the bot's own engine for updates
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()
