"""Latency under an open-loop offered load: 200 updates a second for 10 s.

Workers (joined, each with an idea form open at its first step) send text messages on a
fixed schedule, whatever the bot answers: update i goes to worker ``i mod W`` at
``t0 + i / rate``, so each worker writes every ``W / rate`` seconds, the way many people
typing at once would. Each message is a part of the idea, which the bot stores and answers
with "received" and a Done button (one sendMessage).

For each update the latency is the time from the update entering the stand-in's queue
(``UpdateRecord.created``) to the bot's answer reaching the stand-in (``CallRecord.time``,
stamped when the stand-in starts handling the sendMessage); both are ``time.time()`` in the
stand-in's process. The answers of one chat come in order, so the n-th answer in a chat
belongs to its n-th update.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
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
    collector_paused,
    fresh_database,
    idea_text,
    log_problems,
    median,
    own_cpu_seconds,
    percentile,
    profiled,
    rounded,
    run_people,
    standin,
    summarise_problems,
    template,
    wait_ready,
    watched,
)
from standins.telegram import simulate
from standins.telegram.models import CallRecord

NAME = "latency"
TARGET_P99_MS = 50.0
RATE = 200.0
# An update still unanswered once the bot has answered nothing for this long counts as lost.
STALL_SECONDS = 20.0


async def one_run(
    framework: str,
    rate: float,
    seconds: float,
    workers: int,
    source: Template,
    directory: Path,
    options: Options,
) -> dict[str, Any]:
    people_ids = list(range(FIRST_WORKER, FIRST_WORKER + workers))
    total = int(rate * seconds)
    async with standin() as server:
        world = watched(server)
        add_people(world, people_ids)
        db = fresh_database(source, directory)
        env = bot_env(server.base_url, db, framework, RAISED_SEND_LIMITS)
        process = Process(bot_argv(), env, directory / f"bot-{framework}.log")
        await process.start()
        try:
            await wait_ready(world, process)
            people = [Person(world, uid) for uid in people_ids]
            prepared = await run_people(
                people,
                lambda p: [Step("text", f"/start {source.member_token}"), Step("text", "/idea")],
            )
            not_in_form = [p.id for p in people if not _in_idea_form(p)]
            await asyncio.sleep(0.5)
            measured = set(people_ids)
            outstanding: dict[int, deque[tuple[int, float]]] = {uid: deque() for uid in people_ids}
            answered: list[tuple[float, float]] = []  # (made available, latency), seconds
            queued: list[float] = []  # update made available → handed to the bot
            in_bot: list[float] = []  # handed to the bot → its answer at the stand-in
            completions: list[float] = []
            failed: list[str] = []  # answers the stand-in refused (each uses up an update)
            extra: list[str] = []  # messages beyond one per update
            all_answered = asyncio.Event()

            def check_done() -> None:
                if len(answered) + len(failed) >= total:
                    all_answered.set()

            def on_call(record: CallRecord) -> None:
                chat = record.chat_id
                if record.method != "sendMessage" or not isinstance(chat, int):
                    return
                if chat not in measured:
                    return
                queue = outstanding[chat]
                if not queue:
                    extra.append(f"chat {chat}: {record.method} {record.status} unasked")
                    return
                update_id, created = queue.popleft()
                if record.status != 200:
                    failed.append(f"chat {chat}: sendMessage answered {record.status}")
                    check_done()
                    return
                answered.append((created, record.time - created))
                completions.append(record.time + record.duration - created)
                delivered = world.first_delivered.get(update_id)
                if delivered is not None:
                    queued.append(delivered - created)
                    in_bot.append(record.time - delivered)
                check_done()

            world.watchers.append(on_call)
            lags: list[float] = []
            injected_at: list[float] = []
            bot_cpu, own_cpu = process.cpu_seconds(), own_cpu_seconds()
            delivered = world.updates.delivered_count
            world.reset_counts()
            wall = time.perf_counter()
            async with profiled(options, process, directory.name):
                with collector_paused():
                    loop = asyncio.get_running_loop()
                    t0 = loop.time() + 0.05
                    for i in range(total):
                        due = t0 + i / rate
                        wait = due - loop.time()
                        if wait > 0:
                            await asyncio.sleep(wait)
                        lags.append(max(0.0, loop.time() - due))
                        uid = people_ids[i % workers]
                        sent = simulate.send(world, uid, None, {"text": idea_text(uid + i)[:90]})
                        assert sent.update is not None
                        outstanding[uid].append((sent.update.update_id, sent.update.created))
                        injected_at.append(sent.update.created)
                    check_done()
                    while not all_answered.is_set():  # until answered, or no answer for a while
                        before = len(answered) + len(failed)
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(all_answered.wait(), STALL_SECONDS)
                        if len(answered) + len(failed) == before:
                            break
            elapsed = time.perf_counter() - wall
            injection_seconds = injected_at[-1] - injected_at[0] if total > 1 else 0.0
            bot_cpu = process.cpu_seconds() - bot_cpu
            own_cpu = own_cpu_seconds() - own_cpu
            delivered = world.updates.delivered_count - delivered
            calls = {f"{method} {status}": n for (method, status), n in world.finished.items()}
            world.watchers.remove(on_call)
        finally:
            code = await process.stop()
        problems = log_problems(process.log())
    ms = [latency * 1000 for _, latency in answered]
    done_ms = [x * 1000 for x in completions]
    queued_ms = [x * 1000 for x in queued]
    in_bot_ms = [x * 1000 for x in in_bot]
    run: dict[str, Any] = {
        "framework": framework,
        "workers": workers,
        "offered_rate": rate,
        "achieved_offered_rate": rounded(
            (total - 1) / injection_seconds if injection_seconds else 0.0, 1
        ),
        "updates": total,
        "answered": len(answered),
        "lost": total - len(answered) - len(failed),
        "failed_answers": failed[:5],
        "failed_answer_count": len(failed),
        "extra_messages": extra[:5],
        "extra_message_count": len(extra),
        "prepare_failures": len(prepared.failures),
        "not_in_form": len(not_in_form),
        "median_ms": rounded(median(ms), 2),
        "p90_ms": rounded(percentile(ms, 90), 2),
        "p99_ms": rounded(percentile(ms, 99), 2),
        "max_ms": rounded(max(ms) if ms else None, 2),
        "waiting_for_getupdates_median_ms": rounded(median(queued_ms), 2),
        "waiting_for_getupdates_p99_ms": rounded(percentile(queued_ms, 99), 2),
        "in_bot_median_ms": rounded(median(in_bot_ms), 2),
        "in_bot_p99_ms": rounded(percentile(in_bot_ms, 99), 2),
        "answer_complete_median_ms": rounded(median(done_ms), 2),
        "answer_complete_p99_ms": rounded(percentile(done_ms, 99), 2),
        "injection_lag_p99_ms": rounded((percentile(lags, 99) or 0.0) * 1000, 2),
        "injection_lag_max_ms": rounded(max(lags) * 1000 if lags else 0.0, 2),
        "bot_cpu_share": rounded(bot_cpu / elapsed),
        "standin_cpu_share": rounded(own_cpu / elapsed),
        "deliveries_per_update": rounded(delivered / total if total else 0.0, 2),
        "load_started_unix": rounded(injected_at[0] if injected_at else None, 3),
        "slow_periods": _slow_periods(answered),
        "calls": calls,
        "exit_code": code,
        "log_problem_count": len(problems),
        "log_problems": summarise_problems(problems),
    }
    options.log(
        f"{NAME} {framework:7} {rate:.0f}/s × {seconds:.0f} s: median {run['median_ms']} ms, "
        f"p99 {run['p99_ms']} ms, max {run['max_ms']} ms, lost {run['lost']}; medians "
        f"{run['waiting_for_getupdates_median_ms']} ms waiting for getUpdates + "
        f"{run['in_bot_median_ms']} ms in the bot; bot CPU "
        f"{run['bot_cpu_share']}, stand-in CPU {run['standin_cpu_share']}"
    )
    return run


def _slow_periods(answered: list[tuple[float, float]], slow: float = 0.05) -> list[str]:
    """Where the answers slower than ``slow`` seconds fell: 100 ms slices of the run that
    held any, as "at +s.s s: n slow, worst x ms" (a stall shows as a run of slices)."""
    if not answered:
        return []
    start = min(created for created, _ in answered)
    slices: dict[int, list[float]] = {}
    for created, latency in answered:
        if latency > slow:
            slices.setdefault(int((created - start) * 10), []).append(latency)
    return [
        f"at +{n / 10:.1f} s: {len(found)} slow, worst {max(found) * 1000:.0f} ms"
        for n, found in sorted(slices.items())
    ]


def _in_idea_form(person: Person) -> bool:
    """The person's last message from the bot is the idea form's first question."""
    try:
        return person.button(":body:cancel").startswith("idea:")
    except StepFailed:
        return False


async def measure(options: Options) -> BenchResult:
    result = BenchResult(NAME)
    seconds = options.seconds or (3.0 if options.quick else 10.0)
    workers = options.pick(500, 150)
    rate = options.rate or RATE
    rounds = options.runs(3, 1)
    source = template(options.workdir)
    runs: list[dict[str, Any]] = []
    for round_no in range(rounds):
        for framework in options.frameworks:
            directory = options.workdir / NAME / f"latency-{framework}-{round_no}"
            runs.append(
                await one_run(framework, rate, seconds, workers, source, directory, options)
            )
    result.raw = {"rate": rate, "seconds": seconds, "workers": workers, "runs": runs}
    for framework in options.frameworks:
        mine = [r for r in runs if r["framework"] == framework]

        def med(key: str, runs: list[dict[str, Any]] = mine) -> float | None:
            return median([r[key] for r in runs if r[key] is not None])

        p99 = med("p99_ms")
        label = f"{rate:.0f} updates/s for {seconds:.0f} s"
        result.rows += [
            Row(NAME, framework, f"median, {label}", med("median_ms"), "ms", len(mine)),
            Row(
                NAME,
                framework,
                f"p99, {label}",
                p99,
                "ms",
                len(mine),
                f"< {TARGET_P99_MS:.0f} ms",
                None if p99 is None else p99 < TARGET_P99_MS,
            ),
        ]
        for r in mine:
            if (
                r["lost"]
                or r["failed_answer_count"]
                or r["extra_message_count"]
                or r["prepare_failures"]
                or r["not_in_form"]
            ):
                result.problems.append(
                    f"{framework}: lost {r['lost']}, failed answers {r['failed_answer_count']}, "
                    f"extra messages {r['extra_message_count']} {r['extra_messages'][:2]}, "
                    f"prepare failures {r['prepare_failures']}, not in the idea form after "
                    f"preparing: {r['not_in_form']}"
                )
            if r["log_problem_count"]:
                result.problems.append(f"{framework}: log {r['log_problems'][:3]}")
    return result
