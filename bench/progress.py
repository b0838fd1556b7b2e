"""How fast is /progress at national size? ``python -m bench.progress [--units N] [--ideas N]``.

Builds (once, cached under ``bench/results/``) a SQLite database the size of the
national deployment — by default 132,133 units in five levels (1 national, 84
provinces and sectors, 1,008 districts, 26,208 grassroots unions, 104,832 teams)
and 1,000,000 ideas over two campaign phases, 40 % approved by the team, half of
those recognised by the council and 60 % of the recognised applied with a measured
benefit (issue #18), quotas of both measures (submitted, recognised) on every
grassroots union — with the project's own code where it matters (migrations,
``add_campaign``, ``import_quotas``, ``rebuild_progress``) and plain ``executemany``
for the bulk rows. Then it times what ``/progress`` does, at the national,
provincial, district and grassroots level:

* ``counters`` — the design the bot uses: :func:`handlers.reports.view.load_view`
  (the unit's and its direct sub-units' rows of ``progress_totals``,
  ``progress_daily`` for the last 7 days, ``quota_totals``) plus rendering the
  message, in one ``BEGIN IMMEDIATE`` transaction as the dispatcher runs it;
* ``naive`` (``--compare``) — counting the ideas at query time: one
  ``COUNT … JOIN units`` over the indexed path range per sub-unit.

It also times the write side: the counter upserts one submission adds (five rows
in each table) in a committed transaction. Prints a table of medians; ``--json``
writes the figures too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import sqlite3
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
NATIONAL_FANOUT = (84, 12, 26, 4)  # 132,133 units in five levels
VIETNAM = timezone(timedelta(hours=7))
P1 = ("2026-P1", date(2026, 2, 1), date(2026, 5, 31))
P2 = ("2026-P2", date(2026, 6, 1), date(2026, 11, 30))
TODAY = date(2026, 11, 20)  # inside P2, so "the last 7 days" has figures
LAST_MOMENT = datetime(2026, 11, 20, 16, tzinfo=UTC)  # 23:00 on TODAY in Vietnam
LEVELS = ("national", "provincial", "district", "grassroots")
SCHEMA_VERSION = 2  # bump when the generated data changes, so caches are rebuilt
# 2: the lifecycle (issue #18): recognised and applied ideas, idea_results, quotas per measure


@dataclass
class Timing:
    level: str
    design: str
    runs: int
    median_ms: float
    p95_ms: float
    max_ms: float
    sub_units: int


@dataclass
class ExportTiming:
    """One ``/export`` spreadsheet made the way the bot's report job makes it."""

    level: str
    ideas_in_subtree: int
    rows: int
    seconds: float
    file_mb: float
    peak_rss_growth_mb: float


@dataclass
class Report:
    units: int
    ideas: int
    database: str
    build_seconds: float | None
    timings: list[Timing] = field(default_factory=list)
    exports: list[ExportTiming] = field(default_factory=list)
    write_median_ms: float = 0.0
    database_mb: float = 0.0
    sqlite: str = sqlite3.sqlite_version


# ---------------------------------------------------------------- building the database


