"""Each benchmark runs at a tiny size and gives sane, complete results.

Only that: the figures themselves depend on the machine, so no timing is asserted here.
The real bot runs on aiogram (the framework every end-to-end test uses).
"""

from __future__ import annotations

import gc
import json
from dataclasses import replace
from pathlib import Path

import pytest

from bench import (
    flood,
    handle,
    instances,
    latency,
    memory,
    progress,
    sending,
    startup,
    throughput,
)
from bench.common import (
    FIRST_WORKER,
    BenchResult,
    Options,
    collector_paused,
    markdown_table,
    percentile,
    save_results,
    summarise_profile,
)
from bench.run import parse_args
from handlers.language import detect_language
from handlers.limits import MIN_IDEA_BODY_CHARS
from tests.storage.conftest import _postgres_checked, require_postgres  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e

FRAMEWORK = "aiogram"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench")


def tiny(workdir: Path, **changes: object) -> Options:
    options = Options(quick=True, frameworks=(FRAMEWORK,), repeat=1, workdir=workdir)
    for name, value in changes.items():
        setattr(options, name, value)
    return options


def check_rows(result: BenchResult) -> None:
    assert result.rows, result
    assert all(row.framework == FRAMEWORK for row in result.rows)
    assert all(row.value is not None and row.runs >= 1 for row in result.rows), result.rows
    assert not result.problems, result.problems
    json.dumps(result.to_json())  # the results file can hold it
    assert markdown_table(result.rows).count("\n") == len(result.rows) + 1


async def test_throughput(workdir: Path) -> None:
    result = await throughput.measure(tiny(workdir, size=3))
    check_rows(result)
    [run] = result.raw["runs"]
    # Eight updates a form, nine for the confidential idea (one in three types its title).
    expected = throughput.form_updates(range(FIRST_WORKER, FIRST_WORKER + 3))
    assert expected == 3 * 8 + 1
    for kind in ("bot", "echo", "form-echo"):
        assert run[kind]["updates"] == run[kind]["expected_updates"] == expected, run[kind]
        assert run[kind]["failure_count"] == 0
        assert run[kind]["updates_per_second"] > 0
    bot = run["bot"]
    assert bot["submitted"] == bot["distinct_refs"] == bot["support_cards"] == 3, bot
    assert not bot["lost_or_duplicated"]
    assert bot["calls"]["answerCallbackQuery 200"] == bot["calls"]["editMessageText 200"]
    assert run["ratio"] > 0 and run["form_ratio"] > 0
    # the form-shaped echo makes the bot's calls: the same presses, edits and messages,
    # less the support team's card for each idea (some may still be on their way)
    form = run["form-echo"]["calls"]
    assert form["answerCallbackQuery 200"] == bot["calls"]["answerCallbackQuery 200"] >= 3 * 5
    assert form["editMessageText 200"] == bot["calls"]["editMessageText 200"]
    assert form["sendMessage 200"] <= bot["calls"]["sendMessage 200"] <= form["sendMessage 200"] + 3


async def test_throughput_of_the_bot_alone(workdir: Path) -> None:
    """``--kinds bot``: the full bot only (the echo bots run from another tree); no ratios."""
    result = await throughput.measure(replace(tiny(workdir, size=2), kinds=("bot",)))
    [run] = result.raw["runs"]
    assert set(run) & {"echo", "form-echo", "bot"} == {"bot"}
    assert run["bot"]["updates"] == run["bot"]["expected_updates"]
    assert not run["bot"]["lost_or_duplicated"]
    assert run["ratio"] is None and run["form_ratio"] is None
    assert not result.problems, result.problems


@pytest.mark.postgres
async def test_instances(workdir: Path, _postgres_checked: None) -> None:  # noqa: F811
    """One instance on SQLite, one and three on PostgreSQL, in webhook mode."""
    require_postgres()
    result = await instances.measure(tiny(workdir, size=2))
    check_rows(result)
    runs = {run["setup"]: run for run in result.raw["runs"]}
    assert sorted(runs) == ["postgres-1", "postgres-3", "sqlite-1"]
    for run in runs.values():
        assert run["updates"] == run["expected_updates"] == 2 * 8, run
        assert run["failure_count"] == run["deliveries_failed"] == 0, run
        assert run["submitted"] == run["ideas_in_database"] == run["support_cards"] == 2, run
        assert not run["lost_or_duplicated"] and not run["database_mismatch"], run
        assert run["deliveries"] == 16 and run["bot_cpu_seconds"] > 0, run
    assert len(runs["postgres-3"]["deliveries_per_instance"]) == 3
    assert runs["postgres-1"]["postgres_backends"] >= 1
    assert set(result.raw["ratios"]) == {"3×PG ÷ 1×PG", "1×PG ÷ 1×SQLite"}
    skipped = await instances.measure(tiny(workdir, frameworks=("ptb",)))
    assert not skipped.rows and "skipped" in skipped.raw


