from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

SQLITE_PREFIX = "sqlite+aiosqlite:///"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full-size",
        action="store_true",
        default=False,
        help="run the reliability tests (crash, limits) at the full size the issues name",
    )


@pytest.fixture
def full_size(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--full-size"))


@pytest.fixture(scope="session")
def _migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file ``storage.schema.upgrade`` migrated to head, once per session.

    Made outside any event loop, like ``tests.storage.conftest._postgres_checked``.
    """
    from storage.schema import upgrade  # only the tests that want a database load Alembic

    path = tmp_path_factory.mktemp("migrated") / "bot.db"
    asyncio.run(upgrade(f"{SQLITE_PREFIX}{path}"))
    # upgrade() disposed its engine: the file holds everything, no -wal beside it.
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture
def migrated_sqlite(_migrated_sqlite_template: Path) -> Callable[[str], None]:
    """``migrated_sqlite(url)``: the SQLite database at ``url`` (which must not exist yet)
    becomes a copy of the session's migrated file, as if ``upgrade(url)`` had run there:
    migrating takes far longer than copying."""

    def copy(url: str) -> None:
        assert url.startswith(SQLITE_PREFIX), url
        target = Path(url.removeprefix(SQLITE_PREFIX))
        assert not target.exists(), target
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_migrated_sqlite_template, target)

    return copy


async def _create_all(path: Path) -> None:
    from storage.db import create_engine
    from storage.models import Base

    engine = create_engine(f"{SQLITE_PREFIX}{path}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def _tables_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every table of the models (``create_all``) and no rows, made
    once per session outside any event loop."""
    path = tmp_path_factory.mktemp("tables") / "bot.db"
    asyncio.run(_create_all(path))
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture
def sqlite_with_tables(_tables_sqlite_template: Path) -> Callable[[Path], str]:
    """``sqlite_with_tables(path)``: the URL of a copy, at ``path``, of the session's file
    with every table, as if ``Base.metadata.create_all`` had run there (copying is faster)."""

    def copy(path: Path) -> str:
        assert not path.exists(), path
        shutil.copyfile(_tables_sqlite_template, path)
        return f"{SQLITE_PREFIX}{path}"

    return copy
