"""Similar ideas (issue #21) at national size: ``python -m bench.similar [--runs N]
[--postgres URL]``.

Copies ``bench.dashboard_search``'s database (132,133 units, 1,000,000 ideas with texts of
200-600 characters, folded) once to a cache of its own (``bench/results/similar-…db``),
upgraded to migration 0014 with the migration's own tables (their SQL taken from a fresh
database migrated by the project's code) and ``similar_texts`` filled from each idea's
title and realistic text (``storage.similar_words.idea_words``), in the primary key's
order. Then, through the bot's code:

* the lookup the review makes (``handlers.similar.for_draft`` in a read/write unit of
  work, as the form's), and apart its two parts: the fetch (``uow.similar.in_units``)
  and the scoring (``handlers.similar_score.best``); drafts are halves of real ideas'
  texts with their titles, sent from the units of ideas picked at random (so a unit is
  picked as often as it sends), and the largest unit's on their own;
* the Submit step's transaction (the idea, its search row, its event, the progress
  counters, and the ideas the review found on the idea's row: ``Idea.similar``), with
  similar ideas and without (the ``similar_texts`` row and the found ideas left out),
  alternately in one run;
* the process's resident memory around the lookups (``bench.progress.RssPeak``).

``--postgres URL`` (an empty database) loads the same ideas there
(``bench.dashboard_search.load_postgres``, then ``similar_texts`` by COPY) and times the
lookups again. Prints medians, p95s and p99s.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.progress import LAST_MOMENT, RESULTS_DIR, RssPeak, _rss_bytes, build, cached
from bot.runtime import heap
from storage.similar_words import idea_hashes

#: Bump when the cached copy's similar_texts change (the words' own changes are caught by
#: :func:`version`).
SIMILAR_VERSION = "3"  # 2: the words stored as their hashes; 3: ideas.similar
#: The table and index migration 0014 creates (and it adds ``ideas.similar``).
SCHEMA_NAMES = ("similar_texts", "ix_similar_texts_idea_id")
#: Ideas worked at a time while filling similar_texts.
FILL_BATCH = 20_000


# ---------------------------------------------------------------- the cached copy


async def schema_0014() -> list[str]:
    """The SQL of migration 0014's tables and index, from a database the project's own
    migrations build (so the copy's tables are the bot's, not a lookalike)."""
    from storage.schema import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "schema.db"
        await upgrade(f"sqlite+aiosqlite:///{path}", "0014")
        db = sqlite3.connect(path)
        try:
            found = dict(
                db.execute(
                    "SELECT name, sql FROM sqlite_master WHERE name IN"
                    f" ({', '.join('?' * len(SCHEMA_NAMES))})",
                    SCHEMA_NAMES,
                ).fetchall()
            )
        finally:
            db.close()
    return [found[name] for name in SCHEMA_NAMES]


def version() -> str:
    """SIMILAR_VERSION and a fingerprint of ``idea_hashes`` on sample texts: a cache built
    before the words changed is built again."""
    from bench.dashboard_search import texts

    sample = b"\n".join(idea_hashes(f"Sáng kiến số {n}", t, "vi") for n, t in enumerate(texts(200)))
    return f"{SIMILAR_VERSION}:{hashlib.sha256(sample).hexdigest()[:16]}"


def _words(rows: list[tuple[int, int, str, str]]) -> list[tuple[int, int, bytes]]:
    return [(unit, idea, idea_hashes(title, text, "vi")) for unit, idea, title, text in rows]


def _batches(path: Path) -> list[list[tuple[int, int, str, str]]]:
    """Every idea's (unit, id, title, text) in similar_texts' order, in batches (read
    first: the copy is written meanwhile)."""
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT i.unit_id, i.id, i.title, s.text FROM ideas i"
            " JOIN idea_search s ON s.idea_id = i.id ORDER BY i.unit_id, i.id"
        ).fetchall()
    finally:
        db.close()
    return [rows[n : n + FILL_BATCH] for n in range(0, len(rows), FILL_BATCH)]


async def upgraded(source: Path, results: Path = RESULTS_DIR) -> Path:
    """The copy of ``source`` at migration 0014, similar_texts filled (built once)."""
    target = results / f"similar-{source.stem.removeprefix('dashboard-search-')}.db"
    if target.exists():
        db = sqlite3.connect(target)
        try:
            row = db.execute("SELECT value FROM bench_meta WHERE key = 'similar_texts'").fetchone()
        except sqlite3.Error:
            row = None
        db.close()
        if row is not None and row[0] == version():
            return target
    schema = await schema_0014()
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    print(f"copying {source.name} …", file=sys.stderr)
    with sqlite3.connect(source) as src, sqlite3.connect(partial) as dst:
        src.backup(dst)
    db = sqlite3.connect(partial)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("DROP TABLE IF EXISTS similar_texts")  # a source built at 0014 already
    db.execute(schema[0])
    if "similar" not in {row[1] for row in db.execute("PRAGMA table_info(ideas)")}:
        db.execute("ALTER TABLE ideas ADD COLUMN similar JSON")
    print("filling similar_texts …", file=sys.stderr)
    batches = _batches(partial)
    with multiprocessing.get_context("fork").Pool() as pool:
        for n, rows in enumerate(pool.imap(_words, batches)):
            db.executemany(
                "INSERT INTO similar_texts (unit_id, idea_id, hashes) VALUES (?, ?, ?)", rows
            )
            if n % 10 == 0:
                print(f"  {(n + 1) * FILL_BATCH:,} ideas", file=sys.stderr)
    del batches
    db.execute(schema[1])
    db.execute("UPDATE alembic_version SET version_num = '0014'")
    db.execute("ANALYZE")
    db.execute(
        "INSERT OR REPLACE INTO bench_meta (key, value) VALUES ('similar_texts', ?)",
        (version(),),
    )
    db.commit()
    db.close()
    partial.rename(target)
    print(f"built {target.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return target


def table_bytes(path: Path, name: str) -> int:
    """The bytes of a table (or index) of the SQLite database at ``path``."""
    db = sqlite3.connect(path)
    try:
        return int(
            db.execute("SELECT sum(pgsize) FROM dbstat WHERE name = ?", (name,)).fetchone()[0]
        )
    finally:
        db.close()


# ---------------------------------------------------------------- drafts


@dataclass(frozen=True, slots=True)
class Draft:
    """A worker's draft: half of a real idea's text, sent from that idea's unit."""

    person_id: int
    unit_id: int
    title: str
    text: str