def fanout_for(units: int) -> tuple[int, ...]:
    """Fan-outs of a five-level tree of about ``units`` units (the national shape, scaled)."""
    full = 1 + 84 + 84 * 12 + 84 * 12 * 26 + 84 * 12 * 26 * 4
    if units >= full:
        return NATIONAL_FANOUT
    scale = (units / full) ** 0.25
    return tuple(max(2, round(f * scale)) for f in NATIONAL_FANOUT)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _build_rows(db: sqlite3.Connection, fanout: tuple[int, ...], ideas: int) -> list[int]:
    """Units, one author, the ideas; returns the grassroots unit ids."""
    now = _stamp(datetime.now(UTC))
    rows: list[tuple[Any, ...]] = [(1, "VN", "Tổng Liên đoàn Lao động Việt Nam", "national", None)]
    paths = {1: "/1/"}
    level = [1]
    kinds = ("province", "district", "grassroots", "team")
    names = ("Liên đoàn Lao động tỉnh", "Liên đoàn Lao động huyện", "CĐCS Công ty", "Tổ Công đoàn")
    next_id = 2
    levels: list[list[int]] = [[1]]
    for depth, fan in enumerate(fanout):
        below = []
        for parent in level:
            for n in range(fan):
                uid = next_id
                next_id += 1
                paths[uid] = f"{paths[parent]}{uid}/"
                rows.append((uid, f"U{uid}", f"{names[depth]} số {n + 1}", kinds[depth], parent))
                below.append(uid)
        levels.append(below)
        level = below
    db.executemany(
        "INSERT INTO units (id, code, name, name_folded, kind, parent_id, path, depth,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (
                uid,
                code,
                name,
                name.lower(),
                kind,
                parent,
                paths[uid],
                paths[uid].count("/") - 2,
                now,
            )
            for uid, code, name, kind, parent in rows
        ),
    )
    author = db.execute(
        "INSERT INTO people (display_name, unreachable, created_at) VALUES ('Bench', 0, ?)",
        (now,),
    ).lastrowid
    campaigns = {code: cid for cid, code in db.execute("SELECT id, code FROM campaigns")}
    leaves = levels[3] + levels[4]
    rnd = random.Random(20261120)
    weights = [rnd.paretovariate(1.5) for _ in leaves]  # a few units send far more
    chosen = rnd.choices(leaves, weights=weights, k=ideas)
    spans = [(campaigns[code], start, (end - start).days + 1) for code, start, end in (P1, P2)]

    def campaign_of(day: date) -> int | None:
        for cid, start, days in spans:
            if start <= day < start + timedelta(days=days):
                return int(cid)
        return None

    chunk: list[tuple[Any, ...]] = []
    results: list[tuple[Any, ...]] = []
    for n, unit in enumerate(chosen):
        campaign, start, days = spans[0] if n % 4 == 0 else spans[1]
        day = start + timedelta(days=rnd.randrange(days))
        if campaign == spans[1][0] and day > TODAY:
            day = TODAY - timedelta(days=rnd.randrange(30))
        created = datetime(day.year, day.month, day.day, 8, 0, tzinfo=VIETNAM)
        created += timedelta(seconds=rnd.randrange(9 * 3600))
        approved = rnd.random() < 0.4
        updated = created + timedelta(days=rnd.randrange(6)) if approved else created
        status = "approved" if approved else "submitted"
        if approved and rnd.random() < 0.5:  # the council recognised it, days later
            decided = min(updated + timedelta(days=rnd.randrange(3, 30)), LAST_MOMENT)
            applied_on = decided.astimezone(VIETNAM).date() + timedelta(days=rnd.randrange(60))
            applied = rnd.random() < 0.6 and applied_on <= TODAY
            status = "applied" if applied else "recognised"
            updated = decided
            results.append(
                (
                    n + 1,
                    _stamp(decided),
                    campaign_of(decided.astimezone(VIETNAM).date()),
                    applied_on.isoformat() if applied else None,
                    campaign_of(applied_on) if applied else None,
                    rnd.randrange(10, 2000) * 1_000_000 if applied else None,
                )
            )
        chunk.append(
            (
                f"SK-B-{n + 1:07d}",
                author,
                unit,
                unit,
                "Sáng kiến cải tiến số " + str(n + 1),
                "Mô tả sáng kiến",
                "technical",
                "cost",
                rnd.random() < 0.1,
                "vi",
                status,
                _stamp(created),
                _stamp(min(updated, LAST_MOMENT)),
                campaign,
            )
        )
        if len(chunk) >= 50_000:
            _insert_ideas(db, chunk)
            chunk = []
    _insert_ideas(db, chunk)
    # The ideas were numbered 1.. in order (a new table): idea_results refer to them so.
    assert db.execute("SELECT max(id) FROM ideas").fetchone()[0] == ideas
    db.executemany(
        "INSERT INTO idea_results (idea_id, recognised, decision_no, decision_date, decided_at,"
        " recognised_campaign_id, applied_on, applied_campaign_id, benefit_vnd)"
        " VALUES (?, 1, 'QĐ-' || ?, substr(?, 1, 10), ?, ?, ?, ?, ?)",
        (
            (idea, idea, at, at, campaign, applied_on, applied_campaign, benefit)
            for idea, at, campaign, applied_on, applied_campaign, benefit in results
        ),
    )
    return levels[3]


