"""Alembic environment for the bot's database.

The database URL never comes from an ini file. In order of preference env.py uses

1. ``config.attributes["connection"]``: an open *sync* connection (the
   ``run_sync`` side of an ``AsyncConnection``) handed over by
   :func:`storage.schema.upgrade`, which may already hold a transaction and a
   PostgreSQL advisory lock; migrations then run inside that transaction;
2. ``config.attributes["url"]``;
3. ``-x url=...`` on the ``alembic`` command line (developers only).

On SQLite the migrations run with foreign keys switched off (so that batch
operations may rebuild tables, as SQLite's ALTER TABLE procedure requires) and
``PRAGMA foreign_key_check`` must come back empty before the transaction commits.
"""

from __future__ import annotations

import asyncio
import logging

from alembic import context
from sqlalchemy.engine import Connection

import storage.channel_models
import storage.lifecycle_models
import storage.outreach_models
import storage.web_models  # noqa: F401
from storage.db import create_engine, normalise_url
from storage.models import Base
from storage.schema import compared, modelled

config = context.config
target_metadata = Base.metadata

if config.cmd_opts is not None:  # the `alembic` command line: show what runs
    logging.basicConfig(level=logging.INFO, format="%(levelname)-5.5s [%(name)s] %(message)s")


def _url() -> str:
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise RuntimeError(
            "no database URL: use `python -m bot migrate`, storage.schema.upgrade(url), "
            "or pass -x url=... to the alembic command"
        )
    return normalise_url(str(url))


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if problems:
        shown = ", ".join(f"{row[0]} rowid {row[1]} -> {row[2]}" for row in problems[:10])
        raise RuntimeError(f"migration left {len(problems)} broken foreign keys: {shown}")


def run_migrations_offline() -> None:
    """Write the SQL to stdout (``alembic upgrade head --sql``)."""
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=modelled,
        include_object=compared,
    )
    with context.begin_transaction():
        context.run_migrations()
        _check_sqlite_foreign_keys(connection)


async def run_async_migrations(url: str) -> None:
    engine = create_engine(url, pooled=False, sqlite_foreign_keys=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations(_url()))


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
