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
