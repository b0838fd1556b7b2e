"""Sending: how close the bot's send limiter gets to Telegram's 30 messages a second.

5,000 notifications (priority 5, as the support team's cards are queued) for 5,000 distinct
private chats are written to the outbox of a fresh database before the bot starts, through
the storage layer's own ``OutboxRepository.add``. The stand-in knows every chat (each person
has started the bot) and enforces Telegram's limits (limits mode: 30 a second per bot with a
burst of 30, one a second per private chat). The bot runs with its default send limits.

Reported: successful sendMessage calls per second from the first to the last, as a fraction
of 30, the same over the middle 80 % of the burst (start and end effects left out), and the
number of 429 answers. Every chat must get exactly one message.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    FIRST_WORKER,
    BenchResult,
    Options,
    Process,
    Row,
    Template,
    add_people,
    bot_argv,
    bot_env,
    fresh_database,
    log_problems,
    median,
    percentile,
    profiled,
    rounded,
    standin,
    summarise_problems,
    template,
    wait_ready,
    watched,
)
from handlers.events import Button, OutMessage
from standins.telegram.models import CallRecord

NAME = "sending"
ALLOWED_PER_SECOND = 30.0
TARGET_FRACTION = 0.93
PRIORITY_NOTIFY = 5


async def fill_outbox(db: Path, chat_ids: list[int]) -> None:
    """One pending notification per chat, written the way the flows queue them."""
    from storage.db import create_engine, create_sessionmaker
    from storage.uow import UnitOfWork

    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    try:
        now = datetime.now(UTC)
        async with UnitOfWork(create_sessionmaker(engine)) as uow:
            for number, chat_id in enumerate(chat_ids, 1):
                message = OutMessage(
                    text=(
                        f"<b>Sáng kiến mới SK-2026-{number:06d}</b>\n"
                        "Đề xuất lắp mái che nắng ở bãi xe để xe máy công nhân không bị nóng."
                    ),
                    buttons=((Button("Xem", f"bench:{number}"),),),
                )
                await uow.outbox.add(
                    channel="telegram",
                    chat_id=str(chat_id),
                    payload=message.to_json(),
                    priority=PRIORITY_NOTIFY,
                    now=now,
                    purpose="bench",
                )
            await uow.commit()
    finally:
        await engine.dispose()


async def one_run(
    framework: str, count: int, source: Template, directory: Path, options: Options
) -> dict[str, Any]:
    chat_ids = list(range(FIRST_WORKER, FIRST_WORKER + count))
    db = fresh_database(source, directory)
    await fill_outbox(db, chat_ids)
    async with standin() as server:
        world = watched(server)
        add_people(world, chat_ids)
        for chat_id in chat_ids:
            world.users[chat_id].started = True
        world.limiter.config.update({"enabled": True})
        limits = world.limiter.to_json()
        sent: list[CallRecord] = []
        refused: list[CallRecord] = []
        all_sent = asyncio.Event()

        def on_call(record: CallRecord) -> None:
            if record.method != "sendMessage":
                return
            if record.status == 200:
                sent.append(record)
                if len(sent) >= count:
                    all_sent.set()
            elif record.status == 429:
                refused.append(record)

        world.watchers.append(on_call)
        env = bot_env(server.base_url, db, framework)
        process = Process(bot_argv(), env, directory / f"bot-{framework}.log")
        await process.start()
        try:
            await wait_ready(world, process)
            timeout = count / ALLOWED_PER_SECOND * 1.5 + 60
            async with profiled(options, process, directory.name):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(all_sent.wait(), timeout)
            other_errors = {
                f"{method} {status}": n
                for (method, status), n in world.finished.items()
                if status not in (200, 429)
            }
            too_many = world.limiter.refused
        finally:
            code = await process.stop()
        problems = log_problems(process.log())
    times = sorted(record.time for record in sent)
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    low, high = int(len(times) * 0.1), int(len(times) * 0.9)
    middle = (high - low) / (times[high] - times[low]) if high > low + 1 else rate
    chats = {record.chat_id for record in sent}
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(times)]
    run: dict[str, Any] = {
        "framework": framework,
        "notifications": count,
        "sent": len(sent),
        "distinct_chats": len(chats),
        "duplicates": len(sent) - len(chats),
        "seconds": rounded(times[-1] - times[0] if times else 0.0, 2),
        "rate_per_second": rounded(rate, 2),
        "fraction_of_allowed": rounded(rate / ALLOWED_PER_SECOND),
        "middle_80_rate_per_second": rounded(middle, 2),
        "middle_80_fraction": rounded(middle / ALLOWED_PER_SECOND),
        "first_send_after_first_poll_s": rounded(
            times[0] - (world.first_poll_at or times[0]) if times else None, 2
        ),
        "gap_ms": {
            "min": rounded(min(gaps) if gaps else None, 2),
            "p10": rounded(percentile(gaps, 10), 2),
            "median": rounded(median(gaps), 2),
            "p90": rounded(percentile(gaps, 90), 2),
            "max": rounded(max(gaps) if gaps else None, 2),
            "nominal": rounded(1000 / ALLOWED_PER_SECOND, 2),
        },
        "too_many_requests": too_many,
        "http_429_seen": len(refused),
        "other_errors": other_errors,
        "standin_limits": limits,
        "exit_code": code,
        "log_problem_count": len(problems),
        "log_problems": summarise_problems(problems),
    }
    options.log(
        f"{NAME} {framework:7} {len(sent)}/{count} sent at {run['rate_per_second']}/s "
        f"({run['fraction_of_allowed']} of 30/s; middle 80 %: {run['middle_80_fraction']}), "
        f"429s: {too_many}"
    )
    return run


async def measure(options: Options) -> BenchResult:
    result = BenchResult(NAME)
    count = options.pick(5_000, 300)
    rounds = options.runs(2, 1)
    source = template(options.workdir)
    runs: list[dict[str, Any]] = []
    started = time.monotonic()
    for round_no in range(rounds):
        for framework in options.frameworks:
            directory = options.workdir / NAME / f"sending-{framework}-{round_no}"
            runs.append(await one_run(framework, count, source, directory, options))
    result.raw = {"notifications": count, "runs": runs, "seconds": time.monotonic() - started}
    for framework in options.frameworks:
        mine = [r for r in runs if r["framework"] == framework]
        fraction = median([r["fraction_of_allowed"] for r in mine])
        too_many = median([r["too_many_requests"] for r in mine])
        result.rows += [
            Row(NAME, framework, f"{count:,}-notification burst, share of 30/s",
                None if fraction is None else fraction * 100, "%", len(mine),
                f"≥ {TARGET_FRACTION:.0%}",
                None if fraction is None else fraction >= TARGET_FRACTION),
            Row(NAME, framework, "same, middle 80 % of the burst",
                median([r["middle_80_fraction"] * 100 for r in mine]), "%", len(mine)),
            Row(NAME, framework, "429 answers", too_many, "count", len(mine), "0",
                None if too_many is None else too_many == 0),
        ]  # fmt: skip
        for r in mine:
            if r["sent"] != count or r["duplicates"] or r["other_errors"]:
                result.problems.append(
                    f"{framework}: sent {r['sent']} of {count}, duplicates {r['duplicates']}, "
                    f"other errors {r['other_errors']}"
                )
            if r["log_problem_count"]:
                result.problems.append(f"{framework}: log {r['log_problems'][:3]}")
    return result