async def test_latency(workdir: Path) -> None:
    result = await latency.measure(tiny(workdir, size=10, seconds=1.0, rate=50.0))
    check_rows(result)
    [run] = result.raw["runs"]
    assert run["updates"] == 50
    assert run["answered"] == run["updates"] and run["lost"] == 0, run
    assert run["not_in_form"] == run["extra_message_count"] == run["failed_answer_count"] == 0
    assert 0 < run["median_ms"] <= run["p99_ms"] <= run["max_ms"]
    assert isinstance(run["slow_periods"], list)


async def test_handle_cost(workdir: Path) -> None:
    [one_at_a_time] = await handle.measure(3, 1, concurrent=False, workdir=workdir)
    [at_once] = await handle.measure(3, 1, concurrent=True, workdir=workdir)
    for result in (one_at_a_time, at_once):
        # every form ended in a stored idea, each of its updates one transaction
        assert result.ideas == 3, result
        assert result.commits_per_update == 1.0, result
        assert 3 <= result.statements_per_update < 30, result
        assert result.cpu_ms_per_update > 0 and result.wall_ms_per_update > 0
    assert "| commits per update | 1.00 |" in handle.report([one_at_a_time, at_once])


async def test_progress_and_export(tmp_path: Path) -> None:
    db = tmp_path / "progress.db"
    await progress.build(db, 200, 3_000)
    timings = await progress.measure(db, runs=2, compare=True)
    assert {(t.level, t.design) for t in timings} == {
        (level, design) for level in progress.LEVELS for design in ("counters", "naive")
    }
    assert await progress.measure_writes(db, runs=3) > 0
    exports = await progress.measure_exports(db)
    assert [e.level for e in exports] == list(reversed(progress.LEVELS))
    national = exports[-1]
    # the national export holds every idea of the campaign phase: fewer ideas below
    assert national.rows == national.ideas_in_subtree > 0
    assert all(e.rows <= national.rows and e.file_mb > 0 for e in exports)


def test_slow_periods() -> None:
    start = 1000.0
    answered = [(start + i / 100, 0.004) for i in range(300)]  # 3 s at 100/s, 4 ms each
    answered += [(start + 1.23, 0.09), (start + 1.25, 0.07), (start + 2.5, 0.06)]
    assert latency._slow_periods(answered) == [
        "at +1.2 s: 2 slow, worst 90 ms",
        "at +2.5 s: 1 slow, worst 60 ms",
    ]
    assert latency._slow_periods([]) == []


def test_collector_paused() -> None:
    before = gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0
    assert gc.isenabled() == before and gc.get_freeze_count() == 0


async def test_memory(workdir: Path) -> None:
    """Every person through the bot: /start, /idea and two pieces of the idea each."""
    result = await memory.measure(tiny(workdir, size=20, echo_reference=False))
    check_rows(result)
    [run] = result.raw["runs"]
    assert not run["seeded"] and "seeding" not in run
    assert run["open_forms"] == 20 and run["updates"] == run["expected_updates"] == 80, run
    assert 0 < run["idle_rss_mb"] <= run["peak_rss_mb"]
    assert 0 < run["loaded_rss_mb"] <= run["peak_rss_mb"]
    assert 0 < run["loaded_smaps_mb"]["Anonymous"] < run["loaded_smaps_mb"]["Rss"]


async def test_memory_seeded(workdir: Path) -> None:
    """A quarter through the bot in a first process, the rest copied in the database; then
    every person's next message to the measured process finds their form."""
    result = await memory.measure(tiny(workdir, size=20, echo_reference=False, memory_seed=True))
    check_rows(result)
    [run] = result.raw["runs"]
    assert run["seeded"] and run["seeding"]["templates"] == 5, run
    assert run["seeding"]["copied"] == 15 and run["seeding"]["template_updates"] == 15
    assert run["open_forms"] == 20 and run["updates"] == run["expected_updates"] == 20, run


