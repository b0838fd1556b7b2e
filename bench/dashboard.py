"""How fast are the dashboard's views at national size? ``python -m bench.dashboard``.

Reuses ``bench.progress``'s cached SQLite database (132,133 units, 1,000,000 ideas;
built once under ``bench/results/``, ``idea_search`` filled there) and times, as the
server answers them (handlers.dashboard: a read-only unit of work on a reader engine of
its own, the visibility policy, the JSON-ready answer):

* ``/api/tree`` of the whole country (84 provinces) and of the busiest province;
* ``/api/ideas``: the first page nationally, the next page, a page filtered by status
  and by date, a province's first page, a search for a word every idea has and for
  one only one idea has.

Then the cost to the bot's writers: the p95 of a committed counter update (what every
submission does) alone, beside the views looping as read-only units of work, and
beside the same views holding the writers' lock as an ordinary unit of work would.
Prints medians and p95s; ``--json`` writes them too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.progress import (
    RESULTS_DIR,
    ROOT,
    TODAY,
    Timing,
    _time,
    _timing,
    build,
    cached,
    fanout_for,
    fill_search,
)

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)  # 16:00 on TODAY in Vietnam
BENCH_NAME = "Bench dashboard"


@dataclass
class WriterTiming:
    beside: str  # nothing | read-only views | views holding the writers' lock
    runs: int
    median_ms: float
    p95_ms: float


@dataclass
class Report:
    units: int
    ideas: int
    database: str
    timings: list[Timing] = field(default_factory=list)
    writers: list[WriterTiming] = field(default_factory=list)
    sqlite: str = sqlite3.sqlite_version


def _used_bytes(db: sqlite3.Connection) -> int:
    pages = (
        db.execute("PRAGMA page_count").fetchone()[0]
        - db.execute("PRAGMA freelist_count").fetchone()[0]
    )
    return int(pages) * int(db.execute("PRAGMA page_size").fetchone()[0])


def ensure_index(db: sqlite3.Connection) -> int | None:
    """Build ``idea_fts`` (migration 0013's full-text index) where a cache made
    before it lacks it; returns the bytes it took (None: it was there)."""
    from storage.web_models import SQLITE_SEARCH_INDEX

    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'idea_fts'").fetchone():
        return None
    print("building idea_fts …", file=sys.stderr)
    before = _used_bytes(db)
    for statement in SQLITE_SEARCH_INDEX:
        db.execute(statement)
    db.execute("INSERT INTO idea_fts (idea_fts) VALUES ('rebuild')")
    db.execute("INSERT INTO idea_fts (idea_fts) VALUES ('optimize')")
    db.commit()
    return _used_bytes(db) - before


def prepare(path: Path) -> tuple[int, int, int, int, int]:
    """Fill ``idea_search`` and its index if an older cache lacks them; an official of
    the country, one of the busiest province and one of its busiest district. Returns
    (national official, provincial official, province id, district official, district
    id)."""
    db = sqlite3.connect(path)
    try:
        if db.execute("SELECT count(*) FROM idea_search").fetchone()[0] == 0:
            print("filling idea_search …", file=sys.stderr)
            fill_search(db)
            db.execute("ANALYZE")
        ensure_index(db)
        province = db.execute(
            "SELECT u.id FROM units u JOIN progress_totals t ON t.unit_id = u.id"
            " WHERE u.depth = 1 ORDER BY t.submitted DESC LIMIT 1"
        ).fetchone()[0]
        district = db.execute(
            "SELECT u.id FROM units u JOIN progress_totals t ON t.unit_id = u.id"
            " WHERE u.parent_id = ? ORDER BY t.submitted DESC LIMIT 1",
            (province,),
        ).fetchone()[0]
        people = []
        for unit in (1, province, district):
            name = f"{BENCH_NAME} {unit}"
            found = db.execute("SELECT id FROM people WHERE display_name = ?", (name,)).fetchone()
            if found is None:
                now = NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
                person = db.execute(
                    "INSERT INTO people (display_name, unreachable, muted, created_at)"
                    " VALUES (?, 0, 0, ?)",
                    (name, now),
                ).lastrowid
                db.execute(
                    "INSERT INTO roles (person_id, unit_id, role, granted_at, lead)"
                    " VALUES (?, ?, 'official', ?, 0)",
                    (person, unit, now),
                )
                found = (person,)
            people.append(int(found[0]))
        db.commit()
        return people[0], people[1], int(province), people[2], int(district)
    finally:
        db.close()


async def measure(path: Path, runs: int) -> Report:
    from handlers.dashboard.base import IdeaQuery
    from handlers.dashboard.service import Dashboard
    from handlers.i18n import Catalogue
    from storage.db import create_engine, create_sessionmaker

    national, provincial, province, local, district = prepare(path)
    url = f"sqlite+aiosqlite:///{path}"
    writer_engine, reader_engine = create_engine(url), create_engine(url)
    board = Dashboard(
        sessionmaker=create_sessionmaker(writer_engine),
        reader=create_sessionmaker(reader_engine),
        catalogue=Catalogue.load(),
        clock=lambda: NOW,
    )
    first = await board.ideas(national, IdeaQuery())
    views: dict[str, Callable[[], Awaitable[object]]] = {
        "tree: the country": lambda: board.tree(national, None),
        "tree: a province": lambda: board.tree(provincial, province),
        "ideas: first page, country": lambda: board.ideas(national, IdeaQuery()),
        "ideas: second page, country": lambda: board.ideas(
            national, IdeaQuery(cursor=first["next"])
        ),
        "ideas: status applied": lambda: board.ideas(national, IdeaQuery(status="applied")),
        "ideas: since 2026-11-15": lambda: board.ideas(national, IdeaQuery(since="2026-11-15")),
        "ideas: first page, province": lambda: board.ideas(provincial, IdeaQuery()),
        "ideas: first page, district": lambda: board.ideas(local, IdeaQuery(unit_id=district)),
        "ideas: search, district": lambda: board.ideas(local, IdeaQuery(text="số 9")),
        "ideas: search common word": lambda: board.ideas(national, IdeaQuery(text="cải tiến")),
        "ideas: search rare word": lambda: board.ideas(national, IdeaQuery(text="số 987654")),
    }
    report = Report(0, 0, str(path.relative_to(ROOT)))
    try:
        for name, view in views.items():
            samples = await _time(view, runs)
            report.timings.append(_timing(name, "dashboard", samples, 0))
        report.writers = await _writers(board, views, runs)
    finally:
        await writer_engine.dispose()
        await reader_engine.dispose()
    return report


async def _writers(
    board: object, views: dict[str, Callable[[], Awaitable[object]]], runs: int
) -> list[WriterTiming]:
    """A submission's counter update, timed alone and beside the views looping."""
    from handlers.dashboard.service import Dashboard
    from storage.uow import UnitOfWork

    assert isinstance(board, Dashboard)
    writers = board.sessionmaker
    heavy = [views["tree: the country"], views["ideas: search rare word"]]

    async def write() -> None:
        async with UnitOfWork(writers) as uow:
            await uow.progress.bump([1, 2, 86], 2, TODAY, submitted=0, approved=1)
            await uow.commit()

    async def loop(hold_lock: bool, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for view in heavy:
                if hold_lock:  # as if the view ran in an ordinary unit of work
                    async with UnitOfWork(writers):
                        await view()
                else:
                    await view()

    results = []
    for beside in ("nothing", "read-only views", "views holding the writers' lock"):
        stop = asyncio.Event()
        background = (
            None
            if beside == "nothing"
            else asyncio.create_task(loop(beside.startswith("views holding"), stop))
        )
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            await write()
            samples.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.01)
        stop.set()
        if background is not None:
            await background
        timing = _timing(beside, "writer", samples, 0)
        results.append(WriterTiming(beside, runs, timing.median_ms, timing.p95_ms))
    return results


def table(report: Report) -> str:
    lines = [
        f"dashboard views at {report.units:,} units and {report.ideas:,} ideas"
        f" (SQLite {report.sqlite}, {report.database})",
        f"{'view':34} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}",
    ]
    for t in report.timings:
        lines.append(f"{t.level:34} {t.median_ms:10.1f} {t.p95_ms:8.1f} {t.max_ms:8.1f}")
    lines.append(f"{'a submission, beside':34} {'median ms':>10} {'p95 ms':>8}")
    for w in report.writers:
        lines.append(f"{w.beside:34} {w.median_ms:10.1f} {w.p95_ms:8.1f}")
    return "\n".join(lines)


async def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__)
    parser.add_argument("--units", type=int, default=132_133)
    parser.add_argument("--ideas", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30, help="timed runs per view")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    fanout = fanout_for(args.units)
    units = 1 + sum(math.prod(fanout[: i + 1]) for i in range(len(fanout)))
    path = RESULTS_DIR / f"progress-{units}u-{args.ideas}i.db"
    if not cached(path):
        await build(path, args.units, args.ideas)
    report = await measure(path, args.runs)
    report.units, report.ideas = units, args.ideas
    print(table(report))
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2), encoding="utf-8")
    return report


if __name__ == "__main__":
    asyncio.run(main())
