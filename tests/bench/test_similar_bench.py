"""bench.similar at a tiny size: the copy is built at migration 0014 with every idea's
words, the lookups find the ideas the drafts were taken from, and the submissions it
times leave the database as they found it. No timing is asserted (the machine's)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bench import progress, similar, similar_small
from handlers import similar_score
from storage.similar_words import idea_hashes


def _counts(path: Path) -> tuple[int, ...]:
    db = sqlite3.connect(path)
    try:
        return tuple(
            db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("ideas", "similar_texts", "idea_events", "idea_search")
        ) + tuple(db.execute("SELECT sum(submitted) FROM progress_totals").fetchone())
    finally:
        db.close()


async def test_similar_bench(tmp_path: Path) -> None:
    source = tmp_path / "progress-tiny.db"
    await progress.build(source, 200, 2_000)
    path = await similar.upgraded(source, tmp_path)
    assert path.name == "similar-progress-tiny.db"
    assert await similar.upgraded(source, tmp_path) == path  # cached: built once

    db = sqlite3.connect(path)
    assert db.execute("SELECT version_num FROM alembic_version").fetchone() == ("0014",)
    ideas = db.execute(
        "SELECT i.unit_id, i.id, i.title, s.text FROM ideas i"
        " JOIN idea_search s ON s.idea_id = i.id ORDER BY i.id"
    ).fetchall()
    stored = dict(db.execute("SELECT idea_id, hashes FROM similar_texts").fetchall())
    units = dict(db.execute("SELECT idea_id, unit_id FROM similar_texts").fetchall())
    db.close()
    assert len(stored) == len(ideas) == 2_000
    for unit_id, idea_id, title, text in ideas:
        assert stored[idea_id] == idea_hashes(title, text, "vi")
        assert units[idea_id] == unit_id

    before = _counts(path)
    rows, memory = await similar.run(path, runs=6, unit_runs=3, submit_runs=3, postgres=None)
    assert _counts(path) == before  # the submissions were taken out again
    names = [row.name for row in rows]
    assert names[0] == "SQLite, units by volume: for_draft"
    assert sum("the largest unit" in n for n in names) == 3
    assert names[-3:] == [
        "Submit's transaction, without similar ideas",
        "Submit's transaction, + the similar_texts row",
        "Submit's transaction, + the row and the found ideas",
    ]
    by_name = {row.name: row for row in rows}
    assert len(by_name[names[0]].samples) == 6
    assert all(s > 0 for row in rows for s in row.samples)
    # each draft is half of an idea of its unit, with its title: that idea is found
    assert "6/6 found some" in by_name[names[0]].note
    assert "MB before" in memory
    assert "p99 ms" in similar.table(rows)


def test_similar_small_bench(capsys: pytest.CaptureFixture[str]) -> None:
    """bench.similar_small at a tiny size: a row per size, the two ways agreeing up to
    SMALL candidates (above it numpy may keep another of equal first scores)."""
    similar_small.main(["--rounds", "3"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    sizes = {int(row.split("|")[1]): row.split("|")[5].strip() for row in rows[2:]}
    assert list(sizes) == list(similar_small.SIZES)
    assert all(agree == "yes" for size, agree in sizes.items() if size <= similar_score.SMALL)
