"""The retention pass's costs (storage/retention.py): what the processed_at index adds to
each handled update, and how long one chunk of the pass holds the writer.

    .venv/bin/python -m bench.retention [--rows 1000000] [--postgres URL]

On a ``processed_updates`` table holding ``--rows`` ids (a quarter of them past the
window), with and without ``ix_processed_updates_processed_at``:

- claim: one handled update's id recorded in its own transaction, as
  ``Dispatcher.handle`` does (``UpdateLog.claim``), ms per update;
- chunk: one transaction of the pass deleting ``CHUNK`` ids, ms (without the index
  each chunk reads the whole table; only the first chunk is timed there).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine, create_sessionmaker
from storage.retention import CHUNK, _processed_chunk
from storage.schema import upgrade
from storage.uow import UnitOfWork

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
KEEP = timedelta(days=7)
CLAIMS = 2000


async def fill(engine: AsyncEngine, rows: int) -> None:
    """``rows`` ids handled over the last four weeks, oldest first."""
    span = 28 * 24 * 3600
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM processed_updates"))
        if engine.dialect.name == "postgresql":
            await conn.execute(
                text(
                    "INSERT INTO processed_updates (channel, update_id, processed_at) "
                    "SELECT 'telegram', g, CAST(:now AS timestamptz) "
                    "- make_interval(secs => :span - g * CAST(:span AS float) / :rows) "
                    "FROM generate_series(1, :rows) AS g"
                ),
                {"now": NOW, "span": span, "rows": rows},
            )
        else:
            batch = 50_000
            for start in range(1, rows + 1, batch):
                values = [
                    {
                        "id": i,
                        "at": (NOW - timedelta(seconds=span - i * span / rows)).strftime(
                            "%Y-%m-%d %H:%M:%S.%f"
                        ),
                    }
                    for i in range(start, min(start + batch, rows + 1))
                ]
                await conn.execute(
                    text(
                        "INSERT INTO processed_updates (channel, update_id, processed_at) "
                        "VALUES ('telegram', :id, :at)"
                    ),
                    values,
                )
        await conn.execute(text("ANALYZE processed_updates"))


async def index(engine: AsyncEngine, present: bool) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("DROP INDEX IF EXISTS ix_processed_updates_processed_at"))
        if present:
            await conn.execute(
                text(
                    "CREATE INDEX ix_processed_updates_processed_at "
                    "ON processed_updates (processed_at)"
                )
            )


async def claims(engine: AsyncEngine, first_id: int) -> float:
    """ms per update of recording ``CLAIMS`` new ids, one transaction each."""
    sessionmaker = create_sessionmaker(engine)
    started = time.perf_counter()
    for update_id in range(first_id, first_id + CLAIMS):
        async with UnitOfWork(sessionmaker) as uow:
            await uow.updates.claim("telegram", update_id, datetime.now(UTC))
            await uow.commit()
    return (time.perf_counter() - started) * 1000 / CLAIMS


async def chunks(engine: AsyncEngine, count: int) -> list[float]:
    sessionmaker = create_sessionmaker(engine)
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        await _processed_chunk(sessionmaker, NOW - KEEP, CHUNK)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def measure(url: str, rows: int, inline: bool) -> dict[str, float]:
    await upgrade(url)
    engine = create_engine(url, sqlite_inline=inline) if inline else create_engine(url)
    try:
        seen: dict[str, list[float]] = {}
        for present in (False, True, False, True):  # twice each, alternating: less drift
            name = "with index" if present else "without index"
            await fill(engine, rows)
            await index(engine, present)
            started = time.perf_counter()
            await index(engine, present)  # built again, to time the build alone
            if present:
                seen.setdefault("index build s", []).append(time.perf_counter() - started)
            seen.setdefault(f"claim ms, {name}", []).extend(
                [await claims(engine, rows + 1 + r * CLAIMS) for r in range(3)]
            )
            timed = await chunks(engine, 20 if present else 2)
            seen.setdefault(f"chunk of {CHUNK} ms, {name}", []).extend(timed)
        figures = {key: statistics.median(values) for key, values in sorted(seen.items())}
    finally:
        await engine.dispose()
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL (an empty database or schema)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'bot.db'}"
        results = {"SQLite": await measure(url, options.rows, inline=True)}
    if options.postgres:
        results["PostgreSQL"] = await measure(options.postgres, options.rows, inline=False)
    print(f"| {options.rows:,} ids | " + " | ".join(results) + " |")
    print("| --- |" + " ---: |" * len(results))
    for key in next(iter(results.values())):
        print(f"| {key} | " + " | ".join(f"{r[key]:.3f}" for r in results.values()) + " |")


if __name__ == "__main__":
    asyncio.run(main())