def test_memory_texts() -> None:
    german = [uid for uid in range(FIRST_WORKER, FIRST_WORKER + 300) if memory.foreign(uid)]
    assert len(german) == 3
    for uid in (FIRST_WORKER, german[0]):
        first, second = memory.form_text(uid, 1), memory.form_text(uid, 2)
        assert first != second and len(second) >= MIN_IDEA_BODY_CHARS
        expected = "de" if memory.foreign(uid) else "vi"
        assert detect_language(first) == detect_language(second) == expected


async def test_sending(workdir: Path) -> None:
    result = await sending.measure(tiny(workdir, size=20))
    check_rows(result)
    [run] = result.raw["runs"]
    assert run["sent"] == run["distinct_chats"] == 20 and run["duplicates"] == 0, run
    assert run["rate_per_second"] > 0
    assert run["standin_limits"]["enabled"]


async def test_startup(workdir: Path) -> None:
    result = await startup.measure(tiny(workdir, import_rounds=1))
    rows = {row.metric: row for row in result.rows}
    for metric in (
        "spawn → first getUpdates, full bot",
        "of which after `bot.cli` is loaded (the bot's own log)",
        "RSS at the first getUpdates",
        "spawn → first getUpdates, bare echo bot",
        "importtime total, full bot start",
    ):
        value = rows[metric].value
        assert value is not None and value > 0, rows[metric]
    spawn = rows["spawn → first getUpdates, full bot"].value
    after_cli = rows["of which after `bot.cli` is loaded (the bot's own log)"].value
    assert spawn is not None and after_cli is not None and after_cli < spawn
    # No problems: nor any module only reports or language detection need imported at start.
    assert not result.problems, result.problems
    assert result.raw[FRAMEWORK]["lazy_modules_imported_at_start"] == []


def test_importtime_parsing() -> None:
    text = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       100 |        100 |     pydantic.fields",
            "import time:       300 |        400 |   pydantic",
            "import time:      2000 |       2500 |     aiogram.types",
            "import time:       500 |       3400 | aiogram",
            "import time:       100 |        100 | yaml",
        ]
    )
    parsed = startup.parse_importtime(text)
    assert parsed["total_ms"] == 3.5
    assert parsed["self_ms"] == {"aiogram": 2.5, "pydantic": 0.4, "yaml": 0.1}
    assert parsed["cumulative_ms"] == {"aiogram": 3.4, "pydantic": 0.4, "yaml": 0.1}
    assert startup.module_self_ms(text, "aiogram.types") == 2.0
    assert startup.lazy_modules_imported(text) == []
    more = text + "\nimport time:        50 |         50 |   langdetect.detector"
    assert startup.lazy_modules_imported(more) == ["langdetect"]
    log = "12:00:00 INFO bot.app: bot @sangkien_bot polling (aiogram), started in 1.25 s"
    assert startup.Start(2.0, log).reported == 1.25
    assert startup.Start(2.0, "").reported is None


def test_helpers(tmp_path: Path) -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 99) == 5.0
    collapsed = "\n".join(
        [
            "main (bot/__main__.py:1);run (a.py:2);parse (b.py:3) 6",
            "main (bot/__main__.py:1);run (a.py:2);EpollSelector.select (selectors.py:9) 4",
            "Thread._bootstrap (threading.py:1);_connection_worker_thread (core.py:5) 7",
        ]
    )
    summary = summarise_profile(collapsed)
    assert "6 busy, 4 idle" in summary and "100.0%  parse (b.py)" in summary
    args = parse_args(["--quick", "--only", "latency", "--frameworks", "ptb", "--repeat", "2"])
    assert args.frameworks == ("ptb",) and args.only == ["latency"] and args.repeat == 2
    path = save_results([BenchResult("x")], "python -m bench.run", {"nproc": 2})
    try:
        assert json.loads(path.read_text())["benchmarks"][0]["name"] == "x"
    finally:
        path.unlink()


async def test_flood(workdir: Path) -> None:
    result = await flood.measure(tiny(workdir, size=40))
    check_rows(result)
    [run] = result.raw["runs"]
    assert run["answered_steps"] == run["expected_steps"] == 3 * 8, run
    assert run["honest_kept"] and run["failure_count"] == 0, run
    assert run["flooder_slow_downs"] == 1, run
    # The admitted ones answered (TINY_BURST), then one slow down and nothing more.
    assert run["flooder_messages"] == flood.TINY_BURST + 1, run
