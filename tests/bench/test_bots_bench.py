"""bench.bots at a tiny size: four tokens, each served by its own stand-in, every chat gets
its one notification through the bot of its route, and nothing is left in the outbox. No
timing is asserted (the machine's)."""

from __future__ import annotations

from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
import yaml

from bench import bots
from bench.common import BenchResult, Options, markdown_table
from tests.storage.conftest import PG_URL, _postgres_checked, require_postgres  # noqa: F401

pytestmark = pytest.mark.e2e

SIZE = 12


def tiny(workdir: Path) -> Options:
    return Options(
        quick=True, frameworks=("aiogram",), repeat=1, workdir=workdir, size=SIZE, verbose=False
    )


def check(result: BenchResult, setup: bots.Setup) -> dict[str, object]:
    assert not result.problems, result.problems
    # Per token: the whole burst, its middle 80 %, the 429 answers.
    assert len(result.rows) == 3 * len(bots.ROUTES)
    assert all(row.value is not None for row in result.rows), result.rows
    assert markdown_table(result.rows).count("\n") == len(result.rows) + 1
    [run] = result.raw["runs"]
    assert run["setup"] == setup.key
    assert sorted(run["tokens"]) == sorted(bots.ROUTES)
    for route in bots.ROUTES:
        token = run["tokens"][route]
        assert token["sent"] == token["distinct_chats"] == SIZE, (route, token)
        assert token["duplicates"] == 0 and not token["other_errors"], (route, token)
        assert token["rate_per_second"] > 0
    assert run["outbox_unsent"] == {}
    assert not run["token_in_log"]
    assert run["standin_limits"]["enabled"]
    assert "| SQLite" in bots.table(result) or "| PostgreSQL" in bots.table(result)
    return dict(run)


def test_config_names_every_extra_bot(tmp_path: Path) -> None:
    found = bots.bots()
    assert [b.route for b in found] == list(bots.ROUTES)
    assert len({b.token for b in found}) == len({b.path for b in found}) == 4
    bases = {b.route: f"http://127.0.0.1:{9000 + n}" for n, b in enumerate(found)}
    raw = yaml.safe_load(bots.write_config(tmp_path / "c.yaml", found, bases).read_text())
    extra = raw["telegram"]["bots"]
    assert [b["name"] for b in extra] == list(bots.EXTRA)
    assert [b["api_base"] for b in extra] == [bases[f"telegram.{n}"] for n in bots.EXTRA]
    assert raw["database"]  # the rest of config.yaml is kept
    # Each route's people are its own.
    chats = [set(bots.chat_ids(n, SIZE)) for n in range(4)]
    assert all(not a & b for n, a in enumerate(chats) for b in chats[n + 1 :])


async def test_bots_sqlite_one_process(tmp_path: Path) -> None:
    result = await bots.measure(tiny(tmp_path), server=None)
    check(result, bots.SQLITE_1)


@pytest.mark.postgres
async def test_bots_postgres_three_processes(
    tmp_path: Path,
    _postgres_checked: None,  # noqa: F811
) -> None:
    require_postgres()
    result = await bots.measure(tiny(tmp_path), server=PG_URL, setups_wanted=(bots.POSTGRES_3,))
    run = check(result, bots.POSTGRES_3)
    assert len(run["exit_codes"]) == 3  # type: ignore[arg-type]
    # The database it made for itself is gone.
    conn = await asyncpg.connect(bots.plain_dsn(PG_URL), timeout=10)
    try:
        left = await conn.fetchval(
            "SELECT count(*) FROM pg_database WHERE datname = $1", run["database"]
        )
    finally:
        await conn.close()
    assert str(run["database"]).startswith("bench_bots_") and left == 0