def drafts(path: Path, count: int, *, unit_id: int | None = None, seed: int = 21) -> list[Draft]:
    """``count`` drafts from ideas picked at random (their authors and units: a unit is
    picked as often as it sends), or from ``unit_id``'s ideas only."""
    rnd = random.Random(seed)
    db = sqlite3.connect(path)
    try:
        if unit_id is None:
            top = int(db.execute("SELECT max(id) FROM ideas").fetchone()[0])
            ids = rnd.sample(range(1, top + 1), count)
        else:
            own = [r[0] for r in db.execute("SELECT id FROM ideas WHERE unit_id = ?", (unit_id,))]
            ids = [rnd.choice(own) for _ in range(count)]
        out = []
        for idea_id in ids:
            row = db.execute(
                "SELECT i.author_id, i.unit_id, i.title, s.text FROM ideas i"
                " JOIN idea_search s ON s.idea_id = i.id WHERE i.id = ?",
                (idea_id,),
            ).fetchone()
            if row is None:
                continue
            words = row[3].split()
            out.append(Draft(row[0], row[1], row[2], " ".join(words[: len(words) // 2])))
        return out
    finally:
        db.close()


def largest_unit(path: Path) -> tuple[int, int]:
    """(unit id, ideas) of the unit that has sent the most ideas."""
    db = sqlite3.connect(path)
    try:
        unit, ideas = db.execute(
            "SELECT unit_id, count(*) FROM similar_texts GROUP BY unit_id"
            " ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
        return int(unit), int(ideas)
    finally:
        db.close()


# ---------------------------------------------------------------- timing


@dataclass
class Row:
    name: str
    samples: list[float]
    note: str = ""

    def pct(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


@dataclass
class Lookups:
    whole: list[float]
    fetch: list[float]
    score: list[float]
    scope: list[int]
    found: int


async def lookups(url: str, picked: list[Draft]) -> Lookups:
    """Each draft's lookup as the review makes it, in a read/write unit of work; then
    its fetch and its scoring apart."""
    from handlers import similar, similar_score
    from storage.db import create_engine, create_sessionmaker
    from storage.uow import UnitOfWork

    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    out = Lookups([], [], [], [], 0)
    try:
        for n, draft in enumerate([picked[0], *picked]):  # the first once more, to warm up
            async with UnitOfWork(sessionmaker) as uow:
                person = await uow.people.get(draft.person_id)
                unit = await uow.units.get(draft.unit_id)
                assert person is not None and unit is not None
                started = time.perf_counter()
                found = await similar.for_draft(uow, person, unit, draft.title, draft.text, "vi")
                whole = time.perf_counter() - started
                started = time.perf_counter()
                rows = await uow.similar.in_units(similar.scope_of(unit))
                fetched = time.perf_counter() - started
                words = idea_hashes(draft.title, draft.text, "vi")
                started = time.perf_counter()
                similar_score.best(words, [w for _, w in rows])
                scoring = time.perf_counter() - started
                await uow.commit()
            if n == 0:
                continue
            out.whole.append(whole * 1000)
            out.fetch.append(fetched * 1000)
            out.score.append(scoring * 1000)
            out.scope.append(len(rows))
            out.found += bool(found.for_worker or found.for_team)
    finally:
        await engine.dispose()
    return out


def lookup_rows(label: str, found: Lookups) -> list[Row]:
    scope = sorted(found.scope)
    note = (
        f"scope median {statistics.median(scope):,.0f},"
        f" p99 {scope[min(len(scope) - 1, int(len(scope) * 0.99))]:,}, max {scope[-1]:,} ideas;"
        f" {found.found}/{len(scope)} found some"
    )
    return [
        Row(f"{label}: for_draft", found.whole, note),
        Row(f"{label}: in_units fetch", found.fetch),
        Row(f"{label}: scoring", found.score),
    ]


async def submissions(path: Path, picked: list[Draft], runs: int) -> list[Row]:
    """The Submit step's transaction with similar ideas and without, in turn: a new idea
    through the real repositories (the number, ``ideas.add`` with its search row and
    ``similar_texts`` row, the event, the progress counters, and ``Idea.similar``: what
    the review found), the same without the found ideas, and without both (the words not
    computed either). The ideas are taken out again afterwards."""
    from handlers import progress_counts, similar
    from handlers.context import Scope
    from handlers.i18n import Catalogue
    from storage.db import create_engine, create_sessionmaker
    from storage.models import Idea, IdeaStatus
    from storage.repositories import ideas as ideas_repo
    from storage.repositories.units import unit_ids_on_path
    from storage.uow import UnitOfWork

    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    catalogue = Catalogue.load()
    db = sqlite3.connect(path)
    top = int(db.execute("SELECT max(id) FROM ideas").fetchone()[0])
    year = LAST_MOMENT.year
    counter = db.execute("SELECT value FROM counters WHERE name = ?", (f"idea-{year}",)).fetchone()
    db.close()
    real_words = ideas_repo.IdeaRepository.store_matching_words

    async def no_words(*_: object) -> None:
        return None

    samples: list[list[float]] = [[], [], []]
    bumped: list[tuple[list[int], int, Any]] = []
    try:
        for n in range(3 * runs + 3):
            draft = picked[n % len(picked)]
            kind = n % 3  # 0: without similar ideas, 1: the words only, 2: and the found ideas
            with_similar = kind == 2
            now = LAST_MOMENT - timedelta(minutes=n)
            async with UnitOfWork(sessionmaker) as uow:
                person = await uow.people.get(draft.person_id)
                unit = await uow.units.get(draft.unit_id)
                assert person is not None and unit is not None
                team = (
                    (
                        await similar.for_draft(uow, person, unit, draft.title, draft.text, "vi")
                    ).for_team
                    if with_similar
                    else []
                )
                ideas_repo.IdeaRepository.store_matching_words = real_words if kind else no_words  # type: ignore[method-assign]
                started = time.perf_counter()
                scope = Scope(uow=uow, catalogue=catalogue, now=now)
                number = await uow.ideas.next_number(f"idea-{year}")
                idea = await uow.ideas.add(
                    Idea(
                        ref_code=f"SK-{year}-B{number:07d}",
                        author_id=person.id,
                        unit_id=unit.id,
                        holder_unit_id=unit.id,
                        title=draft.title,
                        title_given=True,
                        body=draft.text,
                        category="other",
                        benefit="none",
                        confidential=False,
                        language="vi",
                        status=IdeaStatus.SUBMITTED.value,
                        created_at=now,
                        updated_at=now,
                        waiting_since=now,
                        campaign_id=await progress_counts.campaign_of(scope, now),
                        similar=[[i, s] for i, s in team] or None,
                    )
                )
                await uow.ideas.add_event(
                    idea_id=idea.id, kind="submitted", actor_id=person.id, at=now
                )
                await progress_counts.record_submitted(scope, idea)
                await uow.commit()
                elapsed = (time.perf_counter() - started) * 1000
                ideas_repo.IdeaRepository.store_matching_words = real_words  # type: ignore[method-assign]
                if idea.campaign_id is not None:
                    bumped.append((unit_ids_on_path(unit.path), idea.campaign_id, now))
            if n >= 3:  # one of each to warm up
                samples[kind].append(elapsed)
    finally:
        ideas_repo.IdeaRepository.store_matching_words = real_words  # type: ignore[method-assign]
        from handlers.progress_counts import vietnam_day

        async with UnitOfWork(sessionmaker) as uow:
            for ids, campaign_id, at in bumped:
                await uow.progress.bump(ids, campaign_id, vietnam_day(at), submitted=-1)
            await uow.commit()
        await engine.dispose()
        db = sqlite3.connect(path)
        for table, column in (
            ("similar_texts", "idea_id"),
            ("idea_events", "idea_id"),
            ("idea_search", "idea_id"),
            ("ideas", "id"),
        ):
            db.execute(f"DELETE FROM {table} WHERE {column} > ?", (top,))
        if counter is None:
            db.execute("DELETE FROM counters WHERE name = ?", (f"idea-{year}",))
        else:
            db.execute("UPDATE counters SET value = ? WHERE name = ?", (counter[0], f"idea-{year}"))
        db.commit()
        db.close()
    return [
        Row("Submit's transaction, without similar ideas", samples[0]),
        Row("Submit's transaction, + the similar_texts row", samples[1]),
        Row("Submit's transaction, + the row and the found ideas", samples[2]),
    ]


# ---------------------------------------------------------------- PostgreSQL


async def load_similar_postgres(path: Path, url: str) -> None:
    """``similar_texts`` of ``path`` into PostgreSQL's (after load_postgres), then ANALYZE."""
    import asyncpg  # type: ignore[import-untyped]  # the bench's own connection, for COPY

    pg = await asyncpg.connect(url.replace("+asyncpg", ""))
    lite = sqlite3.connect(path)
    try:
        if not await pg.fetchval("SELECT count(*) FROM similar_texts"):
            print("copying similar_texts into PostgreSQL …", file=sys.stderr)
            # In the order the bot writes them (one as each idea comes): a unit's rows
            # lie apart in the heap, as they would in a deployment.
            rows = lite.execute(
                "SELECT unit_id, idea_id, hashes FROM similar_texts ORDER BY idea_id"
            )
            while batch := rows.fetchmany(50_000):
                await pg.copy_records_to_table(
                    "similar_texts", records=batch, columns=["unit_id", "idea_id", "hashes"]
                )
            # VACUUM as autovacuum would after inserts: the visibility map lets a
            # lookup read a unit's hashes from the covering index alone.
            await pg.execute("VACUUM ANALYZE similar_texts")
    finally:
        lite.close()
        await pg.close()


async def postgres_size(url: str) -> int:
    import asyncpg

    pg = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        return int(await pg.fetchval("SELECT pg_total_relation_size('similar_texts')"))
    finally:
        await pg.close()


# ---------------------------------------------------------------- main


def table(rows: list[Row]) -> str:
    lines = [f"{'':48} {'runs':>5} {'median ms':>10} {'p95 ms':>8} {'p99 ms':>8}"]
    for row in rows:
        lines.append(
            f"{row.name:48} {len(row.samples):5} {row.median:10.1f} {row.pct(0.95):8.1f}"
            f" {row.pct(0.99):8.1f}  {row.note}"
        )
    return "\n".join(lines)


async def run(
    path: Path, *, runs: int, unit_runs: int, submit_runs: int, postgres: str | None
) -> tuple[list[Row], str]:
    """Every measurement on ``path`` (a database at migration 0014 with similar_texts)."""
    picked = drafts(path, runs)
    big, big_ideas = largest_unit(path)
    in_big = drafts(path, unit_runs, unit_id=big)
    url = f"sqlite+aiosqlite:///{path}"
    heap.settle()  # as the bot does once started (bot.runtime.heap)
    before = _rss_bytes()
    with RssPeak() as rss:
        found = await lookups(url, picked)
    after = _rss_bytes()
    rows = lookup_rows("SQLite, units by volume", found)
    rows += lookup_rows(f"SQLite, the largest unit ({big_ideas:,})", await lookups(url, in_big))
    memory = (
        f"the process's RSS around {len(picked)} lookups: {before / 1e6:.0f} MB before,"
        f" {rss.peak / 1e6:.0f} MB at the peak, {after / 1e6:.0f} MB after"
    )
    rows += await submissions(path, picked, submit_runs)
    if postgres:
        from bench.dashboard_search import load_postgres

        await load_postgres(path, postgres)
        await load_similar_postgres(path, postgres)
        size = await postgres_size(postgres)
        pg = lookup_rows("PostgreSQL, units by volume", await lookups(postgres, picked))
        pg[0].note += f"; similar_texts {size / 1e6:.0f} MB with indexes"
        rows += pg
        rows += lookup_rows(
            f"PostgreSQL, the largest unit ({big_ideas:,})", await lookups(postgres, in_big)
        )
    return rows, memory


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.similar", description=__doc__)
    parser.add_argument("--runs", type=int, default=300, help="drafts from units by volume")
    parser.add_argument("--unit-runs", type=int, default=100, help="drafts in the largest unit")
    parser.add_argument("--submit-runs", type=int, default=100, help="submissions of each kind")
    parser.add_argument(
        "--postgres", metavar="URL", help="also on PostgreSQL: an empty database there"
    )
    args = parser.parse_args(argv)
    from bench.dashboard_search import realistic

    source = RESULTS_DIR / "progress-132133u-1000000i.db"
    if not cached(source):
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        await build(source, 132_133, 1_000_000)
    path = await upgraded(realistic(source))
    words_bytes = table_bytes(path, "similar_texts") + table_bytes(path, "ix_similar_texts_idea_id")
    rows, memory = await run(
        path,
        runs=args.runs,
        unit_runs=args.unit_runs,
        submit_runs=args.submit_runs,
        postgres=args.postgres,
    )
    print(
        f"{path.name}: {path.stat().st_size / 1e9:.2f} GB, similar_texts with its index"
        f" {words_bytes / 1e6:.0f} MB (SQLite {sqlite3.sqlite_version})"
    )
    print(table(rows))
    without, _, with_similar = (r.median for r in rows if r.name.startswith("Submit"))
    print(f"similar ideas add {100 * (with_similar / without - 1):.0f} % to Submit's median")
    print(memory)


if __name__ == "__main__":
    asyncio.run(main())
