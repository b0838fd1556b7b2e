"""Memory: the bot's resident set idle after start, and with 10,000 idea forms in progress.

RSS is ``VmRSS`` from ``/proc/<pid>/status`` (``VmHWM``, the peak, is kept too). "Idle" is
read 2 s after the bot's first getUpdates (0.5 s in runs of fewer than 1,000 people). Then
10,000 distinct people each send ``/start TOKEN``, ``/idea`` and one text message (30,000
updates), so 10,000 conversations are open at the body step; RSS is read again once every
answer is in and the bot has been quiet as long again.

The stand-in has no batch endpoint; its control API's ``/messages`` wraps
``bot.standin.simulate.send``, which the load generator calls in process (no HTTP between
the generator and the stand-in). People run their three steps one after another, up to
``CONCURRENCY`` people at a time, which keeps the bot busy without queueing 30,000 updates
at once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bench.common import (
    FIRST_WORKER,
    RAISED_SEND_LIMITS,
    BenchResult,
    Options,
    Person,
    Process,
    Row,
    Step,
    StepFailed,
    Template,
    add_people,
    bot_argv,
    bot_env,
    echo_argv,
    fresh_database,
    idea_text,
    log_problems,
    median,
    profiled,
    rounded,
    run_people,
    standin,
    summarise_problems,
    template,
    wait_ready,
    watched,
)

NAME = "memory"
TARGET_MB = 150.0
CONCURRENCY = 400
SETTLE_SECONDS = 2.0
CURVE_SECONDS = 5.0


async def one_run(
    framework: str, people_count: int, source: Template, directory: Path, options: Options
) -> dict[str, Any]:
    people_ids = list(range(FIRST_WORKER, FIRST_WORKER + people_count))
    async with standin() as server:
        world = watched(server)
        add_people(world, people_ids)
        db = fresh_database(source, directory)
        env = bot_env(server.base_url, db, framework, RAISED_SEND_LIMITS)
        process = Process(bot_argv(), env, directory / f"bot-{framework}.log")
        await process.start()
        try:
            await wait_ready(world, process)
            settle = SETTLE_SECONDS if people_count >= 1000 else 0.5
            await asyncio.sleep(settle)
            idle = process.memory_kb()
            people = [Person(world, uid) for uid in people_ids]

            def steps(person: Person) -> list[Step]:
                return [
                    Step("text", f"/start {source.member_token}"),
                    Step("text", "/idea"),
                    Step("text", idea_text(person.id)),
                ]

            finished = 0
            curve: list[tuple[int, float]] = []  # (people done, RSS MB) while filling

            def one_more(_: Person) -> None:
                nonlocal finished
                finished += 1

            async def sample() -> None:
                while True:
                    await asyncio.sleep(CURVE_SECONDS)
                    curve.append((finished, round(process.memory_kb()["VmRSS"] / 1024, 1)))

            cpu = process.cpu_seconds()
            sampler = asyncio.create_task(sample())
            try:
                async with profiled(options, process, directory.name):
                    fill = await run_people(
                        people, steps, concurrency=CONCURRENCY, step_timeout=120, after=one_more
                    )
            finally:
                sampler.cancel()
            cpu = process.cpu_seconds() - cpu
            open_forms = sum(1 for p in people if _has_button(p, ":body:done"))
            await asyncio.sleep(settle)
            loaded = process.memory_kb()
        finally:
            code = await process.stop()
        problems = log_problems(process.log())
    run: dict[str, Any] = {
        "framework": framework,
        "people": people_count,
        "idle_rss_mb": rounded(idle["VmRSS"] / 1024, 1),
        "loaded_rss_mb": rounded(loaded["VmRSS"] / 1024, 1),
        "peak_rss_mb": rounded(loaded["VmHWM"] / 1024, 1),
        "kb_per_open_form": rounded((loaded["VmRSS"] - idle["VmRSS"]) / max(people_count, 1), 2),
        "updates": fill.updates,
        "fill_seconds": rounded(fill.seconds, 1),
        "fill_updates_per_second": rounded(fill.rate, 1),
        "fill_bot_cpu_share": rounded(cpu / fill.seconds if fill.seconds else 0.0),
        **fill.breakdown(),
        "open_forms": open_forms,
        "rss_curve_people_mb": curve,
        "failures": fill.failures[:5],
        "failure_count": len(fill.failures),
        "exit_code": code,
        "log_problem_count": len(problems),
        "log_problems": summarise_problems(problems),
    }
    options.log(
        f"{NAME} {framework:7} idle {run['idle_rss_mb']} MB, {open_forms} forms open "
        f"{run['loaded_rss_mb']} MB (peak {run['peak_rss_mb']} MB); filled at "
        f"{run['fill_updates_per_second']} updates/s"
    )
    return run


def _has_button(person: Person, pick: str) -> bool:
    try:
        person.button(pick)
    except StepFailed:
        return False
    return True


async def echo_idle(framework: str, directory: Path) -> float:
    """The bare echo bot's RSS 2 s after its first getUpdates, in MB: the framework's floor."""
    async with standin() as server:
        world = watched(server)
        env = bot_env(server.base_url, directory / "unused.db", framework)
        process = Process(echo_argv(framework, server.base_url), env, directory / "echo.log")
        await process.start()
        try:
            await wait_ready(world, process)
            await asyncio.sleep(SETTLE_SECONDS)
            return round(process.memory_kb()["VmRSS"] / 1024, 1)
        finally:
            await process.stop()


async def measure(options: Options) -> BenchResult:
    result = BenchResult(NAME)
    people = options.pick(10_000, 300)
    rounds = options.runs(1, 1)
    source = template(options.workdir)
    runs: list[dict[str, Any]] = []
    for round_no in range(rounds):
        for framework in options.frameworks:
            directory = options.workdir / NAME / f"memory-{framework}-{round_no}"
            runs.append(await one_run(framework, people, source, directory, options))
            if options.echo_reference:
                runs[-1]["echo_idle_rss_mb"] = await echo_idle(framework, directory)
    result.raw = {"people": people, "runs": runs}
    for framework in options.frameworks:
        mine = [r for r in runs if r["framework"] == framework]
        loaded = median([r["loaded_rss_mb"] for r in mine])
        result.rows += [
            Row(NAME, framework, "RSS idle after start", median([r["idle_rss_mb"] for r in mine]),
                "MB", len(mine)),
            Row(NAME, framework, f"RSS with {people:,} forms in progress", loaded, "MB",
                len(mine), f"< {TARGET_MB:.0f} MB",
                None if loaded is None else loaded < TARGET_MB),
            Row(NAME, framework, "peak RSS (VmHWM)", median([r["peak_rss_mb"] for r in mine]),
                "MB", len(mine)),
        ]  # fmt: skip
        echo = [r["echo_idle_rss_mb"] for r in mine if "echo_idle_rss_mb" in r]
        if echo:
            result.rows.append(
                Row(NAME, framework, "bare echo bot, RSS idle", median(echo), "MB", len(echo))
            )
        for r in mine:
            if r["failure_count"] or r["open_forms"] != people:
                result.problems.append(
                    f"{framework}: {r['open_forms']} of {people} forms open, "
                    f"{r['failure_count']} failures: {r['failures'][:2]}"
                )
            if r["log_problem_count"]:
                result.problems.append(f"{framework}: log {r['log_problems'][:3]}")
    return result
