from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from handlers.i18n import Catalogue
from storage.db import create_engine, create_sessionmaker
from storage.models import Unit
from tests.flows.harness import Harness, seed_units


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return Catalogue.load()


@pytest.fixture
async def harness(
    tmp_path: Path, catalogue: Catalogue, sqlite_with_tables: Callable[[Path], str]
) -> AsyncIterator[Harness]:
    # The bot's own engine for updates (storage/sqlite_inline.py): the flows' fixed
    # statements go straight to sqlite3 there, as in the bot.
    engine = create_engine(sqlite_with_tables(tmp_path / "flows.db"), sqlite_inline=True)
    harness = Harness(create_sessionmaker(engine), catalogue)
    harness.units = await seed_units(harness.sessionmaker)
    yield harness
    await engine.dispose()


@pytest.fixture
def units(harness: Harness) -> dict[str, Unit]:
    return harness.units
