from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import storage.schema
from storage.db import create_engine
from storage.models import Base
from storage.schema import (
    FIX_COMMAND,
    MIGRATIONS_DIR,
    UNMODELLED_TABLES,
    SchemaState,
    alembic_config,
    check_schema,
    compared,
    current_revision,
    head_revision,
    modelled,
    upgrade,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _diff(sync_conn: Connection) -> list[Any]:
    context = MigrationContext.configure(
        sync_conn,
        opts={"compare_type": True, "include_name": modelled, "include_object": compared},
    )
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_match_models(db_url: str, engine: AsyncEngine) -> None:
    await upgrade(db_url)
    async with engine.connect() as conn:
        differences = await conn.run_sync(_diff)
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    assert differences == []
    assert tables - UNMODELLED_TABLES == {*Base.metadata.tables, "alembic_version"}
    assert await current_revision(engine) == head_revision()


async def test_units_path_is_bytewise_on_postgresql(pg_url: str) -> None:
    """compare_metadata ignores collations, so check the one that matters by hand."""
    await upgrade(pg_url)
    engine = create_engine(pg_url)
    try:
        async with engine.connect() as conn:
            collation = (
                await conn.execute(
                    text(
                        "SELECT collation_name FROM information_schema.columns "
                        "WHERE table_schema = current_schema() "
                        "AND table_name = 'units' AND column_name = 'path'"
                    )
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert collation == "C"


async def test_upgrade_twice_is_harmless(db_url: str, engine: AsyncEngine) -> None:
    await upgrade(db_url)
    await upgrade(db_url)
    assert (await check_schema(engine)).ok


async def test_downgrade_to_base_and_back(db_url: str, engine: AsyncEngine) -> None:
    await upgrade(db_url)
    # Like upgrade(): SQLite foreign keys off while tables are rebuilt.
    migrator = create_engine(db_url, pooled=False, sqlite_foreign_keys=False)
    try:
        async with migrator.connect() as conn:

            def down(sync_conn: Connection) -> None:
                cfg = alembic_config()
                cfg.attributes["connection"] = sync_conn
                command.downgrade(cfg, "base")

            await conn.run_sync(down)
            await conn.commit()
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await migrator.dispose()
    assert set(tables) <= {"alembic_version"}
    assert (await check_schema(engine)).state is SchemaState.MISSING
    await upgrade(db_url)
    assert (await check_schema(engine)).ok


async def test_check_schema_missing_on_empty_database(engine: AsyncEngine) -> None:
    status = await check_schema(engine)
    assert status.state is SchemaState.MISSING
    assert not status.ok
    assert status.current is None
    assert FIX_COMMAND in status.message
    assert set(status.missing_tables) == set(Base.metadata.tables)
    # Looking changed nothing.
    async with engine.connect() as conn:
        assert await conn.run_sync(lambda c: inspect(c).get_table_names()) == []


async def test_check_schema_ok_after_upgrade(db_url: str, engine: AsyncEngine) -> None:
    await upgrade(db_url)
    status = await check_schema(engine)
    assert status.state is SchemaState.OK
    assert status.ok
    assert status.current == status.head == head_revision()


async def test_check_schema_missing_table(db_url: str, engine: AsyncEngine) -> None:
    await upgrade(db_url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE counters"))
    status = await check_schema(engine)
    assert status.state is SchemaState.MISSING
    assert status.missing_tables == ("counters",)
    assert "counters" in status.message


async def test_check_schema_ahead(db_url: str, engine: AsyncEngine) -> None:
    await upgrade(db_url)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999_newer_bot'"))
    status = await check_schema(engine)
    assert status.state is SchemaState.AHEAD
    assert status.current == "9999_newer_bot"
    assert "9999_newer_bot" in status.message
    assert "newer version" in status.message


_EXTRA_MIGRATION = '''"""a later migration, for tests only"""

import sqlalchemy as sa
from alembic import op

revision = "9999_test_extra"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("test_extra", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("test_extra")
'''


@pytest.fixture
def two_revisions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the migrations with a second revision added after 0001."""
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    extra = _EXTRA_MIGRATION.replace("{down}", head_revision())
    (copy / "versions" / "9999_test_extra.py").write_text(extra, encoding="utf-8")
    monkeypatch.setattr(storage.schema, "MIGRATIONS_DIR", copy)
    return copy


@pytest.fixture
def real_head() -> str:
    return head_revision()


async def test_check_schema_behind(
    db_url: str, engine: AsyncEngine, real_head: str, two_revisions: Path
) -> None:
    await upgrade(db_url, real_head)
    status = await check_schema(engine)
    assert status.state is SchemaState.BEHIND
    assert (status.current, status.head) == (real_head, "9999_test_extra")
    assert FIX_COMMAND in status.message
    await upgrade(db_url)
    status = await check_schema(engine)
    assert status.ok
    assert status.current == "9999_test_extra"


async def test_concurrent_upgrades(db_url: str, engine: AsyncEngine) -> None:
    """Several callers at once (on PostgreSQL they meet at the advisory lock)."""
    await asyncio.gather(*(upgrade(db_url) for _ in range(4)))
    assert (await check_schema(engine)).ok


async def test_concurrent_upgrades_from_separate_processes(db_url: str) -> None:
    code = (
        "import asyncio, sys; from storage.schema import upgrade; asyncio.run(upgrade(sys.argv[1]))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            code,
            db_url,
            cwd="/",  # the package must find its migrations from anywhere
            env=env,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    results = [await p.communicate() for p in processes]
    for process, (_, stderr) in zip(processes, results, strict=True):
        assert process.returncode == 0, stderr.decode()
    engine = create_engine(db_url)
    try:
        assert (await check_schema(engine)).ok
    finally:
        await engine.dispose()


async def test_sqlite_upgrade_commits_all_migrations_at_once(tmp_path: Path) -> None:
    """Another process never sees a half-migrated SQLite database: were the
    migrations committed one by one, a second `migrate` starting in between would
    read an old revision and run a migration again ("table already exists")."""
    import sqlite3
    import threading

    file = tmp_path / "bot.db"
    seen: set[str | None] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            try:
                conn = sqlite3.connect(file, timeout=0.001)
                try:
                    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
                    seen.add(row[0] if row else None)
                finally:
                    conn.close()
            except sqlite3.OperationalError:  # no table yet, or locked for a moment
                pass

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        await upgrade(f"sqlite+aiosqlite:///{file}")
    finally:
        stop.set()
        watcher.join()
    assert seen <= {None, head_revision()}
