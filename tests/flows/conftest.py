from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from handlers.i18n import Catalogue
from storage.db import create_engine, create_sessionmaker
from storage.models import Base, Unit
from tests.flows.harness import Harness, seed_units


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return Catalogue.load()


@pytest.fixture
async def harness(tmp_path: Path, catalogue: Catalogue) -> AsyncIterator[Harness]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'flows.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    harness = Harness(create_sessionmaker(engine), catalogue)
    harness.units = await seed_units(harness.sessionmaker)
    yield harness
    await engine.dispose()


@pytest.fixture
def units(harness: Harness) -> dict[str, Unit]:
    return harness.units
