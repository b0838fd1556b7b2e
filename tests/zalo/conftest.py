from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.zalo.api import ZaloApi
from handlers.i18n import Catalogue
from standins.zalo import EXAMPLE_TOKEN, ZaloStandinClient, ZaloStandinServer
from standins.zalo.state import StandinConfig
from storage.db import create_engine, create_sessionmaker
from storage.models import Unit
from tests.flows.harness import Harness, seed_units


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return Catalogue.load()


@pytest.fixture
async def db(
    tmp_path: Path, sqlite_with_tables: Callable[[Path], str]
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(sqlite_with_tables(tmp_path / "zalo.db"), sqlite_inline=True)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def harness(
    db: async_sessionmaker[AsyncSession], catalogue: Catalogue
) -> AsyncIterator[Harness]:
    harness = Harness(db, catalogue)
    harness.units = await seed_units(db)
    yield harness


@pytest.fixture
async def server() -> AsyncIterator[ZaloStandinServer]:
    config = StandinConfig(webhook_retry_delays=(0.05,), webhook_attempts=3)
    async with ZaloStandinServer(config=config) as running:
        yield running


@pytest.fixture
async def people(server: ZaloStandinServer) -> AsyncIterator[ZaloStandinClient]:
    async with server.client() as client:
        yield client


@pytest.fixture
async def api(server: ZaloStandinServer) -> AsyncIterator[ZaloApi]:
    client = ZaloApi(EXAMPLE_TOKEN, server.base_url, request_timeout=10)
    yield client
    await client.close()


@pytest.fixture
def server_url(server: ZaloStandinServer) -> str:
    return server.base_url


@pytest.fixture
def h(harness: Harness) -> Harness:
    return harness


@pytest.fixture
def units(harness: Harness) -> dict[str, Unit]:
    return harness.units