def _insert_ideas(db: sqlite3.Connection, chunk: list[tuple[Any, ...]]) -> None:
    db.executemany(
        "INSERT INTO ideas (ref_code, author_id, unit_id, holder_unit_id, title, body, category,"
        " benefit, confidential, language, status, version, created_at, updated_at, campaign_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
        chunk,
    )


def fill_search(db: sqlite3.Connection, batch: int = 50_000) -> int:
    """Fold every idea's title and text into ``idea_search`` (what the bot's
    ``IdeaRepository.add`` does for each idea, migration 0013 for those stored before):
    the dashboard's search reads it. Returns how many rows were added."""
    from storage.folding import fold_name

    added, after = 0, 0
    while True:
        rows = db.execute(
            "SELECT id, title, body FROM ideas WHERE id > ? ORDER BY id LIMIT ?", (after, batch)
        ).fetchall()
        if not rows:
            return added
        db.executemany(
            "INSERT INTO idea_search (idea_id, title, text) VALUES (?, ?, ?)",
            ((i, fold_name(title)[:200], fold_name(body)) for i, title, body in rows),
        )
        added += len(rows)
        after = rows[-1][0]


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def build(path: Path, units: int, ideas: int) -> float:
    """Build the database at ``path``; returns the seconds it took."""
    from storage.db import create_engine, create_sessionmaker
    from storage.progress import add_campaign, rebuild_progress
    from storage.quotas_import import import_quotas
    from storage.schema import upgrade

    started = time.perf_counter()
    _remove(path)
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    for code, start, end in (P1, P2):
        await add_campaign(
            sessionmaker, code=code, name=f"Đợt {code}", starts_on=start, ends_on=end
        )
    await engine.dispose()

    print(f"building {path.name}: units and ideas …", file=sys.stderr)
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    grassroots = _build_rows(db, fanout_for(units), ideas)
    fill_search(db)
    db.commit()
    db.close()

    quotas = path.with_suffix(".quotas.csv")
    rnd = random.Random(7)
    with quotas.open("w", encoding="utf-8") as f:
        f.write("unit_code,campaign,target,measure\n")
        for unit in grassroots:
            for code, _, _ in (P1, P2):
                f.write(f"U{unit},{code},{rnd.randint(5, 60)},submitted\n")
                f.write(f"U{unit},{code},{rnd.randint(1, 15)},công nhận\n")
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    print("importing quotas, rebuilding counters …", file=sys.stderr)
    t0 = time.perf_counter()
    result = await import_quotas(sessionmaker, quotas)
    print(f"  quotas: {result} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    t0 = time.perf_counter()
    rebuilt = await rebuild_progress(sessionmaker)
    print(f"  rebuild: {rebuilt} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    await engine.dispose()
    db = sqlite3.connect(path)
    db.execute("ANALYZE")
    db.execute("CREATE TABLE bench_meta (key TEXT PRIMARY KEY, value TEXT)")
    db.execute("INSERT INTO bench_meta VALUES ('version', ?)", (str(SCHEMA_VERSION),))
    db.commit()
    db.close()
    quotas.unlink()
    return time.perf_counter() - started


def cached(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        db = sqlite3.connect(path)
        try:
            row = db.execute("SELECT value FROM bench_meta WHERE key = 'version'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == str(SCHEMA_VERSION)


# ---------------------------------------------------------------- measuring


async def _time(call: Callable[[], Awaitable[object]], runs: int) -> list[float]:
    await call()  # warm the caches, as a running bot's are
    result = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        result.append((time.perf_counter() - started) * 1000)
    return result


def _timing(level: str, design: str, samples: list[float], sub_units: int) -> Timing:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return Timing(
        level, design, len(samples), statistics.median(samples), p95, ordered[-1], sub_units
    )


async def measure(path: Path, *, runs: int, compare: bool) -> list[Timing]:
    from sqlalchemy import and_, case, func, select

    from handlers.i18n import Catalogue
    from handlers.reports.view import load_view, render
    from storage.db import create_engine, create_sessionmaker
    from storage.models import Idea, Unit
    from storage.uow import UnitOfWork

    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    sessionmaker = create_sessionmaker(engine)
    t = Catalogue.load().for_lang("vi")
    timings: list[Timing] = []
    try:
        async with UnitOfWork(sessionmaker) as uow:
            campaign = await uow.progress.campaign_on(TODAY)
            assert campaign is not None
            picks: dict[str, list[Unit]] = {}
            for depth, level in enumerate(LEVELS):
                rows = await uow.session.execute(
                    select(Unit).where(Unit.depth == depth).order_by(Unit.id).limit(400)
                )
                found = list(rows.scalars())
                picks[level] = random.Random(depth).sample(found, min(5, len(found)))

        for level in LEVELS:
            samples: list[float] = []
            naive: list[float] = []
            sub_units = 0
            for unit in picks[level]:

                async def progress(unit: Unit = unit) -> None:
                    async with UnitOfWork(sessionmaker) as uow:
                        view = await load_view(uow, unit, campaign, TODAY)
                        render(t, view)
                        await uow.commit()

                samples += await _time(progress, max(1, runs // len(picks[level])))
                async with UnitOfWork(sessionmaker) as uow:
                    sub_units = max(sub_units, len(await uow.progress.children(unit.id)))

                async def count(unit: Unit = unit) -> None:
                    async with UnitOfWork(sessionmaker) as uow:
                        children = [unit, *await uow.progress.children(unit.id)]
                        for child in children:
                            in_range = and_(
                                Unit.path >= child.path, Unit.path < child.path[:-1] + "0"
                            )
                            approved = func.sum(case((Idea.status == "approved", 1), else_=0))
                            await uow.session.execute(
                                select(func.count(Idea.id), approved)
                                .join(Unit, Unit.id == Idea.unit_id)
                                .where(in_range, Idea.campaign_id == campaign.id)
                            )

                if compare:
                    naive += await _time(count, 1 if level == "national" else 3)
            timings.append(_timing(level, "counters", samples, sub_units))
            if compare:
                timings.append(_timing(level, "naive", naive, sub_units))
    finally:
        await engine.dispose()
    return timings


async def measure_writes(path: Path, runs: int = 200) -> float:
    """Median ms of a committed transaction that counts one submission (five levels)."""
    from sqlalchemy import select

    from storage.db import create_engine, create_sessionmaker
    from storage.models import Unit
    from storage.repositories.units import unit_ids_on_path
    from storage.uow import UnitOfWork

    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    sessionmaker = create_sessionmaker(engine)
    try:
        async with UnitOfWork(sessionmaker) as uow:
            campaign = await uow.progress.campaign_on(TODAY)
            assert campaign is not None
            rows = await uow.session.execute(select(Unit).where(Unit.depth == 4).limit(500))
            teams = list(rows.scalars())
        rnd = random.Random(3)
        samples = []
        for _ in range(runs):
            unit = rnd.choice(teams)
            started = time.perf_counter()
            async with UnitOfWork(sessionmaker) as uow:
                await uow.progress.bump(
                    unit_ids_on_path(unit.path), campaign.id, TODAY, submitted=1
                )
                await uow.commit()
            samples.append((time.perf_counter() - started) * 1000)
        # Leave the counters as they were: take the same submissions away again.
        async with UnitOfWork(sessionmaker) as uow:
            rnd = random.Random(3)
            for _ in range(runs):
                unit = rnd.choice(teams)
                await uow.progress.bump(
                    unit_ids_on_path(unit.path), campaign.id, TODAY, submitted=-1
                )
            await uow.commit()
        return statistics.median(samples)
    finally:
        await engine.dispose()


class RssPeak:
    """The process's resident memory, sampled every 10 ms on a thread while the block runs:
    how far it rose above where it started."""

    def __init__(self) -> None:
        self.start = self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, _rss_bytes())

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 1e6


def _rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def measure_exports(path: Path, *, levels: tuple[str, ...] = LEVELS) -> list[ExportTiming]:
    """``/export`` at each level, through the report job's own spreadsheet step
    (:func:`handlers.reports.export.write_export`: the figures, the count, up to
    ``export_max_rows`` ideas streamed, their units named, the workbook written on a
    thread); the busiest unit of each level among a sample, largest level last.
    ``bench.export`` compares the writers at national size."""
    import tempfile

    from sqlalchemy import select

    from handlers.i18n import Catalogue
    from handlers.reports.export import write_export
    from handlers.reports.jobs import ReportSettings, read_only
    from storage.db import create_engine, create_sessionmaker
    from storage.models import Unit
    from storage.uow import UnitOfWork

    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    sessionmaker = read_only(create_sessionmaker(engine))
    t = Catalogue.load().for_lang("vi")
    results: list[ExportTiming] = []
    try:
        with tempfile.TemporaryDirectory(prefix="export-bench-") as directory:
            settings = ReportSettings(directory=Path(directory))
            async with UnitOfWork(sessionmaker) as uow:
                campaign = await uow.progress.campaign_on(TODAY)
                assert campaign is not None
                picks: dict[str, Unit] = {}
                for depth, level in enumerate(LEVELS):
                    query = select(Unit).where(Unit.depth == depth).order_by(Unit.id).limit(50)
                    sample = list((await uow.session.execute(query)).scalars())
                    counts = [
                        (await uow.progress.count_in_subtree(u.path, campaign.id), u.id, u)
                        for u in sample
                    ]
                    picks[level] = max(counts, key=lambda c: (c[0], -c[1]))[2]
            for level in reversed(LEVELS):
                if level not in levels:
                    continue
                unit = picks[level]
                made = Path(directory) / f"{level}.xlsx"
                with RssPeak() as rss:
                    started = time.perf_counter()
                    result = await write_export(
                        sessionmaker,
                        unit,
                        campaign,
                        made,
                        t=t,
                        today=TODAY,
                        max_rows=settings.export_max_rows,
                        page_rows=settings.export_page_rows,
                    )
                    seconds = time.perf_counter() - started
                size = await asyncio.to_thread(os.path.getsize, made)
                results.append(
                    ExportTiming(
                        level, result.total, result.rows, seconds, size / 1e6, rss.growth_mb
                    )
                )
                os.remove(made)
    finally:
        await engine.dispose()
    return results


def table(report: Report) -> str:
    lines = [
        f"/progress on SQLite {report.sqlite}: {report.units:,} units, {report.ideas:,} ideas "
        f"({report.database_mb:.0f} MB)",
        "",
        "| level | design | sub-units | runs | median ms | p95 ms | max ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for x in report.timings:
        lines.append(
            f"| {x.level} | {x.design} | {x.sub_units} | {x.runs} | {x.median_ms:.1f} "
            f"| {x.p95_ms:.1f} | {x.max_ms:.1f} |"
        )
    lines.append("")
    lines.append(f"counting one submission (5 levels, committed): {report.write_median_ms:.2f} ms")
    if report.exports:
        lines += [
            "",
            "| /export level | ideas in the subtree | rows written | seconds | file MB "
            "| RSS growth MB |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for e in report.exports:
            lines.append(
                f"| {e.level} | {e.ideas_in_subtree:,} | {e.rows:,} | {e.seconds:.2f} "
                f"| {e.file_mb:.1f} | {e.peak_rss_growth_mb:.0f} |"
            )
    if report.build_seconds is not None:
        lines.append(f"database built in {report.build_seconds:.0f} s (cached for reruns)")
    return "\n".join(lines)


async def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(prog="python -m bench.progress", description=__doc__)
    parser.add_argument("--units", type=int, default=132_133)
    parser.add_argument("--ideas", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50, help="timed runs per level")
    parser.add_argument("--compare", action="store_true", help="also time the naive COUNT")
    parser.add_argument("--export", action="store_true", help="also time /export per level")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached database")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    fanout = fanout_for(args.units)
    units = 1 + sum(math.prod(fanout[: i + 1]) for i in range(len(fanout)))
    path = RESULTS_DIR / f"progress-{units}u-{args.ideas}i.db"
    build_seconds = None
    if args.rebuild or not cached(path):
        build_seconds = await build(path, args.units, args.ideas)
    report = Report(units, args.ideas, str(path.relative_to(ROOT)), build_seconds)
    report.timings = await measure(path, runs=args.runs, compare=args.compare)
    report.write_median_ms = await measure_writes(path)
    if args.export:
        report.exports = await measure_exports(path)
    report.database_mb = path.stat().st_size / 1e6
    print(table(report))
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2), encoding="utf-8")
    return report


if __name__ == "__main__":
    asyncio.run(main())
