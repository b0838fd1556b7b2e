"""Run the Alembic migrations and tell whether a database matches this code.

``python -m bot migrate`` calls :func:`upgrade`; the bot calls
:func:`check_schema` at start-up and refuses to run unless it says ``ok``.
"""

from __future__ import annotations

import asyncio
import enum
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import storage.channel_models
import storage.lifecycle_models
import storage.outreach_models
import storage.similar_models
import storage.web_models  # noqa: F401
from storage.db import SQLITE_BEGIN_OPTION, create_engine, normalise_url
from storage.models import Base

__all__ = [
    "FIX_COMMAND",
    "MIGRATIONS_DIR",
    "UNMODELLED_TABLES",
    "SchemaState",
    "SchemaStatus",
    "alembic_config",
    "check_schema",
    "compared",
    "current_revision",
    "head_revision",
    "modelled",
    "upgrade",
]

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
FIX_COMMAND: Final = "python -m bot migrate"
VERSION_TABLE: Final = "alembic_version"
#: Key of the PostgreSQL advisory lock held while migrating ("SángKiến" in a bigint).
MIGRATION_LOCK_KEY: Final = 0x53_61_6E_67_4B_69_65_6E

#: Tables the migrations make that the models do not describe: SQLite's full-text
#: index over idea_search (migration 0013: an FTS5 table and its shadow tables).
UNMODELLED_TABLES: Final = frozenset(
    {"idea_fts", "idea_fts_config", "idea_fts_data", "idea_fts_docsize", "idea_fts_idx"}
)


#: Indexes the models make on PostgreSQL only (``ddl_if``), which Alembic's comparison
#: would look for on SQLite too: similar ideas' covering index (migration 0014; its
#: own test checks it on PostgreSQL).
POSTGRESQL_ONLY_INDEXES: Final = frozenset({"ix_similar_texts_unit_hashes"})


def modelled(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name``: compare the database with the models but for those."""
    if type_ == "index" and name in POSTGRESQL_ONLY_INDEXES:
        return False
    return not (type_ == "table" and name in UNMODELLED_TABLES)


def compared(
    object_: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's ``include_object``: the models' side of :func:`modelled`."""
    return not (type_ == "index" and name in POSTGRESQL_ONLY_INDEXES)


_UPGRADE_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def alembic_config(url: str | URL | None = None) -> Config:
    """Alembic configuration built in code; works from any directory or install."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url is not None:
        cfg.attributes["url"] = normalise_url(url)
    return cfg


def head_revision() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - there is always 0001_initial
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


async def upgrade(url: str | URL, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` (normally the newest).

    Safe when several processes call it at once: on PostgreSQL the migration runs
    in one transaction that first takes a transaction-scoped ``pg_advisory_lock``
    (``pg_advisory_xact_lock``), so the second caller waits, then finds the schema
    already current; on SQLite ``BEGIN IMMEDIATE`` serialises the callers the same way.
    """
    async with _in_process_lock():
        await _upgrade(url, revision)


def _in_process_lock() -> asyncio.Lock:
    """Alembic keeps the running migration in module globals (``alembic.context``,
    ``alembic.op``), so two upgrades in one process must not interleave."""
    loop = asyncio.get_running_loop()
    lock = _UPGRADE_LOCKS.get(loop)
    if lock is None:
        lock = _UPGRADE_LOCKS[loop] = asyncio.Lock()
    return lock


async def _upgrade(url: str | URL, revision: str) -> None:
    cfg = alembic_config(url)
    engine = create_engine(url, pooled=False, sqlite_foreign_keys=False)
    try:
        async with engine.connect() as conn:
            # Begin before Alembic sees the connection. Alembic treats SQLite DDL as
            # non-transactional and, handed a connection outside a transaction, commits
            # after every migration: a second process could then read the version
            # between two commits and run a migration again. Inside our transaction
            # (BEGIN IMMEDIATE on SQLite) Alembic runs everything in it, once.
            await conn.begin()
            if conn.dialect.name == "postgresql":
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )

            def run(sync_conn: Connection) -> None:
                cfg.attributes["connection"] = sync_conn
                command.upgrade(cfg, revision)

            await conn.run_sync(run)
            await conn.commit()
    finally:
        await engine.dispose()


def _read_heads(sync_conn: Connection) -> tuple[str, ...]:
    context = MigrationContext.configure(sync_conn, opts={"version_table": VERSION_TABLE})
    return tuple(context.get_current_heads())


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None when it was never migrated.

    With several heads (only possible with branched migrations) they are joined
    with "+".
    """
    async with engine.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"}).connect() as conn:
        heads = await conn.run_sync(_read_heads)
    return "+".join(sorted(heads)) if heads else None


class SchemaState(enum.StrEnum):
    OK = "ok"
    MISSING = "missing"  # empty database, or tables this code needs are absent
    BEHIND = "behind"  # migrations to apply
    AHEAD = "ahead"  # migrated by a newer version: a revision this code doesn't know


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    state: SchemaState
    current: str | None
    head: str
    message: str
    missing_tables: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.state is SchemaState.OK


def _inspect_schema(sync_conn: Connection) -> tuple[tuple[str, ...], set[str]]:
    return _read_heads(sync_conn), set(inspect(sync_conn).get_table_names())


async def check_schema(engine: AsyncEngine) -> SchemaStatus:
    """Compare the database behind ``engine`` with the migrations of this code.

    Changes nothing. The message says what is wrong and what to run.
    """
    script = ScriptDirectory.from_config(alembic_config())
    head = head_revision()
    async with engine.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"}).connect() as conn:
        heads, tables = await conn.run_sync(_inspect_schema)
    needed = set(Base.metadata.tables)
    missing = tuple(sorted(needed - tables))
    current = "+".join(sorted(heads)) if heads else None

    if not heads:
        if missing == tuple(sorted(needed)):
            message = (
                "The database has no tables yet (it is new, or the URL points at the "
                f"wrong database). Create them with: {FIX_COMMAND}"
            )
        else:
            message = (
                "The database has some of the bot's tables but no migration record "
                f"({VERSION_TABLE}); it was not created by `{FIX_COMMAND}`. "
                "Point the bot at an empty database and run: " + FIX_COMMAND
            )
        return SchemaStatus(SchemaState.MISSING, None, head, message, missing)

    unknown = [rev for rev in heads if not _known(script, rev)]
    if unknown:
        message = (
            f"The database schema is at revision {', '.join(unknown)}, which this version "
            "of the bot does not know: a newer version of the bot has migrated it. "
            "Run that newer version (or restore the backup taken before it migrated); "
            f"`{FIX_COMMAND}` cannot downgrade."
        )
        return SchemaStatus(SchemaState.AHEAD, current, head, message, missing)

    if heads != (head,):
        message = (
            f"The database schema is out of date: it is at revision {current}, this "
            f"version of the bot needs {head}. Update it with: {FIX_COMMAND}"
        )
        return SchemaStatus(SchemaState.BEHIND, current, head, message, missing)

    if missing:
        message = (
            f"The database is marked as migrated to {head} but these tables are missing: "
            f"{', '.join(missing)}. Restore it from a backup, or start from an empty "
            f"database and run: {FIX_COMMAND}"
        )
        return SchemaStatus(SchemaState.MISSING, current, head, message, missing)

    return SchemaStatus(SchemaState.OK, current, head, f"The database schema is current ({head}).")


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except Exception:  # alembic raises ResolutionError / CommandError subclasses
        return False
