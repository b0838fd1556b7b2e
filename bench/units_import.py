"""How long the unit import takes for a national tree (130,000 units) on SQLite.

    python -m bench.units_import [--units 130000]

Prints the first import and a re-import of the same file (nothing to change).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bench.trees import generate_tree
from storage.db import create_engine, create_sessionmaker
from storage.schema import upgrade
from storage.units_import import import_units


async def measure(units: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "national.csv"
        generate_tree(csv_path, units)
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade(url)
        engine = create_engine(url)
        try:
            sessions = create_sessionmaker(engine)
            started = time.perf_counter()
            result = await import_units(sessions, csv_path)
            first = time.perf_counter() - started
            assert result.added == units, result
            started = time.perf_counter()
            again = await import_units(sessions, csv_path)
            second = time.perf_counter() - started
            assert again.unchanged == units, again
        finally:
            await engine.dispose()
    return first, second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=130_000)
    args = parser.parse_args()
    first, second = asyncio.run(measure(args.units))
    print(f"{args.units:,} units on SQLite: import {first:.1f} s, re-import {second:.1f} s")


if __name__ == "__main__":
    main()
